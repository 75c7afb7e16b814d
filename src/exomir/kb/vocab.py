"""Controlled vocabularies of the knowledge base: cells, pathways, hallmarks, clinical roles.

Evidence files use the short codes (``hcc_cell``, ``pi3k_akt``...); labels are for people.
Cells carry a lineage so that two descriptions of the same study ("HCC cells" and "liver
cells") are not mistaken for a conflict while "HCC cells" and "fibroblasts" are.
"""

from __future__ import annotations

from enum import Enum

from exomir.errors import InputError


class _Vocab(str, Enum):
    """A string enum whose members know their human label."""

    @property
    def label(self) -> str:
        return _LABELS.get(self, self.value.replace("_", " "))

    def __str__(self) -> str:  # codes, not "Cell.hcc_cell", in f-strings and exports
        return self.value


class Cell(_Vocab):
    hcc_cell = "hcc_cell"
    hepatocyte = "hepatocyte"
    endothelial_cell = "endothelial_cell"
    fibroblast = "fibroblast"  # incl. cancer-associated fibroblasts (CAFs)
    stromal_cell = "stromal_cell"
    stellate_cell = "stellate_cell"
    mesenchymal_stem_cell = "mesenchymal_stem_cell"
    adipocyte = "adipocyte"
    macrophage = "macrophage"
    nk_cell = "nk_cell"
    t_cell = "t_cell"
    mast_cell = "mast_cell"
    other = "other"


class Lineage(_Vocab):
    liver_epithelial = "liver_epithelial"
    stromal = "stromal"
    endothelial = "endothelial"
    immune = "immune"
    other = "other"


CELL_LINEAGE: dict[Cell, Lineage] = {
    Cell.hcc_cell: Lineage.liver_epithelial,
    Cell.hepatocyte: Lineage.liver_epithelial,
    Cell.endothelial_cell: Lineage.endothelial,
    Cell.fibroblast: Lineage.stromal,
    Cell.stromal_cell: Lineage.stromal,
    Cell.stellate_cell: Lineage.stromal,
    Cell.mesenchymal_stem_cell: Lineage.stromal,
    Cell.adipocyte: Lineage.stromal,
    Cell.macrophage: Lineage.immune,
    Cell.nk_cell: Lineage.immune,
    Cell.t_cell: Lineage.immune,
    Cell.mast_cell: Lineage.immune,
    Cell.other: Lineage.other,
}


class Pathway(_Vocab):
    pi3k_akt = "pi3k_akt"
    mapk_erk = "mapk_erk"
    nfkb = "nfkb"
    immune_checkpoint = "immune_checkpoint"


# The KEGG 2016 / MSigDB set that stands for each pathway (used to link enrichment results).
PATHWAY_GENE_SETS: dict[Pathway, tuple[str, ...]] = {
    Pathway.pi3k_akt: ("PI3K-Akt signaling pathway", "hsa04151"),
    Pathway.mapk_erk: ("MAPK signaling pathway", "hsa04010", "KEGG_MAPK_SIGNALING_PATHWAY"),
    Pathway.nfkb: ("NF-kappa B signaling pathway", "hsa04064", "HALLMARK_TNFA_SIGNALING_VIA_NFKB"),
    Pathway.immune_checkpoint: ("PD-L1 expression and PD-1 checkpoint pathway in cancer", "hsa05235"),
}


class Hallmark(_Vocab):
    proliferation = "proliferation"
    metastasis = "metastasis"
    angiogenesis = "angiogenesis"
    emt = "emt"
    apoptosis = "apoptosis"
    drug_resistance = "drug_resistance"
    immune_escape = "immune_escape"


class ClinicalRole(_Vocab):
    diagnostic = "diagnostic"
    prognostic = "prognostic"
    therapeutic = "therapeutic"


class Biofluid(_Vocab):
    serum = "serum"
    plasma = "plasma"
    culture_medium = "culture_medium"


class Direction(_Vocab):
    up = "up"
    down = "down"


class TumourRole(_Vocab):
    """What the miRNA does to the tumour in the claim: helps it or holds it back."""

    oncogenic = "oncogenic"
    suppressive = "suppressive"


class MarkerType(_Vocab):
    mirna = "mirna"
    protein = "protein"  # comparators such as AFP


_LABELS: dict[_Vocab, str] = {
    Cell.hcc_cell: "HCC cells",
    Cell.hepatocyte: "hepatocytes / liver cells",
    Cell.endothelial_cell: "endothelial cells",
    Cell.fibroblast: "fibroblasts (CAFs)",
    Cell.stromal_cell: "stromal cells",
    Cell.stellate_cell: "hepatic stellate cells",
    Cell.mesenchymal_stem_cell: "mesenchymal stem cells",
    Cell.adipocyte: "adipocytes",
    Cell.macrophage: "macrophages",
    Cell.nk_cell: "NK cells",
    Cell.t_cell: "T cells",
    Cell.mast_cell: "mast cells",
    Pathway.pi3k_akt: "PI3K/Akt",
    Pathway.mapk_erk: "MAPK/ERK",
    Pathway.nfkb: "NF-κB",
    Pathway.immune_checkpoint: "immune checkpoint (PD-1/PD-L1, TIM-3)",
    Hallmark.emt: "EMT",
    Hallmark.drug_resistance: "drug resistance",
    Hallmark.immune_escape: "immune escape",
}

