"""The locked model file: write, read and verify (format, version, checksum, schema, signature).

The SHA-256 checksum guards against accidental damage (a truncated copy, an edit by mistake): it
is not a proof of origin, since anyone can recompute it. For authenticity a model can be signed
with HMAC-SHA256 under a key the lab keeps (:func:`sign_model`); a server or scorer given that key
(``key=`` or ``EXOMIR_MODEL_KEY_FILE``) refuses unsigned or wrongly signed files.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from pathlib import Path

from exomir.atomic import atomic_open
from exomir.errors import InputError
import exomir.model.canonical as canonical
from exomir.model.schema import CHECKSUM_ALGORITHMS, problems

KEY_ENV = "EXOMIR_MODEL_KEY_FILE"
SIGNATURE_ALGORITHM = "hmac-sha256"
MIN_KEY_BYTES = 16

FORMAT = "exomir-locked-model"
SUPPORTED_VERSIONS = (1,)


@dataclass(frozen=True)
class LockedModel:
    """A verified model: its content (plain JSON data) and where it was read from."""

    content: dict
    path: str = ""

    @property
    def checksum(self) -> str:
        return self.content[canonical.CHECKSUM_KEY]["value"]

    @property
    def features(self) -> list[dict]:
        return self.content["panel"]["features"]

    @property
    def measure(self) -> str:
        return self.content["measure"]

    @property
    def locked_threshold(self) -> dict:
        name = self.content["thresholds"]["locked"]
        return next(t for t in self.content["thresholds"]["rules"] if t["name"] == name)

    def to_text(self) -> str:
        return canonical.dumps(self.content)

    def summary(self) -> dict:
        """The facts a person checks before trusting a score."""
        perf = self.content["performance"]
        cut = self.locked_threshold
        return {
            "id": self.checksum[:16],
            "checksum": self.checksum,
            "measure": self.measure,
            "task": self.content["task"],
            "features": [f["canonical_name"] or f["name"] for f in self.features],
            "cv_auc": perf["cv_auc"],
            "cv_auc_ci": [perf["cv_auc_ci_low"], perf["cv_auc_ci_high"]],
            "threshold": cut["probability_threshold"],
            "sensitivity": cut["sensitivity"],
            "specificity": cut["specificity"],
            "n_training": self.content["training"]["n_samples"],
            "exomir_version": self.content["exomir_version"],
        }


def save_model(model: LockedModel | dict, path: str | Path) -> Path:
    """Write the model's canonical text (atomically)."""
    content = model.content if isinstance(model, LockedModel) else model
    verify(content, path=path, key=None)
    path = Path(path)
    with atomic_open(path, "w") as handle:
        handle.write(canonical.dumps(content))
    return path


def verify(content: dict, *, path: str | Path | None = None, key: bytes | None = None) -> None:
    """Refuse anything but an intact, sound model of a known format version (and, with ``key``,
    one signed under that key)."""
    if not isinstance(content, dict) or content.get("format") != FORMAT:
        raise InputError("not an exomir locked model file", path=path, expected=f'"format": "{FORMAT}"')
    if content.get("format_version") not in SUPPORTED_VERSIONS:
        raise InputError(f"model format version {content.get('format_version')!r} is not supported by this exomir",
                         path=path, expected=f"one of {SUPPORTED_VERSIONS}")  # fmt: skip
    seal = content.get(canonical.CHECKSUM_KEY)
    if not isinstance(seal, dict):
        seal = {}
    algorithm = seal.get("algorithm")
    if algorithm not in CHECKSUM_ALGORITHMS:
        raise InputError(f"checksum algorithm {algorithm!r} is not supported", path=path,
                         expected=f"one of {', '.join(CHECKSUM_ALGORITHMS)}")  # fmt: skip
    stored = seal.get("value")
    if not stored:
        raise InputError("the model file has no checksum", path=path, expected="a sealed model written by exomir train")
    actual = canonical.checksum(content)
    if actual != stored:
        raise InputError(
            f"checksum mismatch: the model content hashes to {actual[:16]}…, the file says {str(stored)[:16]}…; "
            "the file was changed after training and will not be used",
            path=path, expected="the file exactly as exomir train wrote it",
        )  # fmt: skip
    found = problems(content)
    if found:
        shown = "; ".join(found[:12]) + (f"; and {len(found) - 12} more" if len(found) > 12 else "")
        raise InputError(f"the model file is not sound ({len(found)} problem(s)): {shown}", path=path,
                         expected="a model as exomir train writes it")  # fmt: skip
    if key is not None:
        check_signature(content, key, path=path)


