"""The report's figures drawn from a Cohort and the tables of its analysis (``ex.pl``).

Each function chooses what to draw the way the report does (the best miRNAs of a comparison,
the curves of one Kaplan-Meier split, the finite hazard ratios) and hands the pieces to the
drawing in :mod:`exomir.plotting.figures`. The report calls these same functions, so a figure
drawn in a notebook is the report's figure, ready to restyle.
"""

from __future__ import annotations

from collections.abc import Mapping

import anndata as ad
import numpy as np
import pandas as pd
import plotly.graph_objects as go

import exomir.plotting.figures as figures
import exomir.tools as tl
from exomir.cohort import Selection, expression_sign, meta, select_groups
from exomir.errors import InputError
from exomir.stats.roc import roc_curve

TOP_ROC = 3  # miRNAs drawn beside AFP in a ROC figure
TOP_FOREST = 15  # rows of a hazard-ratio forest plot


def volcano(de: pd.DataFrame, comparison: str | None = None, **options) -> go.Figure:
    """log2 fold change against −log10 p of one comparison of a differential table (the first
    comparison when none is named); ``options`` as :func:`exomir.plotting.figures.volcano`."""
    return figures.volcano(de, _comparison(de, comparison), **options)


def roc(roc: pd.DataFrame, curves: ad.AnnData | Mapping[str, pd.DataFrame], comparison: str | None = None, *,
        group: str | None = None, afp: str | None = None, top: int = TOP_ROC) -> go.Figure:
    """ROC curves of the best miRNAs of ``comparison`` beside AFP, AUC and interval in the legend.

    ``roc`` is the table of ``ex.tl.roc`` (``roc.csv``); ``curves`` is the Cohort it was computed
    on (the curves of the first ``top`` miRNAs of the table and of AFP are drawn from it) or the
    curves themselves, marker → frame with ``fpr`` and ``tpr``. ``group`` and ``afp`` name the
    ``obs`` columns; by default those the Cohort recorded when its ROC was computed.
    """
    comparison = _comparison(roc, comparison)
    if isinstance(curves, ad.AnnData):
        step = _recorded_roc(curves)
        group = group or step.get("group")
        if not group:
            raise InputError("which obs column holds the groups is not recorded in this Cohort",
                             expected="ex.pl.roc(roc, adata, group='group')")
        case, _, control = comparison.partition("_vs_")
        selection = select_groups(curves, group, case, control)
        curves = roc_curves(curves, roc[roc["comparison"] == comparison], selection,
                            afp=afp if afp is not None else step.get("afp") or None, top=top)
    return figures.roc_figure(curves, roc, comparison)


def roc_curves(adata: ad.AnnData, roc: pd.DataFrame, selection: Selection, *, afp: str | None = None,
               top: int = TOP_ROC) -> dict[str, pd.DataFrame]:
    """Curves of the first ``top`` miRNAs of one comparison's ROC table and of AFP (when the table
    has an AFP row and ``afp`` names its column), on the samples of ``selection``. Directions are those of the table, in expression terms: on raw Cq the curve is drawn
    on −Cq."""
    names = list(adata.var_names)
    matrix = expression_sign(adata) * np.asarray(adata.X, dtype=np.float64)
    rows, is_case = selection.rows, selection.y
    curves: dict[str, pd.DataFrame] = {}
    for _, row in roc[roc["mirna"].isin(names)].head(top).iterrows():  # single miRNAs (panels have no column)
        values = matrix[rows, names.index(row["mirna"])]
        keep = ~np.isnan(values)
        curves[row["mirna"]] = roc_curve(values[keep], is_case[keep], row["direction"])
    if afp:
        afp_row = roc[roc["mirna"] == "AFP"]
        values = pd.to_numeric(adata.obs[afp], errors="coerce").to_numpy(dtype=float)[rows]
        keep = ~np.isnan(values)
        if len(afp_row) and keep.any():
            curves["AFP"] = roc_curve(values[keep], is_case[keep], afp_row["direction"].iloc[0])
    return curves


def km(data, mirna: str | None = None, *, time: str | None = None, event: str | None = None,
       cutpoint: str | float = "median", summary: Mapping | None = None, endpoint: str | None = None,
       time_label: str | None = None, layer: str | None = None) -> go.Figure:
    """Kaplan-Meier curves of a miRNA split high/low at ``cutpoint`` (``"median"``, ``"maxstat"``
    or a level), with confidence bands, censoring marks and numbers at risk.

    ``data`` is a Cohort (``time`` and ``event`` name its ``obs`` columns; the log-rank p goes in
    the title) or the :class:`~exomir.tools.KMCurves` of an analysis. ``summary`` adds a
    Cox hazard ratio to the title (``hr``, ``hr_ci_low``, ``hr_ci_high``, ``pvalue``,
    ``logrank_p``: a row of the survival table).
    """
    if isinstance(data, ad.AnnData):
        if time is None or event is None or mirna is None:
            raise InputError("a Kaplan-Meier plot of a Cohort needs the miRNA and the time and event columns",
                             expected="ex.pl.km(adata, 'hsa-miR-…', time='dfs_months', event='dfs_event')")
        curves = tl.km(data, time, event, mirna=mirna, cutpoint=cutpoint, layer=layer)
        endpoint = endpoint or tl.endpoint_name(time, event)
        time_label = time_label or km_time_label(endpoint, tl.time_unit(time), time)
        summary = {"logrank_p": curves.logrank_p} if summary is None else summary
    else:
        curves = data
    strata = curves.curves.rename(columns={"group": "stratum"})
    at_risk = curves.at_risk.rename(columns={"group": "stratum", "n_risk": "at_risk"})
    return figures.km_figure(mirna or curves.mirna, strata, at_risk, summary, endpoint=endpoint or curves.endpoint or "survival",
                             time_label=time_label or "time")


