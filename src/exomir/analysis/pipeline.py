"""The analyze pipeline: QC → normalization → per comparison differential expression, ROC and
panels → survival → knowledge-base evidence → enrichment. Each step is a call into the package that
owns the method; this module only decides what is run on which samples and collects the tables.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd

from exomir.analysis.comparisons import Comparison, plan_comparisons
from exomir.analysis.tables import stable_sort
from exomir.cohort import measure_of, meta, record_exclusion, record_step
from exomir.errors import InputError, ReferenceDataError
from exomir.progress import steps
from exomir.results import AnalysisResult, AnalysisSettings
import exomir.analysis.prognosis as prognosis
from exomir.io.tcga import prognosis_samples
from exomir.kb import evidence_for
from exomir.plotting.cohort_figures import roc_curves
from exomir.preprocess.normalize import normalize
from exomir.preprocess.qc import control_columns, drop_controls, drop_empty_mirnas, quality_control
from exomir.preprocess.qpcr import censor_nondetects, nondetect_counts
from exomir.tools import differential, direction_prior, enrich, panel, roc, where

log = logging.getLogger(__name__)

#: miRNAs per comparison shown with ROC curves and sent to the knowledge base.
TOP_KM = 3
TOP_EVIDENCE = 25
SIGNIFICANCE = 0.05


def run_analysis(adata: ad.AnnData, settings: AnalysisSettings | None = None, **options: Any) -> AnalysisResult:
    """Analyze a Cohort in memory (``settings`` or keyword options of :class:`AnalysisSettings`)."""
    settings = settings or AnalysisSettings(**options)
    endpoints = settings.endpoints()
    if endpoints and not settings.time:  # the first endpoint also fills --time/--event (report, methods)
        settings.endpoint, settings.time, settings.event = endpoints[0]
    elif endpoints:
        settings.endpoint = endpoints[0][0]
    comparisons = _plan(adata, settings, bool(endpoints))
    settings.controls = tuple(c.control for c in comparisons)
    _check_columns(adata, settings)
    result = AnalysisResult(adata=adata, settings=settings, comparisons=comparisons)
    if settings.control_rnas:
        meta(adata)["control_rnas"] = [str(c) for c in settings.control_rnas]
    if settings.patient:
        # a patient ID is a key (also when written as digits): a factor in designs, a group for CV folds
        adata.obs[settings.patient] = adata.obs[settings.patient].astype("string").astype("category")
        meta(adata)["groups_column"] = settings.patient
    if not comparisons:
        _note(result, "prognosis only: no comparison group in the clinical table, so no differential expression, "
                      "ROC or diagnostic panels; survival analysis of " + ", ".join(e[0] for e in endpoints))
    survival_wanted = bool(endpoints)
    total = 3 + 3 * len(comparisons) + (1 if survival_wanted else 0) + 2
    with steps("analyze", total) as advance:
        result.tables["qc"] = _quality_control(result)
        advance("quality control")
        _normalize(result)
        advance(f"normalization ({_normalization_name(result.adata)})")
        de_frames, roc_frames, panel_frames, subgroup_frames = [], [], [], []
        for comparison in comparisons:
            de_frames.append(_differential(result, comparison))
            advance(f"differential expression {comparison.name}")
            roc_frames.append(_roc(result, comparison))
            advance(f"ROC {comparison.name}")
            panel = _panels(result, comparison)
            if panel is not None:
                panel_frames.append(panel[0])
                subgroup_frames.append(panel[1])
            advance(f"panels {comparison.name}" if settings.panels else None)
        order = [c.name for c in comparisons]
        if comparisons:
            _diagnostic_tables(result, order, de_frames, roc_frames, panel_frames, subgroup_frames)
        if survival_wanted:
            _survival(result)
            advance("survival (" + ", ".join(e[0] for e in endpoints) + ")")
        result.tables["evidence"] = _evidence(result) if comparisons else None
        advance("knowledge-base evidence")
        result.tables["enrichment"] = _enrichment(result) if comparisons else None
        advance("enrichment")
        record_step(result.adata, "analyze", **settings.as_dict())
        advance("done")
    result.tables = {name: table for name, table in result.tables.items() if table is not None}
    return result


def _plan(adata: ad.AnnData, settings: AnalysisSettings, survival: bool) -> list[Comparison]:
    """The comparisons; none (prognosis only) when survival is asked for and the cohort has no
    second group: no group column at all (the default name absent), or a single level."""
    group = settings.group
    if survival and group not in adata.obs.columns and group in (None, "group"):
        settings.group = _cohort_column(adata)
        return []
    if survival and group in adata.obs.columns and adata.obs[group].astype("string").dropna().nunique() < 2:
        return []
    return plan_comparisons(adata.obs, group, settings.case, settings.controls)


def _cohort_column(adata: ad.AnnData) -> str:
    """A column that describes the samples of a prognosis-only cohort (for the report's tables)."""
    if "sample_type" in adata.obs.columns:  # TCGA: primary tumour, solid tissue normal...
        return "sample_type"
    adata.obs["cohort"] = pd.Categorical(["all"] * adata.n_obs)
    return "cohort"


def _diagnostic_tables(result: AnalysisResult, order: list[str], de_frames, roc_frames, panel_frames,
                       subgroup_frames) -> None:
    settings = result.settings
    result.tables["differential"] = stable_sort(pd.concat(de_frames, ignore_index=True),
                                                ["comparison", "padj", "pvalue", "mirna"], first=order)
    roc = pd.concat(roc_frames, ignore_index=True)
    if panel_frames:
        models = pd.concat(panel_frames, ignore_index=True)
        roc = pd.concat([roc, models[models["mirna"] != "AFP"].reindex(columns=roc.columns)], ignore_index=True)
    roc["_neg_auc"] = -roc["auc"]
    result.tables["roc"] = stable_sort(roc, ["comparison", "_neg_auc", "mirna"], first=order).drop(columns="_neg_auc")
    if panel_frames:
        panels = pd.concat(panel_frames, ignore_index=True)
        result.tables["panels"] = stable_sort(panels, ["comparison"], first=order)
        subgroups = pd.concat(subgroup_frames, ignore_index=True)
        if len(subgroups):
            result.tables["panel_subgroups"] = stable_sort(subgroups, ["comparison"], first=order)
    if settings.afp:
        result.tables["afp_cutoff"] = _afp_cutoff(result)
    _roc_curves(result)


# --- steps -----------------------------------------------------------------------------------


def _check_columns(adata: ad.AnnData, settings: AnalysisSettings) -> None:
    endpoint_columns = [(f"--survival {name}", c) for name, t, e in settings.endpoints() for c in (t, e)]
    for option, column in (("--afp", settings.afp), ("--time", settings.time), ("--event", settings.event),
                           ("--stage", settings.stage), ("--patient", settings.patient), *endpoint_columns,
                           *(("--covariate", c) for c in settings.covariates),
                           *(("--adjust", c) for c in settings.adjust)):
        if column and column not in adata.obs.columns:
            raise InputError(f"{option}: no column {column!r} in the clinical table", column=column,
                             expected="one of " + ", ".join(repr(c) for c in adata.obs.columns),
                             path=where(adata, "")["path"])
    if bool(settings.time) != bool(settings.event):
        raise InputError("survival needs both --time and --event", expected="--time COLUMN --event COLUMN")
    for _, _, event in settings.endpoints():
        values = pd.to_numeric(adata.obs[event], errors="coerce")
        bad = values.notna() & ~values.isin([0.0, 1.0])
        if bad.any():
            sample = values.index[np.flatnonzero(bad.to_numpy())[0]]
            raise InputError(f"event value {values[sample]:g} is neither 0 nor 1", column=event,
                             expected="1 = event, 0 = censored", **where(adata, sample))


def _quality_control(result: AnalysisResult) -> pd.DataFrame:
    table = quality_control(result.adata, lod=result.settings.nondetect_lod)
    flagged = table[table.get("flags", pd.Series("", index=table.index)).astype(str) != ""]
    if len(flagged):
        log.warning(f"QC flagged {len(flagged)} sample(s) (kept in the analysis; see qc.csv): "
                    + ", ".join(flagged["sample"].astype(str).head(10)))
    return table


def _normalize(result: AnalysisResult) -> None:
    adata = result.adata
    settings = result.settings
    if measure_of(adata) == "cq" and settings.normalization != "none":
        groups = adata.obs[settings.group] if settings.group in adata.obs else None
        result.tables["nondetects"] = nondetect_counts(adata, settings.group, lod=settings.nondetect_lod)
        adata = censor_nondetects(adata, lod=settings.nondetect_lod, max_fraction=settings.nondetect_max_fraction,
                                  groups=groups)
    adata = normalize(adata, settings.normalization, references=settings.reference, spike_in=settings.spike_in)

    result.adata = drop_empty_mirnas(_without_controls(adata))


def _without_controls(adata: ad.AnnData) -> ad.AnnData:
    """Spike-ins and small-RNA reference genes served QC and normalization; they are not biomarkers."""
    roles = control_columns(adata)
    if roles:
        log.info(f"{len(roles)} spike-in/control column(s) not tested: {', '.join(list(roles)[:5])}")
    return drop_controls(adata)


def _normalization_name(adata: ad.AnnData) -> str:
    for step in reversed(meta(adata).get("steps", [])):
        if step.get("step") == "normalize":
            return str(step.get("method"))
    return "?"


def _differential(result: AnalysisResult, comparison: Comparison) -> pd.DataFrame:
    table = differential(result.adata, comparison.group, comparison.case, [list(comparison.controls)],
                         covariates=tuple(result.settings.covariates))
    table = table.copy()
    table["comparison"] = comparison.name
    return table


def _roc(result: AnalysisResult, comparison: Comparison) -> pd.DataFrame:
    table = roc(result.adata, comparison.group, comparison.case, [list(comparison.controls)], afp=result.settings.afp,
                seed=result.settings.seed, direction=direction_prior(result.settings.direction)).copy()
    table["comparison"] = comparison.name
    return table


def _panels(result: AnalysisResult, comparison: Comparison) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """Nested-CV penalized logistic panels (miRNAs alone, miRNAs + AFP, AFP alone) of ``exomir.tools.panel``:
    the summary and the results in the early-stage and AFP-negative subgroups."""
    settings = result.settings
    if not settings.panels:
        return None
    with warnings.catch_warnings():
        # near-perfect separation is expected when strong miRNAs are combined; the CV AUC says so
        warnings.filterwarnings("ignore", message=".*[Pp]erfect separation.*")
        warnings.filterwarnings("ignore", message="overflow encountered in exp")
        warnings.filterwarnings("ignore", message="invalid value encountered in scalar divide")
        try:
            analysis = panel(result.adata, comparison.group, comparison.case, list(comparison.controls),
                             afp=settings.afp, stage=settings.stage, seed=settings.seed, **settings.panel_options)
        except InputError as exc:
            # panels are an addition to the single-marker results, not a reason to lose them
            _note(result, f"panels {comparison.name}: not fitted ({exc}){_folds_hint(result, comparison)}")
            return None
    result.panel_analyses[comparison.name] = analysis  # the report draws the panel-vs-AFP figures from it
    summary = analysis.summary.copy()
    summary["comparison"] = comparison.name
    subgroups = analysis.subgroups.copy()
    subgroups["comparison"] = comparison.name
    return summary, subgroups


def _folds_hint(result: AnalysisResult, comparison: Comparison) -> str:
    """What to do when the nested CV has too few samples: the most folds the smaller group allows."""
    selection = comparison.select(result.adata)
    smaller = int(min(selection.is_case.sum(), selection.is_control.sum()))
    asked = result.settings.panel_options.get("outer_folds", 5)
    usable = [k for k in range(2, 11) if smaller >= k and smaller * (k - 1) // k >= k]
    if not usable:
        return (f"; {smaller} samples in the smaller group are too few for cross-validated panels "
                "(at least 4 per group are needed, with --folds 2)")
    best = max(usable)
    return f"; with {smaller} samples in the smaller group, use --folds {best} or fewer" if best < asked else ""


def _afp_cutoff(result: AnalysisResult) -> pd.DataFrame:
    """Sensitivity and specificity of AFP at the clinical cut-off (≥ cut-off calls HCC)."""
    cutoff = result.settings.afp_cutoff
    afp = pd.to_numeric(result.adata.obs[result.settings.afp], errors="coerce")
    rows = []
    for comparison in result.comparisons:
        selection = comparison.select(result.adata)
        case = afp[selection.is_case].dropna()
        control = afp[selection.is_control].dropna()
        rows.append({
            "comparison": comparison.name,
            "marker": "AFP",
            "cutoff": cutoff,
            "rule": f">= {cutoff:g}",
            "n_case": len(case),
            "n_control": len(control),
            "true_positive": int((case >= cutoff).sum()),
            "true_negative": int((control < cutoff).sum()),
            "sensitivity": float((case >= cutoff).mean()) if len(case) else np.nan,
            "specificity": float((control < cutoff).mean()) if len(control) else np.nan,
        })
    return pd.DataFrame(rows)


def _roc_curves(result: AnalysisResult) -> None:
    """Curves of the best miRNAs of each comparison and of AFP, for the report."""
    roc = result.tables["roc"]
    for comparison in result.comparisons:
        table = roc[(roc["comparison"] == comparison.name)]
        result.roc_curves[comparison.name] = roc_curves(result.adata, table, comparison.select(result.adata),
                                                        afp=result.settings.afp)


def _survival(result: AnalysisResult) -> None:
    """Every endpoint: the per-miRNA screen (unadjusted and adjusted), Kaplan-Meier curves of the
    best miRNAs, time-dependent ROC, the stage trend and the nested-CV prognostic panel."""
    settings = result.settings
    subset = _survival_samples(result)
    frames, td_frames, panel_frames = [], [], []
    for name, time, event in settings.endpoints():
        has = (pd.to_numeric(subset.obs[time], errors="coerce").notna()
               & pd.to_numeric(subset.obs[event], errors="coerce").notna()).to_numpy()
        if has.sum() < 10:
            raise InputError(f"only {int(has.sum())} samples have both {time!r} and {event!r}",
                             column=time, expected="at least 10 samples with survival data")
        screen = prognosis.screen(subset, name, time, event, settings)
        frames.append(screen)
        top = screen.dropna(subset=["pvalue"]).sort_values(["pvalue", "mirna"], kind="mergesort").head(TOP_KM)
        for mirna in top["mirna"]:
            km = prognosis.km(subset, name, time, event, mirna, settings)
            result.km_curves[f"{name}: {mirna}"] = km
        td_frames.append(prognosis.time_roc(subset, name, time, event, top["mirna"].tolist(), settings))
        if settings.prognostic_panel:
            panel = prognosis.panel(subset, name, time, event, settings, note=lambda text: _note(result, text))
            if panel is not None:
                panel_frames.append(panel)
    table = pd.concat(frames, ignore_index=True)
    order = [e[0] for e in settings.endpoints()]
    result.tables["survival"] = stable_sort(table, ["endpoint", "pvalue", "mirna"], first=order)
    td_frames = [f for f in td_frames if f is not None]
    if td_frames:
        curves = pd.concat(td_frames, ignore_index=True)
        result.time_roc_curves = curves
        keys = ["endpoint", "marker", "time"]
        result.tables["time_roc"] = curves.drop_duplicates(keys)[keys + ["auc", "n_cases", "n_controls"]].reset_index(drop=True)
    if panel_frames:
        result.tables["prognostic_panel"] = pd.concat(panel_frames, ignore_index=True)
    if settings.stage:
        trend = prognosis.stage_trend(subset, settings)
        if trend is not None:
            result.tables["trend"] = trend


def _survival_samples(result: AnalysisResult) -> ad.AnnData:
    """The patients of the prognosis analysis: the case group when there is a comparison (a control
    sample of the same patient, e.g. adjacent normal tissue, must not count twice); for TCGA
    without one, the primary tumours, one per patient; otherwise every sample."""
    settings = result.settings
    adata = result.adata
    if result.comparisons:
        keep = result.comparisons[0].select(adata).is_case
        left_out = int((~keep).sum())
        if left_out:
            log.info(f"survival: {left_out} sample(s) outside the case group {settings.case!r} are not in the survival analysis")
            record_exclusion(adata, "samples", f"{left_out} samples",
                             f"not in the case group {settings.case!r}: left out of the survival analysis")
    elif "barcode" in adata.obs.columns and "sample_type_code" in adata.obs.columns:
        keep, reasons = prognosis_samples(adata.obs)
        for barcode, reason in reasons.items():
            record_exclusion(adata, "sample", barcode, reason)
        if reasons:
            log.info(f"survival: {len(reasons)} TCGA sample(s) that are not a patient's primary tumour left out")
    else:
        keep = np.ones(adata.n_obs, dtype=bool)
    subset = adata[keep].copy()
    subset.uns = adata.uns  # exclusions recorded on the subset belong to the Cohort
    return subset


def _evidence(result: AnalysisResult) -> pd.DataFrame | None:
    hits = _top_hits(result.tables["differential"], TOP_EVIDENCE)
    if hits.empty:
        _note(result, "knowledge-base evidence: no miRNA reached padj < 0.05")
        return None
    try:
        return evidence_for(hits)
    except (InputError, ReferenceDataError) as exc:
        _note(result, f"knowledge-base evidence: not available ({exc})")
        return None


def _enrichment(result: AnalysisResult) -> pd.DataFrame | None:
    de = result.tables["differential"]
    background = [str(v) for v in result.adata.var_names]
    frames = []
    for comparison in result.comparisons:
        for direction, sign in (("up", 1.0), ("down", -1.0)):
            hits = de[(de["comparison"] == comparison.name) & (de["padj"] < SIGNIFICANCE) & (np.sign(de["log2fc"]) == sign)]
            if len(hits) < 3:
                continue
            try:
                table = enrich(hits["mirna"].tolist(), background_mirnas=background)
            except (InputError, ReferenceDataError) as exc:
                _note(result, f"enrichment {comparison.name} ({direction}): not computed ({exc})")
                continue
            if table is None or len(table) == 0:
                continue
            table = table.copy()
            table.insert(0, "direction", direction)
            table.insert(0, "comparison", comparison.name)
            frames.append(table)
    if not frames:
        _note(result, "enrichment: no comparison had at least 3 significant miRNAs in one direction")
        return None
    return pd.concat(frames, ignore_index=True)


# --- helpers ---------------------------------------------------------------------------------


def _top_hits(differential: pd.DataFrame, n: int) -> pd.DataFrame:
    """The ``n`` best significant miRNAs of each comparison (the table is already sorted)."""
    significant = differential[differential["padj"] < SIGNIFICANCE]
    return significant.groupby("comparison", sort=False).head(n).reset_index(drop=True)


def _note(result: AnalysisResult, text: str) -> None:
    if text not in result.notes:
        result.notes.append(text)
        log.warning(text)
