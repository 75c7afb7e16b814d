"""The record form of one claim (GUIDE §4), validated with pydantic.

A record says what one paper claims about one miRNA (or a comparator marker such as AFP): its
direction in HCC for a comparison, the cell that sends it and the cell that receives it, the
genes it targets, the pathways and hallmarks involved, its clinical role and metrics, and where
the claim comes from. Lists may be written as a YAML list or as a ``;``-separated string.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from exomir.kb.vocab import Biofluid, Cell, ClinicalRole, Direction, Hallmark, MarkerType, Pathway, TumourRole

_HGNC = re.compile(r"^[A-Z][A-Z0-9-]*(?:orf[0-9]+)?[A-Z0-9-]*$")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
_MIMAT = re.compile(r"^MIMAT\d{7}$")
# Common protein names that are not HGNC symbols, with the symbol to use instead.
NOT_HGNC = {"TIM-3": "HAVCR2", "TIM3": "HAVCR2", "PD-L1": "CD274", "PDL1": "CD274", "PD-1": "PDCD1", "PD1": "PDCD1",
            "ERK1": "MAPK3", "ERK2": "MAPK1", "P53": "TP53", "AKT": "AKT1", "PI3K": "PIK3CA", "BCL-2": "BCL2"}


def _split_list(value: Any) -> Any:
    """Accept ``a; b`` strings and blanks as lists, so CSV and YAML sources read alike."""
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(";") if part.strip()]
    return value


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


StrList = Annotated[list[str], BeforeValidator(_split_list)]
CellList = Annotated[list[Cell], BeforeValidator(_split_list)]
PathwayList = Annotated[list[Pathway], BeforeValidator(_split_list)]
HallmarkList = Annotated[list[Hallmark], BeforeValidator(_split_list)]
RoleList = Annotated[list[ClinicalRole], BeforeValidator(_split_list)]
IntList = Annotated[list[int], BeforeValidator(_split_list)]
OptStr = Annotated[str | None, BeforeValidator(_blank_to_none)]


class Metrics(BaseModel):
    """Diagnostic accuracy as fractions (0.911, not 91.1 %), as the source gives them."""

    model_config = ConfigDict(extra="forbid")

    sensitivity: float | None = Field(default=None, ge=0, le=1)
    specificity: float | None = Field(default=None, ge=0, le=1)
    auc: float | None = Field(default=None, ge=0, le=1)
    threshold: OptStr = None
    approximate: bool = False

    def is_empty(self) -> bool:
        return self.sensitivity is None and self.specificity is None and self.auc is None


class IdStatus(str, Enum):
    """Whether the primary paper's identifier was checked against a source that was read."""

    verified = "verified"
    not_identified = "not identified"

    def __str__(self) -> str:
        return self.value


