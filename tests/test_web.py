"""The web app through FastAPI's test client: pages, JSON API, reports by id, scoring, limits, tokens."""

from __future__ import annotations

import io
import re

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from exomir.model import LockedModel, save_model, score_files, train_model
from exomir.model import canonical
from exomir.simulate import simulate_cohort, write_cohort
from exomir.simulate import _effects as fx
from exomir.web import WebSettings, create_app

N_MIRNAS = len(fx.FIXED_CPM)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A results folder with two reports (one unfinished), a locked model and a table to score."""
    root = tmp_path_factory.mktemp("web")
    results = root / "results"
    (results / "study_a").mkdir(parents=True)
    (results / "study_a" / "report.html").write_text("<html><head><title>Study A report</title></head><body>A</body></html>")
    (results / "deep" / "b").mkdir(parents=True)
    (results / "deep" / "b" / "report.html").write_text("<html><head><title>Study B</title></head><body>B</body></html>")
    (results / ".study_c.partial").mkdir()
    (results / ".study_c.partial" / "report.html").write_text("<html>unfinished</html>")
    (root / "outside.html").write_text("secret")
    cohort = simulate_cohort(120, n_mirnas=N_MIRNAS, seed=5)
    model = LockedModel(train_model(cohort, seed=0, inner_folds=3, outer_folds=3, max_features=(4,), Cs=(1.0,)))
    model_path = save_model(model, root / "model.json")
    new = simulate_cohort(40, n_mirnas=N_MIRNAS, seed=6)
    paths = write_cohort(new, f"{root}/new/")
    return {"root": root, "results": results, "model": model, "model_path": model_path, "paths": paths}


@pytest.fixture(scope="module")
def client(workspace):
    settings = WebSettings(results=workspace["results"], models=(workspace["model_path"],), api_token=None)
    return TestClient(create_app(settings))


def test_health_and_openapi(client):
    health = client.get("/api/health").json()
    assert health == {"status": "ok", "version": health["version"], "read_only": True, "models": 1, "reports": 2,
                      "refused_models": []}
    schema = client.get("/openapi.json").json()
    for path in ("/api/mirna/{name}", "/api/search", "/api/score", "/api/network", "/api/reports", "/api/evidence"):
        assert path in schema["paths"]
    assert "multipart/form-data" in schema["paths"]["/api/score"]["post"]["requestBody"]["content"]


def test_mirna_api_has_evidence_targets_cells_and_neighbourhood(client):
    data = client.get("/api/mirna/miR-21").json()
    assert data["mimats"] == ["MIMAT0000076"] and data["names"] == ["hsa-miR-21-5p"]
    ids = {r["id"] for r in data["records"]}
    assert "t1-mir-21" in ids and len(ids) == len(data["records"]) >= 3
    assert "hcc_cell" in data["cells"]["parental"]
    node_ids = {n["id"] for n in data["network"]["nodes"]}
    assert "mirna:hsa-miR-21-5p" in node_ids and "cell:hcc_cell" in node_ids
    assert any(n["kind"] == "hallmark" for n in data["network"]["nodes"])
    # every edge joins drawn nodes; no other miRNA appears in this miRNA's neighbourhood
    assert all(e["source"] in node_ids and e["target"] in node_ids for e in data["network"]["edges"])
    assert [n for n in data["network"]["nodes"] if n["kind"] == "mirna"] == [
        n for n in data["network"]["nodes"] if n["id"] == "mirna:hsa-miR-21-5p"]
    validated = data["targets"]["validated"]
    if validated["available"]:  # miRTarBase is configured from ../shared/data when present
        assert "PTEN" in validated["genes"]
    # any name form reaches the same records
    same = client.get("/api/mirna/MIMAT0000076").json()
    assert {r["id"] for r in same["records"]} == ids


def test_conflicts_shown(client):
    data = client.get("/api/mirna/miR-122").json()
    assert any(c["kind"] == "direction" for c in data["conflicts"])
    assert {"up", "down"} <= set(data["directions"])
    html = client.get("/mirna/miR-122").text
    assert "Conflicts" in html and "same comparison" in html


def test_pages_show_vocabulary_labels_not_codes(client):
    html = client.get("/mirna/miR-92b").text  # HCC cells → NK cells (Table 1)
    assert "HCC cells" in html and "NK cells" in html
    assert "hcc cell" not in html and "nk_cell" not in html


def test_unknown_mirna_and_bad_filters(client):
    response = client.get("/api/mirna/miR-99999")
    assert response.status_code == 404 and "miR-99999" in response.json()["detail"]
    response = client.get("/api/search", params={"hallmark": "telepathy"})
    assert response.status_code == 422 and "hallmark" in response.json()["detail"]
    assert "angiogenesis" in response.json()["detail"]  # the allowed codes are named
    assert client.get("/mirna/miR-99999").status_code == 404
    page = client.get("/search", params={"hallmark": "telepathy"})
    assert page.status_code == 422 and "not a known hallmark" in page.text


def test_search(client):
    data = client.get("/api/search", params={"q": "TIM-3"}).json()
    assert data["count"] >= 1 and all("HAVCR2" in (r["target"] or "") + (r["regulates"] or "") or "TIM-3" in r["effect"]
                                      for r in data["records"])  # fmt: skip
    angio = client.get("/api/search", params={"hallmark": "angiogenesis"}).json()
    assert angio["count"] >= 1 and all("angiogenesis" in r["hallmark"] for r in angio["records"])
    assert "miR-210" in {r["mirna"] for r in angio["records"]}
    page = client.get("/search", params={"q": "miR-122"})
    assert page.status_code == 200 and "/mirna/hsa-miR-122-5p" in page.text


EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//([^/"' >]+)""", re.IGNORECASE)
CITATION_HOSTS = {"pubmed.ncbi.nlm.nih.gov", "doi.org"}


