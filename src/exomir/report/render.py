"""Assemble the report: figures, tables and provenance into the jinja2 template."""

from __future__ import annotations

import platform
import re
from importlib import metadata
from typing import Any

import jinja2
import numpy as np
import pandas as pd
from markupsafe import Markup, escape

from exomir._version import __version__
from exomir.cohort import exclusions, meta
import exomir.plotting as pl
import exomir.plotting.figures as figures
from exomir.plotting.cohort_figures import km_time_label
from exomir.plotting.diagnostic import delong_lines, label
from exomir.results import AnalysisResult, AnalysisSettings
from exomir.kb.links import reference_html
from exomir.kb.vocab import labels_of
from exomir.preprocess.qc import hemolysis_warnings, is_hemolysis_sensitive
from exomir.tools import time_unit

PACKAGES = ("numpy", "scipy", "pandas", "anndata", "pydeseq2", "lifelines", "statsmodels", "scikit-learn", "plotly")
TOP_TABLE = 10
DIRECTIONS = {"higher_in_case": "↑ in case", "lower_in_case": "↓ in case"}


def render_report(result: AnalysisResult) -> str:
    """HTML text of the report of an analysis (self-contained, deterministic)."""
    from plotly.offline import get_plotlyjs

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("exomir.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        keep_trailing_newline=True,
    )
    template = env.get_template("report.html.j2")
    context = build_context(result)
    return template.render(plotly_js=Markup(get_plotlyjs()), **context)


def build_context(result: AnalysisResult) -> dict[str, Any]:
    adata = result.adata
    settings = result.settings
    tables = result.tables
    de = tables.get("differential", pd.DataFrame())
    roc = tables.get("roc", pd.DataFrame())
    qc = tables.get("qc")
    flagged_names = _hemolysis_sensitive_set(de)
    comparisons = []
    for comparison in result.comparisons:
        name = comparison.name
        part = de[de["comparison"] == name]
        roc_part = roc[roc["comparison"] == name]
        auc = roc_part.set_index("mirna")[["auc", "auc_ci_low", "auc_ci_high", "direction"]]
        top = part.copy()  # every miRNA is in the page (the filter finds it); the first ones are shown
        top["auc"] = top["mirna"].map(auc["auc"])
        top["auc_direction"] = top["mirna"].map(auc["direction"]).map(lambda d: DIRECTIONS.get(d, d))
        labels = comparison.labels(adata.obs)
        entry = {
            "name": name,
            "title": entry_title(comparison),
            "anchor": _anchor(name),
            "n_case": int((labels == "case").sum()),
            "n_control": int((labels == "control").sum()),
            "n_up": int(((part["padj"] < 0.05) & (part["log2fc"] > 0)).sum()),
            "n_down": int(((part["padj"] < 0.05) & (part["log2fc"] < 0)).sum()),
            "method": ", ".join(sorted(set(part.get("method", pd.Series(dtype=str)).astype(str)))),
            "volcano": Markup(figures.to_div(pl.volcano(de, name, flagged=flagged_names), f"volcano-{_anchor(name)}")),
            "de_table": _html_table(top, ["mirna", "log2fc", "pvalue", "padj", "auc", "auc_direction"],
                                    flagged=flagged_names, max_rows=TOP_TABLE, name=f"differential-{name}"),
            "roc": Markup(figures.to_div(pl.roc(roc, result.roc_curves.get(name, {}), name),
                                         f"roc-{_anchor(name)}")) if result.roc_curves.get(name) else None,
            "roc_table": _html_table(_roc_rows(roc_part), ["mirna", "auc", "95% CI", "direction", "threshold",
                                                          "sensitivity", "specificity"], flagged=flagged_names,
                                     max_rows=TOP_TABLE + 1, name=f"roc-{name}", labels=APPARENT_ROC_LABELS),
            "best": _best(roc_part[roc_part["mirna"].isin(set(map(str, adata.var_names)))]),
            "afp": _afp_line(roc_part, tables.get("afp_cutoff"), name, settings),
            "headline": _headline(getattr(result, "panel_analyses", {}).get(name), entry_title(comparison), name),
        }
        comparisons.append(entry)

    top_mirnas = list(dict.fromkeys(de[de["padj"] < 0.05].groupby("comparison", sort=False).head(10)["mirna"])) if len(de) else []
    hemolysis_warnings = _hemolysis_warnings(top_mirnas, qc)
    return {
        "title": f"exomir report: {settings.case} vs {', '.join(settings.controls)}" if result.comparisons
        else "exomir report: prognosis (" + ", ".join(e[0] for e in settings.endpoints()) + ")",
        "version": __version__,
        "inputs": _inputs(adata),
        "settings": settings.as_dict(),
        "n_samples": adata.n_obs,
        "n_mirnas": adata.n_vars,
        "measure": meta(adata).get("measure"),
        "cohort_table": _cohort_table(adata.obs, settings),
        "afp_figure": Markup(figures.to_div(pl.afp(adata, settings.group, settings.afp, settings.afp_cutoff),
                                            "afp-by-group"))
        if settings.afp else None,
        "afp_cutoff": _html_table(tables["afp_cutoff"], ["comparison", "rule", "n_case", "n_control", "sensitivity",
                                                        "specificity"], name="afp-cutoff") if "afp_cutoff" in tables else None,
        "qc": _qc_context(qc, adata, settings),
        "hemolysis_warnings": hemolysis_warnings,
        "comparisons": comparisons,
        "panels": _html_table(_panel_rows(tables["panels"]), [c for c in PANEL_COLUMNS if c in tables["panels"]
                                                              or c == "model"],
                              max_rows=40, name="panels") if "panels" in tables else None,
        "panel_subgroups": _subgroups_context(tables.get("panel_subgroups")),
        "survival": _survival_context(result),
        "evidence": _evidence_table(tables.get("evidence"), de, roc),
        "enrichment": _html_table(_enrichment_rows(tables["enrichment"]),
                                  ["comparison", "direction", "gene_set", "library", "overlap", "set_size_in_background",
                                   "fold_enrichment", "pvalue", "padj", "mirnas"], max_rows=30, name="enrichment")
        if "enrichment" in tables else None,
        "methods": _methods(result),
        "planted": _planted_table(result),
        "exclusions": _html_table(exclusions(adata), ["what", "item", "reason", "role"], max_rows=200, name="exclusions"),
        "n_exclusions": len(exclusions(adata)),
        "notes": list(result.notes),
        "versions": _versions(),
    }


