"""Loading miRBase releases: the shared release-22 folder, official release files, downloads, bad files."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest

from exomir import refdata
from exomir.errors import InputError, ReferenceDataError
from exomir.identity import load_mirbase, resolve
from exomir.identity import mirbase as release_module
from exomir.identity.readers import read_aliases, read_fasta, read_gff3, read_history, read_mirna_dat
from exomir.identity.release import read_release


def test_shared_release_22(mirbase_dir):
    mb = load_mirbase(mirbase_dir)
    assert mb.release == "22"
    assert len(mb.mature) == 2656
    assert len(mb.hairpin) == 1917
    assert len(mb.all_mature) == 48835
    assert list(mb.mature.columns) == ["mimat", "name", "sequence"]
    assert list(mb.hairpin.columns) == ["mi", "name", "sequence"]
    assert list(mb.products.columns) == ["mi", "precursor", "mimat", "mature"]
    row = mb.mature.set_index("name").loc["hsa-miR-21-5p"]
    assert row["mimat"] == "MIMAT0000076"
    assert row["sequence"] == "UAGCUUAUCAGACUGAUGUUGA"
    spike = mb.all_mature.set_index("name").loc["cel-miR-39-3p"]
    assert spike["mimat"] == "MIMAT0000010"
    assert spike["species"] == "cel"
    mir21 = mb.products.loc[mb.products["precursor"] == "hsa-mir-21"]
    assert sorted(mir21["mature"]) == ["hsa-miR-21-3p", "hsa-miR-21-5p"]
    assert set(mir21["mi"]) == {"MI0000077"}
    old = mb.history.loc[(mb.history["mimat"] == "MIMAT0004494")]
    assert set(old["name"]) == {"hsa-miR-21*", "hsa-miR-21-3p"}
    assert old.loc[old["name"] == "hsa-miR-21*", "release"].tolist()[0] == "10"


def test_release_is_cached_per_process(mirbase_dir):
    assert load_mirbase(mirbase_dir) is load_mirbase(str(mirbase_dir))


def test_env_var_is_the_default(mirbase_dir, monkeypatch):
    monkeypatch.setenv("EXOMIR_MIRBASE", str(mirbase_dir))
    assert load_mirbase().source == str(mirbase_dir.resolve())


def test_missing_folder_is_an_error(tmp_path):
    with pytest.raises(ReferenceDataError, match="does not exist"):
        load_mirbase(tmp_path / "nowhere")
    with pytest.raises(ReferenceDataError, match="no miRBase mature sequences"):
        load_mirbase(tmp_path)


# ------------------------------------------------------------------ official release layout

MIRNA_DAT = """ID   hsa-mir-21        standard; RNA; HSA; 72 BP.
XX
AC   MI0000077;
XX
DE   Homo sapiens miR-21 stem-loop
XX
FH   Key             Location/Qualifiers
FH
FT   miRNA           8..29
FT                   /accession="MIMAT0000076"
FT                   /product="hsa-miR-21-5p"
FT                   /evidence=experimental
FT   miRNA           46..66
FT                   /accession="MIMAT0004494"
FT                   /product="hsa-miR-21-3p"
XX
SQ   Sequence 72 BP; 18 A; 12 C; 19 G; 0 T; 23 other;
     ugucggguag cuuaucagac ugauguugac uguugaaucu cauggcaaca ccagucgaug        60
     ggcugucuga ca                                                            72
