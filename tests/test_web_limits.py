"""Hostile uploads and writes: bodies counted as they stream (chunked or declared), gzip bombs,
CR-only tables, too many samples or columns (refused before scoring), formula cells in the
download, the evidence token checked first and its scheme read case-insensitively."""

from __future__ import annotations

import asyncio
import csv
import gzip
import io

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from exomir.model import LockedModel, save_model, train_model
from exomir.simulate import simulate_cohort, write_cohort
from exomir.simulate import _effects as fx
from exomir.web import WebSettings, create_app
from exomir.web.scoring import count_lines, without_flags

N_MIRNAS = len(fx.FIXED_CPM)
LIMIT = 200_000


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("limits")
    cohort = simulate_cohort(80, n_mirnas=N_MIRNAS, seed=9)
    model = LockedModel(train_model(cohort, seed=0, inner_folds=3, outer_folds=3, max_features=(3,), Cs=(1.0,)))
    model_path = save_model(model, root / "model.json")
    paths = write_cohort(simulate_cohort(40, n_mirnas=N_MIRNAS, seed=6), f"{root}/new/")
    table = pd.read_csv(paths["expression"], index_col=0)
    return {"model": model, "model_path": model_path, "table": table, "paths": paths}


def _app(workspace, **limits):
    return create_app(WebSettings(models=(workspace["model_path"],), **{"max_upload_bytes": LIMIT, **limits}))


def _post_streamed(app, chunk: bytes, *, declared: int | None = None, chunks: int = 10_000) -> tuple[int, int, dict]:
    """POST /api/score straight through ASGI with a body that keeps coming in ``chunk``s (as a
    chunked upload does); returns the status, the body bytes the app pulled, and the answer."""
    pulled = 0
    sent: list[dict] = []
    headers = [(b"content-type", b"multipart/form-data; boundary=xyz"), (b"host", b"testserver")]
    if declared is not None:
        headers.append((b"content-length", str(declared).encode()))
    else:
        headers.append((b"transfer-encoding", b"chunked"))
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/api/score", "raw_path": b"/api/score", "query_string": b"", "headers": headers,
             "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 80), "root_path": ""}  # fmt: skip
    preamble = b'--xyz\r\nContent-Disposition: form-data; name="expression"; filename="x.csv"\r\nContent-Type: text/csv\r\n\r\n'
    state = {"n": 0}

    async def receive():
        nonlocal pulled
        state["n"] += 1
        if state["n"] > chunks:
            return {"type": "http.request", "body": b"\r\n--xyz--\r\n", "more_body": False}
        body = preamble + chunk if state["n"] == 1 else chunk
        pulled += len(body)
        return {"type": "http.request", "body": body, "more_body": True}

    async def send(message):
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    import json

    return start["status"], pulled, json.loads(body)


def test_chunked_body_is_cut_at_the_limit(workspace):
    app = _app(workspace)
    limit = 2 * LIMIT + 65536  # two tables and the form's overhead
    status, pulled, answer = _post_streamed(app, b"1," * 8192)  # 16 KiB pieces, 160 MiB if read to the end
    assert status == 413 and "stopped reading" in answer["detail"]
    assert limit < pulled <= limit + 16384 + 200  # not one piece more than needed to see the limit passed


def test_declared_length_over_the_limit_reads_nothing(workspace):
    status, pulled, answer = _post_streamed(_app(workspace), b"x" * 1024, declared=50 * 1024 * 1024)
    assert status == 413 and pulled == 0 and "over this server's limit" in answer["detail"]


