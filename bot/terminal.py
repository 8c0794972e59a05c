"""What every command shares on the terminal: exit statuses, messages on stderr, progress bars, and
the usage error."""

from __future__ import annotations

import sys
from collections.abc import Callable

from citebot.index.errors import CitebotError

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_PARTIAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


class UsageError(CitebotError):
    """A command line that cannot be run as given (exit status 2)."""


def err(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def progress_bar(label: str) -> Callable[[int, int], None] | None:
    """A tqdm bar on an interactive terminal, nothing when output is piped or logged."""
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    bar: list[tqdm] = []

    def update(done: int, total: int) -> None:
        if not bar:
            bar.append(tqdm(total=total, desc=label, unit="sent", file=sys.stderr, leave=False))
        bar[0].update(done - bar[0].n)
        if done >= total:
            bar[0].close()

    return update
