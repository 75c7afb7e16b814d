"""Reference data: what a user is told when a download fails."""

from __future__ import annotations

import pandas as pd
import pytest


def test_a_failed_download_says_how_to_use_a_local_copy(monkeypatch, tmp_path):
    import pooch

    from exomir import refdata
    from exomir.errors import ReferenceDataError

    def offline(*args, **kwargs):
        raise OSError("network unreachable")

    monkeypatch.setattr(pooch, "retrieve", offline)
    with pytest.raises(ReferenceDataError) as caught:
        refdata.download("https://example.org/mature.fa", "mirbase", local="EXOMIR_MIRBASE=FOLDER or --mirbase FOLDER")
    message = str(caught.value)
    assert "network unreachable" in message and "EXOMIR_MIRBASE=FOLDER" in message


# --------------------------------------------------------------------------- exomir setup
import os  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

from typer.testing import CliRunner  # noqa: E402

from conftest import shared_path  # noqa: E402

RESOURCE_VARS = ("EXOMIR_MIRBASE", "EXOMIR_MIRTARBASE", "EXOMIR_HMDD", "EXOMIR_GENESETS", "EXOMIR_NCRNA")


@pytest.fixture
def plain(tmp_path, monkeypatch):
    """A shell without the Makefile's EXOMIR_* variables, with its own config, cache and data folders."""
    for var in RESOURCE_VARS:
        monkeypatch.delenv(var, raising=False)
    for var, sub in (("EXOMIR_CONFIG_DIR", "config"), ("EXOMIR_CACHE", "cache"), ("EXOMIR_DATA_DIR", "data")):
        monkeypatch.setenv(var, str(tmp_path / sub))
    return tmp_path


def _shared():
    return {"mirbase": shared_path("mirbase_v22"),
            "mirtarbase": shared_path("targets", "mirtarbase_strong_evidence_human.csv"),
            "hmdd": shared_path("hmdd", "hmdd_v3.2.tsv"), "genesets": shared_path("genesets"),
            "ncrna": shared_path("ncrna")}


def test_setup_remembers_checked_paths_and_the_environment_overrides_them(plain, tmp_path, monkeypatch):
    from exomir import refdata
    from exomir.cli import app
    from exomir.errors import InputError

    runner = CliRunner()
    data = _shared()
    shown = runner.invoke(app, ["setup"])
    assert shown.exit_code == 0 and "(none yet)" in shown.stdout and "not set: downloaded on first use" in shown.stdout
    assert refdata.local_source(None, "EXOMIR_HMDD") is None
    args = ["setup"] + [a for key, path in data.items() for a in (f"--{key}", str(path))]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, (result.output, result.exception)
    assert "miRBase release 22" in result.stdout and "gene set libraries: kegg_2016, hallmark, kegg_legacy" in result.stdout
    assert "RNA-type references: trna, artifact" in result.stdout
    # the paths just given are shown as the config's, not as environment overrides, and none leaks
    assert "overrides the config" not in result.stdout and not any(v in os.environ for v in RESOURCE_VARS)
    config = tmp_path / "config" / "config.toml"
    assert config.exists() and refdata.read_config() == {k: str(v.resolve()) for k, v in data.items()}
    assert refdata.local_source(None, "EXOMIR_HMDD") == data["hmdd"].resolve()

    # the environment still wins over the config
    other = tmp_path / "other_hmdd.tsv"
    shutil.copyfile(data["hmdd"], other)
    monkeypatch.setenv("EXOMIR_HMDD", str(other))
    assert refdata.local_source(None, "EXOMIR_HMDD") == other
    assert "(from EXOMIR_HMDD, which overrides the config)" in runner.invoke(app, ["setup"]).stdout
    monkeypatch.delenv("EXOMIR_HMDD")

    # a path that is not the resource changes nothing
    before = config.read_bytes()
    bad = runner.invoke(app, ["setup", "--hmdd", str(data["mirtarbase"])])
    assert isinstance(bad.exception, InputError) and "cannot use it as hmdd" in str(bad.exception)
    assert config.read_bytes() == before
    assert isinstance(runner.invoke(app, ["setup", "--mirbase", str(tmp_path / "nowhere")]).exception, InputError)

    # a remembered path that disappears is named with where it was set
    assert runner.invoke(app, ["setup", "--forget", "genesets"]).exit_code == 0
    assert "genesets" not in refdata.read_config()
    config.write_text(config.read_text() + f'genesets = "{tmp_path / "gone"}"\n')
    with pytest.raises(refdata.ReferenceDataError, match="remembered in .*config.toml \\(genesets\\) does not exist"):
        refdata.local_source(None, "EXOMIR_GENESETS")
    config.write_text("[data\nbroken")
    with pytest.raises(refdata.ReferenceDataError, match="not a valid exomir config file"):
        refdata.read_config()