# --- pieces --------------------------------------------------------------------------------


def entry_title(comparison) -> str:
    return f"{comparison.case} vs {' + '.join(comparison.controls)}"


def _headline(analysis, title: str, name: str) -> dict[str, Any] | None:
    """The panel against AFP and with AFP: ROC curves with the paired DeLong p, calibration and
    decision curve (only when the panels were fitted with AFP)."""
    if analysis is None or "AFP" not in analysis.out_of_fold:
        return None
    anchor = _anchor(name)
    return {
        "roc": Markup(figures.to_div(pl.panel_roc(analysis, f"miRNA panel vs AFP: {title}"), f"panel-roc-{anchor}")),
        "calibration": Markup(figures.to_div(pl.calibration(analysis, f"Calibration: {title}"), f"calibration-{anchor}")),
        "decision": Markup(figures.to_div(pl.decision_curve(analysis, f"Decision curve: {title}"), f"decision-{anchor}")),
        "delong": delong_lines(analysis),
    }


def _inputs(adata) -> list[tuple[str, str]]:
    source = meta(adata).get("source", {})
    return [(str(k), str(v)) for k, v in source.items() if isinstance(v, (str, int, float)) and str(v) != ""][:20]


def _cohort_table(obs: pd.DataFrame, settings: AnalysisSettings) -> Markup:
    rows = []
    groups = figures.group_order(obs[settings.group])
    afp = pd.to_numeric(obs[settings.afp], errors="coerce") if settings.afp else None
    for name in groups:
        mask = (obs[settings.group].astype(str) == name).to_numpy()
        row: dict[str, Any] = {"group": name, "n": int(mask.sum())}
        if "age" in obs:
            age = pd.to_numeric(obs.loc[mask, "age"], errors="coerce")
            row["age, mean (SD)"] = f"{age.mean():.1f} ({age.std():.1f})" if age.notna().any() else ""
        if "sex" in obs:
            sex = obs.loc[mask, "sex"].astype(str)
            row["male"] = f"{(sex == 'M').mean():.0%}"
        if afp is not None:
            values = afp[mask].dropna()
            if len(values):
                q1, q2, q3 = np.percentile(values, [25, 50, 75])
                row["AFP ng/mL, median (IQR)"] = f"{q2:.1f} ({q1:.1f}–{q3:.1f})"
                row[f"AFP ≥ {settings.afp_cutoff:g}"] = f"{(values >= settings.afp_cutoff).mean():.0%}"
        if "stage" in obs:
            stages = obs.loc[mask, "stage"].dropna().astype(str)
            row["stage"] = ", ".join(f"{s}: {k}" for s, k in sorted(stages.value_counts().items())) if len(stages) else ""
        if settings.time and settings.event:
            event = pd.to_numeric(obs.loc[mask, settings.event], errors="coerce")
            row[f"{settings.endpoint} events / with follow-up"] = f"{int(event.sum())} / {int(event.notna().sum())}" if event.notna().any() else ""
        rows.append(row)
    return _html_table(pd.DataFrame(rows), None, name="cohort")