def test_pages_are_self_contained(client):
    for url in ("/", "/search", "/mirna/miR-21", "/mirna/miR-10a-5p", "/network", "/reports", "/score", "/docs"):
        response = client.get(url)
        assert response.status_code == 200, url
        # no CDN, nothing loaded from elsewhere: the only outside addresses are links to the cited papers
        assert set(EXTERNAL.findall(response.text)) <= CITATION_HOSTS, url
        assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=[\"']?(https?:)?//", response.text), url
        assert "default-src 'self'" in response.headers["content-security-policy"]
    network = client.get("/network/full").text
    assert "<svg" in network or "svg" in network and "hsa-miR-21-5p" in network
    assert client.get("/static/style.css").status_code == 200


def test_reports_by_opaque_id_only(client, workspace):
    reports = client.get("/api/reports").json()
    assert sorted(r["path"] for r in reports) == ["deep/b/report.html", "study_a/report.html"]
    a = next(r for r in reports if r["path"] == "study_a/report.html")
    response = client.get(a["url"])
    assert response.status_code == 200 and "Study A report" in response.text
    for bad in ("/reports/..%2Foutside.html", "/reports/study_a%2Freport.html", "/reports/0000000000000000",
                "/reports/../outside.html", "/reports/%2E%2E"):
        assert client.get(bad).status_code == 404, bad
    assert "Study B" in client.get("/reports").text


def test_score_api_matches_the_command_line(client, workspace):
    paths = workspace["paths"]
    with open(paths["expression"], "rb") as e:
        response = client.post("/api/score", files={"expression": ("mine.csv", e, "text/csv")})
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["n_samples"] == 40 and data["model"]["id"] == workspace["model"].checksum[:16]
    expected = score_files(workspace["model_path"], paths["expression"])
    got = pd.DataFrame(data["scores"])
    pd.testing.assert_series_equal(got["probability"], expected["probability"], rtol=1e-9, check_names=False)
    assert list(got["class"]) == list(expected["class"])
    csv = client.get(data["download"])
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    table = pd.read_csv(io.BytesIO(csv.content))
    assert list(table["sample"]) == list(expected["sample"])
    assert client.get("/api/scores/" + "0" * 32).status_code == 404


def test_score_refusals_and_limits(client, workspace):
    paths = workspace["paths"]
    table = pd.read_csv(paths["expression"], index_col=0)
    missing = workspace["model"].features[0]
    lacking = table.drop(index=missing["name"]).to_csv().encode()
    response = client.post("/api/score", files={"expression": ("lacking.csv", lacking, "text/csv")})
    assert response.status_code == 422 and missing["name"] in response.json()["detail"]
    assert "/tmp" not in response.json()["detail"]  # server paths are not shown
    # the HTML page says the same in words
    page = client.post("/score", files={"expression": ("lacking.csv", lacking, "text/csv")})
    assert page.status_code == 422 and missing["name"] in page.text
    response = client.post("/api/score", files={"expression": ("x.csv", b"", "text/csv")})
    assert response.status_code == 422
    response = client.post("/api/score", files={"expression": ("x.csv", lacking, "text/csv")}, data={"model": "ffffffffffffffff"})
    assert response.status_code == 404

    small = TestClient(create_app(WebSettings(models=(workspace["model_path"],), max_upload_bytes=1000)))
    response = small.post("/api/score", files={"expression": ("big.csv", lacking, "text/csv")})
    assert response.status_code == 413
    huge = small.post("/api/score", files={"expression": ("big.csv", b"x" * 200_000, "text/csv")})
    assert huge.status_code == 413 and "over this server's limit" in huge.json()["detail"]
    few_lines = TestClient(create_app(WebSettings(models=(workspace["model_path"],), max_lines=10)))
    response = few_lines.post("/api/score", files={"expression": ("long.csv", lacking, "text/csv")})
    assert response.status_code == 413 and "lines" in response.json()["detail"]


