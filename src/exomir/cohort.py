"""The Cohort: one ``anndata.AnnData`` holding a study, samples as rows and miRNAs as columns.

* ``obs``: one row per sample; clinical columns (group, AFP, stage, times and events) and QC flags.
* ``var``: one row per miRNA column, indexed by the name as given; ``mimat``, ``name`` (canonical
  miRBase name), ``status`` (identity resolution), ``sequence`` where known.
* ``layers``: the raw values as measured, under the name of their measure (``counts``, ``cq``
  or ``log``). ``X`` is the working matrix (normalized values once preprocessing has run).
* ``uns["exomir"]``: provenance: the measure, the source files, the exclusions and every step
  applied, with its parameters, in order.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd

from exomir._version import __version__
from exomir.errors import InputError
from exomir.identity import resolve

MEASURES = ("counts", "cq", "log")


def build_cohort(
    values: pd.DataFrame,
    measure: str,
    *,
    obs: pd.DataFrame | None = None,
    var: pd.DataFrame | None = None,
    source: Mapping[str, Any] | None = None,
    annotate: bool = True,
    level: str = "auto",
) -> ad.AnnData:
    """Make a Cohort from a samples × miRNAs table of raw values.

    ``values`` has sample IDs as index and miRNA names as columns. Non-detects are ``NaN``.
    With ``annotate`` the miRNA names are resolved to miRBase (``var``: mimat, name, status...);
    ``level`` (``auto``, ``mature``, ``precursor``) says how to read the names, as in
    :func:`exomir.identity.resolve` (TCGA's ``hsa-let-7b`` is a hairpin, not the mature let-7b-5p).
    """
    if measure not in MEASURES:
        raise ValueError(f"measure must be one of {MEASURES}, not {measure!r}")
    values = values.copy()
    values.index = values.index.astype(str)
    values.columns = values.columns.astype(str)
    matrix = values.to_numpy(dtype=np.float64)
    obs_frame = pd.DataFrame(index=values.index.copy())
    if obs is not None:
        obs_frame = obs.reindex(values.index).copy()
    obs_frame.index.name = None
    var_frame = pd.DataFrame(index=values.columns.copy())
    if var is not None:
        var_frame = var.reindex(values.columns).copy()
    var_frame.index.name = None
    adata = ad.AnnData(X=matrix.copy(), obs=obs_frame, var=var_frame)
    adata.layers[measure] = matrix
    adata.uns["exomir"] = {
        "version": __version__,
        "measure": measure,
        "source": dict(source or {}),
        "excluded": [],
        "steps": [],
    }
    if annotate:
        annotate_mirnas(adata, level=level)
    return adata


_VAR_COLUMNS = ("mimat", "name", "status", "candidates", "note", "kind", "precursor", "sequence")


def annotate_mirnas(adata: ad.AnnData, *, level: str = "auto") -> pd.DataFrame:
    """Resolve ``var_names`` to miRBase and fill ``var`` (mimat, name, status, candidates, note,
    kind, precursor, sequence).

    Returns the resolution table; names that do not resolve are kept (never dropped) and listed
    in ``uns["exomir"]["unresolved"]``.
    """
    table = resolve(list(adata.var_names), level=level)
    table.index = adata.var_names
    for column in _VAR_COLUMNS:
        if column in table:
            adata.var[column] = table[column].fillna("").astype(str).to_numpy()
    _refuse_double_names(table, meta(adata).get("source", {}))
    unresolved = table.loc[table["status"] == "unknown", "input"].tolist()
    meta(adata)["unresolved"] = unresolved
    record_step(adata, "resolve_names", level=level)
    return table


def _refuse_double_names(table: pd.DataFrame, source: Mapping[str, Any]) -> None:
    """The same mature miRNA under two names (``hsa-let-7a-5p`` and ``MIMAT0000062``) would be
    tested twice and counted twice in the multiple-testing correction: an error naming both."""
    mature = table[table["status"].isin(["exact", "alias"]) & (table["mimat"].fillna("").astype(str) != "")]
    if "kind" in mature:
        mature = mature[mature["kind"].fillna("mature").astype(str).isin(["mature", ""])]
    twice = mature[mature.duplicated("mimat", keep=False)]
    if twice.empty:
        return
    first = twice[twice["mimat"] == twice["mimat"].iloc[0]]
    names = ", ".join(repr(str(n)) for n in first["input"])
    raise InputError(f"{names} are the same miRNA ({first['name'].iloc[0]}, {first['mimat'].iloc[0]}): it would be "
                     f"tested and counted twice ({twice['mimat'].nunique()} miRNA(s) appear under two names)",
                     path=source.get("expression") or None,
                     expected="one row or column per miRNA: remove or sum the duplicate")


def is_id_column(name: str) -> bool:
    """Whether a clinical column holds identifiers (patient, subject, donor, pair ...): its values
    are labels and pairing keys, never numbers, even when they are written as digits."""
    return bool(_ID_NAME.search(str(name)))


_ID_NAME = re.compile(
    r"(^|[^a-z])(patient|subject|donor|individual|participant|pair|case.?id|mrn|id)(s|_?id|_?no|_?number)?"
    r"([^a-z]|$)", re.IGNORECASE)


def sample_groups(adata: ad.AnnData, column: str | None = None) -> np.ndarray | None:
    """The patient (or other grouping) label of every sample, for resampling that must keep one
    patient's samples together (grouped CV folds). ``column`` defaults to
    ``uns["exomir"]["groups_column"]``; ``None`` when there is none. Labels are strings (a numeric
    patient ID is a key, not a number); a sample without a label forms its own group."""
    column = column or meta(adata).get("groups_column") or None
    if column is None:
        return None
    if column not in adata.obs:
        raise InputError(f"no column {column!r} with the patient of each sample", column=column,
                         expected="one of " + ", ".join(repr(c) for c in adata.obs.columns[:20]))
    labels = adata.obs[column].astype("string")
    own = pd.Series([f"\x00sample:{s}" for s in adata.obs_names], index=labels.index, dtype="string")
    return labels.fillna(own).to_numpy(dtype=object)


# ---- which samples are case, which are control ---------------------------------------------


@dataclass(frozen=True)
class Arms:
    """``case`` against the (possibly pooled) ``controls`` of the ``obs`` column ``group``."""

    group: str
    case: str
    controls: tuple[str, ...]

    @property
    def control(self) -> str:
        """The control arm as written: ``LC`` or, pooled, ``LC+CHB``."""
        return "+".join(self.controls)

    @property
    def name(self) -> str:
        return f"{self.case}_vs_{self.control}"

    @property
    def pooled(self) -> bool:
        return len(self.controls) > 1


@dataclass(frozen=True)
class Comparison(Arms):
    """A planned comparison: its arms, and the samples they pick in any Cohort."""

    def select(self, data: ad.AnnData | pd.DataFrame) -> Selection:
        """The case and control samples of a Cohort (or its ``obs``)."""
        return select_groups(data, self.group, self.case, list(self.controls))

    def labels(self, obs: pd.DataFrame) -> pd.Series:
        """``case`` / ``control`` / missing per sample."""
        return self.select(obs).labels()


@dataclass(frozen=True, eq=False)
class Selection(Arms):
    """The samples of one Cohort that :class:`Arms` picks.

    ``is_case`` and ``is_control`` are masks over every sample of the Cohort it was made from;
    ``rows`` the samples compared and ``y`` their labels (True = case). Nothing is written into
    ``obs``: pooled controls are a mask, not a column.
    """

    is_case: np.ndarray
    is_control: np.ndarray
    index: pd.Index

    @property
    def rows(self) -> np.ndarray:
        return self.is_case | self.is_control

    @property
    def y(self) -> np.ndarray:
        """True for the cases among :attr:`rows`."""
        return self.is_case[self.rows]

    def labels(self) -> pd.Series:
        """``case`` / ``control`` / missing per sample."""
        out = pd.Series(pd.NA, index=self.index, dtype="string")
        out[self.is_case] = "case"
        out[self.is_control] = "control"
        return out


def select_groups(data, group: str, case: str, control: str | Sequence[str] | None = None) -> Selection:
    """The one check of "which samples are case, which are control", used by every comparison.

    ``data`` is a Cohort or its ``obs`` table. ``control`` is one control group, several pooled
    into one arm (a list, or ``"LC+CHB"`` when no group is literally called so), or ``None`` for
    every other group (pooled, in sorted order). Unknown columns or groups, and a group that is
    both case and control, are refused with the groups there are.
    """
    obs = data.obs if hasattr(data, "obs") else data
    if group not in obs.columns:
        raise InputError(f"no group column {group!r}: the clinical table has no column {group!r}", column=group,
                         expected="one of " + ", ".join(repr(c) for c in obs.columns))
    values = obs[group].astype("string")
    present = list(dict.fromkeys(values.dropna().tolist()))
    expected = "one of " + ", ".join(repr(v) for v in present)
    case = str(case)
    if case not in present:
        raise InputError(f"case group {case!r} not found in column {group!r} (no sample has {group} = {case!r})",
                         column=group, expected=expected)
    arms = control_arms(control, present) if control is not None else tuple(sorted(v for v in present if v != case))
    if not arms:
        raise InputError(f"column {group!r} holds no group besides {case!r} to compare with", column=group)
    for arm in arms:
        if arm not in present:
            raise InputError(f"control group {arm!r} not found in column {group!r} (no sample has {group} = {arm!r})",
                             column=group, expected=expected)
        if arm == case:
            raise InputError(f"{arm!r} is the case group and cannot also be a control", column=group)
    is_case = (values == case).fillna(False).to_numpy(dtype=bool)
    is_control = values.isin(list(arms)).fillna(False).to_numpy(dtype=bool)
    return Selection(group=group, case=case, controls=arms, is_case=is_case, is_control=is_control,
                     index=obs.index)


def control_arms(control: str | Sequence[str], present: Sequence[str] = ()) -> tuple[str, ...]:
    """The groups of one control arm: ``"LC"``, ``["LC", "CHB"]`` or ``"LC+CHB"`` (split on ``+``
    unless a group of that very name is ``present``)."""
    if isinstance(control, str):
        if control in present:
            return (control,)
        return tuple(part.strip() for part in control.split("+") if part.strip())
    return tuple(dict.fromkeys(str(c) for c in control))


def control_list(control: str | Sequence) -> list:
    """The control arms of a verb comparing ``case`` with each of several controls: a single group
    (or ``"LC+CHB"``) is one arm; in a list each item is one arm (itself a list when pooled)."""
    if isinstance(control, (str, int, float)):
        return [str(control)]
    return [c if isinstance(c, str) or not isinstance(c, Sequence) else list(c) for c in control]


def matrix_of(adata: ad.AnnData, layer: str | None) -> np.ndarray:
    """The working matrix ``X`` (or a named layer) as a dense float array."""
    if layer is not None and layer not in adata.layers:
        raise InputError(f"no layer {layer!r} in the cohort", expected=f"one of {list(adata.layers)}")
    values = adata.X if layer is None else adata.layers[layer]
    if hasattr(values, "toarray"):
        values = values.toarray()
    return np.asarray(values, dtype=float)


def mimat_of(adata: ad.AnnData) -> np.ndarray:
    """MIMAT accessions per miRNA column ('' when unknown)."""
    if "mimat" in adata.var:
        return adata.var["mimat"].fillna("").astype(str).to_numpy()
    return np.full(adata.n_vars, "", dtype=object)


def design_columns(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Numeric design columns: numbers as they are, other columns as 0/1 indicators of every
    level but the first (levels in sorted order); missing values stay missing. Identifier columns
    (patient, subject, pair ...: :func:`is_id_column`) and categorical columns are factors
    whatever their values look like, so ``--covariate patient`` pairs samples."""
    parts = []
    for name in columns:
        col = frame[name]
        if pd.api.types.is_bool_dtype(col):
            parts.append(col.astype(float).rename(name))
            continue
        numeric = pd.to_numeric(col, errors="coerce")
        label = is_id_column(name) or isinstance(col.dtype, pd.CategoricalDtype)  # a patient ID 17 is a key
        if not label and (pd.api.types.is_numeric_dtype(col) or (numeric.notna() == col.notna()).all()):
            parts.append(numeric.astype(float).rename(name))
            continue
        text = col.astype("string")
        levels = sorted(text.dropna().unique())
        for level in levels[1:]:
            indicator = (text == level).astype(float)
            indicator[text.isna()] = np.nan
            parts.append(indicator.rename(f"{name}[{level}]"))
    if not parts:
        return pd.DataFrame(index=frame.index)
    return pd.concat(parts, axis=1)


#: the scales on which X grows with abundance although the measure is Cq
ABUNDANCE_SCALES = frozenset({"log2_abundance", "neg_delta_cq", "log2"})


def expression_sign(adata: ad.AnnData) -> float:
    """−1 when the Cohort's X falls as the miRNA rises (raw Cq, ΔCq), +1 otherwise.

    Directions and fold changes are stated in expression terms: on Cq a log2FC > 0 or
    ``higher_in_case`` still means more miRNA in the cases.
    """
    falls = meta(adata).get("measure") == "cq" and str(meta(adata).get("x_scale", "") or "") not in ABUNDANCE_SCALES
    return -1.0 if falls else 1.0


def meta(adata: ad.AnnData) -> dict:
    """The exomir provenance dictionary of a Cohort (created when missing)."""
    return adata.uns.setdefault(
        "exomir", {"version": __version__, "measure": None, "source": {}, "excluded": [], "steps": []}
    )


def measure_of(adata: ad.AnnData) -> str:
    measure = meta(adata).get("measure")
    if measure not in MEASURES:
        raise ValueError("the Cohort does not say what its values are (uns['exomir']['measure'])")
    return measure


def record_step(adata: ad.AnnData, step: str, **params: Any) -> None:
    """Append a processing step and its parameters to the Cohort's provenance."""
    clean = {key: _plain(value) for key, value in params.items()}
    steps = list(meta(adata).get("steps", []))
    steps.append({"step": step, **clean})
    meta(adata)["steps"] = steps


def record_exclusion(adata: ad.AnnData, what: str, item: str, reason: str, *, role: str = "") -> None:
    """Note that a sample or miRNA was left out of an analysis, and why (reported, never silent).

    ``role`` says what an excluded column is for when it is not a candidate biomarker at all
    (a spike-in or small-RNA control used for normalization and QC)."""
    excluded = list(meta(adata).get("excluded", []))
    entry = {"what": what, "item": str(item), "reason": reason}
    if role:
        entry["role"] = role
    excluded.append(entry)
    meta(adata)["excluded"] = excluded


EXCLUSION_COLUMNS = ["what", "item", "reason", "role"]


def exclusions(adata: ad.AnnData) -> pd.DataFrame:
    rows = [dict(row) for row in meta(adata).get("excluded", [])]
    frame = pd.DataFrame(rows, columns=EXCLUSION_COLUMNS)
    frame["role"] = frame["role"].fillna("").astype(str)
    return frame


def _plain(value: Any) -> Any:
    """Make a parameter storable in ``uns`` (h5ad keeps strings, numbers and lists of them)."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return "" if value is None else value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return str(value)
