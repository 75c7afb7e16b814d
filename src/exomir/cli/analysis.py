"""Commands of exomir: analysis (registered on the root app): ``simulate``, ``analyze``, ``demo``."""

from __future__ import annotations

import inspect
import logging
import time as _time
from pathlib import Path

import typer

from exomir.cli._app import app
from exomir.logs import set_quiet
from exomir.results import ANALYZE_OPTIONS, Option

log = logging.getLogger(__name__)



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
        log.info(f"{kind}: {path}")


def analyze(ctx: typer.Context, out: Path, params: Path | None, quiet: bool, **values) -> None:
    """Analyze a cohort: QC, normalization, differential expression, ROC vs AFP, survival, evidence, report.

    Writes params.json (every option, versions, input checksums) and run.log into the results folder.
    """
    from exomir.analysis import analyze as run

    if quiet:
        set_quiet(True)
    started = _time.perf_counter()
    given = {}
    for option in _CLI_OPTIONS:
        value = values[option.cli_name]
        given[option.name] = (list(value) if value else None) if option.many else value
    if params is not None:
        options = _from_params(ctx, params, given)
    else:
        if not given["expression"]:
            raise typer.BadParameter("give an expression table (or --params params.json)", param_hint="--expression")
        options = given
    if isinstance(options["expression"], list) and len(options["expression"]) == 1:
        options["expression"] = options["expression"][0]
    run(out=out, **options)
    log.info(f"wrote {out}/report.html, {out}/cohort.h5ad and {out}/tables/ in {_time.perf_counter() - started:.1f} s")


#: the options of exomir.analysis.analyze that the command line gives (all but panel_options)
_CLI_OPTIONS = [option for option in ANALYZE_OPTIONS if option.flags]


def _parameter(option: Option) -> inspect.Parameter:
    """The typer parameter of an option, as ANALYZE_OPTIONS declares it."""
    kind = list[option.kind] if option.many else option.kind
    if option.value is None and not option.many:
        kind = kind | None
    default = typer.Option(option.value, *option.flags, metavar=option.metavar, help=option.help, min=option.min)
    return inspect.Parameter(option.cli_name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=kind)


def _signature() -> inspect.Signature:
    """ctx, the inputs, where the results go (and --params), every other option, --quiet."""
    keyword = inspect.Parameter.KEYWORD_ONLY
    options = [_parameter(option) for option in _CLI_OPTIONS]
    own = [
        inspect.Parameter("out", keyword, annotation=Path, default=typer.Option(
            ..., "--out", "-o", metavar="DIR", help="Results folder (written all or nothing).")),
        inspect.Parameter("params", keyword, annotation=Path | None, default=typer.Option(
            None, "--params", metavar="FILE", help="Re-run the analysis recorded in a results folder's params.json "
                                                   "(options given here as well override the recorded ones).")),
    ]
    quiet = inspect.Parameter("quiet", keyword, annotation=bool, default=typer.Option(
        False, "--quiet", "-q", help="No progress output (warnings still shown)."))
    ctx = inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context)
    return inspect.Signature([ctx, *options[:2], *own, *options[2:], quiet])


analyze.__signature__ = _signature()
# typer and plain_metavars read the types from the annotations
analyze.__annotations__ = {name: p.annotation for name, p in analyze.__signature__.parameters.items()}
app.command()(analyze)


def _from_params(ctx: typer.Context, path: Path, given: dict) -> dict:
    """The recorded options, with those given on this command line in their place."""
    from exomir.analysis.params import read_params

    options = read_params(path)
    for option in _CLI_OPTIONS:
        source = ctx.get_parameter_source(option.cli_name)
        if getattr(source, "name", "") == "COMMANDLINE":  # typer may bring a click of its own: compare names
            options[option.name] = given[option.name]
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
    log.info(f"demo: simulated {n} samples (seed {seed}) into {out}/input/ and analyzed them in "
             f"{_time.perf_counter() - started:.1f} s; open {out}/report.html")


def _simulation_options(measure: str, quiet: bool, n: int, n_mirnas: int) -> None:
    """Shared by simulate and demo: the simulator draws counts or Cq values, for at least 8 samples
    per group and every miRNA with a planted effect."""
    from exomir.simulate import MIN_MIRNAS, MIN_SAMPLES

    if quiet:
        set_quiet(True)
    if measure not in ("counts", "cq"):
        raise typer.BadParameter("must be counts or cq", param_hint="--measure")
    if n < MIN_SAMPLES:
        raise typer.BadParameter(f"must be at least {MIN_SAMPLES} (8 samples per group)", param_hint="--n")
    if n_mirnas < MIN_MIRNAS:
        raise typer.BadParameter(f"must be at least {MIN_MIRNAS} (the miRNAs with planted effects)", param_hint="--n-mirnas")
