"""A locked diagnostic model: train it once, write it as a checksummed file, score new patients.

* :func:`train_model` fits a panel with the leakage-free procedure of :mod:`exomir.stats.panel`
  and returns the sealed content; :func:`save_model` / :func:`load_model` write and verify it.
* :func:`score_files` / :func:`score_cohort` give each sample its calibrated probability, its
  class at the locked threshold, each feature's contribution and QC warnings.
"""

from __future__ import annotations

from exomir.model.locked import LockedModel, load_model, model_from_text, read_key, save_model, sign_model, verify
from exomir.model.score import RESULT_COLUMNS, score_cohort, score_files, write_scores
from exomir.model.train import train_model

__all__ = [
    "LockedModel",
    "RESULT_COLUMNS",
    "load_model",
    "model_from_text",
    "read_key",
    "save_model",
    "score_cohort",
    "score_files",
    "sign_model",
    "train_model",
    "verify",
    "write_scores",
]