def _qc_context(qc: pd.DataFrame | None, adata, settings: AnalysisSettings) -> dict[str, Any] | None:
    if qc is None or qc.empty:
        return None
    counts = qc["hemolysis"].astype(str).value_counts() if "hemolysis" in qc else pd.Series(dtype=int)
    flagged = qc[qc["flags"].astype(str) != ""] if "flags" in qc else qc.iloc[0:0]
    if settings.group in adata.obs:
        flagged = flagged.assign(group=flagged["sample"].astype(str).map(adata.obs[settings.group].astype(str)))
    index_col = next((c for c in ("hemolysis_dcq", "hemolysis_log2_ratio") if c in qc.columns), None)
    columns = ["sample", "group", "hemolysis", index_col, "spike_in_recovery", "outlier", "flags"]
    figure = pl.hemolysis(qc, adata, settings.group)
    return {
        "hemolysis_counts": [(k, int(counts.get(k, 0))) for k in ("clean", "possible", "hemolysed", "unknown")],
        "n_outliers": int(qc["outlier"].astype(bool).sum()) if "outlier" in qc else 0,
        "n_flagged": len(flagged),
        "flagged_table": _html_table(flagged, [c for c in columns if c], max_rows=60, name="qc-flagged"),
        "figure": Markup(figures.to_div(figure, "qc-hemolysis")) if figure is not None else None,
    }


def _survival_context(result: AnalysisResult) -> dict[str, Any] | None:
    table = result.tables.get("survival")
    if table is None:
        return None
    settings = result.settings
    kms = []
    for key, km in result.km_curves.items():
        endpoint = getattr(km, "endpoint", "") or settings.endpoint
        mirna = getattr(km, "mirna", "") or key
        unit = getattr(km, "time_unit", "")
        rows = table[(table["mirna"] == mirna) & (table["endpoint"] == endpoint)]
        summary = rows.iloc[0].to_dict() if len(rows) else None
        figure = pl.km(km, mirna, summary=summary, endpoint=endpoint, time_label=km_time_label(endpoint, unit, settings.time))
        first = endpoint == (settings.endpoints() or [(settings.endpoint,)])[0][0]  # the first keeps its plain id
        kms.append(Markup(figures.to_div(figure, f"km-{_anchor(mirna if first else key)}")))
    endpoints = list(dict.fromkeys(table["endpoint"].astype(str)))
    extra = []
    for k, endpoint in enumerate(endpoints):
        forest = pl.hr_forest(table, endpoint)
        if forest is not None:
            suffix = "" if k == 0 else _anchor(endpoint)
            extra.append(Markup(figures.to_div(forest, f"hr-forest-{suffix}" if suffix else "hr-forest")))
    curves = result.time_roc_curves
    if curves is not None and len(curves):
        for endpoint in endpoints:
            part = curves[curves["endpoint"] == endpoint]
            time_col = next((t for name, t, _ in settings.endpoints() if name == endpoint), settings.time)
            if len(part):
                fig = pl.time_roc(part, endpoint, time_unit(time_col, settings.time_unit))
                extra.append(Markup(figures.to_div(fig, f"time-roc-{_anchor(endpoint)}")))
    extra += _stage_boxes(result)
    first = table[table["endpoint"] == endpoints[0]] if endpoints else table
    return {
        "endpoint": ", ".join(endpoints),
        "n": int(first["n"].max()) if "n" in first and len(first) else 0,
        "events": int(first["events"].max()) if "events" in first and len(first) else 0,
        "table": _html_table(table.groupby("endpoint", sort=False).head(TOP_TABLE),
                             ["endpoint", "mirna", "hr", "hr_ci_low", "hr_ci_high", "pvalue", "padj", "hr_adj",
                              "hr_adj_ci_low", "hr_adj_ci_high", "pvalue_adj", "adjusted_for", "c_index",
                              "cutpoint", "logrank_p", "maxstat_cutpoint", "maxstat_p", "n", "events", "note"],
                             max_rows=TOP_TABLE * max(1, len(endpoints)), name="survival",
                             labels={"c_index": "C-index (apparent)"}),
        "forest": None,
        "km": kms,
        "extra": extra,
        "panel": _html_table(result.tables["prognostic_panel"], None) if "prognostic_panel" in result.tables else None,
        "trend": _html_table(result.tables["trend"].head(TOP_TABLE), ["mirna", "n", "n_stages", "spearman_rho",
                                                                      "pvalue", "padj", "direction", "medians"])
        if "trend" in result.tables else None,
    }