def _pmid_text(value: Any) -> Any:
    """PMIDs come as numbers from YAML and CSV (``31553714``) and as text (``PMID:31553714``)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str):
        text = value.strip()
        text = re.sub(r"^(?:pmid|pubmed)\s*:?\s*", "", text, flags=re.IGNORECASE)
        text = re.sub(r"^([0-9]+)\.0+$", r"\1", text)  # a spreadsheet's number format: 31553714.0
        return text or None
    return value


def _doi_text(value: Any) -> Any:
    """A DOI as written or as a link: ``https://doi.org/10.x/y`` and ``doi:10.x/y`` become ``10.x/y``."""
    if isinstance(value, str):
        text = re.sub(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", "", value.strip(), flags=re.IGNORECASE)
        return text or None
    return value


PmidStr = Annotated[str | None, BeforeValidator(_pmid_text)]
DoiStr = Annotated[str | None, BeforeValidator(_doi_text)]
_PMID = re.compile(r"^[1-9][0-9]{0,8}$")
_DOI = re.compile(r"^10\.[0-9]{4,9}/\S+$")


class Reference(BaseModel):
    """The cited paper: the review's reference number(s), the citation, and the primary paper's
    PMID/DOI with how each was verified (``pmid_source``/``doi_source`` name the source read).

    ``id_status`` is ``verified`` when a PMID or DOI was checked against a source that was read,
    ``not identified`` (with ``id_note`` saying why) when none could be confirmed.
    """

    model_config = ConfigDict(extra="forbid")

    numbers: IntList = Field(default_factory=list)
    citation: OptStr = None
    title: OptStr = None
    pmid: PmidStr = None
    pmid_source: OptStr = None
    doi: DoiStr = None
    doi_source: OptStr = None
    id_status: IdStatus | None = None
    id_note: OptStr = None
    retraction: OptStr = None

    @field_validator("pmid")
    @classmethod
    def _pmid_form(cls, value: str | None) -> str | None:
        if value is not None and not _PMID.match(value):
            raise ValueError(f"{value!r} is not a PubMed ID (digits only, e.g. 31553714)")
        return value

    @field_validator("doi")
    @classmethod
    def _doi_form(cls, value: str | None) -> str | None:
        if value is not None and not _DOI.match(value):
            raise ValueError(f"{value!r} is not a DOI (10.<registrant>/<suffix>, e.g. 10.1002/cam4.1390)")
        return value

    @model_validator(mode="after")
    def _something(self) -> Reference:
        if not self.numbers and not self.citation and not self.pmid and not self.doi:
            raise ValueError("a reference needs a number, a citation, a PMID or a DOI")
        if self.id_status == IdStatus.verified:
            if not (self.pmid or self.doi):
                raise ValueError("id_status 'verified' needs a pmid or a doi")
            for key in ("pmid", "doi"):
                if getattr(self, key) and not getattr(self, f"{key}_source"):
                    raise ValueError(f"a verified {key} needs {key}_source: the source it was checked against")
        if self.id_status == IdStatus.not_identified:
            if self.pmid or self.doi:
                raise ValueError("id_status 'not identified' cannot carry a pmid or doi")
            if not self.id_note:
                raise ValueError("id_status 'not identified' needs id_note saying what was tried")
        return self

    def text(self) -> str:
        """``[57, 97–102] Wang et al. 2014`` (ranges folded)."""
        parts = []
        if self.numbers:
            parts.append("[" + _fold(self.numbers) + "]")
        if self.citation:
            parts.append(self.citation)
        if self.pmid:
            parts.append(f"PMID {self.pmid}")
        if self.doi:
            parts.append(f"doi:{self.doi}")
        if self.retraction:
            parts.append("(retracted)")
        return " ".join(parts)


def _fold(numbers: list[int]) -> str:
    out: list[str] = []
    nums = sorted(set(numbers))
    start = prev = nums[0]
    for n in nums[1:] + [None]:  # type: ignore[list-item]
        if n is not None and n == prev + 1:
            prev = n
            continue
        out.append(str(start) if start == prev else f"{start}–{prev}" if prev > start + 1 else f"{start}, {prev}")
        if n is not None:
            start = prev = n
    return ", ".join(out)


class EvidenceRecord(BaseModel):
    """One claim of one paper about one miRNA (GUIDE §4)."""

    model_config = ConfigDict(extra="forbid", use_enum_values=False)

    id: str
    mirna: str  # as written in the source (e.g. "exo-miR-21"); the marker name for comparators
    marker_type: MarkerType = MarkerType.mirna
    mimat: OptStr = None  # curator's pin; otherwise filled from the identity layer
    direction: Direction | None = None
    comparison: OptStr = None
    parental_cell: CellList = Field(default_factory=list)
    parental_detail: OptStr = None
    recipient_cell: CellList = Field(default_factory=list)
    recipient_detail: OptStr = None
    target: StrList = Field(default_factory=list)  # direct targets as the source states them
    regulates: StrList = Field(default_factory=list)  # genes changed downstream (e.g. CD274, CD69)
    pathway: PathwayList = Field(default_factory=list)
    hallmark: HallmarkList = Field(default_factory=list)
    tumour_role: TumourRole | None = None
    effect: str
    clinical_role: RoleList = Field(default_factory=list)
    biofluid: Biofluid | None = None
    metrics: Metrics | None = None
    panel: StrList = Field(default_factory=list)  # other markers combined with this one
    reference: Reference
    source: str
    notes: OptStr = None

    @field_validator("id")
    @classmethod
    def _id_form(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError("use letters, digits and . _ : - only, starting with a letter or digit")
        return value

    @field_validator("mimat")
    @classmethod
    def _mimat_form(cls, value: str | None) -> str | None:
        if value is not None and not _MIMAT.match(value):
            raise ValueError("a miRBase mature accession looks like MIMAT0000076")
        return value

    @field_validator("target", "regulates")
    @classmethod
    def _hgnc(cls, genes: list[str]) -> list[str]:
        for gene in genes:
            if gene.upper() in NOT_HGNC:
                raise ValueError(f"{gene!r} is a protein name; use its HGNC symbol {NOT_HGNC[gene.upper()]}")
            if not _HGNC.match(gene):
                raise ValueError(f"{gene!r} is not an HGNC symbol (upper case, e.g. HAVCR2 for TIM-3, CD274 for PD-L1)")
        return genes

    @field_validator("effect", "source", "mirna")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()

    @model_validator(mode="after")
    def _drop_empty_metrics(self) -> EvidenceRecord:
        if self.metrics is not None and self.metrics.is_empty() and self.metrics.threshold is None:
            self.metrics = None
        return self


# The GUIDE §4 columns of the export, in order; provenance and resolution follow them.
EXPORT_COLUMNS = [
    "id", "mirna", "mimat", "name", "marker_type", "direction", "comparison",
    "parental_cell", "parental_detail", "recipient_cell", "recipient_detail",
    "target", "regulates", "pathway", "hallmark", "tumour_role", "effect",
    "clinical_role", "biofluid", "sensitivity", "specificity", "auc", "threshold", "approximate",
    "panel", "reference", "reference_numbers", "citation", "pmid", "doi", "source", "notes",
    "provenance", "resolution",
    # how the primary paper's identifiers were verified (added after the GUIDE §4 set)
    "title", "pmid_source", "doi_source", "id_status", "id_note", "retraction",
]
