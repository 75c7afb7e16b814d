"""A progress bar in reads for the sample being quantified (rich; silent when quiet or not a terminal)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from exomir.logs import console, is_quiet


@contextlib.contextmanager
def reads_bar(description: str) -> Iterator:
    """Yield ``advance(reads)``; shows the reads done and the time taken while a sample runs."""
    progress = Progress(
        SpinnerColumn(), TextColumn("{task.description}"),
        TextColumn("{task.completed:,.0f} reads"), TimeElapsedColumn(), console=console,
        disable=is_quiet() or not sys.stderr.isatty(), transient=False,
    )
    with progress:
        task = progress.add_task(description, total=None)

        def advance(reads: int) -> None:
            progress.advance(task, reads)

        yield advance