def _stage_boxes(result: AnalysisResult) -> list[Markup]:
    """Box plots by stage of the strongest stage-trend miRNAs."""
    trend = result.tables.get("trend")
    stage = result.settings.stage
    if trend is None or not len(trend) or stage not in result.adata.obs:
        return []
    out = []
    for mirna in trend.head(2)["mirna"]:
        fig = pl.stage_box(result.adata, mirna, stage)
        out.append(Markup(figures.to_div(fig, f"stage-{_anchor(mirna)}")))
    return out


def _subgroups_context(subgroups: pd.DataFrame | None) -> dict[str, Any] | None:
    """Panels and AFP in the early-stage and AFP-negative subgroups: a table and an AUC forest plot."""
    if subgroups is None or subgroups.empty:
        return None
    figure = pl.subgroup_forest(subgroups)
    return {
        "table": _html_table(subgroups, ["comparison", "subgroup", "model", "n_case", "n_control", "auc", "auc_ci_low",
                                    "auc_ci_high", "vs_afp_auc_difference", "vs_afp_pvalue"], max_rows=60,
                             name="panel-subgroups"),
        "forest": Markup(figures.to_div(figure, "subgroup-forest")) if figure is not None else None,
    }


def _evidence_table(evidence: pd.DataFrame | None, de: pd.DataFrame, roc: pd.DataFrame) -> Markup | None:
    """Top hits with their statistics beside what the knowledge base says about them."""
    if evidence is None or evidence.empty:
        return None
    table = evidence.copy()
    keys = ["mirna", "comparison"]
    if set(keys) <= set(table.columns):
        stats = de[keys + ["log2fc", "padj"]].drop_duplicates(keys)
        table = table.drop(columns=[c for c in ("log2fc", "padj") if c in table.columns]).merge(stats, on=keys, how="left")
        auc = roc[keys + ["auc"]].drop_duplicates(keys)
        table = table.merge(auc, on=keys, how="left")

    for column in ("parental_cells", "recipient_cells", "pathways", "hallmarks", "clinical_roles"):
        if column in table:  # people read labels ("HCC cells"); the CSV keeps the codes
            table[column] = table[column].map(lambda codes: labels_of(codes, separator="; "))
    # a few wide columns that wrap, instead of sixteen narrow ones (the CSV keeps every field)
    table["literature"] = [_literature(row) for _, row in table.iterrows()]
    table["cells"] = [_joined([row.get("parental_cells"), row.get("recipient_cells")], " → ", keep_empty=True)
                      if _text(row.get("parental_cells")) or _text(row.get("recipient_cells")) else ""
                      for _, row in table.iterrows()]
    table["mechanism"] = [_joined([row.get(c) for c in ("targets", "pathways", "hallmarks")], " · ")
                          for _, row in table.iterrows()]
    preferred = ["mirna", "comparison", "log2fc", "padj", "auc", "literature", "cells", "mechanism", "clinical_roles",
                 "references"]
    if "references" in table:  # PMIDs and DOIs as links (kb.links formats them for the report and the web app)

        table["references"] = [Markup(reference_html(row, text_key="references")) for _, row in table.iterrows()]
    columns = [c for c in preferred if c in table.columns and table[c].map(_text).ne("").any()] or None
    return _html_table(table, columns, max_rows=20, name="evidence")


def _text(value: Any) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return ""
    text = str(value).strip()
    return "" if text.lower() in ("nan", "none") else text


def _joined(values: list[Any], separator: str, *, keep_empty: bool = False) -> str:
    parts = [re.sub(r";\s*", "; ", _text(v)) for v in values]
    parts = [p if p else "–" for p in parts] if keep_empty else [p for p in parts if p]
    return separator.join(parts)


def _literature(row: pd.Series) -> str:
    """"up · agree (7 records)": the direction the papers report and whether this cohort agrees."""
    parts = list(dict.fromkeys(p for p in (_text(row.get("literature_direction")), _text(row.get("agreement"))) if p))
    text = " · ".join(parts)
    if bool(row.get("conflict")) is True and "conflicting" not in parts:
        text += " · conflicting reports"
    records = row.get("n_records")
    if _text(records):
        text += f" ({int(records)} record{'s' if int(records) != 1 else ''})"
    return text


def _panel_p_methods(panels: pd.DataFrame) -> str:
    """The methods behind the panels' intervals and p-values (columns of panels.csv, too long for the table)."""
    text = ""
    for column, what in (("ci_method", "intervals"), ("pvalue_method", "p-values")):
        methods = sorted({str(m) for m in panels[column].dropna() if str(m)}) if column in panels else []
        text += f"; {what}: " + "; ".join(methods) if methods else ""
    return text


