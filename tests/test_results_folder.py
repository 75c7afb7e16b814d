"""A results folder a lab can archive and re-run (params.json, run.log), the qPCR options of
analyze (reference and spike-in normalization, --folds) and what the command line shows."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from exomir.cli import app, command

EXAMPLES = Path(__file__).resolve().parents[1] / "docs" / "examples" / "qpcr"
PLATES = ["-e", str(EXAMPLES / "plate1.txt"), "-e", str(EXAMPLES / "plate2.txt"), "--calibrator", "IPC",
          "-c", str(EXAMPLES / "clinical.csv")]


def run(args: list[str]):
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, (result.output, result.exception)
    return result


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    from conftest import shared_path

    shared_path("mirbase_v22")  # the analysis resolves names against miRBase
    out = tmp_path_factory.mktemp("results") / "run1"
    result = run(["analyze", *PLATES, "-o", str(out), "--control", "LC", "--no-panels"])
    return out, result.output


def test_params_json_holds_every_option_versions_and_checksums(first_run, mirbase_dir):
    import hashlib
    import inspect

    from exomir.analysis import analyze

    out, _ = first_run
    params = json.loads((out / "params.json").read_text())
    assert params["format"] == "exomir-analyze-params"
    options = params["options"]
    assert set(options) == set(inspect.signature(analyze).parameters) - {"out"}  # every option
    assert options["controls"] == ["LC"] and options["panels"] is False and options["calibrator"] == ["IPC"]
    assert [Path(p).name for p in options["expression"]] == ["plate1.txt", "plate2.txt"]
    assert params["versions"]["exomir"] and params["versions"]["numpy"]
    inputs = {Path(i["path"]).name: i for i in params["inputs"]}
    assert set(inputs) == {"plate1.txt", "plate2.txt", "clinical.csv"}
    digest = hashlib.sha256((EXAMPLES / "clinical.csv").read_bytes()).hexdigest()
    assert inputs["clinical.csv"]["sha256"] == digest
    assert inputs["plate1.txt"]["bytes"] == (EXAMPLES / "plate1.txt").stat().st_size


def test_run_log_says_what_the_run_said(first_run, mirbase_dir):
    out, output = first_run
    log = (out / "run.log").read_text()
    assert log.startswith("exomir ") and "\ncommand: " in log
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d step    analyze: quality control", log)
    assert "2 plates (example_plate1: 16 samples; example_plate2: 16 samples)" in log
    assert re.search(r"finished in \d+\.\d s\n$", log)
    # the two plates are named each, not as the first file
    assert "plate1.txt: 32 samples" not in output and "example_plate2: 16 samples" in output
    assert "analyze: panels" not in output  # --no-panels: no panel step announced


def test_params_rerun_gives_the_same_tables(first_run, tmp_path, mirbase_dir):
    out, _ = first_run
    again = tmp_path / "again"
    result = run(["analyze", "--params", str(out / "params.json"), "-o", str(again)])
    assert "changed since" not in result.output
    for table in ("differential", "roc", "qc", "exclusions"):
        assert (again / "tables" / f"{table}.csv").read_bytes() == (out / "tables" / f"{table}.csv").read_bytes()
    assert (again / "params.json").read_bytes() == (out / "params.json").read_bytes()
    # an option given beside --params replaces the recorded one
    third = tmp_path / "third"
    run(["analyze", "--params", str(out / "params.json"), "-o", str(third), "--seed", "7"])
    assert json.loads((third / "params.json").read_text())["options"]["seed"] == 7


def test_params_refuses_what_it_cannot_rerun(tmp_path, first_run):
    from exomir.analysis.params import read_params
    from exomir.errors import InputError

    out, _ = first_run
    content = json.loads((out / "params.json").read_text())
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**content, "options": {**content["options"], "colour": "red"}}))
    with pytest.raises(InputError, match="unknown option.*colour"):
        read_params(bad)
    bad.write_text(json.dumps({"format": "something else"}))
    with pytest.raises(InputError, match="not a params.json of exomir analyze"):
        read_params(bad)
    moved = dict(content, inputs=[dict(content["inputs"][0], path=str(tmp_path / "gone.txt"))])
    bad.write_text(json.dumps(moved))
    with pytest.raises(InputError, match="missing"):
        read_params(bad)


def _example_cohort(normalization: str, **options):
    from exomir.analysis.pipeline import _normalize
    from exomir.results import AnalysisResult, AnalysisSettings
    from exomir.io import read

    adata = read([EXAMPLES / "plate1.txt", EXAMPLES / "plate2.txt"], EXAMPLES / "clinical.csv",
                        calibrator="IPC", group="group")
    raw = pd.DataFrame(np.asarray(adata.layers["cq"], dtype=float), index=adata.obs_names,
                       columns=[str(v) for v in adata.var_names])
    result = AnalysisResult(adata=adata, settings=AnalysisSettings(normalization=normalization, **options),
                            comparisons=[])
    _normalize(result)
    return raw, result.adata


def test_reference_normalization_is_minus_delta_cq_to_the_chosen_mirnas(mirbase_dir):
    raw, adata = _example_cohort("reference", reference=("miR-16-5p", "hsa-miR-93-5p"))
    reference = raw[["hsa-miR-16-5p", "hsa-miR-93-5p"]].mean(axis=1)
    x = pd.DataFrame(np.asarray(adata.X), index=adata.obs_names, columns=[str(v) for v in adata.var_names])
    expected = -(raw["hsa-miR-21-5p"] - reference)
    np.testing.assert_allclose(x["hsa-miR-21-5p"], expected.loc[x.index], atol=1e-12)
    assert "hsa-miR-16-5p" not in x and "hsa-miR-93-5p" not in x  # the normalizers are not tested
    from exomir.cohort import exclusions

    reasons = exclusions(adata).set_index("item")["reason"]
    assert "normalizer" in reasons["hsa-miR-16-5p"]


def test_spike_in_normalization(mirbase_dir):
    raw, adata = _example_cohort("spike", spike_in="cel-miR-39-3p")
    x = pd.DataFrame(np.asarray(adata.X), index=adata.obs_names, columns=[str(v) for v in adata.var_names])
    expected = -(raw["hsa-miR-122-5p"] - raw["cel-miR-39-3p"])
    np.testing.assert_allclose(x["hsa-miR-122-5p"], expected.loc[x.index], atol=1e-12)
    assert "cel-miR-39-3p" not in x


def test_reference_normalization_needs_its_mirnas(mirbase_dir):
    from exomir.errors import InputError

    with pytest.raises(InputError, match="needs the reference miRNAs"):
        _example_cohort("reference")
    with pytest.raises(InputError, match="miR-99x"):
        _example_cohort("reference", reference=("miR-99x",))
    with pytest.raises(InputError, match="needs the spike-in"):
        _example_cohort("spike")


def test_folds_for_a_small_cohort(tmp_path, mirbase_dir):
    from exomir.analysis import analyze

    clinical = pd.read_csv(EXAMPLES / "clinical.csv")
    small = tmp_path / "clinical.csv"
    # 4 LC samples: too few for 5 × 5 folds; the note says which --folds can work
    keep = pd.concat([clinical[clinical["group"] == "HCC"], clinical[clinical["group"] == "LC"].head(4)])
    keep.to_csv(small, index=False)
    plates = [EXAMPLES / "plate1.txt", EXAMPLES / "plate2.txt"]
    result = analyze(plates, small, tmp_path / "a", controls="LC", afp="afp_ng_ml", calibrator="IPC",
                     panel_options={"permutations": 0, "bootstraps": 0})
    note = next(n for n in result.notes if n.startswith("panels HCC_vs_LC: not fitted"))
    assert note.endswith("use --folds 2 or fewer")
    result = analyze(plates, small, tmp_path / "b", controls="LC", afp="afp_ng_ml", calibrator="IPC", folds=2,
                     panel_options={"permutations": 0, "bootstraps": 0})
    assert "panels" in result.tables and set(result.tables["panels"]["mirna"]) == {"mirna_panel", "mirna_afp_panel",
                                                                                     "AFP"}
    params = json.loads((tmp_path / "b" / "params.json").read_text())
    assert params["options"]["folds"] == 2


def test_help_shows_plain_metavars(monkeypatch):
    import typer.testing

    monkeypatch.setattr(typer.testing, "_get_command", lambda _: command())  # the command `exomir` runs
    for args in (["analyze", "--help"], ["quantify", "--help"], ["names", "resolve", "--help"], ["simulate", "--help"],
                 ["meta", "--help"], ["serve", "--help"], ["score", "--help"]):
        output = CliRunner().invoke(command(), args).output
        assert not re.search(r"<[A-Za-z]+(\[[^\]]*\])?>", output), (args, output)
    help_text = CliRunner().invoke(command(), ["analyze", "--help"]).output
    assert "--expression FILE" in help_text and "--reference MIRNA" in help_text and "--folds N" in help_text


def test_figures_without_chromium_says_how_to_get_it(tmp_path, monkeypatch):
    from exomir.errors import InputError
    from exomir.report import export

    monkeypatch.setenv("EXOMIR_CHROMIUM", str(tmp_path / "no-such-browser"))
    with pytest.raises(InputError, match="EXOMIR_CHROMIUM names .*no-such-browser"):
        export.find_chromium()
    monkeypatch.delenv("EXOMIR_CHROMIUM")
    monkeypatch.setattr(export, "CANDIDATES", ())
    monkeypatch.setattr(export.shutil, "which", lambda name: None)
    with pytest.raises(InputError, match="apt-get install chromium"):
        export.find_chromium()
    from exomir.analysis import analyze

    with pytest.raises(InputError, match="no Chromium was found"):  # before any work is done
        analyze(EXAMPLES / "plate1.txt", EXAMPLES / "clinical.csv", tmp_path / "out", figures=True)
    assert not (tmp_path / "out").exists()
