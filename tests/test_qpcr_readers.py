"""qPCR export readers: each vendor layout written here from its documented export format."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from exomir.cohort import exclusions, meta
from exomir.errors import InputError
from exomir.io.qpcr import detect_format, is_instrument_export, read_qpcr

AB_HEADER = [
    "* Block Type = 96-Well Block (0.2mL)",
    "* Calibration Background is expired  = No",
    "* Chemistry = TAQMAN_REAGENTS",
    "* Experiment Barcode = ",
    "* Experiment File Name = C:\\Applied Biosystems\\7500\\experiments\\serum_plate1.eds",
    "* Experiment Name = serum_plate1",
    "* Experiment Run End Time = 2024-03-05 14:22:10 PM CET",
    "* Instrument Type = sds7500fast",
    "* Passive Reference = ROX",
    "",
]
AB_COLUMNS = [
    "Well", "Well Position", "Omit", "Sample Name", "Target Name", "Task", "Reporter", "Quencher",
    "C\u0442", "C\u0442 Mean", "C\u0442 SD", "Quantity", "Automatic Ct Threshold", "Ct Threshold",
]


def _ab_row(well: int, sample: str, target: str, ct: str, task: str = "UNKNOWN", omit: str = "false") -> list[str]:
    row = chr(ord("A") + (well - 1) // 12) + str((well - 1) % 12 + 1)
    return [str(well), row, omit, sample, target, task, "FAM", "NFQ-MGB", ct, "", "", "", "true", "0.2"]


def write_ab_text(path: Path, rows: list[list[str]], *, header: list[str] = AB_HEADER, delimiter: str = "\t") -> Path:
    lines = list(header) + ["[Results]", delimiter.join(AB_COLUMNS)]
    lines += [delimiter.join(r) for r in rows]
    lines += ["", "Analysis Type = Singleplex", "Endogenous Control = ", "", "[Amplification Data]",
              delimiter.join(["Well", "Cycle", "Target Name", "Rn", "Delta Rn"]),
              delimiter.join(["1", "1", "hsa-miR-21-5p", "0.51", "0.002"])]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def ab_file(tmp_path: Path) -> Path:
    rows = [
        _ab_row(1, "P01", "hsa-miR-21-5p", "24.100"),
        _ab_row(2, "P01", "hsa-miR-21-5p", "24.300"),
        _ab_row(3, "P01", "hsa-miR-21-5p", "24.200"),
        _ab_row(4, "P01", "hsa-miR-122-5p", "30.000"),
        _ab_row(5, "P01", "hsa-miR-122-5p", "31.200"),  # SD 0.85 > 0.5: flagged
        _ab_row(6, "P01", "hsa-miR-451a", "Undetermined"),
        _ab_row(7, "P01", "hsa-miR-451a", "Undetermined"),
        _ab_row(8, "P02", "hsa-miR-21-5p", "25.000"),
        _ab_row(9, "P02", "hsa-miR-21-5p", "25.400"),
        _ab_row(10, "P02", "hsa-miR-122-5p", "36.100"),  # above the LOD: a non-detect
        _ab_row(11, "P02", "hsa-miR-122-5p", "Undetermined"),
        _ab_row(12, "P02", "hsa-miR-451a", "20.000"),
        _ab_row(13, "P02", "hsa-miR-451a", "19.000", omit="true"),  # omitted by the operator
        _ab_row(14, "NTC", "hsa-miR-21-5p", "Undetermined", task="NTC"),
        _ab_row(15, "NTC", "hsa-miR-451a", "33.500", task="NTC"),  # contaminated NTC
        ["16", "B4", "false", "", "", "", "", "", "", "", "", "", "", ""],  # unused well
    ]
    return write_ab_text(tmp_path / "serum_plate1.txt", rows)


def test_applied_biosystems_text(ab_file: Path):
    assert detect_format(ab_file) == "applied_biosystems"
    assert is_instrument_export(ab_file)
    data = read_qpcr(ab_file)
    assert data.format == "applied_biosystems"
    assert list(data.cq.index) == ["P01", "P02"]
    assert list(data.cq.columns) == ["hsa-miR-21-5p", "hsa-miR-122-5p", "hsa-miR-451a"]
    assert data.cq.loc["P01", "hsa-miR-21-5p"] == pytest.approx(24.2)
    assert data.cq.loc["P01", "hsa-miR-122-5p"] == pytest.approx(30.6)
    assert math.isnan(data.cq.loc["P01", "hsa-miR-451a"])
    assert data.cq.loc["P02", "hsa-miR-21-5p"] == pytest.approx(25.2)
    assert math.isnan(data.cq.loc["P02", "hsa-miR-122-5p"])  # 36.1 > LOD and Undetermined
    assert data.cq.loc["P02", "hsa-miR-451a"] == pytest.approx(20.0)  # omitted well not used
    rep = data.replicates.set_index(["sample", "target"])
    assert rep.loc[("P01", "hsa-miR-21-5p"), "sd"] == pytest.approx(0.1)
    assert rep.loc[("P01", "hsa-miR-21-5p"), "n"] == 3
    assert rep.loc[("P01", "hsa-miR-122-5p"), "sd"] == pytest.approx(np.std([30.0, 31.2], ddof=1))
    assert "high_sd" in rep.loc[("P01", "hsa-miR-122-5p"), "flags"]
    assert "high_sd" not in rep.loc[("P01", "hsa-miR-21-5p"), "flags"]
    assert "above_lod" in rep.loc[("P02", "hsa-miR-122-5p"), "flags"]
    assert list(data.flagged["target"]) == ["hsa-miR-122-5p"]
    reasons = {item: reason for _, item, reason in data.excluded}
    assert any("omitted" in r for r in reasons.values())
    contamination = [r for i, r in reasons.items() if "A3" in i or "B3" in i]
    assert contamination and "possible contamination" in contamination[0] and "33.50" in contamination[0]
    assert not any("B4" in item for _, item, _ in data.excluded)  # empty well is not data
    assert data.header[str(ab_file)]["Instrument Type"] == "sds7500fast"
    assert set(data.wells["plate"]) == {"serum_plate1"}


def test_lod_is_settable(ab_file: Path):
    data = read_qpcr(ab_file, lod=37.0)
    # 36.1 is now detected; the other replicate is Undetermined, so half of the wells detected
    assert data.cq.loc["P02", "hsa-miR-122-5p"] == pytest.approx(36.1)
    assert "mixed_detection" in data.replicates.set_index(["sample", "target"]).loc[("P02", "hsa-miR-122-5p"), "flags"]


def test_to_cohort_records_rules_and_exclusions(ab_file: Path):
    adata = read_qpcr(ab_file).to_cohort(annotate=False)
    assert meta(adata)["measure"] == "cq"
    np.testing.assert_allclose(adata.layers["cq"][0, 0], 24.2)
    assert list(adata.obs["qc_high_sd_replicates"]) == [1, 0]
    table = exclusions(adata)
    assert (table["what"] == "well").sum() == 3
    step = meta(adata)["steps"][-1]
    assert step["step"] == "read_qpcr" and step["lod"] == 35.0 and "Cq > 35" in step["nondetect_rule"]


def test_quantstudio_csv_taqman_array_card(tmp_path: Path):
    """QuantStudio CSV export of a TaqMan array card: 384 wells, assay IDs in the target names."""
    header = ["* Block Type = TaqMan Array Card,,,", "* Instrument Type = QuantStudio 7 Flex System,,,",
              "* Experiment Name = card_07,,,", ""]
    targets = ["hsa-miR-16-000391", "hsa-miR-21-000397", "U6 snRNA-001973", "ath-miR159a-000338"]
    rows = []
    well = 1
    rng = np.random.default_rng(3)
    expected = {}
    for sample in ["HCC_01", "HCC_02"]:
        for target in targets:
            value = round(float(rng.uniform(18, 33)), 3)
            expected[(sample, target.rsplit("-", 1)[0])] = value
            rows.append(_ab_row(well, sample, target, f"{value:.3f}"))
            well += 1
    rows[-1][8] = "Undetermined"  # ath-miR159a (a plant spike/negative) undetected on the 2nd port
    path = write_ab_text(tmp_path / "card_07.csv", rows, header=header, delimiter=",")
    assert detect_format(path) == "applied_biosystems"
    data = read_qpcr(path)
    assert list(data.cq.columns) == ["hsa-miR-16", "hsa-miR-21", "U6 snRNA", "ath-miR159a"]
    assert data.cq.loc["HCC_01", "hsa-miR-21"] == pytest.approx(expected[("HCC_01", "hsa-miR-21")])
    assert math.isnan(data.cq.loc["HCC_02", "ath-miR159a"])
    assert set(data.wells["plate"]) == {"card_07"}


def test_results_table_without_header_block(tmp_path: Path):
    path = tmp_path / "results_only.txt"
    lines = ["\t".join(["Well", "Sample Name", "Detector", "Task", "Ct"]),
             "\t".join(["1", "S1", "hsa-miR-21", "Unknown", "23.5"]),
             "\t".join(["2", "S1", "hsa-miR-21", "Unknown", "No Ct"]),
             "\t".join(["3", "S1", "hsa-miR-21", "Unknown", "23.9"])]
    path.write_text("\n".join(lines) + "\n")
    assert detect_format(path) == "applied_biosystems"
    data = read_qpcr(path)
    assert data.cq.loc["S1", "hsa-miR-21"] == pytest.approx(23.7)  # 2 of 3 detected


def write_cfx(path: Path) -> Path:
    header = ",Well,Fluor,Target,Content,Sample,Biological Set Name,Cq,Cq Mean,Cq Std. Dev,Starting Quantity (SQ),Log Starting Quantity,SQ Mean,SQ Std. Dev,Set Point,Well Note"
    rows = [
        ("A01", "FAM", "miR-21-5p", "Unkn-01", "HCC_1", "27.11"),
        ("A01", "HEX", "cel-miR-39-3p", "Unkn-01", "HCC_1", "21.50"),  # multiplexed spike-in
        ("A02", "FAM", "miR-21-5p", "Unkn-01", "HCC_1", "27.31"),
        ("A02", "HEX", "cel-miR-39-3p", "Unkn-01", "HCC_1", "21.70"),
        ("A03", "FAM", "miR-21-5p", "Unkn-02", "LC_1", "NaN"),
        ("A03", "HEX", "cel-miR-39-3p", "Unkn-02", "LC_1", "22.00"),
        ("A04", "FAM", "miR-21-5p", "Unkn-02", "LC_1", ""),
        ("A04", "HEX", "cel-miR-39-3p", "Unkn-02", "LC_1", "22.40"),
        ("B01", "FAM", "miR-21-5p", "Std-01", "", "18.02"),
        ("H12", "FAM", "miR-21-5p", "NTC", "", "NaN"),
    ]
    lines = [header] + [f",{w},{f},{t},{c},{s},,{cq},,,,,,,60.0," for w, f, t, c, s, cq in rows]
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    return path


def test_biorad_cfx(tmp_path: Path):
    path = write_cfx(tmp_path / "run -  Quantification Cq Results_0.csv")
    assert detect_format(path) == "biorad_cfx"
    data = read_qpcr(path)
    assert data.format == "biorad_cfx"
    assert data.cq.loc["HCC_1", "miR-21-5p"] == pytest.approx(27.21)
    assert data.cq.loc["HCC_1", "cel-miR-39-3p"] == pytest.approx(21.6)
    assert math.isnan(data.cq.loc["LC_1", "miR-21-5p"])  # NaN and blank: non-detects
    assert data.cq.loc["LC_1", "cel-miR-39-3p"] == pytest.approx(22.2)
    reasons = sorted(reason for _, _, reason in data.excluded)
    assert reasons == ["no-template control", "standard-curve well"]


def write_lightcycler(path: Path, *, with_target: bool = False) -> Path:
    columns = ["Include", "Color", "Pos", "Name"] + (["Target"] if with_target else []) + ["Cp", "Concentration", "Standard", "Status"]
    rows = [
        ["True", "255", "A1", "HCC 01"] + (["miR-122-5p"] if with_target else []) + ["26.84", "", "0", ""],
        ["True", "255", "A2", "HCC 01"] + (["miR-122-5p"] if with_target else []) + ["27.02", "", "0", ""],
        ["True", "255", "A3", "Healthy 01"] + (["miR-122-5p"] if with_target else []) + ["", "", "0", ""],
        ["False", "255", "A4", "Healthy 01"] + (["miR-122-5p"] if with_target else []) + ["29.90", "", "0", ""],
        ["True", "255", "A5", "Healthy 01"] + (["miR-122-5p"] if with_target else []) + ["30.10", "", "0", ""],
    ]
    lines = ["Experiment: 2024-02-11 miR-122 serum run  Selected Filter: SYBR Green I / HRM Dye (465-510)",
             "\t".join(columns)] + ["\t".join(r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_lightcycler_with_target_argument(tmp_path: Path):
    path = write_lightcycler(tmp_path / "lc480_mir122.txt")
    assert detect_format(path) == "lightcycler"
    with pytest.raises(InputError, match=r"lc480_mir122\.txt, line 2: .*names no target"):
        read_qpcr(path)
    data = read_qpcr(path, target="hsa-miR-122-5p")
    assert data.cq.loc["HCC 01", "hsa-miR-122-5p"] == pytest.approx(26.93)
    # A3 blank (non-detect) and A5 30.10 → 1 of 2 wells detected: the mean of the detected one
    assert data.cq.loc["Healthy 01", "hsa-miR-122-5p"] == pytest.approx(30.10)
    assert any("A4" in item and "omitted" in reason for _, item, reason in data.excluded)
    assert data.header[str(path)]["Selected Filter"].startswith("SYBR Green")
    assert set(data.wells["plate"]) == {"2024-02-11 miR-122 serum run"}


def test_lightcycler_target_column_utf16(tmp_path: Path):
    path = write_lightcycler(tmp_path / "lc.txt", with_target=True)
    path.write_bytes(path.read_text().encode("utf-16"))  # LightCycler software may write UTF-16
    data = read_qpcr(path)
    assert data.cq.loc["HCC 01", "miR-122-5p"] == pytest.approx(26.93)


def test_long_table_several_plates_decimal_comma(tmp_path: Path):
    path = tmp_path / "cq_long.csv"
    path.write_text(
        "sample;miRNA;Cq;plate\n"
        "S1;miR-21-5p;24,10;P1\n"
        "S1;miR-21-5p;24,50;P2\n"
        "S2;miR-21-5p;Undetermined;P1\n"
        "S2;miR-21-5p;N/A;P2\n"
        "S2;miR-122-5p;28,00;P2\n"
    )
    assert detect_format(path) == "long"
    assert is_instrument_export(path)
    data = read_qpcr(path)
    assert data.cq.loc["S1", "miR-21-5p"] == pytest.approx(24.3)
    assert data.replicates.set_index(["sample", "target"]).loc[("S1", "miR-21-5p"), "plates"] == "P1;P2"
    assert math.isnan(data.cq.loc["S2", "miR-21-5p"])
    assert math.isnan(data.cq.loc["S1", "miR-122-5p"])  # not measured


def test_wide_tables_both_orientations(tmp_path: Path):
    wide = tmp_path / "wide.csv"
    wide.write_text("sample,miR-21-5p,miR-122-5p\nS1,24.1,No Ct\nS2,25.0,29.5\n")
    assert detect_format(wide) is None and not is_instrument_export(wide)
    data = read_qpcr(wide)
    assert data.format == "wide"
    assert data.cq.loc["S2", "miR-122-5p"] == pytest.approx(29.5)
    assert math.isnan(data.cq.loc["S1", "miR-122-5p"])
    transposed = tmp_path / "transposed.tsv"
    transposed.write_text("mirna\tS1\tS2\nmiR-21-5p\t24.1\t\nmiR-122-5p\t30.0\t29.5\n")
    data = read_qpcr(transposed, format="wide")
    assert list(data.cq.index) == ["S1", "S2"]
    assert data.cq.loc["S1", "miR-122-5p"] == pytest.approx(30.0)
    assert math.isnan(data.cq.loc["S2", "miR-21-5p"])


def test_several_plates_with_interplate_calibrator(tmp_path: Path):
    """Plate 2 runs 0.8 cycles late for miR-21 and 0.4 early for miR-122; the IPC removes it."""
    p1 = write_ab_text(tmp_path / "p1.txt", [
        _ab_row(1, "IPC", "miR-21-5p", "22.000"), _ab_row(2, "IPC", "miR-122-5p", "26.000"),
        _ab_row(3, "A", "miR-21-5p", "24.000"), _ab_row(4, "A", "miR-122-5p", "28.000"),
    ], header=["* Experiment Name = run1", ""])
    p2 = write_ab_text(tmp_path / "p2.txt", [
        _ab_row(1, "IPC", "miR-21-5p", "22.800"), _ab_row(2, "IPC", "miR-122-5p", "25.600"),
        _ab_row(3, "B", "miR-21-5p", "25.800"), _ab_row(4, "B", "miR-122-5p", "27.600"),
    ], header=["* Experiment Name = run2", ""])
    raw = read_qpcr([p1, p2])
    assert set(raw.wells["plate"]) == {"run1", "run2"}
    assert raw.cq.loc["B", "miR-21-5p"] == pytest.approx(25.8)
    data = read_qpcr([p1, p2], calibrator="IPC")
    # offsets: miR-21 ±0.4, miR-122 ∓0.2 around the IPC mean
    assert data.cq.loc["A", "miR-21-5p"] == pytest.approx(24.4)
    assert data.cq.loc["B", "miR-21-5p"] == pytest.approx(25.4)
    assert data.cq.loc["A", "miR-122-5p"] == pytest.approx(27.8)
    assert data.cq.loc["B", "miR-122-5p"] == pytest.approx(27.8)
    assert "IPC" not in data.cq.index
    assert ("sample", "IPC") in {(w, i) for w, i, _ in data.excluded}
    # a plate without the calibrator cannot be aligned
    p3 = write_ab_text(tmp_path / "p3.txt", [_ab_row(1, "C", "miR-21-5p", "25.000")], header=["* Experiment Name = run3", ""])
    with pytest.raises(InputError, match=r"p3\.txt, line \d+: plate 'run3' has no detected calibrator"):
        read_qpcr([p1, p3], calibrator="IPC")


# --- malformed files: the line is named ------------------------------------------------------


def test_bad_cq_value_names_line(tmp_path: Path):
    rows = [_ab_row(1, "S1", "miR-21", "24.1"), _ab_row(2, "S1", "miR-21", "24.1x")]
    path = write_ab_text(tmp_path / "bad.txt", rows)
    with pytest.raises(InputError) as err:
        read_qpcr(path)
    # header block (10) + [Results] + column header = 12 lines, so the 2nd well is line 14
    assert err.value.line == 14
    assert "bad.txt, line 14" in str(err.value) and "24.1x" in str(err.value)


def test_short_row_names_line(tmp_path: Path):
    path = write_lightcycler(tmp_path / "lc.txt")
    lines = path.read_text().splitlines()
    lines[3] = "True\t255\tA2"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"lc\.txt, line 4: the row has 3 fields"):
        read_qpcr(path, target="miR-122")


def test_missing_cq_column_names_header_line(tmp_path: Path):
    path = tmp_path / "cfx.csv"
    path.write_text("\n\n,Well,Fluor,Target,Content,Sample,Cq Mean\n,A01,FAM,miR-21,Unkn,S1,23.0\n")
    with pytest.raises(InputError) as err:
        read_qpcr(path, format="biorad_cfx")
    assert "cfx.csv" in str(err.value) and err.value.line is not None


def test_sections_without_results(tmp_path: Path):
    path = tmp_path / "amp_only.txt"
    path.write_text("* Instrument Type = sds7500\n\n[Amplification Data]\nWell\tCycle\tRn\n1\t1\t0.5\n")
    with pytest.raises(InputError, match="no \\[Results\\] section"):
        read_qpcr(path)


def test_duplicate_well_and_empty_file(tmp_path: Path):
    rows = [_ab_row(1, "S1", "miR-21", "24.1"), _ab_row(1, "S1", "miR-21", "24.3")]
    path = write_ab_text(tmp_path / "dup.txt", rows)
    with pytest.raises(InputError, match=r"dup\.txt, line 14: well A1 .*appears twice; first on line 13"):
        read_qpcr(path)
    empty = tmp_path / "empty.csv"
    empty.write_text("\n\n")
    with pytest.raises(InputError, match="empty"):
        read_qpcr(empty)
    with pytest.raises(InputError, match="file not found"):
        read_qpcr(tmp_path / "absent.txt")
    assert not is_instrument_export(tmp_path / "absent.txt")


def test_wide_table_ragged_row(tmp_path: Path):
    path = tmp_path / "wide.csv"
    path.write_text("sample,miR-21,miR-122\nS1,24,30\nS2,25\n")
    with pytest.raises(InputError, match=r"wide\.csv, line 3: the row has 2 fields but the header has 3"):
        read_qpcr(path)


def test_wells_table_keeps_every_line(ab_file: Path):
    data = read_qpcr(ab_file)
    assert isinstance(data.wells, pd.DataFrame)
    assert data.wells["line"].min() == 13 and len(data.wells) == 16
    assert data.wells.loc[data.wells["well"] == "A6", "raw"].item() == "Undetermined"


def test_quantstudio_design_and_analysis_preamble(tmp_path: Path):
    """Design & Analysis CSV: "key,value" lines, then Sample/Target/Cq with Amp Status."""
    path = tmp_path / "qs5_export.csv"
    path.write_text(
        "File Name,2024-05-02_exo_miR.eds\n"
        "Instrument Type,QuantStudio 5 System\n"
        "Block Type,96-Well 0.2-mL Block\n"
        "\n"
        "Well,Well Position,Omit,Sample,Target,Task,Reporter,Quencher,Amp Status,Amp Score,Cq,Cq Confidence,Cq Mean,Cq SD\n"
        "1,A1,false,HCC-07,hsa-miR-21-5p,UNKNOWN,FAM,NFQ-MGB,Amp,1.2,25.412,0.98,25.5,0.1\n"
        "2,A2,false,HCC-07,hsa-miR-21-5p,UNKNOWN,FAM,NFQ-MGB,Amp,1.2,25.588,0.98,25.5,0.1\n"
        "3,A3,false,HCC-07,hsa-miR-122-5p,UNKNOWN,FAM,NFQ-MGB,No Amp,0.1,Undetermined,0,,\n"
        "4,A4,false,NTC,hsa-miR-21-5p,NTC,FAM,NFQ-MGB,No Amp,0.1,Undetermined,0,,\n"
    )
    assert detect_format(path) == "applied_biosystems"
    data = read_qpcr(path)
    assert data.cq.loc["HCC-07", "hsa-miR-21-5p"] == pytest.approx(25.5)
    assert math.isnan(data.cq.loc["HCC-07", "hsa-miR-122-5p"])
    assert data.header[str(path)]["Instrument Type"] == "QuantStudio 5 System"
    assert set(data.wells["plate"]) == {"2024-05-02_exo_miR"}
    assert [r for _, _, r in data.excluded] == ["no-template control"]


def test_sds_7900_tlda_export(tmp_path: Path):
    """SDS 2.x relative-quantification export of a TaqMan low-density array (7900HT)."""
    path = tmp_path / "tlda_A.txt"
    rows = ["SDS 2.4\tRQ Results", "Filename\ttlda_A.sds", "Plate Type\tTLDA 384 well", "",
            "\t".join(["#", "Sample Name", "Detector Name", "Task", "Ct", "StdDev Ct", "Qty"]),
            "\t".join(["1", "serum_01", "hsa-miR-16-4373121", "Unknown", "21.05", "", ""]),
            "\t".join(["2", "serum_01", "hsa-miR-122-4395356", "Unknown", "Undetermined", "", ""]),
            "\t".join(["3", "serum_01", "RNU48-4373383", "Endogenous Control", "27.40", "", ""])]
    path.write_text("\n".join(rows) + "\n")
    assert detect_format(path) == "applied_biosystems"
    data = read_qpcr(path)
    assert list(data.cq.columns) == ["hsa-miR-16", "hsa-miR-122", "RNU48"]
    assert data.cq.loc["serum_01", "RNU48"] == pytest.approx(27.4)
    assert data.header[str(path)]["Plate Type"] == "TLDA 384 well"


def test_quantstudio_xlsx_results_sheet(tmp_path: Path):
    """Excel export: the Results sheet is read (not the first sheet), rows are the line numbers."""
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    book.active.title = "Sample Setup"
    book.active.append(["Well", "Sample Name"])
    sheet = book.create_sheet("Results")
    sheet.append(["Block Type", "384-Well Block"])
    sheet.append(["Experiment Name", "xl_run"])
    sheet.append([])
    sheet.append(["Well", "Well Position", "Omit", "Sample Name", "Target Name", "Task", "Reporter", "Quencher", "C\u0442"])
    sheet.append([1, "A1", False, "S1", "hsa-miR-21-5p", "UNKNOWN", "FAM", "NFQ-MGB", 24.25])
    sheet.append([2, "A2", False, "S1", "hsa-miR-21-5p", "UNKNOWN", "FAM", "NFQ-MGB", 24.75])
    sheet.append([3, "A3", False, "S1", "hsa-miR-451a", "UNKNOWN", "FAM", "NFQ-MGB", "Undetermined"])
    sheet.append([4, "A4", False, "S1", "hsa-miR-451a", "UNKNOWN", "FAM", "NFQ-MGB", "thirty"])
    path = tmp_path / "run.xlsx"
    book.save(path)
    assert is_instrument_export(path)
    with pytest.raises(InputError, match=r"run\.xlsx, line 8, column 'C\u0442': Cq value 'thirty'"):
        read_qpcr(path)
    sheet.delete_rows(8)
    book.save(path)
    data = read_qpcr(path)
    assert data.cq.loc["S1", "hsa-miR-21-5p"] == pytest.approx(24.5)
    assert math.isnan(data.cq.loc["S1", "hsa-miR-451a"])
    assert set(data.wells["plate"]) == {"xl_run"}


def test_lightcycler_runs_one_assay_each_with_target_mapping(tmp_path: Path):
    """Two LightCycler runs (one assay each) plus a CFX plate: targets by file, formats mixed."""
    run_a = write_lightcycler(tmp_path / "run_mir122.txt")
    run_b = write_lightcycler(tmp_path / "run_mir21.txt")
    cfx = write_cfx(tmp_path / "cfx.csv")
    data = read_qpcr([run_a, run_b, cfx], target={"run_mir122.txt": "miR-122-5p", "run_mir21.txt": "miR-21-5p"})
    assert data.format == "mixed:lightcycler,biorad_cfx"
    assert list(data.cq.columns) == ["miR-122-5p", "miR-21-5p", "cel-miR-39-3p"]
    assert data.cq.loc["HCC 01", "miR-21-5p"] == pytest.approx(26.93)
    assert data.cq.loc["HCC_1", "miR-21-5p"] == pytest.approx(27.21)
    # both LightCycler runs share one experiment name: the second plate gets a distinct name
    assert sorted(set(data.wells["plate"])) == ["2024-02-11 miR-122 serum run", "2024-02-11 miR-122 serum run#2", "cfx"]


def test_export_all_file_with_results_far_down(tmp_path: Path):
    """An "export all" file: [Sample Setup] and [Amplification Data] (large) come before [Results]."""
    path = tmp_path / "export_all.txt"
    lines = ["[Sample Setup]", "Well\tWell Position\tSample Name\tTarget Name"]
    lines += [f"{w}\tA{w}\tS1\tmiR-21" for w in range(1, 3)]
    lines += ["", "[Amplification Data]", "Well\tCycle\tTarget Name\tRn\tDelta Rn"]
    lines += [f"{w}\t{c}\tmiR-21\t{0.5 + c / 100:.4f}\t{c / 100:.4f}" for w in range(1, 3) for c in range(1, 9001)]
    lines += ["", "[Results]", "\t".join(["Well", "Well Position", "Omit", "Sample Name", "Target Name", "Task", "CT"]),
              "1\tA1\tfalse\tS1\tmiR-21\tUNKNOWN\t25.01", "2\tA2\tfalse\tS1\tmiR-21\tUNKNOWN\t25.21"]
    path.write_text("\n".join(lines) + "\n")
    assert path.stat().st_size > 262_144  # the detector only looks at the head
    assert is_instrument_export(path)
    assert read_qpcr(path).cq.loc["S1", "miR-21"] == pytest.approx(25.11)


def test_assay_ids_are_not_part_of_the_name():
    from exomir.io._qpcr_formats import assay_name

    assert assay_name("hsa-miR-21-5p (477975_mir)") == "hsa-miR-21-5p"  # TaqMan Advanced
    assert assay_name("hsa-miR-21-5p_477975_mir") == "hsa-miR-21-5p"
    assert assay_name("hsa-miR-16-000391") == "hsa-miR-16"  # TaqMan array card detector
    assert assay_name("U6 snRNA-001973") == "U6 snRNA"
    assert assay_name("hsa-miR-1") == "hsa-miR-1" and assay_name("hsa-miR-1285-3p") == "hsa-miR-1285-3p"
