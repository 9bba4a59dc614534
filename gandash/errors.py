class GandashError(Exception):
    """A problem the user can fix: the message says what went wrong and what to do.

    Pages show it with st.error, the CLI prints it and exits 2. Anything else is a bug
    and is allowed to surface with its traceback.
    """