def _panel_rows(panels: pd.DataFrame) -> pd.DataFrame:
    return panels.assign(model=panels["mirna"].map(label))


def _enrichment_rows(enrichment: pd.DataFrame) -> pd.DataFrame:
    """The most significant sets over all comparisons (the CSV keeps every tested set)."""
    if "padj" not in enrichment:
        return enrichment
    return enrichment.sort_values(["padj", "pvalue", "gene_set"], kind="mergesort").reset_index(drop=True)


def _planted_table(result: AnalysisResult) -> Markup | None:
    """For simulated cohorts: each planted effect beside the value the analysis recovered."""
    truth = meta(result.adata).get("planted")
    if not truth:
        return None
    tables = result.tables
    de = tables.get("differential", pd.DataFrame())
    roc = tables.get("roc", pd.DataFrame())
    rows = []
    for comparison, effects in truth.get("expected_log2fc", {}).items():
        part = de[de["comparison"] == comparison].reset_index(drop=True)
        if part.empty:
            continue
        for mirna, expected in effects.items():
            hit = part[part["mirna"] == mirna]
            if abs(expected) < 1e-9 or hit.empty:
                continue
            rank = int(hit.index[0]) + 1
            rows.append({"effect": f"{mirna} log2 fold change", "comparison": comparison, "planted": expected,
                         "recovered": float(hit["log2fc"].iloc[0]),
                         "note": f"rank {rank} of {len(part)}, padj {float(hit['padj'].iloc[0]):.2g}"})
    auc = truth.get("auc", {})
    for _, row in roc[roc["mirna"] == auc.get("mirna")].iterrows():
        rows.append({"effect": f"{auc['mirna']} AUC", "comparison": row["comparison"], "planted": auc.get("auc"),
                     "recovered": row["auc"], "note": f"95% CI {row['auc_ci_low']:.3f}–{row['auc_ci_high']:.3f}"})
    afp = truth.get("afp", {})
    cut = tables.get("afp_cutoff")
    if afp and cut is not None:
        for _, row in cut.iterrows():
            control = row["comparison"].split("_vs_", 1)[-1]
            arms = control.split("+")
            if sorted(arms) == sorted(truth.get("controls", [])):
                planted_spec = afp.get("specificity", np.nan)
            elif len(arms) == 1:
                planted_spec = 1.0 - afp.get("above_cutoff", {}).get(control, np.nan)
            else:
                planted_spec = np.nan
            rows.append({"effect": f"AFP ≥ {afp['cutoff']:g} sensitivity", "comparison": row["comparison"],
                         "planted": afp.get("sensitivity"), "recovered": row["sensitivity"], "note": ""})
            rows.append({"effect": f"AFP ≥ {afp['cutoff']:g} specificity", "comparison": row["comparison"],
                         "planted": planted_spec, "recovered": row["specificity"],
                         "note": f"{afp.get('specificity', np.nan):.0%} over all controls"})
    surv = truth.get("survival", {})
    table = tables.get("survival")
    if surv and table is not None and (table["mirna"] == surv.get("mirna")).any():
        row = table[table["mirna"] == surv["mirna"]].iloc[0]
        rows.append({"effect": f"{surv['mirna']} {surv.get('endpoint', 'DFS')} hazard ratio per log2",
                     "comparison": "HCC", "planted": surv.get("hr_per_log2"), "recovered": row["hr"],
                     "note": f"planted with stage held fixed; Cox p {row['pvalue']:.2g}"})
    hemolysed = set(truth.get("hemolysis", {}).get("samples", []))
    qc = tables.get("qc")
    if hemolysed and qc is not None and "hemolysis" in qc:
        called = set(qc.loc[qc["hemolysis"].isin(["hemolysed", "possible"]), "sample"].astype(str))
        rows.append({"effect": "hemolysed samples flagged", "comparison": "all", "planted": float(len(hemolysed)),
                     "recovered": float(len(called & hemolysed)),
                     "note": f"{len(called - hemolysed)} flagged that were not hemolysed"})
    return _html_table(pd.DataFrame(rows), None, max_rows=200, name="planted") if rows else None


