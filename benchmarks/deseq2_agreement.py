"""Agreement of exomir's DESeq2 (PyDESeq2 engine) with R's DESeq2 on the whole TCGA-LIHC table.

1,046 precursors, every primary tumour against every solid normal, no pre-filter: the reference is
``tests/reference/differential/deseq2_full_tcga.csv`` (``make_full_tcga.R``). Prints how many log2
fold changes, p-values and significance calls differ, split by the cause (Cook's outlier
replacement, low counts), and writes ``benchmarks/results/deseq2_agreement.json``; the README's
correctness table quotes it.

Run: ``python benchmarks/deseq2_agreement.py`` (needs ../shared/data or EXOMIR_SHARED_DATA; ~2 min).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
REF = ROOT / "tests" / "reference" / "differential"
RESULTS = Path(__file__).parent / "results" / "deseq2_agreement.json"


def _inputs(data: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    counts = pd.read_csv(data / "tcga_lihc" / "mirna_precursor_counts.csv.gz", index_col=0)
    # the R script's rule: every primary tumour ("01") and solid normal ("11") aliquot, sorted
    samples = sorted(c for c in counts.columns if c[13:15] in ("01", "11"))
    obs = pd.DataFrame({"condition": ["tumour" if s[13:15] == "01" else "normal" for s in samples]},
                       index=samples)
    return counts[samples].T, obs


def exomir_table(values: pd.DataFrame, obs: pd.DataFrame) -> pd.DataFrame:
    """What ``exomir analyze`` reports (exomir.tools.differential, DESeq2 defaults)."""
    from exomir.cohort import build_cohort
    from exomir.tools import differential as differential_expression

    adata = build_cohort(values, "counts", obs=obs, annotate=False)
    table = differential_expression(adata, "condition", "tumour", "normal", method="deseq2")
    return table.set_index("mirna")


def without_replacement(values: pd.DataFrame, obs: pd.DataFrame) -> pd.DataFrame:
    """The same engine without Cook's outlier replacement, to compare with R's minReplicatesForReplace = Inf."""
    from exomir.stats._deseq import run_deseq2

    meta = pd.DataFrame({"group": np.where(obs["condition"] == "tumour", "case", "control")}, index=obs.index)
    out = run_deseq2(values.astype(np.int64), meta, "~group", ["group", "case", "control"], refit_cooks=False)
    return out.rename(columns={"log2FoldChange": "log2fc"})


def compare(ours: pd.DataFrame, ref: pd.DataFrame) -> dict:
    ours = ours.reindex(ref.index)
    tested = ref["pvalue"].notna() & ours["pvalue"].notna()
    lfc_diff = (ours["log2fc"] - ref["log2fc"]).abs()
    ratio = np.exp(np.abs(np.log(ours["pvalue"] / ref["pvalue"])))
    call_ours = ours["padj"] < 0.05
    call_ref = ref["padj"] < 0.05
    replaced = ref["replaced"].eq(True)
    low = ref["base_mean"] < 10
    big = tested & (lfc_diff > 0.1)
    p2 = tested & (ratio > 2)
    calls = (call_ours != call_ref) & (ours["padj"].notna() | ref["padj"].notna())

    def split(mask):
        return {"all": int(mask.sum()), "cooks_replaced": int((mask & replaced).sum()),
                "base_mean_below_10": int((mask & low & ~replaced).sum()),
                "other": int((mask & ~low & ~replaced).sum())}

    fine = tested & ~replaced & ~low
    disp_ratio = np.exp(np.abs(np.log(ours["dispersion"] / ref["dispersion"])))
    return {
        "precursors": int(len(ref)), "tested_by_both": int(tested.sum()),
        "cooks_replaced_in_r": int(replaced.sum()),
        "replaced_by_exomir": int(ours["outlier_replaced"].fillna(False).astype(bool).sum()),
        "log2fc_diff_above_0.1": split(big),
        "log2fc_max_abs_diff": float(lfc_diff[tested].max()),
        "pvalue_ratio_above_2": split(p2),
        "significance_calls_differ": split(calls),
        "dispersion_ratio_above_1.1": split(tested & (disp_ratio > 1.1)),
        "log2fc_diff_above_0.1_with_dispersion_ratio_above_1.1": int((big & (disp_ratio > 1.1)).sum()),
        "padj_na_in_r_only": int((ref["padj"].isna() & ours["padj"].notna()).sum()),
        "padj_na_in_exomir_only": int((ours["padj"].isna() & ref["padj"].notna()).sum()),
        "not_replaced_base_mean_10_plus": {
            "n": int(fine.sum()),
            "log2fc_max_rel_diff": float((lfc_diff[fine] / ref["log2fc"][fine].abs().clip(lower=1e-3)).max()),
            "log2fc_max_abs_diff": float(lfc_diff[fine].max()),
            "pvalue_max_ratio": float(ratio[fine].max()),
        },
        "worst": [
            {"mirna": m, "r_log2fc": float(ref.loc[m, "log2fc"]), "exomir_log2fc": float(ours.loc[m, "log2fc"]),
             "base_mean": float(ref.loc[m, "base_mean"]), "replaced_in_r": bool(replaced[m]),
             "r_dispersion": float(ref.loc[m, "dispersion"]), "exomir_dispersion": float(ours.loc[m, "dispersion"]),
             "r_lfc_se": float(ref.loc[m, "lfc_se"]), "exomir_lfc_se": float(ours.loc[m, "lfc_se"]),
             "replaced_by_exomir": bool(ours.loc[m, "outlier_replaced"])}
            for m in lfc_diff[tested].sort_values(ascending=False).head(12).index
        ],
    }


def main() -> None:
    data = Path(os.environ.get("EXOMIR_SHARED_DATA", ROOT.parent / "shared" / "data"))
    from exomir.progress import set_quiet

    set_quiet(True)
    ref = pd.read_csv(REF / "deseq2_full_tcga.csv", index_col="mirna")
    values, obs = _inputs(data)
    report = compare(exomir_table(values, obs), ref)
    plain = without_replacement(values, obs).reindex(ref.index)
    both = ref["pvalue_no_replace"].notna() & plain["pvalue"].notna()
    diff = (plain["log2fc"] - ref["log2fc_no_replace"]).abs()[both]
    ratio = np.exp(np.abs(np.log(plain["pvalue"] / ref["pvalue_no_replace"])))[both]
    low = ref["base_mean"][both] < 10
    report["without_outlier_replacement"] = {
        "tested_by_both": int(both.sum()),
        "log2fc_diff_above_0.1": int((diff > 0.1).sum()),
        "log2fc_max_abs_diff": float(diff.max()),
        "pvalue_ratio_above_2": int((ratio > 2).sum()),
        "pvalue_ratio_above_2_base_mean_below_10": int(((ratio > 2) & low).sum()),
        "worst": [{"mirna": m, "r_log2fc": float(ref.loc[m, "log2fc_no_replace"]),
                   "exomir_log2fc": float(plain.loc[m, "log2fc"]), "base_mean": float(ref.loc[m, "base_mean"])}
                  for m in diff.sort_values(ascending=False).head(5).index],
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    for key, value in report.items():
        if key != "worst":
            print(f"{key:32s} {value}")
    print("largest log2FC differences:")
    for row in report["worst"]:
        print("  ", row)


if __name__ == "__main__":
    main()
