"""Links to the papers behind evidence records: PubMed for a PMID, doi.org for a DOI.

One place formats them, so the report, the web app and the CLI link the same way. The HTML is
escaped here (identifiers come from user files too) and opens in a new tab without handing the
page to the target (``rel="noopener noreferrer"``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from html import escape
from urllib.parse import quote

PUBMED = "https://pubmed.ncbi.nlm.nih.gov/{}/"
DOI = "https://doi.org/{}"
_PMID = re.compile(r"^[1-9][0-9]{0,8}$")
_DOI = re.compile(r"^10\.[0-9]{4,9}/\S+$")


def pmid_url(pmid: str | int | None) -> str | None:
    """``https://pubmed.ncbi.nlm.nih.gov/31553714/``, or ``None`` for a blank or malformed PMID."""
    text = str(pmid).strip() if pmid is not None else ""
    return PUBMED.format(text) if _PMID.match(text) else None


def doi_url(doi: str | None) -> str | None:
    """``https://doi.org/10.1002/cam4.1390`` (path-escaped), or ``None`` for a blank or malformed DOI."""
    text = (doi or "").strip()
    return DOI.format(quote(text, safe="/:;()._-")) if _DOI.match(text) else None


def reference_links(row: Mapping) -> list[tuple[str, str]]:
    """``[(label, url), ...]`` for a record or evidence row with ``pmid``/``doi`` fields
    (``;``-separated lists are accepted, as in the analysis' evidence table)."""
    links: list[tuple[str, str]] = []
    for pmid in _values(row.get("pmid") or row.get("pmids")):
        url = pmid_url(pmid)
        if url:
            links.append((f"PMID {pmid}", url))
    for doi in _values(row.get("doi") or row.get("dois")):
        url = doi_url(doi)
        if url:
            links.append((f"doi:{doi}", url))
    return list(dict.fromkeys(links))


def links_html(links: Iterable[tuple[str, str]], *, separator: str = " · ") -> str:
    """Escaped ``<a>`` elements for :func:`reference_links` output."""
    return separator.join(
        f'<a href="{escape(url, quote=True)}" target="_blank" rel="noopener noreferrer">{escape(label)}</a>'
        for label, url in links
    )


def reference_html(row: Mapping, *, text_key: str = "reference") -> str:
    """A record's reference text followed by its PubMed/DOI links, escaped for HTML."""
    text = str(row.get(text_key) or "")
    links = reference_links(row)
    if not links:
        return escape(text)
    # the text already spells out "PMID n"/"doi:x": drop those words and show them as links instead
    for label, _ in links:
        text = text.replace(label, "")
    text = re.sub(r"\s{2,}", " ", text).strip()
    return (escape(text) + " " if text else "") + links_html(links)


def _values(value) -> list[str]:
    if value is None or (isinstance(value, float) and value != value):
        return []
    if isinstance(value, float) and value.is_integer():  # a PMID column read as numbers
        return [str(int(value))]
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in str(value).replace("|", ";").split(";") if part.strip()]