def _methods(result: AnalysisResult) -> list[tuple[str, str]]:
    adata = result.adata
    info = meta(adata)
    settings = result.settings
    items = [("quality control", "hemolysis index from miR-451a against miR-23a-3p (possible above 7, hemolysed above 8 "
              "cycles or log2 units), spike-in recovery, robust z-scores of library size, detection and profile "
              "correlation; flagged samples are kept in the analysis and listed")]
    for step in info.get("steps", []):
        name = step.get("step", "")
        if name == "normalize":
            items.append(("normalization", _describe_normalization(step, info)))
    if info.get("nondetect_rule"):
        items.append(("non-detects", str(info["nondetect_rule"])))
    if result.comparisons:
        items.append(("differential expression", ("PyDESeq2 (DESeq2 negative-binomial GLM, Wald test, BH-adjusted) on "
                      "raw counts" if info.get("measure") == "counts" else "moderated t-test on the normalized values, "
                      "BH-adjusted") + (f"; adjusted for {', '.join(settings.covariates)}" if settings.covariates else "")))
        items.append(("ROC", "empirical ROC per miRNA with DeLong 95% confidence intervals; the direction is chosen per "
                      "marker from the medians and reported; threshold by Youden's index"))
    if "panels" in result.tables:
        items.append(("panels", "elastic-net logistic regression of miRNAs (with and without log10 AFP) and of AFP alone; "
                      "miRNA selection and tuning inside nested stratified cross-validation "
                      + (f"({settings.panel_options})" if settings.panel_options else "")
                      + "; AUC = mean of the held-out folds' AUCs (mean and SD over CV repeats) with its 95% interval "
                        "(coverage checked by simulation), permutation p of the "
                        "whole nested procedure against chance, sensitivity/specificity of a cut-off chosen on the "
                        "other folds, out-of-fold calibration, net benefit, NRI/IDI and paired DeLong test against AFP"
                      + _panel_p_methods(result.tables["panels"])))
    if settings.time:
        endpoints = "; ".join(f"{name}: time {t!r}, event {e!r}" for name, t, e in settings.endpoints())
        who = (f"the {settings.case} group" if result.comparisons else
               "primary tumours, one per patient" if "barcode" in adata.obs else "every sample")
        text = (f"Cox regression (Efron ties) per miRNA on the normalized level ({endpoints}) in {who}, for miRNAs "
                f"detected in at least {settings.survival_min_detected:.0%} of the patients; Harrell's C with the "
                "infinitesimal-jackknife interval of R concordance; Kaplan-Meier and log-rank at the median split "
                "(tested only when each side keeps 10 % of the patients); maxstat cutpoints with the Lau94 p capped at 1; "
                "monotone likelihood detected from the data, with Firth's penalized estimate instead")
        if settings.adjust:
            text += f"; adjusted models with {', '.join(settings.adjust)} (complete cases)"
        items.append(("survival", text))
        if "time_roc" in result.tables:
            items.append(("time-dependent ROC", "cumulative/dynamic AUC with inverse-probability-of-censoring "
                          "weights (as scikit-survival's cumulative_dynamic_auc)"))
        if "prognostic_panel" in result.tables:
            items.append(("prognostic panels", "elastic-net Cox (α 0.5) of miRNAs, clinical covariates and both; "
                          "miRNA pre-selection (20 by univariable Cox p) and penalty tuning inside nested, "
                          "event-stratified cross-validation (5 outer, 3 inner folds); out-of-fold C-index with its interval"))
        if "trend" in result.tables:
            items.append(("stage trend", f"Spearman correlation of each miRNA with the ordered {settings.stage!r} "
                          "(asymptotic t p-value, BH)"))
    items.append(("seed", str(settings.seed)))
    return items


def _describe_normalization(step: dict, info: dict) -> str:
    method = step.get("method")
    text = {
        "median_of_ratios": "DESeq2 median-of-ratios size factors, X = log2(count / size factor + 1)",
        "cpm": "counts per million, X = log2(CPM + 1)",
        "tmm": "edgeR TMM factors, X = log2(TMM-scaled CPM + 1)",
        "global_mean": str(info.get("normalization") or "ΔCq against the global mean"),
        "reference": str(info.get("normalization") or "ΔCq against reference miRNAs"),
        "spike": str(info.get("normalization") or "ΔCq against the spike-in"),
        "none": "none: values analysed as given",
    }.get(method, str(method))
    if step.get("size_factor_type") == "poscounts":
        text += " (poscounts: no miRNA detected in every sample)"
    return text


def _versions() -> list[tuple[str, str]]:
    rows = [("exomir", __version__), ("python", platform.python_version())]
    for package in PACKAGES:
        try:
            rows.append((package, metadata.version(package)))
        except metadata.PackageNotFoundError:
            continue
    return rows


def _roc_rows(roc_part: pd.DataFrame) -> pd.DataFrame:
    """Top miRNAs of a comparison plus the AFP row (kept even when it ranks low)."""
    top = roc_part[roc_part["mirna"] != "AFP"].head(TOP_TABLE)
    afp = roc_part[roc_part["mirna"] == "AFP"]
    rows = pd.concat([afp, top], ignore_index=True)
    rows["95% CI"] = [f"{low:.3f}–{high:.3f}" for low, high in zip(rows["auc_ci_low"], rows["auc_ci_high"])]
    rows["direction"] = rows["direction"].map(DIRECTIONS).fillna(rows["direction"])
    return rows


