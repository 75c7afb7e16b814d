"""Which samples to quantify: FASTQ paths, or a sample sheet with per-sample adapter and UMI.

A sample sheet is a CSV with a header: ``sample`` and ``fastq`` (required; a relative path is
taken from the sheet's folder), ``adapter`` and ``umi`` (optional: empty = the run's option;
``umi`` is ``yes``/``no``, ``true``/``false`` or ``1``/``0``).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, replace
from pathlib import Path

from exomir.atomic import check_output_folder
from exomir.errors import InputError
from exomir.quant.fastq import sample_name

_TRUE, _FALSE = {"yes", "true", "1", "y"}, {"no", "false", "0", "n"}


@dataclass(frozen=True)
class SampleSpec:
    sample: str
    fastq: Path
    adapter: str | None = None
    umi: bool | None = None

    def options(self, base):
        """The run's options with this sample's adapter and UMI choices."""
        changes = {}
        if self.adapter:
            changes["adapter"] = self.adapter
        if self.umi is not None:
            changes["umi"] = self.umi
        return replace(base, **changes) if changes else base


def specs_from_paths(paths) -> list[SampleSpec]:
    return [SampleSpec(sample_name(p), Path(p)) for p in paths]


def read_sample_sheet(path: str | Path) -> list[SampleSpec]:
    """Rows of a sample sheet (see the module doc). Raises InputError naming the line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError("sample sheet not found", path=path) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte 0x{exc.object[exc.start]:02X})", path=path) from None
    rows = list(csv.reader(text.splitlines()))
    if not rows:
        raise InputError("the sample sheet is empty", path=path, expected="a header with sample,fastq")
    header = [h.strip().lower() for h in rows[0]]
    for needed in ("sample", "fastq"):
        if needed not in header:
            raise InputError(f"no {needed!r} column", path=path, line=1, expected="columns sample,fastq[,adapter,umi]")
    unknown = [h for h in header if h not in ("sample", "fastq", "adapter", "umi")]
    if unknown:
        raise InputError(f"unknown column(s) {', '.join(unknown)}", path=path, line=1,
                         expected="sample, fastq, adapter, umi")
    specs = []
    seen: dict[str, int] = {}
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise InputError(f"{len(row)} fields, the header has {len(header)}", path=path, line=number)
        cells = {h: c.strip() for h, c in zip(header, row)}
        name, fastq = cells["sample"], cells["fastq"]
        if not name or not fastq:
            raise InputError("empty sample or fastq", path=path, line=number)
        if name in seen:
            raise InputError(f"sample {name!r} is also on line {seen[name]}", path=path, line=number,
                             column="sample")
        seen[name] = number
        umi_text = cells.get("umi", "").lower()
        if umi_text and umi_text not in _TRUE | _FALSE:
            raise InputError(f"umi {cells['umi']!r} is not yes/no", path=path, line=number, column="umi")
        adapter = cells.get("adapter", "") or None
        if adapter and adapter.lower() not in ("auto", "none") and set(adapter.upper()) - set("ACGTU"):
            raise InputError(f"adapter {adapter!r} is not a DNA/RNA sequence", path=path, line=number,
                             column="adapter")
        fq = Path(fastq)
        if not fq.is_absolute():
            fq = path.parent / fq
        specs.append(SampleSpec(name, fq, adapter, (umi_text in _TRUE) if umi_text else None))
    if not specs:
        raise InputError("no samples in the sheet", path=path, expected="one row per sample")
    return specs


def check_out(out: str | Path) -> Path:
    """The output folder, checked before any work (the same rule as every results folder)."""
    return check_output_folder(out)
