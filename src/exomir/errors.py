"""Errors a user can act on.

Every problem with the user's input is an :class:`InputError` that names the file, the line
(or record) and the column when known, what was found and what was expected. The command line
prints these without a traceback; Python callers can catch them.
"""

from __future__ import annotations

from pathlib import Path


class ExomirError(Exception):
    """Base class of errors that come with a message meant for the user."""


class InputError(ExomirError, ValueError):
    """A file or value given by the user cannot be used as it is."""

    def __init__(
        self,
        problem: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        column: str | int | None = None,
        record: int | str | None = None,
        expected: str | None = None,
    ) -> None:
        self.problem = problem
        self.path = str(path) if path is not None else None
        self.line = line
        self.column = column
        self.record = record
        self.expected = expected
        super().__init__(self._format())

    def _format(self) -> str:
        where = []
        if self.path:
            where.append(self.path)
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.record is not None:
            where.append(f"record {self.record}")
        if self.column is not None:
            where.append(f"column {self.column!r}" if isinstance(self.column, str) else f"column {self.column}")
        text = (", ".join(where) + ": " if where else "") + self.problem
        if self.expected:
            text += f" (expected {self.expected})"
        return text


class ReferenceDataError(ExomirError):
    """Reference data (miRBase, targets, gene sets) could not be found or downloaded."""
