"""Progress display for long steps (rich), silenced by ``--quiet`` or when not on a terminal."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

T = TypeVar("T")

_state = {"quiet": False}
_logs: list[list[str]] = []  # open recordings (a results folder's run.log)
_aliases: dict[str, str] = {}  # staging folder → the folder the user asked for
console = Console(stderr=True)


@contextlib.contextmanager
def staged_as(staging: str, final: str) -> Iterator[None]:
    """While a results folder is built in staging, messages name the folder the user asked for."""
    _aliases[str(staging)] = str(final)
    try:
        yield
    finally:
        _aliases.pop(str(staging), None)


def _shown(message: str) -> str:
    """The message as the user reads it: staging folders named as the user's folder."""
    for staging, final in _aliases.items():
        message = message.replace(staging, final)
    return message


def _printable(message: str) -> str:
    """The message for rich: any ``[...]`` it carries (a path, a sample ID) escaped, so that it is
    printed as written instead of being read as markup (``[/x]`` would even raise)."""
    return escape(_shown(message))


@contextlib.contextmanager
def recording() -> Iterator[list[str]]:
    """Collect every message of the block, quiet or not, with the time it was said: the lines of
    a results folder's ``run.log``."""
    lines: list[str] = []
    _logs.append(lines)
    try:
        yield lines
    finally:
        _logs.remove(lines)


def _log(kind: str, message: str) -> None:
    if _logs:
        import time

        line = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {kind:<7} {_shown(message)}"
        for lines in _logs:
            lines.append(line)


def set_quiet(quiet: bool) -> None:
    _state["quiet"] = quiet


def is_quiet() -> bool:
    return _state["quiet"]


def info(message: str) -> None:
    """A one-line status message on stderr (not shown when quiet)."""
    _log("info", message)
    if not _state["quiet"]:
        console.print(_printable(message), highlight=False)


def warn(message: str) -> None:
    """A warning on stderr; shown even when quiet, because it says something was excluded."""
    _log("warning", message)
    console.print(f"[yellow]warning:[/yellow] {_printable(message)}", highlight=False)


def error(message: str, label: str = "error") -> None:
    """An error on stderr, always shown: ``label:`` in red, then the message as it is."""
    console.print(f"[red]{escape(label)}:[/red] {_printable(message)}", highlight=False, soft_wrap=True)


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=_state["quiet"] or not sys.stderr.isatty(),
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
                _log("step", f"{description}: {label}")
                bar.update(task, description=f"{description}: {label}")
            bar.advance(task)
            if label and (_state["quiet"] is False) and not sys.stderr.isatty():
                console.print(_printable(f"{description}: {label}"), highlight=False)

        yield advance
