"""Commands of exomir: analysis (registered on the root app): ``simulate``, ``analyze``, ``demo``."""

from __future__ import annotations

import time as _time
from pathlib import Path

import typer

from exomir.cli._app import app
from exomir.progress import info, set_quiet



@app.command()
def simulate(
    out: str = typer.Option(..., "--out", "-o", help="Folder (existing, or ending in '/') or file prefix to write."),
    n: int = typer.Option(400, "--n", help="Number of samples (40 % HCC, 20 % each LC, CHB, Healthy)."),
    measure: str = typer.Option("counts", "--measure", help="counts (small RNA-seq) or cq (RT-qPCR)."),
    n_mirnas: int = typer.Option(300, "--n-mirnas", help="Number of miRNAs."),
    seed: int = typer.Option(0, "--seed", help="Random seed of the samples: the same seed gives the same files."),
    population_seed: int = typer.Option(
        0, "--population-seed", help="Seed of the population (miRNAs, baseline levels); keep it to draw a validation cohort."
    ),
    h5ad: bool = typer.Option(False, "--h5ad", help="Also write the Cohort as .h5ad."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress output."),
) -> None:
    """Simulate a demo cohort with planted effects; writes expression, clinical and planted-truth files."""
    from exomir.simulate import simulate_cohort, write_cohort

    _simulation_options(measure, quiet, n, n_mirnas)
    adata = simulate_cohort(n, measure=measure, n_mirnas=n_mirnas, seed=seed, population_seed=population_seed)
    paths = write_cohort(adata, out, h5ad=h5ad)
    for kind, path in paths.items():
        info(f"{kind}: {path}")


@app.command()
def analyze(
    ctx: typer.Context,
    expression: list[Path] = typer.Option(
        None, "--expression", "-e", metavar="FILE",
        help="Expression table (CSV/TSV, qPCR export, GEO matrix, .h5ad); repeat for the plates of one qPCR study.",
    ),
    clinical: Path | None = typer.Option(None, "--clinical", "-c", metavar="FILE",
                                         help="Clinical table, joined on the sample ID."),
    out: Path = typer.Option(..., "--out", "-o", metavar="DIR", help="Results folder (written all or nothing)."),
    params: Path | None = typer.Option(None, "--params", metavar="FILE",
                                       help="Re-run the analysis recorded in a results folder's params.json "
                                            "(options given here as well override the recorded ones)."),
    measure: str = typer.Option("auto", "--measure", metavar="KIND", help="counts | cq | log | auto."),
    normalization: str = typer.Option("auto", "--normalization", metavar="METHOD",
                                      help="auto | none | median_of_ratios | cpm | tmm | global_mean | reference "
                                           "(with --reference) | spike (with --spike)."),
    reference: list[str] = typer.Option(None, "--reference", metavar="MIRNA",
                                        help="Reference miRNA(s) of --normalization reference, repeatable or "
                                             "comma-separated (e.g. miR-16-5p,miR-93-5p)."),
    spike: str | None = typer.Option(None, "--spike", metavar="ASSAY",
                                     help="Spike-in assay of --normalization spike (e.g. cel-miR-39-3p)."),
    group: str | None = typer.Option(None, "--group", metavar="COLUMN",
                                     help="Clinical column with the diagnostic group (default: 'group'; without one, "
                                          "survival runs prognosis-only)."),
    case: str = typer.Option("HCC", "--case", metavar="GROUP", help="The case group."),
    control: list[str] = typer.Option(None, "--control", metavar="GROUP",
                                      help="Control group(s), repeatable or comma-separated; A+B pools groups. "
                                           "Default: every other group."),
    afp: str | None = typer.Option(None, "--afp", metavar="COLUMN", help="Clinical column with AFP (ng/mL)."),
    time: str | None = typer.Option(None, "--time", metavar="COLUMN", help="Clinical column with follow-up time."),
    event: str | None = typer.Option(None, "--event", metavar="COLUMN",
                                     help="Clinical column with the event (1 = event, 0 = censored)."),
    endpoint: str | None = typer.Option(None, "--endpoint", metavar="NAME",
                                        help="Name of the --time/--event endpoint (default: from the column names, "
                                             "OS_days + OS_event → OS)."),
    survival: list[str] = typer.Option(None, "--survival", metavar="NAME:TIME:EVENT",
                                       help="A survival endpoint (repeatable), e.g. OS:OS_days:OS_event."),
    adjust: list[str] = typer.Option(None, "--adjust", metavar="COLUMN",
                                     help="Clinical covariate of the adjusted Cox models (repeatable): numbers as they "
                                          "are, categories as indicators against the first level."),
    horizon: list[float] = typer.Option(None, "--horizon", metavar="TIME",
                                        help="Time of the time-dependent AUC (repeatable; default 1 and 3 years when "
                                             "the time unit is known)."),
    time_unit: str | None = typer.Option(None, "--time-unit", metavar="UNIT",
                                         help="Unit of the survival times (default: read from the column name)."),
    prognostic_panel: bool = typer.Option(True, "--prognostic-panel/--no-prognostic-panel",
                                          help="Fit nested-CV elastic-net Cox panels (miRNAs, clinical, both)."),
    covariate: list[str] = typer.Option(None, "--covariate", metavar="COLUMN",
                                        help="Clinical column(s) to adjust differential expression for."),
    sample_column: str | None = typer.Option(None, "--sample-column", metavar="COLUMN",
                                             help="Clinical column with the sample IDs (default: the first column)."),
    stage: str | None = typer.Option(None, "--stage", metavar="COLUMN",
                                     help="Clinical column with tumour stage (early-stage panel subgroup)."),
    panels: bool = typer.Option(True, "--panels/--no-panels", help="Fit nested-CV miRNA panels with and against AFP."),
    folds: int | None = typer.Option(None, "--folds", metavar="N", min=2,
                                     help="Outer and inner folds of the panels' nested cross-validation (default 5); "
                                          "fewer for small cohorts."),
    permutations: int | None = typer.Option(None, "--permutations", metavar="N", min=0,
                                            help="Label permutations of each panel's permutation test (default 100 "
                                                 "up to 200 samples; above, the corrected CV t-test). 0: none."),
    direction: str = typer.Option("auto", "--direction", metavar="DIRECTION",
                                  help="ROC direction given in advance: higher_in_case, lower_in_case, or a CSV with "
                                       "columns mirna,direction (a discovery cohort's roc.csv). Default auto: from "
                                       "the data (the p-value is two-sided, unaffected)."),
    seed: int = typer.Option(0, "--seed", metavar="N", help="Random seed for resampling steps."),
    calibrator: list[str] = typer.Option(None, "--calibrator", metavar="SAMPLE",
                                         help="Inter-plate calibrator sample(s) of qPCR exports (aligns the plates)."),
    figures: bool = typer.Option(False, "--figures/--no-figures", help="Also write every report figure as SVG into DIR/figures "
                                                          "(needs Chromium: /usr/bin/chromium or EXOMIR_CHROMIUM)."),
    control_rna: list[str] = typer.Option(None, "--control-rna",
                                          help="Further spike-in/small-RNA control column(s), repeatable or comma-"
                                               "separated: used for QC and normalization only, never tested."),
    lod: float = typer.Option(35.0, "--lod", help="Limit of detection of Cq data: a Cq above it (or none) is a "
                                                    "non-detect, ranked below every measured value."),
    patient: str | None = typer.Option(None, "--patient",
                                       help="Clinical column with each sample's patient: IDs are labels (pairing "
                                            "keys, also as digits); panel CV folds keep a patient's samples together."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress output (warnings still shown)."),
) -> None:
    """Analyze a cohort: QC, normalization, differential expression, ROC vs AFP, survival, evidence, report.

    Writes params.json (every option, versions, input checksums) and run.log into the results folder.
    """
    from exomir.analysis import analyze as run

    if quiet:
        set_quiet(True)
    started = _time.perf_counter()
    given = {
        "expression": list(expression) if expression else None, "clinical": clinical, "measure": measure,
        "normalization": normalization, "reference": reference or None, "spike_in": spike, "group": group,
        "case": case, "controls": control or None, "afp": afp, "time": time, "event": event, "endpoint": endpoint,
        "survival": survival or None, "adjust": adjust or None, "horizons": horizon or None, "time_unit": time_unit,
        "prognostic_panel": prognostic_panel,
        "covariates": covariate or None, "sample_column": sample_column, "stage": stage, "panels": panels,
        "folds": folds, "seed": seed, "calibrator": calibrator or None, "figures": figures,
        "control_rnas": control_rna or None, "lod": lod, "patient": patient,
        "direction": direction, "permutations": permutations,
    }  # fmt: skip
    if params is not None:
        options = _from_params(ctx, params, given)
    else:
        if not expression:
            raise typer.BadParameter("give an expression table (or --params params.json)", param_hint="--expression")
        options = given
    if isinstance(options["expression"], list) and len(options["expression"]) == 1:
        options["expression"] = options["expression"][0]
    run(out=out, **options)
    info(f"wrote {out}/report.html, {out}/cohort.h5ad and {out}/tables/ in {_time.perf_counter() - started:.1f} s")


#: CLI parameter → keyword of exomir.analysis.analyze, where they differ
_PARAMETER_OF = {"reference": "reference", "spike_in": "spike", "controls": "control", "covariates": "covariate",
                 "control_rnas": "control_rna", "horizons": "horizon"}


def _from_params(ctx: typer.Context, path: Path, given: dict) -> dict:
    """The recorded options, with those given on this command line in their place."""
    from exomir.analysis.params import read_params

    options = read_params(path)
    for key, value in given.items():
        source = ctx.get_parameter_source(_PARAMETER_OF.get(key, key))
        if getattr(source, "name", "") == "COMMANDLINE":  # typer may bring a click of its own: compare names
            options[key] = value
    return options


@app.command()
def demo(
    out: Path = typer.Option(Path("demo"), "--out", "-o", metavar="DIR", help="Results folder."),
    n: int = typer.Option(400, "--n", metavar="N", help="Number of simulated samples."),
    n_mirnas: int = typer.Option(300, "--n-mirnas", metavar="N", help="Number of simulated miRNAs."),
    measure: str = typer.Option("counts", "--measure", metavar="KIND", help="counts or cq."),
    seed: int = typer.Option(0, "--seed", metavar="N", help="Random seed."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress output."),
) -> None:
    """Simulate a cohort and analyze it: HCC vs LC, CHB and healthy donors, with AFP and DFS."""
    from exomir.analysis.demo import run_demo

    _simulation_options(measure, quiet, n, n_mirnas)
    started = _time.perf_counter()
    run_demo(out, n=n, n_mirnas=n_mirnas, measure=measure, seed=seed)
    info(f"demo: simulated {n} samples (seed {seed}) into {out}/input/ and analyzed them in "
         f"{_time.perf_counter() - started:.1f} s; open {out}/report.html")


def _simulation_options(measure: str, quiet: bool, n: int, n_mirnas: int) -> None:
    """Shared by simulate and demo: the simulator draws counts or Cq values, for at least 8 samples
    per group and every miRNA with a planted effect."""
    from exomir.simulate._cohort import MIN_MIRNAS, MIN_SAMPLES

    if quiet:
        set_quiet(True)
    if measure not in ("counts", "cq"):
        raise typer.BadParameter("must be counts or cq", param_hint="--measure")
    if n < MIN_SAMPLES:
        raise typer.BadParameter(f"must be at least {MIN_SAMPLES} (8 samples per group)", param_hint="--n")
    if n_mirnas < MIN_MIRNAS:
        raise typer.BadParameter(f"must be at least {MIN_MIRNAS} (the miRNAs with planted effects)", param_hint="--n-mirnas")