def _best(roc_part: pd.DataFrame) -> dict[str, Any] | None:
    markers = roc_part[roc_part["mirna"] != "AFP"]
    if markers.empty:
        return None
    row = markers.iloc[0]
    return {"mirna": row["mirna"], "auc": row["auc"], "low": row["auc_ci_low"], "high": row["auc_ci_high"]}


def _afp_line(roc_part, cutoff_table, name, settings: AnalysisSettings) -> dict[str, Any] | None:
    if not settings.afp:
        return None
    row = roc_part[roc_part["mirna"] == "AFP"]
    out: dict[str, Any] = {}
    if len(row):
        out.update(auc=row["auc"].iloc[0], low=row["auc_ci_low"].iloc[0], high=row["auc_ci_high"].iloc[0])
    if cutoff_table is not None:
        cut = cutoff_table[cutoff_table["comparison"] == name]
        if len(cut):
            out.update(sensitivity=cut["sensitivity"].iloc[0], specificity=cut["specificity"].iloc[0],
                       cutoff=settings.afp_cutoff)
    return out


def _hemolysis_sensitive_set(de: pd.DataFrame) -> frozenset[str]:
    names = de["mirna"].astype(str).unique() if len(de) else []
    return frozenset(n for n in names if is_hemolysis_sensitive(n))


def _hemolysis_warnings(top_mirnas: list[str], qc) -> list[str]:
    return hemolysis_warnings(top_mirnas, qc)


# --- HTML tables ---------------------------------------------------------------------------


# columns holding lists of names: given room to wrap as text instead of one name per line
_LIST_COLUMNS = frozenset({"features", "mirnas", "genes", "targets", "pathways", "hallmarks", "references",
                           "parental_cells", "recipient_cells", "mechanism", "cells", "literature", "reason"})


#: the panel table of the report: validated (held-out) figures only, to fit the page; panels.csv (and
#: the table's CSV download) also has the Brier score, the p-value's method and the apparent figures
PANEL_COLUMNS = ("comparison", "model", "auc", "auc_ci_low", "auc_ci_high", "auc_repeat_sd", "pvalue",
                 "sensitivity", "specificity", "calibration_slope", "calibration_intercept",
                 "net_benefit_at_0.2", "nri_continuous", "idi", "idi_pvalue", "vs_afp_auc_difference", "vs_afp_pvalue",
                 "n_features", "features")

#: headers as a reader says them; the CSV download keeps the column names of tables/*.csv
HEADER_LABELS = {
    "mirna": "miRNA", "mimat": "MIMAT", "log2fc": "log2 FC", "pvalue": "p", "padj": "adjusted p",
    "auc": "AUC", "auc_direction": "direction", "auc_ci_low": "AUC 95% CI low", "auc_ci_high": "AUC 95% CI high",
    "auc_repeat_sd": "AUC SD over CV repeats", "auc_apparent": "AUC apparent (not validated)",
    "sensitivity_apparent": "sensitivity apparent", "specificity_apparent": "specificity apparent",
    "pvalue_method": "p method", "net_benefit_at_0.2": "net benefit at 20 %", "idi_pvalue": "IDI p",
    "vs_afp_auc_difference": "ΔAUC vs AFP",
    "vs_afp_pvalue": "p vs AFP (paired DeLong)", "n_features": "features (n)", "features": "features",
    "n_case": "cases", "n_control": "controls", "hr": "HR", "hr_ci_low": "HR 95% CI low",
    "hr_ci_high": "HR 95% CI high", "logrank_p": "log-rank p", "maxstat_cutpoint": "maxstat cut-point",
    "maxstat_p": "maxstat p (adjusted)", "cutpoint": "cut-point", "n": "n", "events": "events",
    "literature_direction": "direction in the literature", "n_records": "records", "parental_cells": "sending cells",
    "recipient_cells": "receiving cells", "clinical_roles": "clinical role", "literature": "literature",
    "cells": "sending → receiving cells", "mechanism": "targets · pathways · hallmarks", "set_size_in_background": "set size",
    "fold_enrichment": "fold enrichment", "gene_set": "gene set", "mirnas": "miRNAs",
    "spike_in_recovery": "spike-in recovery", "hemolysis_dcq": "hemolysis ΔCq",
    "hemolysis_log2_ratio": "hemolysis log2 ratio", "calibration_slope": "calibration slope",
    "calibration_intercept": "calibration intercept", "brier": "Brier score",
}
#: a single miRNA's cut-off is chosen on the samples it is then judged on: its figures are apparent
APPARENT_ROC_LABELS = {"threshold": "Youden cut-off (apparent)", "sensitivity": "sensitivity (apparent)",
                       "specificity": "specificity (apparent)"}
