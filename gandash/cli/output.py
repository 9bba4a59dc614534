"""What commands print besides their result: progress bars and notes.

Both go to stderr, so that stdout holds only the result (a run id, a table, `wrote ...`) for scripts.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable


def print_notes(notes: Iterable[str]) -> None:
    for note in notes:
        print(f"note: {note}", file=sys.stderr)


class Bar:
    """A tqdm bar on stderr, drawn from the first update on: a command that fails before any work (a bad
    file, an unknown run) then prints its one `error: ...` line and no empty bar above it."""

    def __init__(self, total: int | None, **options) -> None:
        self.total, self.options, self._bar = total, options, None

    def to(self, done: int, **postfix: str) -> None:
        """Move the bar to `done` of `total`; `postfix` shows beside it (say, the latest losses)."""
        if self._bar is None:
            from tqdm import tqdm  # only commands that show progress pay for the import

            self._bar = tqdm(total=self.total, file=sys.stderr, dynamic_ncols=True, **self.options)
        self._bar.update(done - self._bar.n)
        if postfix:
            self._bar.set_postfix(postfix, refresh=False)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    def __enter__(self) -> Bar:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def fraction_bar() -> Bar:
    """A bar in percent, for work that reports the fraction done (the tiled photo restorers): feed it
    `round(fraction * 100)`. Its format leaves out tqdm's `n/total`, which would read `37/100 [...]`."""
    return Bar(100, bar_format="{l_bar}{bar}| [{elapsed}<{remaining}]")