def test_gzip_bomb_refused_within_the_limit(workspace):
    client = TestClient(_app(workspace))
    bomb = gzip.compress(b"0," * (24 * 1024 * 1024), compresslevel=9)  # 48 MiB of text in ~50 kB
    assert len(bomb) < LIMIT
    response = client.post("/api/score", files={"expression": ("bomb.csv.gz", bomb, "application/gzip")})
    assert response.status_code == 413 and "expands to more than" in response.json()["detail"]
    nested = gzip.compress(gzip.compress(workspace["table"].to_csv().encode()))
    response = client.post("/api/score", files={"expression": ("twice.csv.gz", nested, "application/gzip")})
    assert response.status_code == 422 and "gzip file inside a gzip file" in response.json()["detail"]
    broken = gzip.compress(workspace["table"].to_csv().encode())
    broken = broken[:40] + bytes(b ^ 0xFF for b in broken[40:60]) + broken[60:]
    response = client.post("/api/score", files={"expression": ("broken.csv.gz", broken, "application/gzip")})
    assert response.status_code == 422 and "damaged" in response.json()["detail"]
    import bz2

    response = client.post("/api/score", files={"expression": ("x.csv.bz2", bz2.compress(b"a,b\n1,2\n"), "application/x-bzip2")})
    assert response.status_code == 422 and "bzip2" in response.json()["detail"]


def test_gzip_table_scored_like_the_plain_one(workspace):
    client = TestClient(_app(workspace))
    text = workspace["table"].to_csv().encode()
    plain = client.post("/api/score", files={"expression": ("t.csv", text, "text/csv")}).json()
    packed = client.post("/api/score", files={"expression": ("t.csv.gz", gzip.compress(text), "application/gzip")}).json()
    assert [s["probability"] for s in packed["scores"]] == [s["probability"] for s in plain["scores"]]


def test_cr_only_lines_are_counted(workspace):
    assert count_lines(b"a\rb\rc") == 2 and count_lines(b"a\r\nb\nc\r") == 3
    client = TestClient(_app(workspace, max_lines=30))
    cr_only = workspace["table"].to_csv(lineterminator="\r").encode()  # ~{N_MIRNAS} lines, no \n at all
    assert b"\n" not in cr_only
    response = client.post("/api/score", files={"expression": ("mac.csv", cr_only, "text/csv")})
    assert response.status_code == 413 and "lines" in response.json()["detail"]


def test_too_many_samples_refused_before_scoring(workspace, monkeypatch):
    import exomir.model.score as score

    def never(*args, **kwargs):
        raise AssertionError("scoring started")

    monkeypatch.setattr(score, "score_cohort", never)
    table = workspace["table"]
    wide = pd.concat([table.add_suffix(f"_{i}") for i in range(4)], axis=1)  # 160 samples
    client = TestClient(_app(workspace, max_samples=100))
    response = client.post("/api/score", files={"expression": ("wide.csv", wide.to_csv().encode(), "text/csv")})
    assert response.status_code == 413, response.text
    assert "160 samples" in response.json()["detail"] and "nothing was scored" in response.json()["detail"]


def test_too_many_columns_refused_unparsed(workspace):
    client = TestClient(_app(workspace, max_lines=1000))
    header = ",".join(f"s{i}" for i in range(1500)).encode()
    response = client.post("/api/score", files={"expression": ("cols.csv", header + b"\nmiR-1" + b",1" * 1500, "text/csv")})
    assert response.status_code == 413 and "columns" in response.json()["detail"]


def test_download_defuses_formula_cells(workspace):
    client = TestClient(_app(workspace))
    table = workspace["table"].iloc[:, :4].copy()
    table.columns = ['=HYPERLINK("http://evil","x")', "+cmd|' /C calc'!A0", "@SUM(A1:A2)", "plain"]
    answer = client.post("/api/score", files={"expression": ("evil.csv", table.to_csv().encode(), "text/csv")}).json()
    rows = list(csv.reader(io.StringIO(client.get(answer["download"]).text)))
    assert [r[0] for r in rows[1:]] == ["'" + c for c in table.columns[:3]] + ["plain"]
    assert [s["sample"] for s in answer["scores"]] == list(table.columns)  # the JSON keeps the names as sent


