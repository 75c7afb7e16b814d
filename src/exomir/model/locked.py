"""The locked model file: write, read and verify (format, version, checksum)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from exomir.atomic import atomic_open
from exomir.errors import InputError
from exomir.model import canonical

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
    verify(content, path=path)
    path = Path(path)
    with atomic_open(path, "w") as handle:
        handle.write(canonical.dumps(content))
    return path


def verify(content: dict, *, path: str | Path | None = None) -> None:
    """Refuse anything but an intact model of a known format version."""
    if not isinstance(content, dict) or content.get("format") != FORMAT:
        raise InputError("not an exomir locked model file", path=path, expected=f'"format": "{FORMAT}"')
    if content.get("format_version") not in SUPPORTED_VERSIONS:
        raise InputError(f"model format version {content.get('format_version')!r} is not supported by this exomir",
                         path=path, expected=f"one of {SUPPORTED_VERSIONS}")  # fmt: skip
    stored = (content.get(canonical.CHECKSUM_KEY) or {}).get("value")
    if not stored:
        raise InputError("the model file has no checksum", path=path, expected="a sealed model written by exomir train")
    actual = canonical.checksum(content)
    if actual != stored:
        raise InputError(
            f"checksum mismatch: the model content hashes to {actual[:16]}…, the file says {str(stored)[:16]}…; "
            "the file was changed after training and will not be used",
            path=path, expected="the file exactly as exomir train wrote it",
        )  # fmt: skip


def model_from_text(text: str, *, path: str | Path | None = None) -> LockedModel:
    try:
        content = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON ({exc.msg})", path=path, line=exc.lineno) from exc
    verify(content, path=path)
    return LockedModel(content=content, path=str(path or ""))


def load_model(path: str | Path) -> LockedModel:
    """Read and verify a model file (checksum, format); raises InputError otherwise."""
    path = Path(path)
    if not path.is_file():
        raise InputError("model file not found", path=path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError("the model file is not UTF-8 text", path=path) from exc
    return model_from_text(text, path=path)
