"""The README's Python section runs as written, on the files `exomir simulate --out ./` writes
(a smaller cohort, for speed), and what it computes is what the workflow computes."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from exomir.simulate import simulate_cohort, write_cohort

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks(text: str, section: str = "## Python") -> list[str]:
    """The ```python blocks of one README section."""
    start = text.index(f"\n{section}\n")
    end = text.find("\n## ", start + 1)
    body = text[start:end if end > 0 else None]
    return re.findall(r"```python\n(.*?)```", body, flags=re.S)


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    folder = tmp_path_factory.mktemp("readme")
    write_cohort(simulate_cohort(120, n_mirnas=40, seed=1), f"{folder}/")
    blocks = python_blocks(README.read_text(encoding="utf-8"))
    assert blocks, "the README's Python section has no python block"
    namespace: dict = {"__name__": "__readme__"}
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        for block in blocks:
            exec(compile(block, str(README), "exec"), namespace)
    return folder, namespace


def test_readme_block_writes_what_it_says(ran):
    folder, ns = ran
    assert (folder / "roc.html").stat().st_size > 1_000_000  # self-contained: plotly inside
    assert "HCC vs cirrhosis" in (folder / "roc.html").read_text(encoding="utf-8")
    assert (folder / "results" / "report.html").exists() and (folder / "results" / "tables" / "roc.csv").exists()
    steps = [s["step"] for s in ns["adata"].uns["exomir"]["steps"]]
    assert "normalize" in steps and any(s.startswith("roc") for s in steps)


def test_readme_verbs_agree_with_the_workflow(ran):
    _, ns = ran
    roc, result = ns["roc"], ns["result"]
    assert set(roc["comparison"]) == {"HCC_vs_LC", "HCC_vs_CHB"}
    ours = roc[(roc["comparison"] == "HCC_vs_LC")].set_index("mirna")["auc"]
    theirs = result.tables["roc"].set_index("mirna")["auc"]
    common = ours.index.intersection(theirs.index)
    assert "AFP" in common and len(common) > 30
    np.testing.assert_allclose(ours[common], theirs[common], rtol=1e-12)
    de = ns["de"].set_index("mirna")["log2fc"]
    np.testing.assert_allclose(de[common.drop("AFP")], result.tables["differential"].set_index("mirna")
                               .loc[common.drop("AFP"), "log2fc"], rtol=1e-10)


def test_readme_paired_delong_is_the_table_auc(ran):
    _, ns = ran
    test, roc = ns["test"], ns["roc"]
    row = roc[(roc["comparison"] == "HCC_vs_LC")].set_index("mirna")
    assert test["auc_a"] == pytest.approx(row.loc["hsa-miR-10b-5p", "auc"], abs=1e-12)
    assert test["auc_b"] == pytest.approx(row.loc["AFP", "auc"], abs=1e-12)
    assert 0.0 <= test["pvalue"] <= 1.0 and test["n_case"] + test["n_control"] == len(ns["y"])

