"""The prognosis steps of ``analyze`` for one endpoint: which statistics are run on which samples
with which options. The methods themselves are the Cohort verbs of :mod:`exomir.tools` (``survival``,
``km``, ``trend``, ``prognostic_panel``) over the numerics of :mod:`exomir.stats.survival`."""

from __future__ import annotations

from collections.abc import Callable

import anndata as ad
import numpy as np
import pandas as pd

import exomir.tools as tools
from exomir.stats import survival
from exomir.errors import InputError

#: default horizons of the time-dependent AUC: 1 and 3 years, in the unit of the time column
_YEAR = {"days": 365.0, "weeks": 52.18, "months": 12.0, "years": 1.0}


def horizons(subset: ad.AnnData, time: str, settings) -> list[float]:
    """``--horizon`` times, or 1 and 3 years when the unit is known; only those before the last
    follow-up are kept."""
    unit = tools.time_unit(time, settings.time_unit)
    chosen = list(settings.horizons) or ([round(k * _YEAR[unit], 2) for k in (1, 3)] if unit in _YEAR else [])
    last = float(pd.to_numeric(subset.obs[time], errors="coerce").max())
    return [float(h) for h in chosen if h < last]


def screen(subset: ad.AnnData, name: str, time: str, event: str, settings) -> pd.DataFrame:
    return tools.survival(subset, time, event, endpoint=name, covariates=list(settings.adjust),
                          min_detected=settings.survival_min_detected, unit=settings.time_unit,
                          auc_times=horizons(subset, time, settings))


def km(subset: ad.AnnData, name: str, time: str, event: str, mirna: str, settings) -> tools.KMCurves:
    curves = tools.km(subset, time, event, mirna=mirna)
    curves.endpoint = name
    curves.mirna = mirna
    curves.time_unit = tools.time_unit(time, settings.time_unit)
    return curves


def time_roc(subset: ad.AnnData, name: str, time: str, event: str, mirnas: list[str], settings) -> pd.DataFrame | None:
    """Cumulative/dynamic ROC curves at the horizons of the best miRNAs (higher risk = the
    direction of their hazard ratio)."""
    times = horizons(subset, time, settings)
    if not times or not mirnas:
        return None
    frames = []
    for mirna in mirnas:
        x = np.asarray(subset[:, mirna].X, dtype=float).ravel()
        t = pd.to_numeric(subset.obs[time], errors="coerce").to_numpy(float)
        e = pd.to_numeric(subset.obs[event], errors="coerce").to_numpy(float)
        ok = np.isfinite(x) & np.isfinite(t) & np.isfinite(e)
        fit = survival.cox_fit(t[ok], e[ok], x[ok], zph=False)
        sign = -1.0 if fit.coef[0] < 0 else 1.0
        curves = survival.time_roc_curves(sign * x[ok], t[ok], e[ok], times)
        curves.insert(0, "marker", mirna + (" (lower = higher risk)" if sign < 0 else ""))
        curves.insert(0, "endpoint", name)
        frames.append(curves)
    return pd.concat(frames, ignore_index=True)


def stage_trend(subset: ad.AnnData, settings) -> pd.DataFrame | None:
    return tools.trend(subset, settings.stage, min_detected=settings.survival_min_detected)


def panel(subset: ad.AnnData, name: str, time: str, event: str, settings,
          note: Callable[[str], None]) -> pd.DataFrame | None:
    clinical = list(settings.adjust) or ([settings.stage] if settings.stage else [])
    try:
        table = tools.prognostic_panel(subset, time, event, clinical=clinical, seed=settings.seed,
                                       times=horizons(subset, time, settings),
                                       min_detected=settings.survival_min_detected)
    except InputError as exc:
        note(f"prognostic panel {name}: not fitted ({exc})")
        return None
    table.insert(0, "endpoint", name)
    return table
