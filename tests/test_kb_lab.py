"""A lab's own evidence: import (numeric PMIDs), list, remove, refuse or append under a name in use,
kept in the user data folder (not the cache), and every validation problem reported."""

from __future__ import annotations

import textwrap

import pytest
from typer.testing import CliRunner

from conftest import shared_path

runner = CliRunner()

LAB = """\
provenance: {name: liverlab}
records:
- id: lab-1
  mirna: miR-21
  direction: up
  comparison: HCC vs LC
  effect: Our cohort saw exosomal miR-21 higher in HCC than cirrhosis.
  reference: {citation: Lab cohort 2024, pmid: 24963487}
  source: cohort A
"""

MORE = LAB.replace("lab-1", "lab-2").replace("miR-21", "miR-122").replace("cohort A", "cohort B")


@pytest.fixture
def folders(tmp_path, monkeypatch):
    shared_path("mirbase_v22")
    monkeypatch.setenv("EXOMIR_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("EXOMIR_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


@pytest.fixture(scope="module")
def app():
    from exomir.cli import app

    return app


def _write(folder, name, text):
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def _run(app, *args):
    return runner.invoke(app, list(args))


def _refused(result, text):
    """The command stopped with an InputError (printed without a traceback by `exomir`) saying ``text``."""
    from exomir.errors import InputError

    assert isinstance(result.exception, InputError), (result.output, result.exception)
    assert text in " ".join(str(result.exception).split())


def test_import_list_append_refuse_remove(app, folders):
    from exomir.kb import load_store

    first = _write(folders, "liverlab.yaml", LAB)
    result = _run(app, "kb", "import-lab", str(first))
    assert result.exit_code == 0, result.output
    assert "imported 1 record(s)" in result.stdout
    stored = folders / "data" / "lab" / "liverlab.yaml"
    assert stored.exists() and not (folders / "cache" / "kb" / "lab").exists()  # user data, not cache
    kb = load_store()
    assert kb.table().set_index("id").loc["lab-1", "pmid"] == "24963487"  # a numeric PMID is accepted

    # A second file under the same name is refused and changes nothing.
    second = _write(folders, "more.yaml", MORE)
    before = stored.read_bytes()
    result = _run(app, "kb", "import-lab", str(second), "--name", "liverlab")
    _refused(result, "lab evidence 'liverlab' already exists (1 record(s)); nothing was changed")
    assert stored.read_bytes() == before

    # --append adds the records; the same id twice is refused.
    result = _run(app, "kb", "import-lab", str(second), "--name", "liverlab", "--append")
    assert result.exit_code == 0, result.output
    assert "appended 1 record(s)" in result.stdout and "(2 in" in result.stdout
    table = load_store().table()
    assert set(table.loc[table["provenance"] == "liverlab", "id"]) == {"lab-1", "lab-2"}
    result = _run(app, "kb", "import-lab", str(second), "--name", "liverlab", "--append")
    _refused(result, "already used")

    listed = _run(app, "kb", "lab", "list", "--format", "csv")
    assert listed.exit_code == 0 and "liverlab,2," in listed.stdout and "lab-1;lab-2" in listed.stdout

    result = _run(app, "kb", "lab", "remove", "liverlab")
    assert result.exit_code == 0 and "removed lab evidence 'liverlab' (2 record(s)" in result.stdout
    assert not stored.exists() and len(load_store().table()) == 91
    result = _run(app, "kb", "lab", "remove", "liverlab")
    _refused(result, "no lab evidence named 'liverlab'")
    assert "no lab evidence imported" in _run(app, "kb", "lab", "list").stdout


def test_replace_swaps_the_file(folders):
    from exomir.errors import InputError
    from exomir.kb import import_lab_file, load_store

    import_lab_file(_write(folders, "a.yaml", LAB), name="mylab")
    with pytest.raises(InputError, match="already exists"):
        import_lab_file(_write(folders, "b.csv", "id,mirna,effect,reference,source\nlab-9,miR-224,x,[1] y,z\n"), name="mylab")
    dest = import_lab_file(folders / "b.csv", name="mylab", mode="replace")
    assert dest.name == "mylab.csv" and not (dest.parent / "mylab.yaml").exists()
    assert set(load_store().table().query("provenance == 'mylab'")["id"]) == {"lab-9"}
    with pytest.raises(InputError, match="usable lab evidence name"):
        import_lab_file(folders / "b.csv", name="../../etc")


def test_lab_files_left_in_the_cache_move_to_the_user_data_folder(folders):
    from exomir.kb import load_store

    old = folders / "cache" / "kb" / "lab"
    old.mkdir(parents=True)
    _write(old, "oldlab.yaml", LAB.replace("liverlab", "oldlab"))
    kb = load_store()
    assert "oldlab" in set(kb.table()["provenance"])
    assert (folders / "data" / "lab" / "oldlab.yaml").exists() and not (old / "oldlab.yaml").exists()


def test_a_purged_cache_keeps_the_lab_evidence(folders):
    import shutil

    from exomir.kb import import_lab_file, load_store

    import_lab_file(_write(folders, "keep.yaml", LAB), name="keep")
    shutil.rmtree(folders / "cache")
    assert "lab-1" in set(load_store().table()["id"])


def test_validate_reports_every_problem_of_every_record(app, folders):
    bad = _write(folders, "bad.yaml", """\
        records:
        - id: b1
          mirna: miR-21
          hallmark: [flying]
          effect: x
          reference: {numbers: [1], pmid: 12ab}
          source: s
        - id: b2
          mirna: miR-21
          efect: typo
          reference: {numbers: [1]}
          source: s
        - id: b1
          mirna: miR-21
          effect: x
          reference: {numbers: [1]}
          source: s
        - id: b3
          mirna: miR-21
          effect: x
          reference: {numbers: [2], pmid: 31553714}
          source: s
        """)
    result = _run(app, "kb", "validate", str(bad))
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 5, result.output
    text = "\n".join(lines)
    assert "line 2, record b1, column 'hallmark'" in text and "line 2, record b1, column 'reference.pmid'" in text
    assert "line 8, record b2, column 'efect': unknown field" in text
    assert "line 8, record b2, column 'effect': required field is missing" in text
    assert "line 13, record b1, column 'id': duplicate record id (first used on line 2)" in text
    assert "bad.yaml: 5 problem(s)" in result.output
    # The first problem is also what import and read give, with the count of the others.
    from exomir.errors import InputError
    from exomir.kb import read_evidence

    with pytest.raises(InputError, match=r"and 4 more problems in this file: `exomir kb validate"):
        read_evidence(bad)


def test_web_refuses_a_second_post_under_the_same_name(folders, monkeypatch):
    from fastapi.testclient import TestClient

    from exomir.web.app import create_app
    from exomir.web.settings import WebSettings

    monkeypatch.setenv("EXOMIR_API_TOKEN", "s3cret-token")
    client = TestClient(create_app(WebSettings.from_environment()))
    auth = {"Authorization": "Bearer s3cret-token"}
    record = {"id": "w-1", "mirna": "miR-21", "effect": "higher in our HCC sera", "reference": {"pmid": 24963487},
              "source": "lab"}
    assert client.post("/api/evidence", json={"name": "weblab", "records": [record]}, headers=auth).status_code == 200
    again = client.post("/api/evidence", json={"name": "weblab", "records": [{**record, "id": "w-2"}]}, headers=auth)
    assert again.status_code == 422 and "already exists" in again.json()["detail"]
    ids = [r["id"] for r in client.get("/api/mirna/miR-21").json()["records"]]
    assert "w-1" in ids and "w-2" not in ids
