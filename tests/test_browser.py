"""A real browser (Playwright driving Debian's Chromium) against ``exomir serve`` on 127.0.0.1:
miR-21's page, the transfer network and the scoring page, with screenshots.

Screenshots go to ``$EXOMIR_SCREENSHOTS`` when set (docs/screenshots holds a reviewed set),
otherwise to the test's temporary folder.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

CHROMIUM = Path("/usr/bin/chromium")
ON_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]  # fmt: skip

pytestmark = pytest.mark.browser


def _require_browser() -> None:
    if not CHROMIUM.exists():
        if ON_CI:
            pytest.fail("CI must run the browser test: /usr/bin/chromium is missing (.ci/run installs it)")
        pytest.skip("needs Debian's Chromium at /usr/bin/chromium (apt-get install chromium)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``exomir serve`` (uvicorn in a thread) with a locked model and a results folder."""
    _require_browser()
    import uvicorn

    from exomir.model import LockedModel, save_model, train_model
    from exomir.simulate import simulate_cohort, write_cohort
    from exomir.simulate import _effects as fx
    from exomir.web import WebSettings, create_app

    root = tmp_path_factory.mktemp("browser")
    n_mirnas = len(fx.FIXED_CPM)
    cohort = simulate_cohort(120, n_mirnas=n_mirnas, seed=5)
    model = LockedModel(train_model(cohort, seed=0, inner_folds=3, outer_folds=3, max_features=(4,), Cs=(1.0,)))
    model_path = save_model(model, root / "model.json")
    table = write_cohort(simulate_cohort(40, n_mirnas=n_mirnas, seed=6), f"{root}/new/")["expression"]
    (root / "results" / "demo").mkdir(parents=True)
    (root / "results" / "demo" / "report.html").write_text("<html><head><title>Demo report</title></head><body><h1>Demo</h1></body></html>")
    app = create_app(WebSettings(results=root / "results", models=(model_path,)))
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the web server did not start")
        time.sleep(0.05)
    yield {"url": f"http://127.0.0.1:{port}", "table": Path(table), "model": model}
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1600, "height": 1000}, accept_downloads=True)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    yield tab
    context.close()
    assert not errors, errors  # no script errors, no blocked resources


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    folder = Path(os.environ.get("EXOMIR_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_mirna_page(server, page, shots):
    page.goto(f"{server['url']}/")
    page.fill("header input[type=search]", "miR-21")
    page.press("header input[type=search]", "Enter")
    page.wait_for_url("**/search?q=miR-21")
    page.click("a[href='/mirna/hsa-miR-21-5p']")
    page.wait_for_selector("h1")
    assert "hsa-miR-21-5p" in page.inner_text("h1")
    assert "MIMAT0000076" in page.inner_text("main")
    assert page.locator("#evidence tbody tr").count() >= 3
    circles = page.locator("#neighbourhood circle")
    assert circles.count() >= 5
    assert page.locator("#neighbourhood text", has_text="hcc cell").count() + \
        page.locator("#neighbourhood text", has_text="HCC").count() >= 1
    box = page.locator("#neighbourhood").bounding_box()
    assert box and box["width"] > 400 and box["height"] > 100  # really drawn
    page.screenshot(path=str(shots / "mirna-21.png"), full_page=True)


def test_network_page(server, page, shots):
    page.goto(f"{server['url']}/network")
    frame = page.frame_locator("iframe.network")
    nodes = frame.locator("g.node")
    nodes.first.wait_for()
    assert nodes.count() > 50
    frame.locator("g.node", has_text="hsa-miR-21-5p").first.click()
    panel = frame.locator("#panel")
    panel.locator(".rec").first.wait_for()
    assert "hsa-miR-21-5p" in panel.inner_text() and panel.locator(".rec").count() >= 1
    frame.locator("#hallmark").select_option("angiogenesis")
    assert frame.locator("g.node.dim").count() > 0  # the filter greys out other records
    page.screenshot(path=str(shots / "network.png"))


def test_scoring_page(server, page, shots):
    page.goto(f"{server['url']}/score")
    assert server["model"].checksum[:16] in page.inner_text("select[name=model]")
    page.set_input_files("input[name=expression]", str(server["table"]))
    page.click("#score-button")
    page.wait_for_selector("#scores")
    rows = page.locator("#scores tbody tr")
    assert rows.count() == 40
    summary = page.inner_text("#score-summary")
    assert "40 samples scored" in summary
    with page.expect_download() as info:
        page.click("#download")
    download = info.value
    target = shots / "scores.csv"
    download.save_as(str(target))
    scores = pd.read_csv(target)
    assert len(scores) == 40 and scores["probability"].between(0, 1).all()
    called = int((scores["class"] == "HCC").sum())
    assert f"{called} called HCC" in summary
    page.screenshot(path=str(shots / "scoring.png"), full_page=True)
    if not os.environ.get("EXOMIR_SCREENSHOTS"):
        target.unlink()
    else:
        shutil.move(str(target), str(target))  # kept beside the screenshots for review


def test_refusal_is_shown_in_the_page(server, browser, tmp_path):
    # the refused upload answers 422, which Chromium logs: this test uses a page without the console check
    context = browser.new_context()
    page = context.new_page()
    table = pd.read_csv(server["table"], index_col=0)
    feature = server["model"].features[0]["name"]
    table.drop(index=feature).to_csv(tmp_path / "lacking.csv")
    page.goto(f"{server['url']}/score")
    page.set_input_files("input[name=expression]", str(tmp_path / "lacking.csv"))
    page.click("#score-button")
    page.wait_for_selector("#error")
    assert feature in page.inner_text("#error")
    page.goto(f"{server['url']}/reports")
    page.click("text=Demo report")
    page.wait_for_selector("h1")
    assert page.inner_text("h1") == "Demo"
    context.close()
