class GandashError(Exception):
    """A problem the user can fix: the message says what went wrong and what to do.

    Pages show it with st.error, the CLI prints it and exits 2. Anything else is a bug
    and is allowed to surface with its traceback.
    """


class StorageError(GandashError, OSError):
    """A file could not be written (a full disk, a file-size limit, a read-only folder). Also an OSError,
    so code that tolerates an unwritable cache keeps doing so."""

    def __init__(self, message: str, errno: int | None = None):
        super().__init__(message)
        self.errno = errno


class AllCheckpointsDamaged(GandashError):
    """A run has checkpoints and none of them loads: it is not resumed, so nothing it trained is thrown away."""

    def __init__(self, message: str, run_id: str):
        super().__init__(message)
        self.run_id = run_id