def test_models_found_in_results_and_tampered_ones_ignored(workspace, tmp_path):
    good = save_model(workspace["model"], tmp_path / "good" / "panel.json")
    content = workspace["model"].content | {"measure": "cq"}
    (tmp_path / "bad.json").write_text(canonical.dumps(content))
    app = create_app(WebSettings(results=tmp_path))
    assert [m.path for m in app.state.exomir.models.values()] == [str(good)]
    # a refused model never stops the server: it starts without it and says which file and why
    started = TestClient(create_app(WebSettings(models=(tmp_path / "bad.json", good))))
    health = started.get("/api/health").json()
    assert health["models"] == 1 and [r["file"] for r in health["refused_models"]] == ["bad.json"]
    assert "checksum mismatch" in health["refused_models"][0]["reason"]
    assert str(tmp_path) not in str(health)  # the server's folders are not shown
    assert [m["id"] for m in started.get("/api/models").json()] == [workspace["model"].checksum[:16]]
    empty = TestClient(create_app(WebSettings()))
    assert empty.post("/api/score", files={"expression": ("x.csv", b"a,b\n1,2\n", "text/csv")}).status_code == 404
    assert "no locked model" in empty.get("/score").text


RECORD = {"id": "lab-mir-21-serum", "mirna": "miR-21", "direction": "up", "comparison": "HCC vs LC",
          "biofluid": "serum", "clinical_role": ["diagnostic"], "effect": "Our lab finds exosomal miR-21 higher in HCC serum.",
          "reference": {"citation": "Lab notebook 2026"}, "source": "lab cohort"}  # fmt: skip