def test_web_messages_name_no_command_line_flags(workspace):
    client = TestClient(_app(workspace))
    clinical = "id,group\nnobody,HCC\nnone,LC\n"
    response = client.post("/api/score", files={"expression": ("t.csv", workspace["table"].to_csv().encode(), "text/csv"),
                                                "clinical": ("c.csv", clinical.encode(), "text/csv")})  # fmt: skip
    assert response.status_code == 422
    assert "--" not in response.json()["detail"], response.json()["detail"]
    assert without_flags("expected a clinical table (--clinical FILE) with that column; --measure cq") == (
        "expected a clinical table (the clinical upload) with that column; the measure cq")
    assert "--" not in TestClient(create_app(WebSettings())).get("/score").text
    assert "--" not in TestClient(create_app(WebSettings())).post(
        "/api/score", files={"expression": ("x.csv", b"a,b\n1,2\n", "text/csv")}).json()["detail"]


RECORD = {"id": "lab-mir-21-plasma", "mirna": "miR-21", "direction": "up", "comparison": "HCC vs LC",
          "biofluid": "plasma", "clinical_role": ["diagnostic"], "effect": "Our lab finds exosomal miR-21 higher in HCC plasma.",
          "reference": {"citation": "Lab notebook 2026"}, "source": "lab cohort"}  # fmt: skip


def test_evidence_token_first_and_scheme_case_insensitive(tmp_path, monkeypatch):
    monkeypatch.setenv("EXOMIR_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("EXOMIR_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("EXOMIR_API_TOKEN", "s3cret-token")
    client = TestClient(create_app(WebSettings.from_environment()))
    # no token and a body that is not even JSON: 403, never a validation report
    for body in (b"{not json", b"", b"[]"):
        response = client.post("/api/evidence", content=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 403, (body, response.status_code)
    assert client.post("/api/evidence", content=b"{not json", headers={"Authorization": "Basic s3cret-token"}).status_code == 403
    before = len(client.get("/api/mirna/miR-21").json()["records"])
    response = client.post("/api/evidence", json={"name": "lowercase-lab", "records": [RECORD]},
                           headers={"Authorization": "bearer s3cret-token"})  # fmt: skip
    assert response.status_code == 200, response.text
    # the cached view of miR-21 is dropped when the store changes
    after = client.get("/api/mirna/miR-21").json()["records"]
    assert len(after) == before + 1 and any(r["id"] == "lab-mir-21-plasma" for r in after)
    response = client.post("/api/evidence", content=b"{not json",
                           headers={"Authorization": "BEARER s3cret-token", "Content-Type": "application/json"})  # fmt: skip
    assert response.status_code == 422  # with the token, the body is checked and explained


def test_second_post_under_a_lab_name_refused_or_appended_in_api_words(tmp_path, monkeypatch):
    monkeypatch.setenv("EXOMIR_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("EXOMIR_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("EXOMIR_API_TOKEN", "s3cret-token")
    client = TestClient(create_app(WebSettings.from_environment()))
    auth = {"Authorization": "Bearer s3cret-token"}
    first = {**RECORD, "id": "lab-a-1"}
    assert client.post("/api/evidence", json={"name": "lab-a", "records": [first]}, headers=auth).status_code == 200
    again = client.post("/api/evidence", json={"name": "lab-a", "records": [{**first, "id": "lab-a-2"}]}, headers=auth)
    detail = again.json()["detail"]
    assert again.status_code == 422 and "already exists" in detail and '"mode": "append"' in detail
    assert "--" not in detail and "/tmp" not in detail and str(tmp_path) not in detail
    appended = client.post("/api/evidence", json={"name": "lab-a", "records": [{**first, "id": "lab-a-2"}], "mode": "append"},
                           headers=auth)  # fmt: skip
    assert appended.status_code == 200, appended.text
    ids = {r["id"] for r in client.get("/api/mirna/miR-21").json()["records"]}
    assert {"lab-a-1", "lab-a-2"} <= ids
