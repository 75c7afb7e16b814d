"""Commands of exomir: kb (registered on the root app)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from exomir.cli._app import app
from exomir.errors import InputError

kb_app = typer.Typer(help="The knowledge base of exosomal miRNA evidence in HCC.", no_args_is_help=True)
app.add_typer(kb_app, name="kb")

_EVIDENCE = typer.Option(None, "--evidence", help="Extra evidence file (YAML/CSV/TSV) to merge for this command; repeatable.")
_FORMAT = typer.Option("text", "--format", help="text, csv or json.")


def _store(evidence: list[Path] | None):
    from exomir.kb import load_store

    return load_store(evidence or ())


def _emit(frame, fmt: str) -> None:
    fmt = fmt.lower()
    if fmt == "csv":
        frame.to_csv(sys.stdout, index=False, lineterminator="\n")
    elif fmt == "json":
        sys.stdout.write(frame.to_json(orient="records", force_ascii=False, indent=1) + "\n")
    elif fmt in {"text", "table"}:
        _print_records(frame)
    else:
        raise InputError(f"unknown format {fmt!r}", expected="text, csv or json")


def _print_records(frame) -> None:
    for _, r in frame.iterrows():
        head = f"{r['id']}  {r['name'] or r['mirna']}"
        if r["mimat"]:
            head += f" ({r['mimat']})"
        if r["direction"]:
            head += f"  {r['direction']}"
        if r["comparison"]:
            head += f"  [{r['comparison']}]"
        typer.echo(head)
        typer.echo(f"    {r['effect']}")
        parts = []
        for label, col in [("from", "parental_cell"), ("to", "recipient_cell"), ("targets", "target"), ("regulates", "regulates"),
                           ("pathway", "pathway"), ("hallmark", "hallmark"), ("role", "clinical_role"), ("biofluid", "biofluid")]:
            if r[col]:
                parts.append(f"{label}: {str(r[col]).replace(';', ', ')}")
        metrics = [f"{m} {r[m]:g}" for m in ("sensitivity", "specificity", "auc") if r[m] == r[m] and r[m] is not None]
        if metrics:
            parts.append(", ".join(metrics) + (" (approx.)" if r["approximate"] else ""))
        if parts:
            typer.echo("    " + " | ".join(parts))
        typer.echo(f"    {r['reference']} · {r['source']} · {r['provenance']}")


@kb_app.command("show")
def show(
    name: str = typer.Argument(..., help="miRNA in any name form (miR-21, hsa-miR-21-5p, MIMAT0000076) or a marker (AFP)."),
    fmt: str = _FORMAT,
    targets: bool = typer.Option(False, "--targets", help="Also list validated targets from miRTarBase."),
    hmdd: bool = typer.Option(False, "--hmdd", help="Also list HMDD hepatocellular carcinoma associations."),
    evidence: list[Path] = _EVIDENCE,
) -> None:
    """Every claim the knowledge base holds about one miRNA."""
    kb = _store(evidence)
    frame = kb.show(name)
    if frame.empty:
        from exomir.kb.naming import resolve_names

        row = resolve_names([name]).iloc[0]
        what = f"{row['name']} ({row['mimat']})" if row["mimat"] else f"{row['status']}: {row['candidates'] or row['note'] or 'no match'}"
        typer.echo(f"no evidence records for {name!r} [{what}]", err=True)
        raise typer.Exit(1)
    _emit(frame, fmt)
    mimats = sorted({m for m in frame["mimat"] if m})
    if targets and mimats:
        from exomir.kb import load_mirtarbase

        table = load_mirtarbase()
        hits = table.table[table.table["mimat"].isin(mimats)]
        typer.echo(f"\nmiRTarBase ({table.provenance['release']}): {len(hits)} validated targets")
        typer.echo("    " + ", ".join(hits["gene"]))
    if hmdd and mimats:
        from exomir.kb import hmdd_for, load_hmdd

        table = load_hmdd()
        for mimat in mimats:
            rows = hmdd_for(table, mimat)
            blood = rows[rows["evidence"] == "circulation"]
            typer.echo(f"\nHMDD ({table.provenance['release']}), hepatocellular carcinoma: {len(rows)} associations, "
                       f"{len(blood)} in circulation")
            for _, row in blood.iterrows():
                typer.echo(f"    {row['category']}  {row['mir']}  PMID {row['pmid']}")
            other = rows[rows["evidence"] != "circulation"]["evidence"].value_counts().sort_index()
            if len(other):
                typer.echo("    other evidence: " + ", ".join(f"{k} {v}" for k, v in other.items()))


@kb_app.command("search")
def search(
    mirna: str = typer.Option(None, "--mirna", help="miRNA in any name form."),
    target: str = typer.Option(None, "--target", help="Gene (HGNC symbol or common alias: TIM-3, PD-L1)."),
    cell: str = typer.Option(None, "--cell", help="Parental or recipient cell (hcc_cell, nk_cell, macrophage, CAF...)."),
    pathway: str = typer.Option(None, "--pathway", help="pi3k_akt, mapk_erk, nfkb, immune_checkpoint."),
    hallmark: str = typer.Option(None, "--hallmark", help="proliferation, metastasis, angiogenesis, emt, apoptosis, drug_resistance, immune_escape."),
    role: str = typer.Option(None, "--role", help="diagnostic, prognostic, therapeutic."),
    direction: str = typer.Option(None, "--direction", help="up or down."),
    reference: int = typer.Option(None, "--reference", help="The review's reference number."),
    fmt: str = _FORMAT,
    evidence: list[Path] = _EVIDENCE,
) -> None:
    """Records matching every given filter."""
    frame = _store(evidence).search(mirna, target=target, cell=cell, pathway=pathway, hallmark=hallmark, role=role,
                                    direction=direction, reference=reference)
    if frame.empty:
        typer.echo("no matching records", err=True)
        raise typer.Exit(1)
    _emit(frame, fmt)


@kb_app.command("conflicts")
def conflicts(fmt: str = _FORMAT, evidence: list[Path] = _EVIDENCE) -> None:
    """Claims that disagree (direction, or source cell of the same paper)."""
    frame = _store(evidence).conflicts()
    if fmt.lower() in {"text", "table"}:
        for _, r in frame.iterrows():
            typer.echo(f"{r['mirna']} ({r['mimat']})  {r['kind']}" + ("  [same comparison]" if r["same_comparison"] else ""))
            typer.echo(f"    {r['detail']}")
            typer.echo(f"    records: {r['record_ids'].replace(';', ', ')}")
        if frame.empty:
            typer.echo("no conflicts")
    else:
        _emit_plain(frame, fmt)


def _emit_plain(frame, fmt: str) -> None:
    if fmt.lower() == "csv":
        frame.to_csv(sys.stdout, index=False, lineterminator="\n")
    elif fmt.lower() == "json":
        sys.stdout.write(frame.to_json(orient="records", force_ascii=False, indent=1) + "\n")
    else:
        raise InputError(f"unknown format {fmt!r}", expected="text, csv or json")


@kb_app.command("export")
def export(
    fmt: str = typer.Option("csv", "--format", help="csv or json."),
    evidence: list[Path] = _EVIDENCE,
) -> None:
    """The whole evidence table on stdout: one row per claim, with provenance and name resolution."""
    kb = _store(evidence)
    if fmt.lower() == "json":
        sys.stdout.write(kb.to_json() + "\n")
    elif fmt.lower() == "csv":
        kb.table().to_csv(sys.stdout, index=False, lineterminator="\n")
    else:
        raise InputError(f"unknown format {fmt!r}", expected="csv or json")


@kb_app.command("network")
def network(
    out: Path = typer.Option(..., "--out", help="Interactive HTML page (self-contained)."),
    graphml: Path = typer.Option(None, "--graphml", help="Also write GraphML."),
    cytoscape: Path = typer.Option(None, "--cytoscape", help="Also write Cytoscape JSON."),
    hallmark: str = typer.Option(None, "--hallmark", help="Only records with this hallmark."),
    cell: str = typer.Option(None, "--cell", help="Only records with this cell type."),
    evidence: list[Path] = _EVIDENCE,
) -> None:
    """Draw the transfer network: parental cell → miRNA → recipient cell, miRNA → target → pathway → hallmark."""
    from exomir.kb import build_network, write_cytoscape, write_graphml
    from exomir.plotting.network import write_html

    kb = _store(evidence)
    table = kb.table()
    graph = build_network(table, hallmark=hallmark, cell=cell)
    write_html(graph, table, out)
    if graphml:
        write_graphml(graph, graphml)
    if cytoscape:
        write_cytoscape(graph, cytoscape)
    typer.echo(f"{graph.number_of_nodes()} nodes, {graph.number_of_edges()} edges → {out}", err=True)


@kb_app.command("import-lab")
def import_lab(
    file: Path = typer.Argument(..., help="Evidence file in the record form (YAML, CSV or TSV)."),
    name: str = typer.Option(None, "--name", help="Lab evidence name (default: the file name)."),
    append: bool = typer.Option(False, "--append", help="Add these records to the lab evidence of the same name."),
    replace: bool = typer.Option(False, "--replace", help="Replace the lab evidence of the same name with this file."),
) -> None:
    """Validate a lab's own evidence file and add it to every later knowledge-base query.

    The file is kept in the user data folder (EXOMIR_DATA_DIR), not the cache. Under a name
    already in use the import is refused unless --append or --replace says what to do.
    """
    from exomir.kb import import_lab_file, load_store, read_evidence

    if append and replace:
        raise InputError("--append and --replace cannot be used together")
    mode = "append" if append else "replace" if replace else "refuse"
    n = len(read_evidence(file, name=name).records)
    dest = import_lab_file(file, name=name, mode=mode)
    total = len(read_evidence(dest).records)
    load_store()
    verb = {"append": "appended", "replace": "replaced with", "refuse": "imported"}[mode]
    typer.echo(f"{verb} {n} record(s) from {file} as {dest.stem!r} ({total} in {dest})")


lab_app = typer.Typer(help="The lab evidence imported with `exomir kb import-lab`.", no_args_is_help=True)
kb_app.add_typer(lab_app, name="lab")


@lab_app.command("list")
def lab_list(fmt: str = _FORMAT) -> None:
    """Every imported lab evidence file: name, records, file, checksum."""
    from exomir.kb.store import lab_dir, lab_sources

    frame = lab_sources()
    if fmt.lower() in {"text", "table"}:
        if frame.empty:
            typer.echo(f"no lab evidence imported (folder {lab_dir()})")
        for _, r in frame.iterrows():
            typer.echo(f"{r['name']}  {r['records']} record(s)  {r['file']}")
            typer.echo(f"    ids: {r['record_ids'].replace(';', ', ')}")
    else:
        _emit_plain(frame, fmt)


@lab_app.command("remove")
def lab_remove(name: str = typer.Argument(..., help="The lab evidence name shown by `exomir kb lab list`.")) -> None:
    """Remove an imported lab evidence file; later queries no longer include its records."""
    from exomir.kb import load_store, read_evidence
    from exomir.kb.store import lab_file, lab_name, remove_lab_file

    existing = lab_file(lab_name(name))
    n = len(read_evidence(existing).records) if existing is not None else 0
    path = remove_lab_file(name)
    load_store()
    typer.echo(f"removed lab evidence {name!r} ({n} record(s), {path})")


@kb_app.command("validate")
def validate(files: list[Path] = typer.Argument(..., help="Evidence files to check.")) -> None:
    """Check evidence files against the schema: every problem of every record (file, line, record, field)."""
    from exomir.kb.sources import check_evidence

    total = 0
    for path in files:
        source, problems = check_evidence(path)
        for problem in problems:
            typer.echo(f"error: {problem}", err=True)
        total += len(problems)
        if source is not None:
            typer.echo(f"{path}: {len(source.records)} valid record(s)")
        else:
            typer.echo(f"{path}: {len(problems)} problem(s)", err=True)
    if total:
        raise typer.Exit(2)


@kb_app.command("enrich")
def enrich(
    mirnas: list[str] = typer.Argument(..., help="miRNAs (any name form)."),
    background: Path = typer.Option(None, "--background", help="File with one measured miRNA per line (default: every miRNA in the target table)."),
    gene_sets: str = typer.Option("kegg_2016", "--gene-sets", help="GMT file or library name (kegg_2016, hallmark, kegg_legacy)."),
    targets: Path = typer.Option(None, "--targets", help="miRTarBase table (default: EXOMIR_MIRTARBASE or download)."),
    min_size: int = typer.Option(5, "--min-size", help="Smallest gene set (within the background) tested."),
    out: Path = typer.Option(None, "--out", help="Write the CSV here instead of stdout."),
) -> None:
    """Over-representation of the miRNAs' validated targets in gene sets (hypergeometric, BH)."""
    from exomir.atomic import atomic_open
    from exomir.tools import enrich as enrich_mirnas

    bg = None
    if background is not None:
        if not background.exists():
            raise InputError("background file not found", path=background)
        bg = [line.strip().split(",")[0] for line in background.read_text().splitlines() if line.strip()]
    result = enrich_mirnas(mirnas, background_mirnas=bg, targets=targets, gene_sets=gene_sets, min_set_size=min_size)
    if out:
        with atomic_open(out, "w") as handle:
            result.to_csv(handle, index=False, lineterminator="\n")
        typer.echo(f"{len(result)} gene sets tested (background: {result.attrs['background']}, "
                   f"{result.attrs['background_size']} genes) → {out}", err=True)
    else:
        result.to_csv(sys.stdout, index=False, lineterminator="\n")

