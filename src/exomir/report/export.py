"""Every figure of a report as an SVG file, drawn by the same plotly.js that draws the page.

A static export needs a browser engine. exomir uses Chromium (Debian's ``chromium`` package at
``/usr/bin/chromium``, or the browser named by ``EXOMIR_CHROMIUM``) headless: it opens a copy of
the report with a small script that asks plotly for each figure as SVG and writes the results
into the page, and reads them back from the page's final DOM. Nothing is fetched from the network.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from exomir.errors import InputError

log = logging.getLogger(__name__)

CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
TIMEOUT = 300  # seconds for the whole page
_MARK = "exomir-figures"

_SCRIPT = """<script>
window.addEventListener("load", function () {
  var out = document.createElement("pre"); out.id = "%(mark)s"; out.textContent = "pending";
  var divs = Array.prototype.slice.call(document.querySelectorAll(".plotly-graph-div"));
  var done = {};
  Promise.all(divs.map(function (div) {
    var width = div._fullLayout && div._fullLayout.width || 700, height = div._fullLayout && div._fullLayout.height || 500;
    return Plotly.toImage(div, {format: "svg", width: width, height: height}).then(function (url) { done[div.id] = url; });
  })).then(function () { out.textContent = btoa(unescape(encodeURIComponent(JSON.stringify(done)))); },
           function (error) { out.textContent = "error: " + error; })
     .then(function () { document.body.appendChild(out); });
});
</script>"""


def find_chromium() -> Path:
    """The Chromium to draw with, or an :class:`InputError` saying how to get one."""
    named = os.environ.get("EXOMIR_CHROMIUM")
    if named:
        if Path(named).exists():
            return Path(named)
        raise InputError(f"EXOMIR_CHROMIUM names {named}, which does not exist",
                         expected="the path of a Chromium or Chrome executable")
    for candidate in (*CANDIDATES, shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and Path(candidate).exists():
            return Path(candidate)
    raise InputError("--figures draws the report's figures as SVG with a browser engine, and no Chromium was found",
                     expected="Debian/Ubuntu: apt-get install chromium; elsewhere set EXOMIR_CHROMIUM to a "
                              "Chromium or Chrome executable, or leave out --figures (every figure can also be "
                              "downloaded as SVG or PNG from report.html)")


def figure_svgs(report: Path, chromium: Path | None = None) -> dict[str, str]:
    """``{figure name: SVG text}`` for every figure of ``report`` (names without the ``fig-`` prefix)."""
    chromium = chromium or find_chromium()
    page = Path(report).read_text(encoding="utf-8")
    page = page.replace("</body>", _SCRIPT % {"mark": _MARK} + "</body>", 1)
    with tempfile.TemporaryDirectory(prefix="exomir-figures-") as tmp:
        copy = Path(tmp) / "report.html"
        copy.write_text(page, encoding="utf-8")
        command = [str(chromium), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                   "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp}/profile",
                   "--virtual-time-budget=120000", "--dump-dom", copy.as_uri()]
        try:
            run = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, check=False)
        except subprocess.TimeoutExpired as exc:
            raise InputError(f"Chromium did not finish drawing the figures within {TIMEOUT} s", path=chromium) from exc
    found = re.search(rf'<pre id="{_MARK}">([^<]*)</pre>', run.stdout)
    if not found or found.group(1).startswith(("pending", "error")):
        detail = found.group(1) if found else (run.stderr.strip().splitlines() or ["no output"])[-1]
        raise InputError(f"Chromium could not draw the figures ({detail})", path=chromium)
    urls = json.loads(base64.b64decode(html.unescape(found.group(1))).decode("utf-8"))
    return {name.removeprefix("fig-"): _svg_of(url) for name, url in sorted(urls.items())}


def _svg_of(url: str) -> str:
    """plotly returns ``data:image/svg+xml,<url-encoded SVG>``."""
    from urllib.parse import unquote

    head, _, body = url.partition(",")
    return base64.b64decode(body).decode("utf-8") if head.endswith(";base64") else unquote(body)


def export_figures(report: str | Path, folder: str | Path) -> dict[str, Path]:
    """Write every figure of ``report`` to ``folder/NAME.svg``; returns the paths by name."""
    svgs = figure_svgs(Path(report))
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, svg in svgs.items():
        path = folder / f"{name}.svg"
        path.write_text(svg, encoding="utf-8", newline="")
        written[name] = path
    log.info(f"figures: {len(written)} SVG files")
    return written
