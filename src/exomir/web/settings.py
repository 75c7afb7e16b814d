"""Settings of the web app: where results and models are, the upload limits, the write token."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

TOKEN_ENV = "EXOMIR_API_TOKEN"
MAX_UPLOAD_BYTES = 5 * 1024 * 1024  # one table of a few thousand samples fits easily
MAX_LINES = 20_000  # lines of an uploaded table (either orientation)
MAX_SAMPLES = 5_000  # samples scored per upload
MAX_EVIDENCE_RECORDS = 500


@dataclass(frozen=True)
class WebSettings:
    """What the server may read; nothing here ever comes from a client."""

    results: Path | None = None
    models: tuple[Path, ...] = ()
    api_token: str | None = None
    max_upload_bytes: int = MAX_UPLOAD_BYTES
    max_lines: int = MAX_LINES
    max_samples: int = MAX_SAMPLES
    evidence: tuple[Path, ...] = field(default_factory=tuple)

    @classmethod
    def from_environment(cls, **overrides) -> WebSettings:
        """Settings with the write token taken from ``EXOMIR_API_TOKEN`` (absent: read-only)."""
        token = os.environ.get(TOKEN_ENV) or None
        overrides.setdefault("api_token", token)
        return cls(**overrides)

    @property
    def read_only(self) -> bool:
        return not self.api_token
