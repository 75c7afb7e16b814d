"""Progress display for long steps (rich), silenced by ``--quiet`` or when not on a terminal."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from exomir.logs import console, error, is_quiet, recording, set_quiet, staged_as  # noqa: F401  (callers move to exomir.logs)

T = TypeVar("T")

_log = logging.getLogger("exomir")


def info(message: str) -> None:
    """A one-line status message on stderr (not shown when quiet); see :mod:`exomir.logs`."""
    _log.info(message)


def warn(message: str) -> None:
    """A warning on stderr; shown even when quiet, because it says something was excluded."""
    _log.warning(message)


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
                _log.info(f"{description}: {label}", extra={"kind": "step", "on_bar": not bar.disable})

        yield advance
