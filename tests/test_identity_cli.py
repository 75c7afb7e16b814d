"""``exomir names resolve`` and ``exomir names expand`` through typer's CliRunner."""

from __future__ import annotations

import csv
import io

from typer.testing import CliRunner

from exomir.cli import app

runner = CliRunner()


def _rows(output: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(output), delimiter="\t"))


def test_resolve_names_and_file(mirbase_dir, tmp_path):
    names = tmp_path / "names.txt"
    names.write_text("# from a qPCR panel\nhsa-miR-122-5p\n\nmiR-221/222\tpanel A\n")
    result = runner.invoke(
        app, ["names", "resolve", "exo-miR-21", "hsa-mir-21", "nonsense", "--file", str(names), "--mirbase", str(mirbase_dir)]
    )
    assert result.exit_code == 0, result.output
    header = result.stdout.splitlines()[0].split("\t")
    assert header[:5] == ["input", "mimat", "name", "status", "candidates"]
    rows = _rows(result.stdout)
    assert [r["input"] for r in rows] == ["exo-miR-21", "hsa-mir-21", "nonsense", "hsa-miR-122-5p", "miR-221/222"]
    assert [r["status"] for r in rows] == ["alias", "ambiguous", "unknown", "exact", "ambiguous"]
    assert rows[0]["mimat"] == "MIMAT0000076" and rows[0]["name"] == "hsa-miR-21-5p"
    assert rows[1]["candidates"] == "MIMAT0000076:hsa-miR-21-5p;MIMAT0004494:hsa-miR-21-3p"
    assert rows[3]["mimat"] == "MIMAT0000421"
    assert rows[4]["candidates"] == "MIMAT0000278:hsa-miR-221-3p;MIMAT0000279:hsa-miR-222-3p"


def test_resolve_uses_the_environment_by_default(mirbase_dir, monkeypatch):
    monkeypatch.setenv("EXOMIR_MIRBASE", str(mirbase_dir))
    result = runner.invoke(app, ["names", "resolve", "MIMAT0000076"])
    assert result.exit_code == 0
    assert _rows(result.stdout)[0]["name"] == "hsa-miR-21-5p"


def test_resolve_without_names_is_an_input_error(mirbase_dir):
    result = runner.invoke(app, ["names", "resolve", "--mirbase", str(mirbase_dir)])
    assert result.exit_code != 0
    assert "no names given" in str(result.exception)


def test_names_file_that_is_not_text(mirbase_dir, tmp_path):
    bad = tmp_path / "names.txt"
    bad.write_bytes(b"miR-21\nmiR-\xff\xfe22\n")
    result = runner.invoke(app, ["names", "resolve", "--file", str(bad), "--mirbase", str(mirbase_dir)])
    assert result.exit_code != 0
    assert f"{bad}, line 2" in str(result.exception)


def test_expand_command():
    result = runner.invoke(app, ["names", "expand", "miR-23a/b", "miR-221/222"])
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "miR-23a/b\tmiR-23a", "miR-23a/b\tmiR-23b", "miR-221/222\tmiR-221", "miR-221/222\tmiR-222"
    ]


def test_resolve_precursor_level(mirbase_dir):
    result = runner.invoke(app, ["names", "resolve", "hsa-let-7b", "--level", "precursor", "--mirbase", str(mirbase_dir)])
    assert result.exit_code == 0
    row = _rows(result.stdout)[0]
    assert (row["status"], row["precursor"]) == ("ambiguous", "MI0000063")
    bad = runner.invoke(app, ["names", "resolve", "miR-21", "--level", "hairpin", "--mirbase", str(mirbase_dir)])
    assert bad.exit_code != 0
    assert "unknown --level" in str(bad.exception)
