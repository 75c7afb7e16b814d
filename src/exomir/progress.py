"""Progress bars for long steps (rich), silenced by ``--quiet`` or when not on a terminal; messages are
:mod:`exomir.logs`'s."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from exomir.logs import console, is_quiet

T = TypeVar("T")

log = logging.getLogger(__name__)


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=is_quiet() or not sys.stderr.isatty(),
        transient=False,
    )


def track(items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    """Iterate with a progress bar."""
    with _progress() as bar:
        yield from bar.track(items, description=description, total=total)


@contextlib.contextmanager
def steps(description: str, total: int) -> Iterator:
    """A progress bar advanced by the caller: ``with steps("analyze", 6) as advance: advance("ROC")``."""
    with _progress() as bar:
        task = bar.add_task(description, total=total)

        def advance(label: str | None = None) -> None:
            if label:
                bar.update(task, description=f"{description}: {label}")
            bar.advance(task)
            if label:  # on stderr unless the bar shows it; always in run.log
                log.info(f"{description}: {label}", extra={"kind": "step", "on_bar": not bar.disable})

        yield advance
