"""The transfer network: every cell → miRNA → cell edge of the review, exports and the page."""

from __future__ import annotations

import json
import shutil

import networkx as nx
import pytest

from conftest import shared_path

# (parental, miRNA, recipient) as the review states them, Table 1 and text.
TRANSFERS = {
    ("hcc_cell", "hsa-miR-210-3p", "endothelial_cell"),  # Table 1, angiogenesis [42]
    ("hcc_cell", "hsa-miR-1247-3p", "fibroblast"),  # Table 1 [91]
    ("hcc_cell", "hsa-miR-23a-3p", "macrophage"),  # Table 1, immune reaction [59]
    ("hcc_cell", "hsa-miR-32-5p", "hcc_cell"),  # Table 1, PI3K/Akt, drug resistance [58]
    ("hcc_cell", "hsa-miR-92b-3p", "nk_cell"),  # Table 1, immune reaction [116]
    ("stromal_cell", "hsa-miR-320a-3p", "hcc_cell"),  # Table 1 [68]
    ("hcc_cell", "hsa-miR-638", "hcc_cell"),  # Table 1 [77]
    ("hcc_cell", "hsa-miR-638", "endothelial_cell"),  # Table 1 (HUVECs) [77]
    ("hcc_cell", "hsa-miR-200b-3p", "endothelial_cell"),  # Table 1 [103]
    ("hepatocyte", "hsa-miR-200b-3p", "endothelial_cell"),  # angiogenesis text: "from liver cells" [103]
    ("fibroblast", "hsa-miR-320a-3p", "hepatocyte"),  # metastasis text: CAFs → receptor cells [68]
    ("macrophage", "hsa-miR-92a-2-5p", "hcc_cell"),  # metastasis text [92]
    ("adipocyte", "hsa-miR-23a-3p", "hcc_cell"),  # metastasis text, miR-23a/b [93]
    ("adipocyte", "hsa-miR-23b-3p", "hcc_cell"),
    ("mast_cell", "hsa-miR-490-3p", "hcc_cell"),  # MAPK/ERK text [71]
    ("hcc_cell", "hsa-miR-665", "hcc_cell"),  # MAPK/ERK text [70]
}
# Edges with only one side given.
SECRETED_ONLY = {("hcc_cell", "hsa-miR-744-5p"), ("hcc_cell", "hsa-miR-21-5p"), ("hcc_cell", "hsa-miR-10b-5p"),
                 ("fibroblast", "hsa-miR-1247-3p")}
DELIVERED_ONLY = {("hsa-miR-451a", "hcc_cell"), ("hsa-miR-451a", "endothelial_cell"), ("hsa-miR-449c-5p", "nk_cell"),
                  ("hsa-miR-9-3p", "hcc_cell"), ("hsa-miR-199a-3p", "hcc_cell")}


@pytest.fixture(scope="module")
def table():
    shared_path("mirbase_v22")
    from exomir.kb import load_store

    return load_store().table()


@pytest.fixture(scope="module")
def graph(table):
    from exomir.kb import build_network

    return build_network(table)


def test_every_transfer_of_the_review(graph):
    from exomir.kb import transfer_edges

    found = transfer_edges(graph)
    assert TRANSFERS <= found
    for cell, mirna in SECRETED_ONLY:
        assert graph.edges[f"cell:{cell}", f"mirna:{mirna}"]["kind"] == "secretes"
    for mirna, cell in DELIVERED_ONLY:
        assert graph.edges[f"mirna:{mirna}", f"cell:{cell}"]["kind"] == "delivered_to"
    # Nothing the review does not say: every transfer triple is one of the above.
    assert found == TRANSFERS


def test_edges_carry_their_evidence(graph):
    edge = graph.edges["cell:hcc_cell", "mirna:hsa-miR-1247-3p"]
    assert (edge["records"], edge["references"]) == ("t1-mir-1247-3p", "91")
    assert graph.edges["cell:fibroblast", "mirna:hsa-miR-1247-3p"]["records"] == "meta-mir-1247-3p"
    # miRNA → target → pathway → hallmark
    assert graph.edges["mirna:hsa-miR-32-5p", "gene:PTEN"]["kind"] == "targets"
    assert graph.edges["gene:PTEN", "pathway:pi3k_akt"]["records"] == "t1-mir-23a-3p;t1-mir-32-5p;pi3k-mir-23a;immune-mir-23a"
    assert graph.has_edge("pathway:pi3k_akt", "hallmark:drug_resistance")
    assert graph.edges["mirna:hsa-miR-23a-3p", "gene:CD274"]["kind"] == "regulates"
    assert graph.edges["mirna:hsa-miR-449c-5p", "gene:HAVCR2"]["kind"] == "targets"
    # No pathway: the target links to its hallmark; no target: the miRNA links to its pathway.
    assert graph.has_edge("gene:ERG", "hallmark:angiogenesis")
    assert graph.edges["mirna:hsa-miR-490-3p", "pathway:mapk_erk"]["kind"] == "acts_on"
    assert graph.nodes["mirna:hsa-miR-122-5p"]["mimat"] == "MIMAT0000421"
    assert "mirna:AFP" not in graph  # comparators are not part of the transfer network


