"""Small-RNA controls and spike-ins are used for normalization and QC only: never tested, ranked,
put in a panel or locked in a model; each is listed in exclusions.csv with its role.

The input imitates a TaqMan plasma array study (GSE50013-like): Cq rows for miRNAs and for the
array's controls ``MammU6``, ``U6 snRNA``, ``RNU48`` and the spike-in ``cel-miR-39-3p``. The
controls differ between the groups more than any miRNA (as MammU6 did on a real array), so any
path that still tests them puts them at the top.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from exomir.analysis import analyze
from exomir.preprocess.qc import REFERENCE_ROLE, SPIKE_IN_ROLE, USER_ROLE, control_role

CONTROL_ROWS = {"MammU6": 3.0, "U6 snRNA": 2.6, "RNU48": 2.2, "cel-miR-39-3p": 1.0, "LabRef-7": 2.4}
MIRNAS = ["hsa-miR-21-5p", "hsa-miR-122-5p", "hsa-miR-16-5p", "hsa-miR-223-3p", "hsa-miR-451a", "hsa-miR-23a-3p",
          "hsa-miR-26a-5p", "hsa-miR-92a-3p", "hsa-miR-150-5p", "hsa-miR-142-3p", "hsa-miR-146a-5p",
          "hsa-miR-155-5p", "hsa-miR-199a-3p", "hsa-miR-221-3p", "hsa-miR-222-3p", "hsa-miR-224-5p",
          "hsa-miR-375", "hsa-miR-885-5p", "hsa-miR-10b-5p", "hsa-miR-18a-5p", "hsa-let-7a-5p", "hsa-miR-24-3p"]


def _array_study(folder, n_per_group=24, seed=5):
    """A Cq table with miRNAs and controls as rows (as TaqMan array exports), and its clinical table."""
    rng = np.random.default_rng(seed)
    n = 2 * n_per_group
    groups = np.array(["HCC"] * n_per_group + ["LC"] * n_per_group)
    is_case = groups == "HCC"
    rows = {}
    for j, name in enumerate(MIRNAS):
        base = 24 + (j % 7)
        effect = 1.2 if j < 2 else 0.0  # two real, moderate miRNA effects
        rows[name] = base + rng.normal(0, 0.8, n) - effect * is_case
    for name, effect in CONTROL_ROWS.items():
        rows[name] = 22 + rng.normal(0, 0.5, n) - effect * is_case
    samples = [f"P{i:02d}" for i in range(n)]
    table = pd.DataFrame(rows, index=samples).T.round(3)
    table.index.name = "target"
    expression = folder / "array_cq.csv"
    table.to_csv(expression)
    afp = np.round(np.exp(rng.normal(2.5, 1.3, n) + 1.2 * is_case), 1)
    clinical = pd.DataFrame({"sample": samples, "group": groups, "afp": afp})
    clinical_path = folder / "clinical.csv"
    clinical.to_csv(clinical_path, index=False)
    return expression, clinical_path, clinical


@pytest.mark.parametrize("name, role", [
    ("MammU6", REFERENCE_ROLE), ("MammU6-4395470", REFERENCE_ROLE), ("U6 snRNA", REFERENCE_ROLE),
    ("U6 snRNA-001973", REFERENCE_ROLE), ("U6", REFERENCE_ROLE), ("RNU6B", REFERENCE_ROLE), ("RNU6-2", REFERENCE_ROLE),
    ("RNU44", REFERENCE_ROLE), ("RNU48-001006", REFERENCE_ROLE), ("RNU24", REFERENCE_ROLE),
    ("SNORD44", REFERENCE_ROLE), ("SNORD48", REFERENCE_ROLE), ("5S rRNA", REFERENCE_ROLE), ("5.8S", REFERENCE_ROLE),
    ("cel-miR-39-3p", SPIKE_IN_ROLE), ("cel-miR-54", SPIKE_IN_ROLE), ("cel-miR-238-3p", SPIKE_IN_ROLE),
    ("ath-miR-159a", SPIKE_IN_ROLE), ("UniSp6", SPIKE_IN_ROLE), ("UniSp2", SPIKE_IN_ROLE),
    ("hsa-miR-16-5p", None), ("miR-21", None), ("hsa-let-7a-5p", None), ("hsa-miR-1246", None), ("miR-126", None),
])
def test_control_names_are_recognised(name, role):
    assert control_role(name) == role


def test_user_given_controls():
    assert control_role("LabRef-7") is None
    assert control_role("LabRef-7", ["labref-7"]) == USER_ROLE
    assert control_role("LabRef-7-001234", ["LabRef-7"]) == USER_ROLE  # TaqMan assay ID appended


@pytest.fixture(scope="module")
def array_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("array")
    expression, clinical, _ = _array_study(folder)
    out = folder / "out"
    result = analyze(expression, clinical, out, measure="cq", case="HCC", controls="LC", afp="afp", seed=1,
                     control_rnas=["LabRef-7"],
                     panel_options={"outer_folds": 3, "inner_folds": 3, "permutations": 0, "bootstraps": 0,
                                    "max_features": (3,)})
    return result, out


def test_no_control_is_tested_ranked_or_in_a_panel(array_run):
    _, out = array_run
    tables = out / "tables"
    names = set(CONTROL_ROWS)
    de = pd.read_csv(tables / "differential.csv")
    roc = pd.read_csv(tables / "roc.csv")
    panels = pd.read_csv(tables / "panels.csv")
    assert not names & set(de["mirna"]) and not names & set(roc["mirna"])
    panel_features = {f for cell in panels["features"].dropna() for f in str(cell).split(";")}
    assert panel_features and not names & panel_features
    # the planted miRNAs lead once the controls are out
    assert set(de.sort_values("pvalue")["mirna"].head(2)) == {"hsa-miR-21-5p", "hsa-miR-122-5p"}
    excluded = pd.read_csv(tables / "exclusions.csv", keep_default_na=False).set_index("item")
    for name in ("MammU6", "U6 snRNA", "RNU48"):
        assert excluded.loc[name, "role"] == REFERENCE_ROLE
    assert excluded.loc["cel-miR-39-3p", "role"] == SPIKE_IN_ROLE
    assert excluded.loc["LabRef-7", "role"] == USER_ROLE
    assert "never tested" in excluded.loc["MammU6", "reason"]
    report = (out / "report.html").read_text(encoding="utf-8")
    assert REFERENCE_ROLE in report and USER_ROLE in report  # the report's exclusions table says what they are


def test_controls_are_not_in_the_global_mean(array_run):
    result, _ = array_run
    used = [s for s in result.adata.uns["exomir"]["steps"] if s["step"] == "global_mean_dcq"][0]["mirnas"]
    assert used and not set(CONTROL_ROWS) & set(used)


def test_locked_model_never_trains_on_a_control(tmp_path):
    from exomir.io import read
    from exomir.model import train_model

    expression, clinical, _ = _array_study(tmp_path, n_per_group=20, seed=9)
    adata = read(expression, clinical, measure="cq")
    adata.uns["exomir"]["control_rnas"] = ["LabRef-7"]
    content = train_model(adata, group="group", case="HCC", controls=["LC"], outer_folds=3, inner_folds=3,
                          max_features=(5,), seed=2)
    panel = _features(content)
    for name in CONTROL_ROWS:
        assert f"'{name}'" not in panel, name
    assert "hsa-miR-21-5p" in panel or "hsa-miR-122-5p" in panel
    roles = {e["item"]: e.get("role", "") for e in adata.uns["exomir"]["excluded"]}
    assert roles.get("MammU6") == REFERENCE_ROLE and roles.get("LabRef-7") == USER_ROLE


def _features(content: dict) -> str:
    """The locked panel (its features and coefficients), as text."""
    return repr(content["panel"])


def test_censored_afp_gives_the_auc_of_the_bounds(tmp_path):
    """``<2`` and ``>1000`` cells are read as censored at the bound: the AFP AUC equals that of the
    table with the bounds written in, and no patient is lost (a blank cell would lose them)."""
    expression, _, clinical = _array_study(tmp_path)
    order = clinical["afp"].rank(method="first")
    low, high = order <= 5, order > len(clinical) - 4  # the assay's range: 2 to 1000 ng/mL
    clinical = clinical.assign(afp=clinical["afp"].clip(2.5, 900))
    censored = clinical.astype({"afp": object})
    censored.loc[low, "afp"] = "<2"
    censored.loc[high, "afp"] = ">1000"
    bounds = clinical.copy()
    bounds.loc[low, "afp"], bounds.loc[high, "afp"] = 2.0, 1000.0
    aucs = {}
    for name, table in (("censored", censored), ("bounds", bounds)):
        path = tmp_path / f"{name}.csv"
        table.to_csv(path, index=False)
        result = analyze(expression, path, tmp_path / f"out_{name}", measure="cq", case="HCC", controls="LC",
                         afp="afp", panels=False)
        roc = result.tables["roc"]
        aucs[name] = roc[roc["mirna"] == "AFP"].iloc[0]
        if name == "censored":
            source = result.adata.uns["exomir"]["source"]
            assert any(line.startswith(f"afp: {int(low.sum())} below a limit (<2); {int(high.sum())} above")
                       for line in source["censored_values"])
    for column in ("auc", "auc_ci_low", "auc_ci_high", "n_case", "n_control"):
        assert aucs["censored"][column] == aucs["bounds"][column], column
    assert aucs["censored"]["n_case"] + aucs["censored"]["n_control"] == len(clinical)


def test_cli_control_rna_and_lod_options(tmp_path):
    import json

    from typer.testing import CliRunner

    from exomir.cli import app

    expression, clinical, _ = _array_study(tmp_path, n_per_group=12, seed=3)
    out = tmp_path / "cli"
    result = CliRunner().invoke(app, ["analyze", "-e", str(expression), "-c", str(clinical), "-o", str(out),
                                      "--measure", "cq", "--control", "LC", "--no-panels",
                                      "--control-rna", "LabRef-7", "--lod", "33"])
    assert result.exit_code == 0, result.output
    excluded = pd.read_csv(out / "tables" / "exclusions.csv", keep_default_na=False).set_index("item")
    assert excluded.loc["LabRef-7", "role"] == USER_ROLE
    assert "LabRef-7" not in set(pd.read_csv(out / "tables" / "roc.csv")["mirna"])
    params = json.loads((out / "params.json").read_text())
    assert params["options"]["control_rnas"] == ["LabRef-7"] and params["options"]["lod"] == 33.0


def test_cli_train_never_uses_a_control(tmp_path):
    from typer.testing import CliRunner

    from exomir.cli import app
    from exomir.model import load_model

    expression, clinical, _ = _array_study(tmp_path, n_per_group=20, seed=9)
    model = tmp_path / "model.json"
    result = CliRunner().invoke(app, ["train", "--cohort", str(expression), "--clinical", str(clinical),
                                      "--out", str(model), "--control", "LC", "--control-rna", "LabRef-7",
                                      "--outer-folds", "3", "--inner-folds", "3", "--max-features", "5"])
    assert result.exit_code == 0, result.output
    panel = repr(load_model(model).content["panel"])
    assert not [name for name in CONTROL_ROWS if f"'{name}'" in panel]
