"""What exomir says while it works: Python's ``logging``, shown on stderr by rich, kept in ``run.log``.

Every module logs to its own ``logging.getLogger(__name__)``, a child of the ``exomir`` logger. That
logger gets, when this module is imported, one console handler (rich's ``RichHandler`` on stderr):

* info lines as they are, warnings after ``warning:``, errors after ``error:`` (or their own label);
* quiet (``exomir -q``, :func:`set_quiet`) shows warnings and errors only;
* a run of warnings of one kind (the same text but for quoted names and numbers, said one after
  the other from the same calls, such as one warning per ambiguous miRNA name of a loop) is shown
  as its first warning and one line with the count of the others; ``run.log`` keeps every one.

The ``exomir`` logger does not pass its records on to the root logger, so a program that sets up
logging of its own sees each message once; attach a handler to ``logging.getLogger("exomir")`` to
receive them as well.

:func:`run_log` records every message of a run, quiet or not, with the time it was said, for the
results folder's ``run.log`` (analyze, demo, quantify, meta; train writes it beside the model file).
"""

from __future__ import annotations

import contextlib
import logging
import platform
import re
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from rich.console import Console
from rich.highlighter import NullHighlighter
from rich.logging import RichHandler
from rich.text import Text

from exomir._version import __version__

ROOT = "exomir"
console = Console(stderr=True)  # shared with the progress bars, so that messages print above a live bar

_aliases: dict[str, str] = {}  # staging folder → the folder the user asked for
_recorders: list[_Recorder] = []


@contextlib.contextmanager
def staged_as(staging: str, final: str) -> Iterator[None]:
    """While a results folder is built in staging, messages name the folder the user asked for."""
    _aliases[str(staging)] = str(final)
    try:
        yield
    finally:
        _aliases.pop(str(staging), None)


def shown(message: str) -> str:
    """The message as the user reads it: staging folders named as the user's folder."""
    for staging, final in _aliases.items():
        message = message.replace(staging, final)
    return message


# What changes between two warnings of one kind: quoted text and any word with a digit
# ('hsa-mir-21', MIMAT0000076:hsa-miR-21-5p, 22, /data/plate1.txt:12)
_VARYING = re.compile(r"'[^']*'|\"[^\"]*\"|\S*\d\S*")


def kind_of(record: logging.LogRecord) -> tuple:
    """Warnings of one kind share this key: the logger, the message's words without the names and
    numbers that change (the format string itself when the call passed arguments), and the calls
    that led to it. A loop says the same warning from the same calls again and again; the same
    warning from another call (the next test, a notebook cell, another function) is said in full."""
    text = record.msg if record.args else record.getMessage()
    return record.name, record.levelno, _VARYING.sub("…", str(text)), _calls()


def _calls() -> tuple:
    """Where the message was said from: every frame's file and line, logging's own left out."""
    frame, out = sys._getframe(1), []
    while frame is not None:
        code = frame.f_code
        if code.co_filename not in (logging.__file__, __file__):
            out.append((code.co_filename, frame.f_lineno))
        frame = frame.f_back
    return tuple(out)


_LABELS = {logging.WARNING: ("warning", "yellow"), logging.ERROR: ("error", "red"), logging.CRITICAL: ("error", "red")}