def test_filters(table):
    from exomir.kb import build_network

    angio = build_network(table, hallmark="angiogenesis")
    mirnas = {d["label"] for _, d in angio.nodes(data=True) if d["kind"] == "mirna"}
    assert mirnas == {"hsa-miR-21-5p", "hsa-miR-26a-5p", "hsa-miR-122-5p", "hsa-miR-146a-5p", "hsa-miR-155-5p",
                      "hsa-miR-182-5p", "hsa-miR-210-3p", "hsa-miR-200b-3p", "hsa-miR-32-5p"}
    nk = build_network(table, cell="NK cells")
    assert {n for n, d in nk.nodes(data=True) if d["kind"] == "mirna"} == {"mirna:hsa-miR-92b-3p", "mirna:hsa-miR-449c-5p"}


def test_graphml_and_cytoscape(graph, tmp_path):
    from exomir.kb import write_cytoscape, write_graphml

    write_graphml(graph, tmp_path / "n.graphml")
    back = nx.read_graphml(tmp_path / "n.graphml")
    assert set(back.nodes) == set(graph.nodes) and set(back.edges) == set(graph.edges)
    assert back.edges["cell:hcc_cell", "mirna:hsa-miR-1247-3p"]["records"] == "t1-mir-1247-3p"
    write_cytoscape(graph, tmp_path / "n.cyjs")
    data = json.loads((tmp_path / "n.cyjs").read_text())
    assert len(data["elements"]["nodes"]) == graph.number_of_nodes()
    assert len(data["elements"]["edges"]) == graph.number_of_edges()
    edge = next(e["data"] for e in data["elements"]["edges"]
                if e["data"]["source"] == "mirna:hsa-miR-92b-3p" and e["data"]["target"] == "cell:nk_cell")
    assert edge["interaction"] == "delivered_to" and edge["references"] == "116"


def test_html_is_self_contained_and_reproducible(graph, table):
    from exomir.plotting.network import render_html

    page = render_html(graph, table)
    assert page == render_html(graph, table)
    assert "<script src" not in page and "<link" not in page and "cdn" not in page.lower()
    payload = page.split('<script type="application/json" id="data">')[1].split("</script>")[0]
    data = json.loads(payload)
    assert len(data["nodes"]) == graph.number_of_nodes() and len(data["edges"]) == graph.number_of_edges()
    assert data["records"]["t1-mir-1247-3p"]["reference"] == (
        "[91] Fang T et al., Nat Commun 2018;9:191 PMID 29335551 doi:10.1038/s41467-017-02583-0")


@pytest.mark.browser
def test_page_in_a_browser(graph, table, tmp_path):
    playwright = pytest.importorskip("playwright.sync_api")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        pytest.skip("no chromium on this machine")
    from exomir.plotting.network import write_html

    path = tmp_path / "network.html"
    write_html(graph, table, path)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium)
        page = browser.new_page(viewport={"width": 1366, "height": 800})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(path.as_uri())
        # on a laptop-sized window the whole chain, up to the hallmarks, is in view beside the panel
        hallmark = page.locator("g.node", has_text="apoptosis").bounding_box()
        panel_left = page.locator("aside").bounding_box()["x"]
        assert hallmark is not None and hallmark["x"] + hallmark["width"] <= panel_left
        page.locator("g.node", has_text="hsa-miR-1247-3p").locator("circle").click()
        panel = page.inner_text("#panel")
        assert "t1-mir-1247-3p" in panel and "meta-mir-1247-3p" in panel and "[91]" in panel
        visible = lambda: set(page.locator("g.node:not(.dim)").evaluate_all("els => els.map(e => e.textContent)"))
        assert len(visible()) == graph.number_of_nodes()
        page.select_option("#hallmark", "immune_escape")
        shown = visible()
        assert {"hsa-miR-92b-3p", "hsa-miR-449c-5p", "hsa-miR-23a-3p", "NK cells", "HAVCR2", "immune escape"} <= shown
        assert "hsa-miR-210-3p" not in shown and "angiogenesis" not in shown
        page.select_option("#hallmark", "")
        page.select_option("#cell", "mast_cell")
        assert visible() == {"mast cells", "hsa-miR-490-3p", "HCC cells", "MAPK/ERK", "metastasis"}
        browser.close()
        assert errors == []
