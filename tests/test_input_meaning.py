"""Inputs whose meaning must not be guessed silently: a bad cell in a count table, empty and
non-integer counts, one miRNA under two names, group labels that differ only in case, all-zero
miRNAs, and numeric patient IDs (labels and pairing keys, kept together in CV folds)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from exomir.cohort import build_cohort, is_id_column, sample_groups
from exomir.errors import InputError
from exomir.io import read, read_expression
from exomir.io.clinical import read_clinical


def _counts(path: Path, n_samples=80, n_mirnas=40, seed=2, bad=None) -> Path:
    rng = np.random.default_rng(seed)
    table = pd.DataFrame(rng.negative_binomial(5, 0.01, size=(n_mirnas, n_samples)),
                         index=[f"hsa-miR-{200 + j}" for j in range(n_mirnas)],
                         columns=[f"S{i:02d}" for i in range(n_samples)]).astype(object)
    if bad is not None:
        table.iloc[3, 7] = bad
    table.index.name = "mirna"
    table.to_csv(path)
    return path


def test_one_negative_cell_in_a_count_table_is_an_error_at_that_cell(tmp_path):
    path = _counts(tmp_path / "counts.csv", bad=-4)
    with pytest.raises(InputError, match="negative value in a table of read counts") as err:
        read_expression(path)
    assert err.value.line == 5 and err.value.column == "S07"  # header on line 1, miRNA 4 on line 5
    assert "hsa-miR-203" in str(err.value)


def test_an_empty_count_cell_is_an_error_with_file_and_line(tmp_path):
    path = _counts(tmp_path / "counts.csv", bad="")
    with pytest.raises(InputError, match="empty cell in a table of read counts") as err:
        read_expression(path)
    assert err.value.line == 5 and err.value.column == "S07" and "counts.csv" in str(err.value)


def test_non_integer_counts_are_rounded_with_a_warning(tmp_path, capsys):
    path = _counts(tmp_path / "counts.csv", bad=12.4)
    table = read_expression(path)
    assert table.measure == "counts" and table.values.loc["S07", "hsa-miR-203"] == 12.0
    assert "not whole numbers and were rounded" in capsys.readouterr().err


def test_one_mirna_under_two_names_is_an_error(tmp_path, mirbase_dir):
    values = pd.DataFrame({"hsa-let-7a-5p": [10.0, 20.0], "MIMAT0000062": [11.0, 19.0], "hsa-miR-21-5p": [5.0, 6.0]},
                          index=["a", "b"])
    with pytest.raises(InputError, match="'hsa-let-7a-5p', 'MIMAT0000062' are the same miRNA"):
        build_cohort(values, "log")
    ok = build_cohort(values.drop(columns="MIMAT0000062"), "log")
    assert ok.n_vars == 2


def test_group_labels_differing_in_case_or_spaces(tmp_path):
    path = tmp_path / "clinical.csv"
    path.write_text("sample,group\nA,HCC\nB,HCC \nC,LC\nD,HCC\n")
    table = read_clinical(path, text=["group"])
    assert table.frame["group"].tolist() == ["HCC", "HCC", "LC", "HCC"]  # a trailing space is one group
    path.write_text("sample,group\nA,HCC\nB,hcc \nC,LC\nD,HCC\n")
    with pytest.raises(InputError, match="'HCC', 'hcc' differ only in case") as err:  # not HCC_vs_hcc
        read_clinical(path, text=["group"])
    assert err.value.line == 3 and err.value.column == "group"


def test_all_zero_mirnas_are_excluded_and_recorded(tmp_path):
    from exomir.analysis import run_analysis

    rng = np.random.default_rng(4)
    n = 40
    counts = pd.DataFrame(rng.negative_binomial(5, 0.01, size=(n, 12)).astype(float),
                          index=[f"S{i}" for i in range(n)], columns=[f"hsa-miR-{300 + j}" for j in range(12)])
    counts["hsa-miR-999"] = 0.0
    obs = pd.DataFrame({"group": ["HCC"] * 20 + ["LC"] * 20}, index=counts.index)
    adata = build_cohort(counts, "counts", obs=obs, annotate=False)
    result = run_analysis(adata, controls=("LC",), panels=False)
    assert "hsa-miR-999" not in set(result.tables["differential"]["mirna"])
    assert "hsa-miR-999" not in set(result.tables["roc"]["mirna"])
    assert np.isfinite(result.tables["roc"]["threshold"].dropna()).all()
    excluded = pd.DataFrame(result.adata.uns["exomir"]["excluded"]).set_index("item")
    assert excluded.loc["hsa-miR-999", "reason"] == "no read in any sample: not tested"


@pytest.mark.parametrize("name, expected", [("patient", True), ("patient_id", True), ("PatientID", True),
                                            ("subject", True), ("pair", True), ("case_id", True),
                                            ("donor", True), ("age", False), ("paired", False),
                                            ("afp", False), ("stage", False), ("time", False)])
def test_identifier_columns(name, expected):
    assert is_id_column(name) is expected


def _paired(tmp_path: Path) -> tuple[Path, Path]:
    """Tumour and adjacent-normal pairs of 12 patients with numeric IDs; a patient effect much
    larger than the planted tumour effect, so pairing is what finds it."""
    rng = np.random.default_rng(11)
    n_pat, n_mir = 12, 30
    patient_effect = rng.normal(0, 2.0, (n_pat, n_mir))
    rows, clinical = [], []
    for p in range(n_pat):
        for kind in ("HCC", "normal"):
            shift = np.where(np.arange(n_mir) < 6, 0.8, 0.0) if kind == "HCC" else 0.0
            rows.append(10 + patient_effect[p] + shift + rng.normal(0, 0.25, n_mir))
            clinical.append((f"T{p}{kind[0]}", kind, 1000 + 7 * p))
    samples = [c[0] for c in clinical]
    values = pd.DataFrame(rows, index=samples, columns=[f"hsa-miR-{400 + j}" for j in range(n_mir)])
    expression = tmp_path / "log.csv"
    values.T.round(4).to_csv(expression)
    path = tmp_path / "clinical.csv"
    pd.DataFrame(clinical, columns=["sample", "group", "patient"]).to_csv(path, index=False)
    return expression, path


def test_numeric_patient_id_is_a_pairing_key(tmp_path):
    from exomir.tools._differential import differential_expression

    expression, clinical = _paired(tmp_path)
    adata = read(expression, clinical, measure="log", group="group")
    assert adata.obs["patient"].map(type).eq(str).all()  # "1000", not 1000.0
    paired = differential_expression(adata, "group", "HCC", "normal", covariates=("patient",))
    hits = set(paired.loc[paired["pvalue"] < 0.001, "mirna"])
    assert hits == {f"hsa-miR-{400 + j}" for j in range(6)}
    # as a number the ID would be one slope, not a pairing: most planted miRNAs are then missed
    numeric = adata.copy()
    numeric.obs["pid"] = pd.to_numeric(numeric.obs["patient"])
    slope = differential_expression(numeric, "group", "HCC", "normal", covariates=("pid",))
    assert (slope["pvalue"] < 0.001).sum() < len(hits)


def test_panel_folds_keep_a_patients_samples_together(tmp_path):
    from exomir.stats.panel import nested_cv

    expression, clinical = _paired(tmp_path)
    adata = read(expression, clinical, measure="log", group="group")
    adata.uns["exomir"]["groups_column"] = "patient"
    groups = sample_groups(adata)
    assert groups.tolist()[:2] == ["1000", "1000"]
    X = pd.DataFrame(np.asarray(adata.X), index=adata.obs_names, columns=adata.var_names)
    y = (adata.obs["group"] == "HCC").to_numpy()
    result = nested_cv(X, y, outer_folds=3, inner_folds=2, max_features=(3,), groups=groups, progress=False)
    assert len(result.folds) == 3
    from sklearn.model_selection import StratifiedGroupKFold

    for _, test in StratifiedGroupKFold(3, shuffle=True, random_state=0).split(X, y, groups):
        held = set(groups[test])
        assert not held & set(np.delete(groups, test))  # no patient on both sides
    with pytest.raises(InputError, match="no column 'nope'"):
        sample_groups(adata, "nope")


def test_locked_model_training_keeps_a_patients_samples_together(tmp_path, monkeypatch):
    from exomir.model import train_model
    from exomir.stats import panel

    expression, clinical = _paired(tmp_path)
    adata = read(expression, clinical, measure="log", group="group")
    adata.uns["exomir"]["groups_column"] = "patient"
    seen = {}
    original = panel.nested_cv

    def spy(X, y, **options):
        seen["groups"] = options.get("groups")
        seen["index"] = list(X.index)
        return original(X, y, **options)

    monkeypatch.setattr(panel, "nested_cv", spy)
    train_model(adata, group="group", case="HCC", controls=["normal"], outer_folds=3, inner_folds=2,
                max_features=(3,), seed=1)
    patient = adata.obs["patient"].astype(str)
    assert list(seen["groups"]) == [patient[s] for s in seen["index"]]
