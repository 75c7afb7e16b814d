"""The report in a real browser (Playwright driving Debian's Chromium): sort and filter a table,
download it as CSV, download a figure as SVG; screenshots of the figures a reader comes for.

Screenshots go to ``$EXOMIR_SCREENSHOTS`` when set (docs/screenshots holds a reviewed set),
otherwise to the test's temporary folder.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pandas as pd
import pytest

from exomir.analysis import run_analysis
from exomir.report import render_report
from exomir.simulate import simulate_cohort

from conftest import CHROMIUM, CHROMIUM_ARGS as ARGS, ON_CI, require_browser as _require_browser

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple[Path, object]:
    _require_browser()
    adata = simulate_cohort(160, seed=2, n_mirnas=60)
    result = run_analysis(adata, controls=("LC",), afp="afp_ng_ml",
                          panel_options={"inner_folds": 3, "outer_folds": 5, "permutations": 9, "bootstraps": 9, "Cs": (0.1, 1.0),
                                         "max_features": (4, 8)})
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(render_report(result), encoding="utf-8")
    return path, result


@pytest.fixture(scope="module")
def browser():
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, report):
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, accept_downloads=True)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    requests: list[str] = []
    tab.on("request", lambda request: requests.append(request.url))
    tab.goto(report[0].as_uri())
    tab.wait_for_function("document.querySelectorAll('.figtools').length > 0")
    yield tab
    context.close()
    assert not errors, errors
    assert all(url.startswith(("file:", "blob:", "data:")) for url in requests), requests  # offline


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    folder = Path(os.environ.get("EXOMIR_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _column(table, name: str) -> list[str]:
    index = table.locator("th").evaluate_all(
        f"(ths) => ths.findIndex((th) => th.getAttribute('data-col') === {name!r})")
    return table.locator(f"tbody tr:not([hidden]) td:nth-child({index + 1})").all_inner_texts()


def test_sort_filter_and_download_a_table(page, report, shots):
    _, result = report
    box = page.locator('.tablebox[data-name="differential-HCC_vs_LC"]')
    table = box.locator("table")
    de = result.tables["differential"]
    de = de[de["comparison"] == "HCC_vs_LC"]
    assert len(_column(table, "mirna")) == 10  # the first ten shown, all of them in the page
    header = table.locator('th[data-col="log2fc"]')
    assert header.inner_text() == "log2 FC"  # readable, not snake_case
    header.click()
    assert header.get_attribute("aria-sort") == "ascending"
    header.click()
    assert header.get_attribute("aria-sort") == "descending"
    shown = [float(v) for v in _column(table, "log2fc")]
    expected = de.sort_values("log2fc", ascending=False)["log2fc"].head(10).round(3).tolist()
    assert shown == pytest.approx(expected, abs=1e-9)  # sorted over every miRNA, not only the ten shown
    box.scroll_into_view_if_needed()
    box.screenshot(path=str(shots / "report-table-sorted.png"))

    box.locator("input[type=search]").fill("miR-122")
    names = _column(table, "mirna")
    assert names and all("miR-122" in n for n in names)
    assert box.locator(".count").inner_text() == f"{len(names)} of {len(de)} rows match"
    with page.expect_download() as caught:
        box.locator("button.csv").click()
    download = caught.value
    assert download.suggested_filename == "differential-HCC_vs_LC.csv"
    frame = pd.read_csv(io.StringIO(Path(download.path()).read_text()))
    assert list(frame.columns) == ["mirna", "log2fc", "pvalue", "padj", "auc", "auc_direction"]  # the CSV names
    assert list(frame["mirna"]) == [n.split(" ")[0] for n in names]
    expected = de.set_index("mirna").loc[frame["mirna"], "pvalue"].to_numpy()
    assert frame["pvalue"].to_numpy() == pytest.approx(expected, rel=1e-5)  # full values, not the shown ones

    box.locator("input[type=search]").fill("")
    box.locator("button.more").click()
    assert len(_column(table, "mirna")) == len(de)


def test_download_a_figure_as_svg(page, shots):
    figure = page.locator("#fig-panel-roc-hcc-vs-lc")
    tools = page.locator("#fig-panel-roc-hcc-vs-lc + .figtools")
    with page.expect_download() as caught:
        tools.locator('button[data-format="svg"]').click()
    download = caught.value
    assert download.suggested_filename == "panel-roc-hcc-vs-lc.svg"
    svg = Path(download.path()).read_text()
    assert svg.startswith("<svg") and "miRNA panel + AFP: AUC" in svg and "paired DeLong p" in svg
    with page.expect_download() as caught:
        tools.locator('button[data-format="png"]').click()
    assert Path(caught.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    figure.scroll_into_view_if_needed()


def test_screenshots_of_the_figures(page, shots):
    for div, name in (("fig-volcano-hcc-vs-lc", "report-volcano.png"),
                      ("fig-panel-roc-hcc-vs-lc", "report-panel-vs-afp-roc.png"),
                      ("fig-calibration-hcc-vs-lc", "report-calibration.png"),
                      ("fig-decision-hcc-vs-lc", "report-decision-curve.png"),
                      ("fig-afp-by-group", "report-afp-by-group.png")):
        figure = page.locator(f"#{div}")
        figure.scroll_into_view_if_needed()
        page.wait_for_timeout(200)
        box = figure.bounding_box()
        assert box and box["width"] > 400 and box["height"] > 300
        figure.screenshot(path=str(shots / name))


def test_tables_fit_their_box_and_lists_are_whole(page, report):
    _, result = report
    assert "evidence" in result.tables  # the knowledge base knows the planted miRNAs
    for name in ("evidence", "panels", "differential-HCC_vs_LC"):
        # no column hidden off to the right (the evidence table was 1,913 px in a 1,216 px box)
        widths = page.evaluate(f"""() => {{ const box = document.querySelector('.tablebox[data-name="{name}"] .tablewrap');
                                          return [box.scrollWidth, box.clientWidth]; }}""")
        assert widths[0] <= widths[1] + 1, (name, widths)
    # every panel's feature list is shown whole: no cell clips its text
    clipped = page.evaluate("""() => Array.from(document.querySelectorAll('.tablebox[data-name="panels"] td.list'))
                                   .filter((td) => td.scrollWidth > td.clientWidth + 1).length""")
    assert clipped == 0
    features = page.locator('.tablebox[data-name="panels"] td.list').all_inner_texts()
    expected = [f.replace("hsa-", "").replace(";", "; ") for f in result.tables["panels"]["features"]]
    assert features == expected
    # rows are as tall as their text: no blank gaps
    heights = page.evaluate("""() => Array.from(document.querySelectorAll('.tablebox[data-name="evidence"] tbody tr:not([hidden])'))
                                   .map((tr) => [tr.offsetHeight, Math.max(...Array.from(tr.cells).map((td) => td.scrollHeight))])""")
    assert all(row <= cell + 2 for row, cell in heights), heights


def test_analyze_figures_export_every_figure_as_svg(report, tmp_path):
    from exomir.report.export import export_figures

    path, _ = report
    written = export_figures(path, tmp_path / "figures")
    ids = set(re.findall(r'<div id="fig-([^"]+)" class="plotly-graph-div"', path.read_text()))
    assert set(written) == ids and {"volcano-hcc-vs-lc", "panel-roc-hcc-vs-lc", "calibration-hcc-vs-lc"} <= ids
    roc = written["panel-roc-hcc-vs-lc"].read_text()
    assert roc.startswith("<svg") and "paired DeLong p" in roc and "miRNA panel + AFP: AUC" in roc