def test_setup_download_fetches_what_was_not_given(plain, monkeypatch):
    import pooch

    from exomir import refdata
    from exomir.cli import app

    data = _shared()
    by_url = {"alldata.txt": data["hmdd"], "KEGG_2016": data["genesets"] / "kegg_2016.gmt",
              "h.all.v7.0": data["genesets"] / "msigdb_hallmark_v7.0.gmt",
              "c2.cp.kegg.v7.5.1": data["genesets"] / "msigdb_c2_kegg_v7.5.1.gmt"}
    fetched = []

    def fake_retrieve(url, known_hash=None, fname=None, path=None, progressbar=False):
        source = next(p for key, p in by_url.items() if key in url)
        fetched.append(url)
        target = os.path.join(path, fname)
        shutil.copyfile(source, target)
        return target

    monkeypatch.setattr(pooch, "retrieve", fake_retrieve)
    result = CliRunner().invoke(app, ["setup", "--mirbase", str(data["mirbase"]), "--mirtarbase", str(data["mirtarbase"]),
                                      "--ncrna", str(data["ncrna"]), "--download"])
    assert result.exit_code == 0, (result.output, result.exception)
    assert len(fetched) == 4  # HMDD and the three gene set libraries; miRBase and miRTarBase were given
    config = refdata.read_config()
    assert config["hmdd"].startswith(str(refdata.cache_dir())) and config["genesets"] == str(refdata.cache_dir() / "genesets")
    assert "hmdd: downloaded to" in result.stdout


def test_readme_examples_run_in_a_plain_shell_after_setup(plain, tmp_path):
    """After `exomir setup`, commands that need every kind of reference data run with no EXOMIR_*
    resource variable set and no network (a dead proxy makes any download attempt fail)."""
    data = _shared()
    env = {k: v for k, v in os.environ.items() if k not in RESOURCE_VARS}
    env.update(https_proxy="http://127.0.0.1:9", http_proxy="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9",
               HTTP_PROXY="http://127.0.0.1:9")

    def run(*args):
        done = subprocess.run([sys.executable, "-m", "exomir", *args], env=env, capture_output=True, text=True, cwd=tmp_path)
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        assert "Downloading" not in done.stderr
        return done.stdout

    run("setup", *[a for key, path in data.items() for a in (f"--{key}", str(path))])
    assert "hsa-miR-21-5p" in run("names", "resolve", "exo-miR-21", "'miR-221/222'", "MIMAT0000421")
    shown = run("kb", "show", "hsa-miR-21-5p", "--targets", "--hmdd")
    assert "miRTarBase" in shown and "HMDD" in shown and "PMID 24963487" in shown
    enrichment = run("kb", "enrich", "miR-32-5p", "miR-23a-3p", "--gene-sets", "kegg_2016")
    assert enrichment.splitlines()[1].startswith("PI3K-Akt")
    # quantify finds its RNA-type references through the config too
    run("quantify", str(shared_path("fastq", "nextseq_truseq_1.fastq.gz")), "--out", "counts")
    qc = pd.read_csv(tmp_path / "counts" / "qc.csv")
    assert qc["share_trna"].notna().all() and qc["share_trna"].iloc[0] > 0.05
