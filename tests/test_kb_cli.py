"""The `exomir kb` commands."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pandas as pd
import pytest
from typer.testing import CliRunner

from conftest import shared_path

runner = CliRunner()


@pytest.fixture(scope="module")
def app():
    shared_path("mirbase_v22")
    from exomir.cli import app

    return app


def _ok(app, *args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, (result.output, result.exception)
    return result.stdout


def test_show_and_search(app):
    out = _ok(app, "kb", "show", "exo-miR-92b")
    assert out.count("hsa-miR-92b-3p (MIMAT0003218)") == 3 and "from: hcc_cell | to: nk_cell | regulates: CD69" in out
    csv = pd.read_csv(io.StringIO(_ok(app, "kb", "search", "--target", "TIM-3", "--format", "csv")))
    assert list(csv["id"]) == ["immune-mir-449c-5p"]
    js = json.loads(_ok(app, "kb", "search", "--cell", "macrophage", "--pathway", "pi3k", "--format", "json"))
    assert [r["id"] for r in js] == ["t1-mir-23a-3p", "immune-mir-23a"]
    missing = runner.invoke(app, ["kb", "show", "hsa-let-7a-5p"])
    assert missing.exit_code == 1


def test_conflicts_lists_mir_122(app):
    out = _ok(app, "kb", "conflicts")
    assert "hsa-miR-122-5p (MIMAT0000421)  direction  [same comparison]" in out
    assert "hsa-miR-1247-3p (MIMAT0022721)  parental_cell" in out


def test_export_csv_and_json(app):
    from exomir.kb.schema import EXPORT_COLUMNS

    table = pd.read_csv(io.StringIO(_ok(app, "kb", "export", "--format", "csv")), dtype=str, keep_default_na=False)
    assert list(table.columns) == EXPORT_COLUMNS and len(table) == 91
    guide = ["mirna", "mimat", "direction", "comparison", "parental_cell", "recipient_cell", "target", "pathway",
             "hallmark", "effect", "clinical_role", "biofluid", "sensitivity", "specificity", "auc", "reference", "source"]
    assert set(guide) <= set(table.columns)
    assert _ok(app, "kb", "export", "--format", "csv") == _ok(app, "kb", "export", "--format", "csv")
    data = json.loads(_ok(app, "kb", "export", "--format", "json"))
    assert len(data["records"]) == 91 and data["sources"][0]["name"] == "review"


def test_network_command(app, tmp_path):
    html, graphml, cyjs = tmp_path / "network.html", tmp_path / "n.graphml", tmp_path / "n.cyjs"
    result = runner.invoke(app, ["kb", "network", "--out", str(html), "--graphml", str(graphml), "--cytoscape", str(cyjs)])
    assert result.exit_code == 0, result.output
    assert html.read_text().startswith("<!DOCTYPE html>") and graphml.exists()
    assert len(json.loads(cyjs.read_text())["elements"]["nodes"]) > 60


def test_enrich_command(app, tmp_path):
    out = tmp_path / "enrich.csv"
    _ok(app, "kb", "enrich", "miR-32-5p", "miR-23a-3p", "--gene-sets", "kegg_2016", "--out", str(out))
    table = pd.read_csv(out)
    assert table.iloc[0]["gene_set"].startswith("PI3K-Akt") and table.iloc[0]["overlap"] == 12


def test_import_lab_and_validation_error_exit_code(tmp_path):
    shared_path("mirbase_v22")
    env = dict(os.environ, EXOMIR_CACHE=str(tmp_path / "cache"), EXOMIR_DATA_DIR=str(tmp_path / "data"))
    lab = tmp_path / "mylab.csv"
    lab.write_text("id,mirna,direction,comparison,effect,reference,source\n"
                   "mylab-1,miR-224,up,HCC vs LC,Our cohort saw exosomal miR-224 higher in HCC than cirrhosis.,[1] Our lab 2025,cohort B\n")
    run = subprocess.run([sys.executable, "-m", "exomir", "kb", "import-lab", str(lab)], env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "imported 1 record(s)" in run.stdout
    run = subprocess.run([sys.executable, "-m", "exomir", "kb", "show", "hsa-miR-224-5p", "--format", "csv"],
                         env=env, capture_output=True, text=True)
    shown = pd.read_csv(io.StringIO(run.stdout), dtype=str, keep_default_na=False)
    assert set(shown["provenance"]) == {"review", "mylab"}
    assert shown.set_index("id").loc["mylab-1", "reference"] == "[1] Our lab 2025"
    bad = tmp_path / "bad.yaml"
    bad.write_text("records:\n- id: b1\n  mirna: miR-21\n  hallmark: [flying]\n  effect: x\n  reference: {numbers: [1]}\n  source: s\n")
    run = subprocess.run([sys.executable, "-m", "exomir", "kb", "validate", str(bad)], env=env, capture_output=True, text=True)
    assert run.returncode == 2
    assert "bad.yaml, line 2, record b1, column 'hallmark'" in " ".join(run.stderr.split())