def km_time_label(endpoint: str, unit: str, time: str) -> str:
    """The time axis of a Kaplan-Meier plot: ``time (DFS, months)``, or the column when no unit is known."""
    return f"time ({endpoint}, {unit})" if unit else f"time ({endpoint} ({time}))"


def hr_forest(survival_table: pd.DataFrame, endpoint: str | None = None, *, top: int = TOP_FOREST) -> go.Figure | None:
    """Cox hazard ratios (95 % CI, log axis) of the first ``top`` miRNAs of a survival table with a
    finite interval, for one endpoint (the first when none is named); None when none is finite."""
    endpoint = endpoint or str(survival_table["endpoint"].iloc[0])
    table = survival_table[survival_table["endpoint"] == endpoint]
    columns = ["hr", "hr_ci_low", "hr_ci_high"]
    rows = table[np.isfinite(table[columns].to_numpy(dtype=float)).all(axis=1)].head(top)
    if rows.empty:
        return None
    return figures.forest(rows, label="mirna", estimate="hr", low="hr_ci_low", high="hr_ci_high", null=1.0,
                          log_x=True, title=f"{endpoint}: hazard ratio per log2 unit (Cox, 95% CI)",
                          x_title="hazard ratio (log scale)")


#: panel names as the subgroup forest writes them (short: each row also names comparison and subgroup)
_MODEL_LABELS = {"mirna_panel": "miRNAs", "mirna_afp_panel": "miRNAs + AFP", "AFP": "AFP"}


def subgroup_forest(subgroups: pd.DataFrame) -> go.Figure | None:
    """Out-of-fold AUC (DeLong 95 % CI) of the panels and AFP in the early-stage and AFP-negative
    subgroups (the ``panel_subgroups`` table); None when no AUC is finite."""
    rows = subgroups.copy()
    rows["row"] = (rows["comparison"] + " · " + rows["subgroup"].map(_short_subgroup) + " · "
                   + rows["model"].map(lambda m: _MODEL_LABELS.get(m, m)))
    shown = rows[np.isfinite(rows[["auc", "auc_ci_low", "auc_ci_high"]].to_numpy(dtype=float)).all(axis=1)]
    if shown.empty:
        return None
    return figures.forest(shown, label="row", estimate="auc", low="auc_ci_low", high="auc_ci_high", null=0.5,
                          title="AUC in subgroups (out-of-fold, DeLong 95% CI)", x_title="AUC")


def _short_subgroup(name: str) -> str:
    name = str(name)
    if name.startswith("early_stage"):
        return "early stage"
    if name.startswith("AFP-negative"):
        return "AFP < 20 ng/mL"
    return name


def time_roc(curves: pd.DataFrame, endpoint: str | None = None, unit: str = "") -> go.Figure:
    """Time-dependent ROC curves (cumulative/dynamic, IPCW) of one endpoint of an analysis's
    ``time_roc`` curves (the first endpoint when none is named)."""
    if "endpoint" in curves:
        endpoint = endpoint or str(curves["endpoint"].iloc[0])
        curves = curves[curves["endpoint"] == endpoint]
    return figures.time_roc_figure(curves, endpoint or "survival", unit)


def stage_box(adata: ad.AnnData, mirna: str, stage: str) -> go.Figure:
    """A miRNA's level in each stage (stages ordered as the stage trend orders them)."""
    ranks, labels = tl.stage_order(adata.obs[stage])
    levels = sorted(set(ranks[np.isfinite(ranks)]))
    names = [labels[levels.index(r)] if np.isfinite(r) else None for r in ranks]
    level = np.asarray(adata[:, mirna].X, dtype=float).ravel()
    frame = pd.DataFrame({"stage": names, "level": level}).dropna()
    return figures.stage_boxes(frame, mirna, stage, labels)


def afp(adata: ad.AnnData | pd.DataFrame, group: str, afp: str, cutoff: float = 20.0) -> go.Figure:
    """AFP per group on a log axis with the clinical cut-off (``adata`` or its ``obs``)."""
    obs = adata.obs if isinstance(adata, ad.AnnData) else adata
    return figures.afp_by_group(obs, group, afp, cutoff)


def hemolysis(qc: pd.DataFrame, adata: ad.AnnData | pd.DataFrame, group: str) -> go.Figure | None:
    """Hemolysis index per sample, coloured by category (``qc`` from ``ex.pp.qc``); None when the
    Cohort has no hemolysis index."""
    obs = adata.obs if isinstance(adata, ad.AnnData) else adata
    return figures.hemolysis_figure(qc, obs, group)


def _comparison(table: pd.DataFrame, comparison: str | None) -> str:
    """The comparison asked for, or the table's first; a clear error for one it does not hold."""
    present = list(dict.fromkeys(table["comparison"].astype(str)))
    if comparison is None:
        if not present:
            raise InputError("the table holds no comparison")
        return present[0]
    if comparison not in present:
        raise InputError(f"no comparison {comparison!r} in the table", expected=f"one of {present}")
    return comparison


def _recorded_roc(adata: ad.AnnData) -> dict:
    """The parameters of the Cohort's last ROC step (empty when it recorded none)."""
    steps = [s for s in meta(adata).get("steps", []) if str(s.get("step", "")).startswith("roc")]
    return dict(steps[-1]) if steps else {}