def _signed_text(content: dict) -> bytes:
    body = {k: v for k, v in content.items() if k not in (canonical.CHECKSUM_KEY, canonical.SIGNATURE_KEY)}
    return canonical.dumps(body).encode("utf-8")


def _key_id(key: bytes) -> str:
    # names the key without revealing it: a reader sees which key a file needs
    return hashlib.sha256(b"exomir-model-key:" + key).hexdigest()[:16]


def sign_content(content: dict, key: bytes) -> dict:
    """``content`` with an HMAC-SHA256 signature under ``key`` (the checksum is unchanged)."""
    if len(key) < MIN_KEY_BYTES:
        raise InputError(f"a signing key of {len(key)} bytes is too short", expected=f"at least {MIN_KEY_BYTES} bytes")
    mac = hmac.new(key, _signed_text(content), hashlib.sha256).hexdigest()
    return {**content, canonical.SIGNATURE_KEY: {"algorithm": SIGNATURE_ALGORITHM, "key_id": _key_id(key), "value": mac}}


def check_signature(content: dict, key: bytes, *, path: str | Path | None = None) -> None:
    """Refuse a model not signed under ``key``."""
    signature = content.get(canonical.SIGNATURE_KEY)
    if not isinstance(signature, dict) or signature.get("algorithm") != SIGNATURE_ALGORITHM:
        raise InputError("the model file is not signed, and this scorer accepts only signed models", path=path,
                         expected=f"a {SIGNATURE_ALGORITHM} signature (exomir.model.sign_model)")  # fmt: skip
    expected = hmac.new(key, _signed_text(content), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(str(signature.get("value", "")), expected):
        raise InputError(f"the model's signature does not match this key (file signed with key {signature.get('key_id')!s}, "
                         f"this key is {_key_id(key)})", path=path, expected="a model signed with the lab's key")  # fmt: skip


def read_key(path: str | Path) -> bytes:
    """A signing key from a file (its bytes, surrounding whitespace removed)."""
    path = Path(path)
    if not path.is_file():
        raise InputError("model key file not found", path=path)
    key = path.read_bytes().strip()
    if len(key) < MIN_KEY_BYTES:
        raise InputError(f"the key holds {len(key)} bytes", path=path, expected=f"at least {MIN_KEY_BYTES} bytes")
    return key


def configured_key() -> bytes | None:
    """The key named by ``EXOMIR_MODEL_KEY_FILE`` (None when unset)."""
    where = os.environ.get(KEY_ENV)
    return read_key(where) if where else None


def sign_model(path: str | Path, key: bytes, out: str | Path | None = None) -> Path:
    """Sign a verified model file under ``key`` (in place, or into ``out``)."""
    model = load_model(path, key=None)
    signed = sign_content(model.content, key)
    target = Path(out or path)
    with atomic_open(target, "w") as handle:
        handle.write(canonical.dumps(signed))
    return target


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a number a model may hold")


def model_from_text(text: str, *, path: str | Path | None = None, key: bytes | None = None) -> LockedModel:
    try:
        content = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON ({exc.msg})", path=path, line=exc.lineno) from exc
    except ValueError as exc:  # NaN, Infinity, -Infinity: JSON has none, Python's reader would accept them
        raise InputError(str(exc), path=path, expected="finite numbers (a missing value is null)") from exc
    except RecursionError as exc:
        raise InputError("nested too deeply to be a model file", path=path) from exc
    verify(content, path=path, key=key)
    return LockedModel(content=content, path=str(path or ""))


_UNSET = object()


def load_model(path: str | Path, *, key: bytes | None | object = _UNSET) -> LockedModel:
    """Read and verify a model file (format, checksum, schema; the signature when a key is given
    or ``EXOMIR_MODEL_KEY_FILE`` is set); raises InputError otherwise."""
    if key is _UNSET:
        key = configured_key()
    path = Path(path)
    if not path.is_file():
        raise InputError("model file not found", path=path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError("the model file is not UTF-8 text", path=path) from exc
    return model_from_text(text, path=path, key=key)
