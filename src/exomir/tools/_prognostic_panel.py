"""The prognostic panels of a Cohort: elastic-net Cox models of miRNAs, of clinical covariates and
of both, judged out of fold (the nested CV is :func:`exomir.stats.prognostic_panel.out_of_fold_risk`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from exomir.cohort import design_columns, matrix_of
from exomir.errors import InputError
from exomir.preprocess.qc import drop_controls
from exomir.stats import survival as sv
from exomir.stats.prognostic_panel import out_of_fold_risk
from exomir.tools._survival import _auc_column, detected_fraction

PANEL_COLUMNS = ["model", "n", "events", "c_index", "c_index_ci_low", "c_index_ci_high", "n_features", "features",
                 "outer_folds", "inner_folds", "penalizers", "l1_ratio"]


def prognostic_panels(adata, time: str, event: str, *, clinical: Sequence[str] = (), seed: int = 0,
                      times: Sequence[float] = (), min_detected: float = 0.5, layer: str | None = None,
                      outer_folds: int = 5, inner_folds: int = 3, penalizers: Sequence[float] = (0.05, 0.15, 0.4),
                      l1_ratio: float = 0.5, max_features: int = 20) -> pd.DataFrame:
    """miRNAs alone, clinical covariates alone and both: one row per model with the out-of-fold
    C-index and its interval, ``auc_t<time>`` at ``times`` and the features kept most often."""
    t = pd.to_numeric(adata.obs[time], errors="coerce").to_numpy(float)
    e = pd.to_numeric(adata.obs[event], errors="coerce").to_numpy(float)
    adata = drop_controls(adata)  # spike-ins and U6/RNU/SNORD controls never enter a panel
    mirna_cols = np.flatnonzero(detected_fraction(adata) >= min_detected)
    mat = matrix_of(adata, layer)[:, mirna_cols]
    mat_ok = np.isfinite(mat).all(axis=0)
    mirna_cols, mat = mirna_cols[mat_ok], mat[:, mat_ok]
    clin = design_columns(adata.obs, list(clinical)) if clinical else pd.DataFrame(index=adata.obs_names)
    cx = clin.to_numpy(float)
    ok = np.isfinite(t) & np.isfinite(e) & (np.isfinite(cx).all(axis=1) if cx.size else True)
    if ok.sum() < 20 or e[ok].sum() < 10:
        raise InputError(f"{int(ok.sum())} patients with {int(e[ok].sum())} events: too few for a nested-CV panel",
                         expected="at least 20 patients and 10 events")
    names = [str(adata.var_names[j]) for j in mirna_cols] + list(clin.columns)
    models = {"miRNAs": (mat, len(mirna_cols))}
    if cx.size:
        models["clinical"] = (cx, 0)
        models["miRNAs + clinical"] = (np.column_stack([mat, cx]), len(mirna_cols))
    rows = []
    for model, (x, n_mirna) in models.items():
        offset = 0 if model != "clinical" else len(mirna_cols)
        risk, chosen = out_of_fold_risk(x[ok], t[ok], e[ok], n_mirna=n_mirna, seed=seed, outer_folds=outer_folds,
                                        inner_folds=inner_folds,
                                        penalizers=penalizers if n_mirna else [min(penalizers)],
                                        l1_ratio=l1_ratio, max_features=max_features)
        conc = sv.concordance(t[ok], e[ok], risk)
        low, high = conc.ci
        top = [names[offset + c] for c, _ in sorted(chosen.items(), key=lambda kv: (-kv[1], kv[0]))[:10]]
        row = {"model": model, "n": int(ok.sum()), "events": int(e[ok].sum()), "c_index": conc.c,
               "c_index_ci_low": low, "c_index_ci_high": high,
               "n_features": int(round(sum(chosen.values()) / outer_folds)), "features": ";".join(top),
               "outer_folds": outer_folds, "inner_folds": inner_folds,
               "penalizers": ";".join(f"{p:g}" for p in penalizers), "l1_ratio": l1_ratio}
        if len(times):
            auc, _, _ = sv.cumulative_dynamic_auc(t[ok], e[ok], risk, np.asarray(times, float))
            row.update({_auc_column(tt): a for tt, a in zip(times, auc)})
        rows.append(row)
    return pd.DataFrame(rows).reindex(columns=PANEL_COLUMNS + [_auc_column(tt) for tt in times])
