"""The README states the DESeq2 agreement that was measured on the whole TCGA-LIHC table, with its
causes; this checks the statement against the committed measurement and the committed R output
(the measurement itself takes minutes: benchmarks/deseq2_agreement.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
RESULT = json.loads((ROOT / "benchmarks" / "results" / "deseq2_agreement.json").read_text())
REFERENCE = pd.read_csv(ROOT / "tests" / "reference" / "differential" / "deseq2_full_tcga.csv")
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_reference_is_the_whole_table():
    assert len(REFERENCE) == RESULT["precursors"] == 1046
    assert int(REFERENCE["replaced"].eq(True).sum()) == RESULT["cooks_replaced_in_r"] == 167
    assert RESULT["replaced_by_exomir"] == 167  # the same precursors have outliers replaced


def test_readme_states_the_measured_agreement():
    tested = RESULT["tested_by_both"]
    differ = RESULT["log2fc_diff_above_0.1"]
    row = re.search(r"whole TCGA-LIHC table .*?\| DESeq2 \| (\d+) of (\d+) within 0\.1 \(max ([\d.]+)\)", README)
    assert row, "the correctness table has no row for the whole TCGA table"
    assert int(row.group(1)) == tested - differ["all"] and int(row.group(2)) == tested
    assert float(row.group(3)) == round(RESULT["log2fc_max_abs_diff"], 2)
    assert f"The {differ['all']} log2 fold changes that differ by more than 0.1" in README
    assert f"{differ['cooks_replaced']} of them carry Cook's-replaced counts" in README
    p = RESULT["pvalue_ratio_above_2"]
    assert f"{p['all']} p-values differ more than 2-fold: {p['cooks_replaced']} Cook's-replaced, " \
           f"{p['base_mean_below_10']} with base mean < 10" in README
    calls = RESULT["significance_calls_differ"]
    assert f"{calls['all']} significance calls (padj < 0.05) differ: {calls['cooks_replaced']} Cook's-replaced, " \
           f"{calls['base_mean_below_10']} with base mean < 10" in README
    assert f"leaves {RESULT['padj_na_in_r_only']} more adjusted p-values empty" in README


def test_the_stated_cause_holds():
    # dispersions agree (the cause is the flat likelihood / refit, not the dispersion fit) ...
    assert RESULT["dispersion_ratio_above_1.1"]["all"] == 0
    # ... and every precursor behind a fold-change difference is sparse and overdispersed, and the
    # two answers are within 2 standard errors of each other
    differ = RESULT["worst"][: RESULT["log2fc_diff_above_0.1"]["all"]]
    assert len(differ) == 11
    for row in differ:
        assert 7 < row["r_dispersion"] < 18
        assert abs(row["exomir_log2fc"] - row["r_log2fc"]) < 2 * row["r_lfc_se"]
    assert sum(row["replaced_in_r"] for row in differ) == RESULT["log2fc_diff_above_0.1"]["cooks_replaced"] == 8