//
ID   hsa-mir-122       standard; RNA; HSA; 85 BP.
XX
AC   MI0000442;
XX
FT   miRNA           15..36
FT                   /accession="MIMAT0000421"
FT                   /product="hsa-miR-122-5p"
FT   miRNA           51..72
FT                   /accession="MIMAT0004590"
FT                   /product="hsa-miR-122-3p"
//
"""

GFF3 = """##gff-version 3
##date 2018-3-5
# microRNAs:               miRBase v22
chr17\t.\tmiRNA_primary_transcript\t59841266\t59841337\t.\t+\t.\tID=MI0000077;Alias=MI0000077;Name=hsa-mir-21
chr17\t.\tmiRNA\t59841273\t59841294\t.\t+\t.\tID=MIMAT0000076;Alias=MIMAT0000076;Name=hsa-miR-21-5p;Derives_from=MI0000077
chr17\t.\tmiRNA\t59841311\t59841331\t.\t+\t.\tID=MIMAT0004494;Alias=MIMAT0004494;Name=hsa-miR-21-3p;Derives_from=MI0000077
"""


def _official_folder(mirbase_dir: Path, folder: Path, *, gz: bool) -> Path:
    """A miniature release in the official layout, built from the real release-22 records."""
    keep = {"hsa-miR-21-5p", "hsa-miR-21-3p", "hsa-miR-122-5p", "hsa-miR-122-3p", "cel-miR-39-3p", "mmu-miR-21a-5p"}
    lines = (mirbase_dir / "mature_allspecies.fa").read_text().splitlines()
    mature = []
    for header, seq in zip(lines[::2], lines[1::2]):
        name = header[1:].split()[0]
        if name in keep:
            mature.append(f"{header} {name}\n{seq}\n")
    hp = (mirbase_dir / "hsa_hairpin.fa").read_text().splitlines()
    hairpin = [f"{h}\n{s}\n" for h, s in zip(hp[::2], hp[1::2]) if h.split()[0][1:] in {"hsa-mir-21", "hsa-mir-122"}]
    files = {
        "mature.fa": "".join(mature),
        "hairpin.fa": "".join(hairpin),
        "aliases.txt": "MIMAT0000076\thsa-miR-21;hsa-miR-21-5p;\nMIMAT0004494\thsa-miR-21*;hsa-miR-21-3p;\n"
        "MIMAT0000421\thsa-miR-122a;hsa-miR-122;hsa-miR-122-5p;\nMI0000077\thsa-mir-21;\n",
        "miRNA.dat": MIRNA_DAT,
    }
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        if gz:
            with gzip.open(folder / f"{name}.gz", "wt") as handle:
                handle.write(text)
        else:
            (folder / name).write_text(text)
    return folder


@pytest.mark.parametrize("gz", [False, True])
def test_official_release_files(mirbase_dir, tmp_path, gz):
    folder = _official_folder(mirbase_dir, tmp_path / "release_22", gz=gz)
    mb = read_release(folder)
    assert mb.release == "22"  # from the folder name when no gff3 header says it
    assert set(mb.mature["name"]) == {"hsa-miR-21-5p", "hsa-miR-21-3p", "hsa-miR-122-5p", "hsa-miR-122-3p"}
    assert len(mb.all_mature) == 6
    assert set(mb.hairpin["name"]) == {"hsa-mir-21", "hsa-mir-122"}
    assert len(mb.products) == 4
    table = resolve(["miR-21", "hsa-miR-21*", "miR-122a", "hsa-mir-21", "mmu-miR-21a-5p", "miR-155"], mirbase=mb)
    assert table["mimat"].tolist()[:3] == ["MIMAT0000076", "MIMAT0004494", "MIMAT0000421"]
    assert table["status"].tolist() == ["alias", "alias", "alias", "ambiguous", "exact", "unknown"]
    assert "aliases" in table["note"][0]
    assert table["candidates"][3] == "MIMAT0000076:hsa-miR-21-5p;MIMAT0004494:hsa-miR-21-3p"


def test_official_gff3_gives_products_and_release(mirbase_dir, tmp_path):
    folder = _official_folder(mirbase_dir, tmp_path / "mb", gz=False)
    (folder / "miRNA.dat").unlink()
    (folder / "hsa.gff3").write_text(GFF3)
    mb = read_release(folder)
    assert mb.release == "22"
    assert sorted(mb.products["mature"]) == ["hsa-miR-21-3p", "hsa-miR-21-5p"]
    (folder / "hairpin.fa").unlink()  # precursor names then come from the gff3 alone
    row = resolve(["hsa-mir-21"], mirbase=read_release(folder)).iloc[0]
    assert (row["status"], row["precursor"]) == ("ambiguous", "MI0000077")
    products, release = read_gff3(folder / "hsa.gff3")
    assert release == "22"
    assert products.loc[products["mimat"] == "MIMAT0000076", "precursor"].item() == "hsa-mir-21"


def test_readers_of_each_format(tmp_path):
    dat = tmp_path / "miRNA.dat"
    dat.write_text(MIRNA_DAT)
    table = read_mirna_dat(dat)
    assert table.values.tolist() == [
        ["MI0000077", "hsa-mir-21", "MIMAT0000076", "hsa-miR-21-5p"],
        ["MI0000077", "hsa-mir-21", "MIMAT0004494", "hsa-miR-21-3p"],
        ["MI0000442", "hsa-mir-122", "MIMAT0000421", "hsa-miR-122-5p"],
        ["MI0000442", "hsa-mir-122", "MIMAT0004590", "hsa-miR-122-3p"],
    ]
    aliases = tmp_path / "aliases.txt"
    aliases.write_text("MIMAT0000076\thsa-miR-21;hsa-miR-21-5p;\n")
    assert read_aliases(aliases)["alias"].tolist() == ["hsa-miR-21", "hsa-miR-21-5p"]


def test_shared_history_table(mirbase_dir):
    history = read_history(mirbase_dir / "hsa_mature_name_history_v6_v22.tsv")
    rows = history.loc[history["mimat"] == "MIMAT0000076"]
    assert rows.loc[rows["name"] == "hsa-miR-21", "release"].tolist()[0] == "6"
    assert rows.loc[rows["name"] == "hsa-miR-21-5p", "release"].tolist() == ["18", "19", "20", "21", "22"]
    assert "7.1" in set(history["release"])


# ------------------------------------------------------------------ malformed input


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        (">hsa-miR-21-5p MIMAT0000076\nUAGCUUAUCAGACUGAUGUUGA\n>hsa-miR-x MIMAT0000001\nUAGC1UUA\n", 4, "invalid character '1'"),
        ("UAGCUUAUCAGACUGAUGUUGA\n", 1, "sequence line before the first FASTA header"),
        (">hsa-miR-21-5p MIMAT0000076\n>hsa-miR-22 MIMAT0000077\nAAA\n", 1, "has no sequence"),
        (">\nAAA\n", 1, "header without a name"),
    ],
)
def test_malformed_fasta_names_file_and_line(tmp_path, text, line, problem):
    path = tmp_path / "hsa_mature.fa"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        read_fasta(path)
    assert info.value.line == line
    assert info.value.path == str(path)
    assert problem in str(info.value)
    assert f"{path}, line {line}" in str(info.value)


def test_malformed_fasta_in_a_release_folder(mirbase_dir, tmp_path):
    folder = tmp_path / "broken"
    folder.mkdir()
    for name in ("hsa_hairpin.fa", "hsa_mature_name_history_v6_v22.tsv"):
        shutil.copy(mirbase_dir / name, folder / name)
    (folder / "hsa_mature.fa").write_text(">hsa-let-7a-5p MIMAT0000062\nUGAGGUAGUAGG?UGUAUAGUU\n")
    with pytest.raises(InputError, match=r"hsa_mature\.fa, line 2: invalid character '\?'"):
        load_mirbase(folder)


def test_truncated_gzip_is_an_input_error(tmp_path):
    path = tmp_path / "mature.fa.gz"
    data = gzip.compress(b">hsa-miR-21-5p MIMAT0000076\nUAGCUUAUCAGACUGAUGUUGA\n" * 50)
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="mature.fa.gz"):
        read_fasta(path)


def test_unterminated_embl_record(tmp_path):
    path = tmp_path / "miRNA.dat"
    path.write_text(MIRNA_DAT.rsplit("//", 1)[0])
    with pytest.raises(InputError, match="not terminated"):
        read_mirna_dat(path)


# ------------------------------------------------------------------ download


def test_download_when_no_local_source(mirbase_dir, tmp_path, monkeypatch):
    source = _official_folder(mirbase_dir, tmp_path / "site", gz=False)
    (source / "hsa.gff3").write_text(GFF3)
    fetched = []

    def fake_download(url, subdir, fname=None, known_hash=None, *, local=None):
        fetched.append(url)
        target = refdata.cache_dir() / subdir / fname
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source / fname, target)
        return target

    monkeypatch.delenv("EXOMIR_MIRBASE", raising=False)
    monkeypatch.setattr(release_module.refdata, "download", fake_download)
    mb = load_mirbase()
    assert sorted(fetched) == sorted(
        release_module.CURRENT_URL + name
        for name in ("mature.fa", "hairpin.fa", "aliases.txt", "miRNA.dat", "genomes/hsa.gff3")
    )
    assert all(url.startswith("https://mirbase.org/") for url in fetched)
    assert mb.release == "22"
    assert resolve(["miR-21"], mirbase=mb)["mimat"].item() == "MIMAT0000076"


def test_parsed_release_is_kept_on_disk(mirbase_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("EXOMIR_CACHE", str(tmp_path / "cache"))
    folder = _official_folder(mirbase_dir, tmp_path / "release_22", gz=True)
    release_module._load_cached.cache_clear()
    first = load_mirbase(folder)
    stored = list((tmp_path / "cache" / "identity").glob("mirbase-*.pickle"))
    assert len(stored) == 1
    release_module._load_cached.cache_clear()  # a new process, as far as the cache is concerned
    second = load_mirbase(folder)
    assert second is not first
    assert second.mature.equals(first.mature) and second.history.equals(first.history)
    assert second._resolver is not None  # the name index came with it
    assert resolve(["miR-21"], mirbase=second)["mimat"].item() == "MIMAT0000076"
    # a damaged cache file is rebuilt, not trusted
    stored[0].write_bytes(b"not a pickle")
    release_module._load_cached.cache_clear()
    third = load_mirbase(folder)
    assert len(third.mature) == 4
    assert stored[0].stat().st_size > 1000
    release_module._load_cached.cache_clear()


def test_release_without_hairpins_says_so(mirbase_dir, tmp_path, capsys):
    folder = tmp_path / "mature_only"
    folder.mkdir()
    shutil.copy(mirbase_dir / "hsa_mature.fa", folder / "hsa_mature.fa")
    mb = read_release(folder)
    err = " ".join(capsys.readouterr().err.split())  # rich wraps long lines
    assert "precursor names will not resolve" in err
    assert "will not map to mature products" in err
    assert mb.hairpin.empty and mb.products.empty and mb.history.empty
    assert mb.release == "unknown"
    table = resolve(["hsa-miR-21-5p", "hsa-mir-21", "miR-21"], mirbase=mb)
    assert table["status"].tolist() == ["exact", "ambiguous", "ambiguous"]  # arms, not the hairpin
    assert table["kind"].tolist() == ["mature", "mature", "mature"]
