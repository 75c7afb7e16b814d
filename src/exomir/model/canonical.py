"""Canonical JSON of a locked model: the same content always gives the same bytes.

Keys are sorted, floats are rounded to 12 significant digits and written in Python's
shortest round-trip form, NaN and infinities are refused (written as ``null`` by the caller),
and the SHA-256 checksum covers the canonical text of everything except the checksum itself
(and an HMAC signature added later, see :mod:`exomir.model.locked`).
Loading a file and saving it again therefore reproduces it byte for byte.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

import numpy as np

SIGNIFICANT_DIGITS = 12
CHECKSUM_KEY = "checksum"
SIGNATURE_KEY = "signature"  # added after sealing, so outside the checksum


def plain(value: Any) -> Any:
    """Numbers, strings, lists and dicts only; floats rounded to 12 significant digits."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return [plain(v) for v in value.tolist()]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        x = float(value)
        if not math.isfinite(x):
            return None  # JSON has no NaN; a missing number is null
        rounded = float(f"{x:.{SIGNIFICANT_DIGITS}g}")
        return 0.0 if rounded == 0.0 else rounded  # no "-0.0"
    if value is None or isinstance(value, str):
        return value
    raise TypeError(f"cannot store {type(value).__name__} in a model file")


def dumps(content: dict) -> str:
    """The canonical text of ``content`` (already plain)."""
    return json.dumps(content, sort_keys=True, ensure_ascii=False, allow_nan=False, indent=1) + "\n"


def checksum(content: dict) -> str:
    """SHA-256 of the canonical text of ``content`` without its checksum (and signature) entries."""
    body = {k: v for k, v in content.items() if k not in (CHECKSUM_KEY, SIGNATURE_KEY)}
    return hashlib.sha256(dumps(body).encode("utf-8")).hexdigest()


def seal(content: dict) -> dict:
    """``content`` made plain with its checksum added."""
    body = plain({k: v for k, v in content.items() if k not in (CHECKSUM_KEY, SIGNATURE_KEY)})
    body[CHECKSUM_KEY] = {"algorithm": "sha256", "value": checksum(body)}
    return body
