"""docs/examples/python_api.py, the notebook-style walk through ex.read → ex.pp → ex.tl → ex.pl,
runs as a script and leaves what it promises (figures saved, the steps recorded)."""

from __future__ import annotations

import runpy
from pathlib import Path


EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "python_api.py"


def test_python_api_example_runs_cell_by_cell(tmp_path, monkeypatch):
    source = EXAMPLE.read_text(encoding="utf-8")
    cells = [c for c in source.split("# %%") if c.strip()]
    assert len([c for c in cells if not c.startswith(" [markdown]")]) >= 7  # read, qc, de, roc, km, save ...
    monkeypatch.chdir(tmp_path)
    ns = runpy.run_path(str(EXAMPLE), run_name="__main__")
    saved = sorted(p.name for p in (tmp_path / "figures").iterdir())
    assert saved == ["km_mir215.html", "roc_hcc_vs_lc.html"]
    assert "HCC vs cirrhosis" in (tmp_path / "figures" / "roc_hcc_vs_lc.html").read_text(encoding="utf-8")
    steps = [s["step"] for s in ns["adata"].uns["exomir"]["steps"]]
    assert steps.index("quality_control") < steps.index("normalize")
    # the ROC figure's legend gives the AFP AUC of the table
    roc = ns["roc"]
    afp = roc[(roc["comparison"] == "HCC_vs_LC") & (roc["mirna"] == "AFP")].iloc[0]
    legend = [t.name for t in ns["roc_figure"].data if t.name and t.name.startswith("AFP")]
    assert legend == [f"AFP: AUC {afp['auc']:.3f} ({afp['auc_ci_low']:.3f}–{afp['auc_ci_high']:.3f})"]
    assert "log-rank p" in ns["km"].layout.title.text
    assert len(ns["hcc"]) == int((ns["adata"].obs["group"] == "HCC").sum())