class ConsoleHandler(RichHandler):
    """Messages on stderr through rich, with warnings of one kind in a row folded into the first
    of them and one line that counts the rest."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO, console=console, show_time=False, show_level=False, show_path=False,
                         markup=False, highlighter=NullHighlighter(), keywords=[], rich_tracebacks=False)
        self._kind: tuple | None = None  # the kind of the last warning shown
        self._folded = 0  # warnings of that kind since, not shown
        self.addFilter(lambda record: not getattr(record, "on_bar", False))  # a live progress bar shows it

    def render(self, *, record, traceback, message_renderable):
        name, style = _LABELS.get(record.levelno, (None, None))
        label = getattr(record, "label", name)
        if label is None:
            return message_renderable
        return Text.assemble((f"{label}:", style), " ", message_renderable)

    def render_message(self, record: logging.LogRecord, message: str):
        return super().render_message(record, shown(message))

    def emit(self, record: logging.LogRecord) -> None:
        kind = kind_of(record) if record.levelno == logging.WARNING else None
        if kind is not None and kind == self._kind:
            self._folded += 1
            return
        self._show_folded()
        self._kind = kind
        if record.levelno >= logging.ERROR:  # an error is printed whole, never wrapped: it may be copied
            text = self.render(record=record, traceback=None, message_renderable=Text(shown(record.getMessage())))
            self.console.print(text, soft_wrap=True, highlight=False)
        else:
            super().emit(record)

    def flush(self) -> None:
        """Say how many warnings were folded into the last one shown."""
        self.acquire()
        try:
            self._show_folded()
            self._kind = None
        finally:
            self.release()

    def _show_folded(self) -> None:
        if not self._folded:
            return
        count, self._folded = self._folded, 0
        where = " (all in run.log)" if _recorders else ""
        note = logging.LogRecord(ROOT, logging.WARNING, __file__, 0,
                                 f"{count:,} more like the one above{where}", None, None)
        super().emit(note)


class _Recorder(logging.Handler):
    """Collects every message, quiet or not, as ``run.log`` lines: time, kind, message."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        kind = getattr(record, "kind", None) or record.levelname.lower()
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(record.created))
        self.lines.append(f"{stamp} {kind:<7} {shown(record.getMessage())}")


def _install() -> ConsoleHandler:
    logger = logging.getLogger(ROOT)
    for old in [h for h in logger.handlers if type(h).__name__ == "ConsoleHandler"]:
        logger.removeHandler(old)  # a reloaded module: one console handler only
    handler = ConsoleHandler()
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return handler


_console_handler = _install()


def set_quiet(quiet: bool) -> None:
    """Quiet: warnings and errors only on stderr (``run.log`` still records everything)."""
    _console_handler.setLevel(logging.WARNING if quiet else logging.INFO)


def is_quiet() -> bool:
    return _console_handler.level > logging.INFO


def flush() -> None:
    """Show what is still folded (the count of the last warnings of one kind)."""
    _console_handler.flush()


def error(message: str, label: str = "error") -> None:
    """The command line's last word on a failure: ``label:`` in red, then the message, always shown."""
    logging.getLogger("exomir.cli").error(message, extra={"label": label})


@contextlib.contextmanager
def recording() -> Iterator[list[str]]:
    """Collect every message of the block, quiet or not, with the time it was said: the lines of
    a results folder's ``run.log``."""
    recorder = _Recorder()
    logger = logging.getLogger(ROOT)
    logger.addHandler(recorder)
    _recorders.append(recorder)
    try:
        yield recorder.lines
    finally:
        flush()  # the count of folded warnings is said while "all in run.log" is still true
        _recorders.remove(recorder)
        logger.removeHandler(recorder)


def log_text(lines: Iterable[str], *, argv: list[str] | None = None, elapsed: float | None = None) -> str:
    """``run.log``: the command, what exomir version ran where, every message, and the run time."""
    head = [f"exomir {__version__} · python {platform.python_version()} · {platform.platform()}"]
    command = argv if argv is not None else sys.argv
    head.append("command: " + " ".join(command))
    tail = [f"finished in {elapsed:.1f} s"] if elapsed is not None else []
    return "\n".join([*head, *lines, *tail]) + "\n"


class RunLog:
    """The messages of a run so far (see :func:`run_log`)."""

    def __init__(self, lines: list[str], started: float | None = None) -> None:
        self.lines = lines
        self.started = time.perf_counter() if started is None else started

    def write(self, path: str | Path) -> Path:
        """Write ``run.log``: the command, every message so far and the time the run took."""
        path = Path(path)
        path.write_text(log_text(self.lines, elapsed=time.perf_counter() - self.started), encoding="utf-8",
                        newline="")
        return path


@contextlib.contextmanager
def run_log(started: float | None = None) -> Iterator[RunLog]:
    """Record every message of the block, quiet or not; ``.write(folder / "run.log")`` at its end
    (inside the results folder's staging, so that run.log comes with the results or not at all).
    ``started``: the ``time.perf_counter()`` the run began at, when before the block."""
    with recording() as lines:
        yield RunLog(lines, started)
