"""Shared test set-up: the real data beside the project, and an isolated cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("EXOMIR_SHARED_DATA", REPO.parent / "shared" / "data"))
MIRBASE_DIR = SHARED_DATA / "mirbase_v22"
ON_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def pytest_configure(config):
    # Tests never download: reference data comes from ../shared/data when present.
    for var, path in {
        "EXOMIR_MIRBASE": MIRBASE_DIR,
        "EXOMIR_MIRTARBASE": SHARED_DATA / "targets" / "mirtarbase_strong_evidence_human.csv",
        "EXOMIR_HMDD": SHARED_DATA / "hmdd" / "hmdd_v3.2.tsv",
        "EXOMIR_GENESETS": SHARED_DATA / "genesets",
        "EXOMIR_NCRNA": SHARED_DATA / "ncrna",
    }.items():
        if path.exists():
            os.environ.setdefault(var, str(path))


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory):
    os.environ["EXOMIR_CACHE"] = str(tmp_path_factory.mktemp("exomir-cache"))
    # lab evidence (user data) and `exomir setup`'s config never touch the real user folders
    os.environ["EXOMIR_DATA_DIR"] = str(tmp_path_factory.mktemp("exomir-data"))
    os.environ["EXOMIR_CONFIG_DIR"] = str(tmp_path_factory.mktemp("exomir-config"))
    yield


@pytest.fixture(autouse=True)
def _warnings_fold_within_one_test():
    """Each test is a run of its own: warnings folded at its end are said there, so that the next
    test's first warning of the same kind is shown, not counted into "more like the one above"."""
    yield
    from exomir.logs import flush

    flush()


def shared_path(*parts: str) -> Path:
    """A file of ../shared/data, or skip the test (with the reason) when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        if ON_CI:
            pytest.fail(f"shared test data missing in CI: {path}")
        pytest.skip(f"needs the real data in ../shared/data ({path} is absent)")
    return path


@pytest.fixture
def shared_data() -> Path:
    return shared_path()


@pytest.fixture
def mirbase_dir() -> Path:
    return shared_path("mirbase_v22")


# --- real-browser tests (Playwright driving Debian's Chromium) --------------------------------
CHROMIUM = Path("/usr/bin/chromium")
ON_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]  # fmt: skip


def require_browser() -> None:
    """Skip without Debian's Chromium, except under CI, where the browser tests must run."""
    if not CHROMIUM.exists():
        if ON_CI:
            pytest.fail("CI must run the browser test: /usr/bin/chromium is missing (.ci/run installs it)")
        pytest.skip("needs Debian's Chromium at /usr/bin/chromium (apt-get install chromium)")
