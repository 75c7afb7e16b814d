"""From raw instrument exports to the analysis folder in one call (the path of ``exomir analyze``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from exomir.io.qpcr import read_qpcr
from exomir.preprocess.qc import quality_control
from exomir.preprocess.qpcr import censor_nondetects, global_mean_dcq, log2_abundance

MIRNAS = ["hsa-miR-21-5p", "hsa-miR-122-5p", "hsa-miR-16-5p", "hsa-miR-23a-3p", "hsa-miR-451a",
          "hsa-miR-25-3p", "hsa-miR-26a-5p", "hsa-miR-27a-3p", "hsa-miR-30d-5p", "hsa-miR-93-5p",
          "hsa-miR-191-5p", "hsa-miR-222-3p", "hsa-miR-375-3p", "cel-miR-39-3p"]
HEADER = "\t".join(["Well", "Well Position", "Omit", "Sample Name", "Target Name", "Task", "Reporter", "Quencher", "CT"])


def write_study(folder: Path, seed: int = 4) -> tuple[list[Path], Path]:
    """24 sera on two plates, duplicates; miR-21 planted 4-fold up in HCC; S00 hemolysed; miR-375 mostly absent."""
    rng = np.random.default_rng(seed)
    base = dict(zip(MIRNAS, rng.uniform(23, 31, len(MIRNAS))))
    base["hsa-miR-451a"] = base["hsa-miR-23a-3p"] - 4.5
    base["hsa-miR-375-3p"] = 35.6
    base["cel-miR-39-3p"] = 20.0
    groups = ["HCC" if i % 2 == 0 else "LC" for i in range(24)]
    paths = []
    for plate in range(2):
        lines = [f"* Experiment Name = study_plate{plate + 1}", "* Instrument Type = QuantStudio 5", "", "[Results]", HEADER]
        well = 1
        for i in range(plate * 12, plate * 12 + 12):
            shift = rng.normal(0, 0.5)
            for name in MIRNAS:
                value = base[name] + (0.0 if name == "cel-miR-39-3p" else shift)
                if name == "hsa-miR-21-5p" and groups[i] == "HCC":
                    value -= 2.0
                if i == 0 and name == "hsa-miR-451a":
                    value = base["hsa-miR-23a-3p"] + shift - 9.0
                for _ in range(2):
                    v = value + rng.normal(0, 0.12)
                    text = "Undetermined" if v > 35 else f"{v:.3f}"
                    lines.append(f"{well}\tW{well}\tfalse\tS{i:02d}\t{name}\tUNKNOWN\tFAM\tNFQ-MGB\t{text}")
                    well += 1
        lines.append(f"{well}\tW{well}\tfalse\tNTC\thsa-miR-21-5p\tNTC\tFAM\tNFQ-MGB\tUndetermined")
        path = folder / f"plate{plate + 1}.txt"
        path.write_text("\n".join(lines) + "\n")
        paths.append(path)
    clinical = folder / "clinical.csv"
    clinical.write_text("sample,group\n" + "".join(f"S{i:02d},{g}\n" for i, g in enumerate(groups)))
    return paths, clinical


def test_export_to_normalized_cohort(tmp_path: Path):
    paths, clinical = write_study(tmp_path)
    obs = pd.read_csv(clinical).set_index("sample")
    data = read_qpcr(paths)
    assert data.cq.shape == (24, len(MIRNAS))
    adata = data.to_cohort(obs=obs, annotate=False)
    qc = quality_control(adata).set_index("sample")
    assert list(qc.index[qc["hemolysis"] == "hemolysed"]) == ["S00"]
    assert (qc["hemolysis"].drop("S00") == "clean").all()
    adata = censor_nondetects(adata, lod=35.0, max_fraction=0.5)
    assert "hsa-miR-375-3p" not in adata.var_names  # mostly above 35 cycles
    global_mean_dcq(adata, min_mirnas=5)
    abundance = pd.DataFrame(log2_abundance(adata), index=adata.obs_names, columns=adata.var_names)
    hcc = adata.obs["group"] == "HCC"
    diff = abundance[hcc.to_numpy()].mean() - abundance[(~hcc).to_numpy()].mean()
    # 4-fold up in HCC; the global mean absorbs 2/11 of the shift (miR-21 is one of its 11 miRNAs)
    assert diff["hsa-miR-21-5p"] == pytest.approx(2.0 * 10 / 11, abs=0.25)
    assert diff.drop("hsa-miR-21-5p").abs().max() < 0.5


def test_exomir_analyze_from_raw_exports(tmp_path: Path, mirbase_dir: Path):
    # mirbase_dir: the analysis resolves names against miRBase (skips when ../shared/data is absent)
    from exomir.analysis import analyze

    paths, clinical = write_study(tmp_path)
    out = tmp_path / "out"
    analyze(paths, clinical, out, case="HCC", controls="LC", panels=False)  # both plates of the study
    qc = pd.read_csv(out / "tables" / "qc.csv")
    assert len(qc) == 24 and set(qc["sample"]) == {f"S{i:02d}" for i in range(24)}
    assert qc.loc[qc["sample"] == "S00", "hemolysis"].item() == "hemolysed"
    assert (out / "report.html").is_file()
    # log2 fold changes are in abundance (higher = more in HCC), whatever the Cq sign convention
    de = pd.read_csv(out / "tables" / "differential.csv")
    mir21 = de[de["mirna"].str.contains("miR-21-5p", regex=False)].iloc[0]
    assert mir21["log2fc"] > 1.0


def test_cli_reads_several_plates_and_refuses_a_table_among_them(tmp_path: Path, mirbase_dir: Path):
    from typer.testing import CliRunner

    from exomir.cli import app

    paths, clinical = write_study(tmp_path)
    out = tmp_path / "cli"
    args = ["analyze", "-e", str(paths[0]), "-e", str(paths[1]), "-c", str(clinical), "-o", str(out),
            "--control", "LC", "--no-panels", "--quiet"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    cohort_samples = pd.read_csv(out / "tables" / "qc.csv")["sample"]
    assert len(cohort_samples) == 24
    import json

    import anndata as ad

    source = json.loads(ad.read_h5ad(out / "cohort.h5ad").uns["exomir_json"])["source"]
    assert str(paths[1]) in source["plates"]

    from exomir.errors import InputError
    from exomir.io import read

    with pytest.raises(InputError, match="not a qPCR instrument export") as caught:
        read([paths[0], clinical], clinical)
    assert str(clinical) in str(caught.value)
    with pytest.raises(InputError, match="calibrator applies to qPCR"):
        read(clinical, calibrator="CAL")