_WORDS = {"auc": "AUC", "afp": "AFP", "ci": "CI", "hr": "HR", "p": "p", "n": "n", "adj": "adjusted", "pvalue": "p",
          "padj": "adjusted p", "dca": "DCA", "nri": "NRI", "idi": "IDI", "cq": "Cq", "mirna": "miRNA"}


def header_label(column: str) -> str:
    """A readable header: ``auc_ci_low`` → "AUC CI low" (known columns have a label of their own)."""
    if column in HEADER_LABELS:
        return HEADER_LABELS[column]
    if "_" not in column:
        return column
    return " ".join(_WORDS.get(word, word) for word in column.split("_") if word)


def _html_table(frame: pd.DataFrame | None, columns: list[str] | None, *, max_rows: int = 50,
                flagged: frozenset[str] = frozenset(), name: str = "table", embed_rows: int = 500,
                labels: dict[str, str] | None = None) -> Markup | None:
    """An HTML table the reader can sort (click a header), filter (the search box) and download
    as CSV (what the filter shows, in the order shown); the first ``max_rows`` rows are shown and
    up to ``embed_rows`` are in the page, so that the filter finds any of them. ``labels`` names
    this table's headers where they differ from the usual ones (e.g. a figure that is apparent here)."""
    labels = labels or {}
    if frame is None:
        return None
    if columns is not None:
        columns = [c for c in columns if c in frame.columns]
        frame = frame[columns]
    if frame.empty:
        return Markup('<p class="muted">none</p>')
    embedded = frame.head(embed_rows)
    head = "".join(f'<th data-col="{escape(str(c))}" title="{escape(str(c))}">{escape(labels.get(str(c)) or header_label(str(c)))}</th>'
                   for c in embedded.columns)
    body = []
    for i, (_, row) in enumerate(embedded.iterrows()):
        cells = []
        for column in embedded.columns:
            value = row[column]
            text = value if isinstance(value, Markup) else escape(_format(column, value))
            if column == "mirna" and str(value) in flagged:
                text = Markup(f'{text} <span class="flag" title="hemolysis-sensitive miRNA">⚠ hemolysis</span>')
            numeric = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
            kind = "num" if numeric else "list" if column in _LIST_COLUMNS else ""
            raw = _raw(value)
            attrs = (f' class="{kind}"' if kind else "") + (f' data-v="{escape(raw)}"' if raw is not None else "")
            cells.append(f"<td{attrs}>{text}</td>")
        hidden = ' class="more" hidden' if i >= max_rows else ""
        body.append(f"<tr{hidden}>" + "".join(cells) + "</tr>")
    beyond = len(frame) - len(embedded)
    note = f" {beyond} more rows in tables/ (CSV)." if beyond > 0 else ""
    tools = (f'<div class="tabletools"><input type="search" placeholder="Filter rows…" aria-label="Filter rows">'
             f'<button type="button" class="csv">Download CSV</button>'
             f'<span class="count muted"></span><span class="muted">{escape(note)}</span></div>')
    return Markup(f'<div class="tablebox" data-name="{escape(name)}" data-show="{max_rows}">{tools}'
                  f'<div class="tablewrap"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody>'
                  f"</table></div></div>")


def _raw(value: Any) -> str | None:
    """The value as the CSV tables write it (full numbers for sorting and for the download), or
    None where the shown text is already the value."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, Markup):  # links: the download takes the text the reader sees
        return None
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.6g}"
    if isinstance(value, (list, tuple, np.ndarray)):
        return ";".join(str(v) for v in value)
    text = str(value)
    return text if ";" in text else None


def _format(column: str, value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else ""
    if isinstance(value, (list, tuple, np.ndarray)):
        return "; ".join(str(v) for v in value)
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if column in ("pvalue", "padj", "logrank_p", "qvalue", "fdr") or column.endswith("_p") or column.endswith("pvalue"):
            return f"{value:.2e}" if value < 1e-3 else f"{value:.3f}"
        if column in ("sensitivity", "specificity"):
            return f"{value:.1%}"
        if abs(value) >= 1000 or (value != 0 and abs(value) < 1e-3):
            return f"{value:.3g}"
        return f"{value:.3f}"
    text = str(value)
    if ";" in text:  # lists: room to wrap, and miRNA names without the species prefix
        text = "; ".join(part.strip().removeprefix("hsa-") for part in text.split(";"))
    return text


def _anchor(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in str(text)).strip("-").lower()
