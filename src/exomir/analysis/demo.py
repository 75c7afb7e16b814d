"""``exomir demo``: simulate a cohort with planted effects and analyze it, into one folder."""

from __future__ import annotations

from pathlib import Path

from exomir.analysis.pipeline import run_analysis
from exomir.results import AnalysisResult, AnalysisSettings
from exomir.analysis.output import write_results
from exomir.analysis.params import analysis_params, params_text
from exomir.atomic import staged_directory
from exomir.cohort import meta
from exomir.io import read
from exomir.logs import run_log
from exomir.simulate import simulate_cohort, write_cohort

# each control group alone, then all of them pooled (the "HCC vs controls" of the diagnostic studies)
DEMO_CONTROLS = ("LC", "CHB", "Healthy", "LC+CHB+Healthy")
# lighter panel tuning than the default so that the whole demo stays within a few minutes on a laptop
# (a permutation test of 19 relabellings and 19 bootstrap draws on a smaller tuning grid: the report
# shows the p-value and the interval)
DEMO_PANEL_OPTIONS = {"inner_folds": 3, "permutations": 19, "permutation_max_n": 400, "bootstraps": 19,
                      "Cs": (0.1, 1.0), "max_features": (5, 10)}


def demo_settings(seed: int = 0) -> AnalysisSettings:
    """What the demo asks: HCC against each control group and all controls, AFP, tumour stage and DFS."""
    return AnalysisSettings(group="group", case="HCC", controls=DEMO_CONTROLS, afp="afp_ng_ml", time="dfs_months",
                            event="dfs_event", endpoint="DFS", stage="stage", adjust=("stage",), panel_options=dict(DEMO_PANEL_OPTIONS),
                            seed=seed)


def run_demo(out: str | Path, *, n: int = 400, measure: str = "counts", n_mirnas: int = 300,
             seed: int = 0) -> AnalysisResult:
    """Write ``out/input/`` (the simulated files and planted truth) and the analysis of them into ``out``."""
    import time

    started = time.perf_counter()
    out = Path(out)
    simulated = simulate_cohort(n, measure=measure, n_mirnas=n_mirnas, seed=seed)
    settings = demo_settings(seed)
    with run_log(started) as record, staged_directory(out) as staging:
        paths = write_cohort(simulated, f"{staging}/input/")
        adata = read(paths["expression"], paths["clinical"], group=settings.group,
                            numeric=[settings.afp, settings.time, settings.event])
        # the report names the input files relative to the results folder: input/expression.csv
        # the truth travels with the Cohort, so the report can set what was found beside what was planted
        meta(adata)["planted"] = meta(simulated)["planted"]
        result = run_analysis(adata, settings)
        write_results(result, staging)
        # params.json re-runs the demo's analysis of input/ with exomir analyze --params
        params = analysis_params(_analyze_options(settings, paths["expression"], paths["clinical"]))
        text = params_text(params).replace(str(Path(staging).resolve()), str(out.resolve()))
        (staging / "params.json").write_text(text, encoding="utf-8", newline="")
        record.write(staging / "run.log")
    return result


def _analyze_options(settings: AnalysisSettings, expression, clinical) -> dict:
    """The options of :func:`exomir.analysis.analyze` that run the demo's analysis."""
    return {"expression": [expression], "clinical": clinical, "group": settings.group, "case": settings.case,
            "controls": list(settings.controls), "afp": settings.afp, "time": settings.time, "event": settings.event,
            "endpoint": settings.endpoint, "stage": settings.stage, "panel_options": dict(settings.panel_options),
            "seed": settings.seed}
