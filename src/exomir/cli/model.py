"""Commands of exomir: model (registered on the root app): ``train``, ``score`` and ``sign``."""

from __future__ import annotations

import logging
from pathlib import Path

import typer

from exomir.cli._app import app
from exomir.logs import run_log, set_quiet

log = logging.getLogger(__name__)


def run_log_path(model: Path) -> Path:
    """The run.log of ``exomir train``, beside the model file it wrote: ``hcc.json`` → ``hcc.run.log``."""
    return model.with_name(model.stem + ".run.log")


def _split(values: list[str] | None) -> list[str]:
    out: list[str] = []
    for value in values or []:
        out += [v.strip() for v in value.split(",") if v.strip()]
    return out


@app.command()
def train(
    cohort: Path = typer.Option(..., "--cohort", help="Training Cohort (.h5ad, e.g. DIR/cohort.h5ad of analyze) or an expression table."),
    out: Path = typer.Option(..., "--out", "-o", help="Locked model file to write (JSON)."),
    clinical: Path | None = typer.Option(None, "--clinical", "-c", help="Clinical table (when --cohort is an expression table)."),
    group: str = typer.Option("group", "--group", help="Clinical column with the diagnostic group."),
    case: str = typer.Option("HCC", "--case", help="The case group."),
    control: list[str] = typer.Option(None, "--control", help="Control group(s), repeatable or comma-separated (default: every other group)."),
    afp: str | None = typer.Option(None, "--afp", help="Clinical column with AFP (ng/mL): always in the panel, as log10(AFP + 1)."),
    penalty: str = typer.Option("elasticnet", "--penalty", help="l1 | l2 | elasticnet."),
    outer_folds: int = typer.Option(5, "--outer-folds", help="Outer folds of the nested CV (performance estimate)."),
    inner_folds: int = typer.Option(5, "--inner-folds", help="Inner folds (tuning)."),
    repeats: int = typer.Option(1, "--repeats", help="Repeats of the nested CV."),
    max_features: str = typer.Option("5,10,20", "--max-features", help="Panel sizes tried, comma-separated."),
    features: list[str] = typer.Option(None, "--features", help="Candidate miRNAs (repeatable or comma-separated; default: all)."),
    seed: int = typer.Option(0, "--seed", help="Random seed: same cohort and seed, same model bytes."),
    control_rna: list[str] = typer.Option(None, "--control-rna",
                                          help="Further spike-in/small-RNA control column(s) beside U6, RNU48, SNORD*, "
                                               "cel-miR-39 ...: never panel features."),
    patient: str | None = typer.Option(None, "--patient",
                                       help="Clinical column with each sample's patient: CV folds keep them together."),
    lod: float = typer.Option(35.0, "--lod", help="Cq limit of detection: a Cq above it (or none) is a non-detect, "
                                                   "ranked below every measured value; recorded in the model."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress output."),
) -> None:
    """Fit a diagnostic panel (nested CV for its AUC, final fit on all samples) and lock it in a checksummed file.

    What the run said is written beside it: model.json → model.run.log.
    """
    from exomir.errors import InputError
    from exomir.io import read
    from exomir.model import save_model, train_model

    if quiet:
        set_quiet(True)
    if penalty not in ("l1", "l2", "elasticnet"):
        raise InputError(f"unknown penalty {penalty!r}", expected="l1, l2 or elasticnet")
    try:
        sizes = tuple(int(k) for k in _split([max_features]))
    except ValueError as exc:
        raise InputError(f"--max-features {max_features!r} is not a list of whole numbers") from exc
    import math

    if not (math.isfinite(lod) and lod > 0):
        raise InputError(f"--lod {lod:g} is not a usable limit of detection", expected="a positive Cq, e.g. 35")
    with run_log() as record:  # beside the model: MODEL.run.log (the model file is one file, not a folder)
        numeric = [afp] if afp else []
        adata = read(cohort, clinical, group=group, numeric=numeric if clinical else (),
                     labels=[patient] if patient else ())
        if control_rna:
            adata.uns["exomir"]["control_rnas"] = [*adata.uns["exomir"].get("control_rnas", []), *_split(control_rna)]
        if patient:
            from exomir.cohort import sample_groups

            adata.uns["exomir"]["groups_column"] = patient
            sample_groups(adata)  # the column must exist: say so before the work
        content = train_model(adata, group=group, case=case, controls=_split(control) or None, afp=afp, penalty=penalty,
                              seed=seed, outer_folds=outer_folds, inner_folds=inner_folds, repeats=repeats,
                              max_features=sizes, features=_split(features) or None, cohort_name=cohort.name,
                              lod=lod)  # fmt: skip
        save_model(content, out)
        perf = content["performance"]
        cut = next(t for t in content["thresholds"]["rules"] if t["name"] == content["thresholds"]["locked"])
        log.info(f"{out}: {len(content['panel']['features'])} features; nested-CV AUC {perf['cv_auc']:.3f} "
                 f"({perf['cv_auc_ci_low']:.3f}–{perf['cv_auc_ci_high']:.3f}); threshold {cut['probability_threshold']:.3f} "
                 f"(sensitivity {cut['sensitivity']:.2f}, specificity {cut['specificity']:.2f}); "
                 f"sha256 {content['checksum']['value'][:16]}…")  # fmt: skip
        record.write(run_log_path(out))


@app.command()
def score(
    model: Path = typer.Option(..., "--model", "-m", help="Locked model file written by exomir train."),
    expression: Path = typer.Option(..., "--expression", "-e", help="Expression table of the new samples (same measure as training)."),
    out: Path = typer.Option(..., "--out", "-o", help="CSV of scores to write."),
    clinical: Path | None = typer.Option(None, "--clinical", "-c", help="Clinical table (needed when the model uses AFP)."),
    measure: str = typer.Option("auto", "--measure", help="counts | cq | log | auto (must match the model)."),
    sample_column: str | None = typer.Option(None, "--sample-column", help="Clinical column with the sample IDs."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress output."),
) -> None:
    """Score new samples: calibrated probability of HCC, class at the locked threshold, contributions, QC warnings."""
    from exomir.model import load_model, score_files, write_scores
    from exomir.model.score import NOT_CALLED

    if quiet:
        set_quiet(True)
    locked = load_model(model)
    scores = score_files(locked, expression, clinical, measure=measure, sample_column=sample_column)
    write_scores(scores, out)
    case = locked.content["task"]["positive_class"]
    called = int((scores["class"] == case).sum())
    warned = int((scores["n_warnings"] > 0).sum())
    uncalled = int((scores["class"] == NOT_CALLED).sum())
    log.info(f"{out}: {len(scores)} samples scored, {called} called {case} at threshold "
             f"{locked.locked_threshold['probability_threshold']:.3f}; {warned} with QC warnings"
             + (f"; {uncalled} not called (too many panel features missing)" if uncalled else ""))  # fmt: skip


@app.command()
def sign(
    model: Path = typer.Option(..., "--model", "-m", help="Locked model file to sign (checked first)."),
    key_file: Path = typer.Option(..., "--key-file", help="File holding the lab's secret key (at least 16 bytes)."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Signed copy to write (default: sign the file in place)."),
) -> None:
    """Sign a locked model with HMAC-SHA256 under the lab's key; scorers and servers given the key
    (EXOMIR_MODEL_KEY_FILE) then refuse unsigned or differently signed models."""
    from exomir.model import load_model, read_key, sign_model

    key = read_key(key_file)
    target = sign_model(model, key, out)
    signed = load_model(target, key=key)
    log.info(f"{target}: signed (hmac-sha256, key {signed.content['signature']['key_id']}); "
             f"checksum {signed.checksum[:16]}… unchanged")
