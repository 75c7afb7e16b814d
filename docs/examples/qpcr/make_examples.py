"""Write the small qPCR example study of the README (seeded: the same files every time).

Two QuantStudio plates of 16 sera each (HCC and LC, duplicate wells), an inter-plate calibrator
sample (IPC) on both plates, the cel-miR-39-3p spike-in, reference candidates miR-16-5p and
miR-93-5p, and a clinical table with AFP. miR-21-5p is planted 2-fold higher in HCC, miR-224-5p
1.4-fold higher and miR-122-5p 1.6-fold lower; plate 2 runs 0.8 cycles late (the calibrator takes
it out).

    python docs/examples/qpcr/make_examples.py docs/examples/qpcr
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

MIRNAS = ["hsa-miR-21-5p", "hsa-miR-122-5p", "hsa-miR-16-5p", "hsa-miR-93-5p", "hsa-miR-23a-3p", "hsa-miR-451a",
          "hsa-miR-25-3p", "hsa-miR-26a-5p", "hsa-miR-27a-3p", "hsa-miR-30d-5p", "hsa-miR-191-5p", "hsa-miR-222-3p",
          "hsa-miR-224-5p", "hsa-miR-10b-5p", "cel-miR-39-3p"]
HEADER = "\t".join(["Well", "Well Position", "Omit", "Sample Name", "Target Name", "Task", "Reporter", "Quencher", "CT"])
EFFECT = {"hsa-miR-21-5p": -1.0, "hsa-miR-122-5p": 0.7, "hsa-miR-224-5p": -0.5}  # Cq shift in HCC


def main(folder: Path, seed: int = 13) -> None:
    rng = np.random.default_rng(seed)
    base = dict(zip(MIRNAS, rng.uniform(23, 30, len(MIRNAS))))
    base["hsa-miR-451a"] = base["hsa-miR-23a-3p"] - 4.5
    base["cel-miR-39-3p"] = 21.0
    samples = [(f"P{i + 1:02d}", "HCC" if i % 2 == 0 else "LC") for i in range(32)]
    plate_shift = (0.0, 0.8)
    for plate in range(2):
        lines = [f"* Experiment Name = example_plate{plate + 1}", "* Instrument Type = QuantStudio 5", "", "[Results]",
                 HEADER]
        well = 1
        members = samples[plate * 16:(plate + 1) * 16] + [("IPC", "")]
        for sample, group in members:
            input_shift = 0.0 if sample == "IPC" else rng.normal(0, 0.6)  # RNA input differs per serum
            for name in MIRNAS:
                value = base[name] + plate_shift[plate]
                if name != "cel-miR-39-3p":
                    value += input_shift + (EFFECT.get(name, 0.0) if group == "HCC" else 0.0) + rng.normal(0, 0.5)
                for _ in range(2):
                    cq = value + rng.normal(0, 0.1)
                    text = "Undetermined" if cq > 35 else f"{cq:.3f}"
                    lines.append(f"{well}\t{_position(well)}\tfalse\t{sample}\t{name}\tUNKNOWN\tFAM\tNFQ-MGB\t{text}")
                    well += 1
        lines.append(f"{well}\t{_position(well)}\tfalse\tNTC\thsa-miR-21-5p\tNTC\tFAM\tNFQ-MGB\tUndetermined")
        (folder / f"plate{plate + 1}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    rows = ["sample,group,afp_ng_ml,age,sex"]
    for sample, group in samples:
        afp = rng.lognormal(np.log(35.0 if group == "HCC" else 6.0), 1.1)
        rows.append(f"{sample},{group},{afp:.1f},{int(rng.integers(38, 78))},{'M' if rng.random() < 0.75 else 'F'}")
    (folder / "clinical.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")


def _position(well: int) -> str:
    index = (well - 1) % 384
    return f"{'ABCDEFGHIJKLMNOP'[index // 24]}{index % 24 + 1}"


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent)