# Group names that patient comparisons use, with the spellings users give them.
GROUP_SYNONYMS: dict[str, str] = {
    "hcc": "HCC",
    "hepatocellular carcinoma": "HCC",
    "tumor": "HCC",
    "tumour": "HCC",
    "chb": "CHB",
    "hbv": "CHB",
    "chronic hepatitis b": "CHB",
    "hepatitis": "CHB",
    "lc": "LC",
    "cirrhosis": "LC",
    "liver cirrhosis": "LC",
    "healthy": "healthy",
    "hc": "healthy",
    "nc": "healthy",
    "normal": "healthy",
    "control": "healthy",
    "controls": "healthy",
    "healthy control": "healthy",
    "normal control": "healthy",
}


def normalize_group(name: str) -> str:
    """Canonical code of a patient group (``cirrhosis`` → ``LC``); unknown names come back trimmed."""
    key = name.strip().lower().replace("_", " ")
    return GROUP_SYNONYMS.get(key, name.strip())


def parse_comparison(text: str | None) -> tuple[str, str] | None:
    """``"HCC vs LC"`` or ``"HCC_vs_LC"`` → ``("HCC", "LC")``; ``None`` when not of that form."""
    if not text:
        return None
    for sep in ("_vs_", " vs ", " vs. ", " versus "):
        if sep in text:
            case, control = text.split(sep, 1)
            return normalize_group(case), normalize_group(control)
    return None


def labels_of(codes: object, *, separator: str = ", ") -> str:
    """Human labels of vocabulary codes for display (``hcc_cell;nk_cell`` → "HCC cells, NK cells").

    Accepts one code or a ``;``-joined list; text that is not a code is shown as written, with
    spaces for underscores. Exports keep the codes; only what people read is labelled.
    """
    labels = []
    for code in str(codes or "").split(";"):
        code = code.strip()
        if not code:
            continue
        for vocab in (Cell, Pathway, Hallmark, ClinicalRole, Biofluid):
            try:
                labels.append(vocab(code).label)
                break
            except ValueError:
                continue
        else:
            labels.append(code.replace("_", " "))
    return separator.join(labels)


# Common spellings people filter by, beyond the codes and labels.
_SYNONYMS = {
    Cell: {
        "hcc": "hcc_cell", "tumor": "hcc_cell", "tumour": "hcc_cell", "cancercell": "hcc_cell", "hepatomacell": "hcc_cell",
        "hepg2": "hcc_cell", "hep3b": "hcc_cell", "liver": "hepatocyte", "livercell": "hepatocyte",
        "endothelial": "endothelial_cell", "huvec": "endothelial_cell", "caf": "fibroblast", "cafs": "fibroblast",
        "nk": "nk_cell", "nkcells": "nk_cell", "tcells": "t_cell", "msc": "mesenchymal_stem_cell",
        "hsc": "stellate_cell", "stromal": "stromal_cell", "mast": "mast_cell",
    },
    Pathway: {"pi3k": "pi3k_akt", "akt": "pi3k_akt", "pi3kakt": "pi3k_akt", "mapk": "mapk_erk", "erk": "mapk_erk",
              "nfkb": "nfkb", "nfκb": "nfkb", "pdl1": "immune_checkpoint", "checkpoint": "immune_checkpoint"},
    Hallmark: {"immuneevasion": "immune_escape", "immune": "immune_escape", "resistance": "drug_resistance",
               "chemoresistance": "drug_resistance", "growth": "proliferation", "invasion": "metastasis"},
    ClinicalRole: {"diagnosis": "diagnostic", "prognosis": "prognostic", "therapy": "therapeutic", "treatment": "therapeutic"},
}


def _squash(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def coerce(enum: type[_Vocab], text: str | _Vocab):
    """A vocabulary member from its code, label or a common synonym; otherwise an InputError."""
    if isinstance(text, enum):
        return text
    key = _squash(str(text))
    for member in enum:
        if key in {_squash(member.value), _squash(member.label)}:
            return member
    syn = _SYNONYMS.get(enum, {})
    if key in syn:
        return enum(syn[key])
    if key.endswith("s") and key[:-1] in syn:
        return enum(syn[key[:-1]])
    raise InputError(f"{text!r} is not a known {enum.__name__.lower()}", expected=", ".join(m.value for m in enum))