def test_evidence_writes_need_the_token(workspace, tmp_path, monkeypatch):
    monkeypatch.setenv("EXOMIR_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("EXOMIR_DATA_DIR", str(tmp_path / "data"))  # lab files go to this test's own user data folder
    body = {"name": "mylab", "records": [RECORD]}
    read_only = TestClient(create_app(WebSettings()))
    assert read_only.post("/api/evidence", json=body, headers={"Authorization": "Bearer x"}).status_code == 403

    monkeypatch.setenv("EXOMIR_API_TOKEN", "s3cret-token")
    writable = TestClient(create_app(WebSettings.from_environment()))
    assert writable.get("/api/health").json()["read_only"] is False
    assert writable.post("/api/evidence", json=body).status_code == 403
    # without the token the answer is 403 whatever the body: no validation details for strangers
    assert writable.post("/api/evidence", json={}).status_code == 403
    assert read_only.post("/api/evidence", json={"name": 1}).status_code == 403
    assert writable.post("/api/evidence", json=body, headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert writable.post("/api/evidence", json=body, headers={"Authorization": "s3cret-token"}).status_code == 403
    before = len(writable.get("/api/mirna/miR-21").json()["records"])
    response = writable.post("/api/evidence", json=body, headers={"Authorization": "Bearer s3cret-token"})
    assert response.status_code == 200, response.text
    assert response.json()["imported"] == 1
    after = writable.get("/api/mirna/miR-21").json()["records"]
    assert len(after) == before + 1 and any(r["id"] == "lab-mir-21-serum" and r["provenance"] == "mylab" for r in after)
    bad = {"name": "mylab2", "records": [{**RECORD, "id": "lab-x", "hallmark": ["telepathy"]}]}
    response = writable.post("/api/evidence", json=bad, headers={"Authorization": "Bearer s3cret-token"})
    assert response.status_code == 422 and "hallmark" in response.json()["detail"]
    response = writable.post("/api/evidence", json={"name": "../../etc", "records": [RECORD]},
                             headers={"Authorization": "Bearer s3cret-token"})  # fmt: skip
    assert response.status_code == 422


def test_docs_page_needs_no_script(client):
    page = client.get("/docs")
    assert page.status_code == 200
    for op in ("GET /api/mirna/{name}", "POST /api/score", "POST /api/evidence", "GET /api/network.graphml"):
        assert op in page.text.replace("</span> <code>", " ").replace("<code>", ""), op
    assert "<script" not in page.text  # nothing to load, nothing the CSP could block
    assert "Authorization: Bearer" in page.text and "schema-ScoreResult" in page.text
    assert client.get("/redoc").status_code == 404


def test_a_valid_mirna_outside_the_curated_set_gets_a_page(client):
    from conftest import shared_path

    shared_path("mirbase_v22")
    data = client.get("/api/mirna/miR-10a-5p").json()
    assert data["curated"] is False and data["records"] == []
    assert data["identity"]["mimat"] == "MIMAT0000253" and data["identity"]["sequence"] == "UACCCUGUAGAUCCGAAUUUGUG"
    if data["targets"]["validated"]["available"]:
        assert "HOXA1" in data["targets"]["validated"]["genes"]  # miRTarBase strong evidence for miR-10a-5p
    if data["hmdd"]["available"]:
        assert data["hmdd"]["n_hcc"] >= 1 and all(r["mir"] == "hsa-mir-10a" for r in data["hmdd"]["hcc"])
    html = client.get("/mirna/miR-10a-5p").text
    assert "No exosomal evidence in the curated set" in html and "MIMAT0000253" in html
    assert "https://pubmed.ncbi.nlm.nih.gov/" in html  # HMDD papers are linked
    made_up = client.get("/api/mirna/miR-99999")
    assert made_up.status_code == 404 and "not a human mature miRNA of miRBase" in made_up.json()["detail"]
    curated = client.get("/api/mirna/miR-21").json()
    assert curated["curated"] is True and curated["identity"] == {}


def test_citation_links():
    from exomir.web.knowledge import citation_links

    assert citation_links({"pmid": "29962816;27002617", "doi": "10.1186/s12943-018-0887-z"}) == [
        ("PMID 29962816", "https://pubmed.ncbi.nlm.nih.gov/29962816/"),
        ("PMID 27002617", "https://pubmed.ncbi.nlm.nih.gov/27002617/"),
        ("doi:10.1186/s12943-018-0887-z", "https://doi.org/10.1186/s12943-018-0887-z")]
    assert citation_links({"pmid": "", "doi": ""}) == []
    assert citation_links({"doi": "10.1000/<script>"})[0][1] == "https://doi.org/10.1000/%3Cscript%3E"


def test_reports_list_tells_reports_apart(tmp_path):
    import os

    from exomir.web.reports import scan_reports

    for folder, size in (("run1", 10), ("run2", 5000)):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "report.html").write_text("<title>exomir report</title>" + "x" * size)
    os.utime(tmp_path / "run1" / "report.html", (1_700_000_000, 1_700_000_000))
    reports = sorted(scan_reports(tmp_path).values(), key=lambda r: r.relative)
    assert [r.label for r in reports] == ["exomir report · run1", "exomir report · run2"]
    assert reports[0].modified == "2023-11-14T22:13:20+00:00" and reports[0].modified_text == "2023-11-14 22:13 UTC"
    assert reports[1].size_text == "5.0 kB"
    html = TestClient(create_app(WebSettings(results=tmp_path))).get("/reports").text
    assert "exomir report · run1" in html and "2023-11-14 22:13 UTC" in html and "5.0 kB" in html


def test_network_graphml_download(client):
    import xml.etree.ElementTree as ET

    import networkx as nx

    response = client.get("/api/network.graphml")
    assert response.status_code == 200 and "attachment" in response.headers["content-disposition"]
    graph = nx.parse_graphml(response.text)
    cyto = client.get("/api/network").json()
    assert graph.number_of_nodes() == len(cyto["elements"]["nodes"]) and graph.number_of_edges() == len(cyto["elements"]["edges"])
    assert graph.nodes["mirna:hsa-miR-21-5p"]["kind"] == "mirna"
    ET.fromstring(response.content)  # well-formed XML
    assert client.get("/api/network.graphml").content == response.content  # same store, same bytes


def test_evidence_pages_link_their_papers(client):
    records = client.get("/api/mirna/miR-210").json()["records"]
    pmids = {r["pmid"] for r in records if r.get("pmid")}
    assert "29858059" in pmids  # the record's verified PMID reaches the API
    html = client.get("/mirna/miR-210").text
    assert 'href="https://pubmed.ncbi.nlm.nih.gov/29858059/"' in html
    search = client.get("/search", params={"q": "miR-210"}).text
    assert 'href="https://pubmed.ncbi.nlm.nih.gov/29858059/"' in search


def test_brackets_in_uploaded_names_are_shown_not_read_as_markup(client, workspace):
    """A name like ``[/x]`` once reached rich markup through a warning: HTTP 500 (issue 16, item 8)."""
    table = pd.read_csv(workspace["paths"]["expression"], index_col=0)
    table.loc["hsa-miR-[/x]"] = table.iloc[0]  # an unknown miRNA name is warned about, by name
    table = table.rename(columns={table.columns[0]: "EXO[/x]1", table.columns[1]: "[bold]EXO2"})
    response = client.post("/api/score", files={"expression": ("data[x].csv", table.to_csv().encode(), "text/csv")})
    assert response.status_code == 200, response.text
    samples = [row["sample"] for row in response.json()["scores"]]
    assert samples[:2] == ["EXO[/x]1", "[bold]EXO2"]
