"""Pre-analytical quality control of a Cohort, for RT-qPCR Cq values and sequencing counts alike.

One row per sample (:func:`quality_control`), the same flags written into ``adata.obs``:

* **Hemolysis.** Red cells carry miR-451a in large amounts and little miR-23a-3p, so their ratio
  measures red-cell contamination of serum or plasma. For Cq data the index is
  ΔCq = Cq(miR-23a-3p) − Cq(miR-451a): above 7 cycles *possible*, above 8 *hemolysed*
  (the thresholds of Blondal et al. 2013, Methods 59:S1–S6). For counts the index is
  log2(normalized miR-451a / normalized miR-23a-3p) (per-sample normalization cancels in the
  ratio; +1 pseudocount on raw counts): at an amplification efficiency of 2 this equals the ΔCq,
  so the same 7 / 8 thresholds apply (library preparation biases can shift sequencing ratios:
  read the category as a screen, not a calibrated call). For ``log`` data the difference of the
  two log2 values is used.
* **Spike-in recovery** (cel-miR-39-3p by default): 2^-(Cq − median Cq) for Cq data, or the spike's
  share of the library (red-cell miRNAs left out, since hemolysis inflates them) relative to the
  median share for counts; below 0.25 or above 4 (two cycles off the median) is flagged.
* **Outliers**: modified z-scores, 0.6745·(x − median)/MAD (Iglewicz and Hoaglin), of the
  sample's library size (log10) or global-mean Cq, its number of detected miRNAs, and the
  correlation (Fisher z) of its profile with the median profile, red-cell miRNAs left out;
  |z| > 3.5 (correlation and detection: low side only) marks an outlier. For counts the profile is
  log CPM of the well-expressed miRNAs (median ≥ 50 reads) over the library without red-cell
  miRNAs, and detection is reported but not judged (it follows depth, which the library size
  judges).

Name matching goes through the canonical names in ``adata.var["name"]`` with ``var_names`` as
fallback; ``miR-16`` matches ``hsa-miR-16-5p``, and ``miR-23a-3p`` matches an arm-less ``miR-23a``.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Iterable

import anndata as ad
import numpy as np
import pandas as pd
from scipy import stats

from exomir.cohort import measure_of, meta, record_step
from exomir.cohort import record_exclusion

log = logging.getLogger(__name__)

# miRNAs abundant in red blood cells whose serum/plasma level rises with hemolysis
# (Kirschner et al. 2011 PLoS One; Pritchard et al. 2012 Cancer Prev Res; Blondal et al. 2013).
HEMOLYSIS_SENSITIVE: frozenset[str] = frozenset(
    {
        "hsa-miR-451a",
        "hsa-miR-144-3p",
        "hsa-miR-486-5p",
        "hsa-miR-16-5p",
        "hsa-miR-92a-3p",
        "hsa-miR-15b-5p",
        "hsa-miR-20a-5p",
        "hsa-miR-25-3p",
        "hsa-miR-106a-5p",
        "hsa-miR-185-5p",
    }
)
HEMOLYSIS_MARKER = "hsa-miR-451a"
HEMOLYSIS_REFERENCE = "hsa-miR-23a-3p"
HEMOLYSIS_POSSIBLE = 7.0
HEMOLYSIS_HEMOLYSED = 8.0
DEFAULT_SPIKE_IN = "cel-miR-39-3p"
SPIKE_IN_LIMITS = (0.25, 4.0)
OUTLIER_Z = 3.5

_ARM = re.compile(r"-(5p|3p)$")


# --- names ---------------------------------------------------------------------------------


def name_key(name: str) -> str:
    """Comparable form of a miRNA name: lower case, without the ``hsa-`` species prefix."""
    key = str(name).strip().lower()
    return key[4:] if key.startswith("hsa-") else key


def mirna_column(adata: ad.AnnData, name: str) -> str | None:
    """The ``var_name`` of the miRNA called ``name`` in the Cohort, or ``None`` when absent.

    Canonical names (``var["name"]``) are tried first, then the names as given. An arm-less name
    matches a single armed form (``miR-16`` → ``miR-16-5p``, preferring 5p when both exist),
    and an armed name matches an arm-less column (``miR-23a-3p`` → ``miR-23a``).
    """
    columns = list(adata.var_names)
    keys: list[list[str]] = [[name_key(c)] for c in columns]
    if "name" in adata.var:
        for slot, canonical in zip(keys, adata.var["name"].astype(str)):
            if canonical and canonical.lower() not in {"nan", "none"}:
                slot.insert(0, name_key(canonical))
    query = name_key(name)
    for position, options in enumerate(keys):
        if query in options:
            return columns[position]
    query_arm = _ARM.search(query)
    if query_arm:  # armed query, arm-less data
        bare = _ARM.sub("", query)
        for position, options in enumerate(keys):
            if bare in options:
                return columns[position]
        return None
    for arm in ("-5p", "-3p"):  # arm-less query, armed data
        for position, options in enumerate(keys):
            if query + arm in options:
                return columns[position]
    return None


def is_hemolysis_sensitive(name: str) -> bool:
    """Whether ``name`` (any spelling :func:`mirna_column` accepts) is a red-cell miRNA."""
    key = name_key(name)
    bare = _ARM.sub("", key)
    for known in HEMOLYSIS_SENSITIVE:
        known_key = name_key(known)
        if key == known_key or bare == known_key or _ARM.sub("", known_key) == key:
            return True
    return False


def hemolysis_warnings(top_mirnas: Iterable[str], qc: pd.DataFrame | None = None) -> list[str]:
    """One warning per top hit that red-cell contamination can raise (for the report)."""
    affected = ""
    if qc is not None and "hemolysis" in qc:
        n_bad = int((qc["hemolysis"] == "hemolysed").sum())
        n_possible = int((qc["hemolysis"] == "possible").sum())
        affected = f" In this cohort {n_bad} sample(s) are flagged hemolysed and {n_possible} possibly hemolysed."
    warnings = []
    seen = set()
    for name in top_mirnas:
        if name in seen or not is_hemolysis_sensitive(name):
            continue
        seen.add(name)
        warnings.append(
            f"{name} is abundant in red blood cells: hemolysis during blood collection or serum preparation "
            f"raises its level, so check the hemolysis index (miR-23a-3p − miR-451a ΔCq) before reading it as a "
            f"tumour signal.{affected}"
        )
    return warnings


# --- numerics ------------------------------------------------------------------------------


def robust_z(values: np.ndarray) -> np.ndarray:
    """Modified z-scores 0.6745·(x − median)/MAD; 0 where the MAD is 0 and the value is the median.

    The MAD is scipy's ``median_abs_deviation``; the constant stays Iglewicz and Hoaglin's 0.6745
    (``scale="normal"`` divides by 1.482602…, i.e. 0.674490: z-scores 1.5e-5 smaller, relative).
    """
    values = np.asarray(values, dtype=float)
    finite = np.isfinite(values)
    z = np.full(values.shape, np.nan)
    if finite.sum() < 3:
        return z
    median = np.median(values[finite])
    mad = stats.median_abs_deviation(values[finite])
    if mad == 0:
        mad = 1.253314 * np.mean(np.abs(values[finite] - median))  # mean absolute deviation fallback
    if mad == 0:
        z[finite] = 0.0
        return z
    z[finite] = 0.6745 * (values[finite] - median) / mad
    return z


def hemolysis_category(index: np.ndarray) -> np.ndarray:
    """``clean`` / ``possible`` (> 7) / ``hemolysed`` (> 8) / ``unknown`` (NaN) for a hemolysis index."""
    index = np.asarray(index, dtype=float)
    out = np.full(index.shape, "unknown", dtype=object)
    finite = np.isfinite(index)
    out[finite] = "clean"
    out[finite & (index > HEMOLYSIS_POSSIBLE)] = "possible"
    out[finite & (index > HEMOLYSIS_HEMOLYSED)] = "hemolysed"
    return out


def profile_correlation(matrix: np.ndarray) -> np.ndarray:
    """Pearson correlation of each row with the median row, over columns finite in both."""
    matrix = np.asarray(matrix, dtype=float)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns have no median
        median = np.nanmedian(matrix, axis=0) if matrix.size else np.array([])
    out = np.full(matrix.shape[0], np.nan)
    for i, row in enumerate(matrix):
        ok = np.isfinite(row) & np.isfinite(median)
        if ok.sum() >= 3 and np.std(row[ok]) > 0 and np.std(median[ok]) > 0:
            out[i] = float(np.corrcoef(row[ok], median[ok])[0, 1])
    return out


# --- the Cohort-level check ---------------------------------------------------------------


def _raw(adata: ad.AnnData, measure: str) -> np.ndarray:
    if measure in adata.layers:
        return np.asarray(adata.layers[measure], dtype=float)
    return np.asarray(adata.X, dtype=float)


def quality_control(
    adata: ad.AnnData,
    *,
    lod: float = 35.0,
    spike_in: str | None = DEFAULT_SPIKE_IN,
    outlier_z: float = OUTLIER_Z,
) -> pd.DataFrame:
    """Check every sample; return one row per sample and write the flags into ``adata.obs``.

    Columns: ``sample``, ``measure``, ``detected`` (miRNAs detected), ``library_size`` (counts) or
    ``global_mean_cq`` (Cq), ``hemolysis_dcq`` (Cq) or ``hemolysis_log2_ratio`` (counts, log),
    ``hemolysis`` (clean|possible|hemolysed|unknown), ``spike_in_recovery``, the outlier z-scores,
    ``outlier`` (bool), ``flags`` (``;``-joined). ``obs`` gains ``qc_hemolysis``,
    ``qc_hemolysis_index``, ``qc_spike_in_recovery``, ``qc_outlier`` and ``qc_flags``.
    """
    measure = measure_of(adata)
    values = _raw(adata, measure)
    n = adata.n_obs
    table = pd.DataFrame({"sample": list(adata.obs_names), "measure": measure})
    marker = mirna_column(adata, HEMOLYSIS_MARKER)
    reference = mirna_column(adata, HEMOLYSIS_REFERENCE)
    spike = mirna_column(adata, spike_in) if spike_in else None
    columns = list(adata.var_names)
    # spike-ins and small-RNA controls are not part of a sample's miRNA profile
    controls = control_columns(adata)
    profile_cols = [i for i, c in enumerate(columns) if c != spike and c not in controls]
    profile = values[:, profile_cols]
    # red-cell miRNAs are judged by the hemolysis index; keeping them out of the library share
    # and the profile correlation stops one hemolysed sample from being flagged twice
    red_cell = {mirna_column(adata, name) for name in HEMOLYSIS_SENSITIVE} - {None}
    non_red = np.array([columns[i] not in red_cell for i in profile_cols], dtype=bool)

    if measure == "cq":
        detected = np.isfinite(profile) & (profile <= lod)
        table["detected"] = detected.sum(axis=1)
        common = detected.all(axis=0)
        basis = common if common.any() else detected.mean(axis=0) >= 0.5
        masked = np.where(detected, profile, np.nan)
        global_mean = np.nanmean(masked[:, basis], axis=1) if basis.any() else np.full(n, np.nan)
        table["global_mean_cq"] = global_mean
        index = _hemolysis_dcq(values, columns, marker, reference, lod)
        table["hemolysis_dcq"] = index
        recovery = _spike_recovery_cq(values, columns, spike, lod)
        z_level = robust_z(global_mean)
        level_name = "z_global_mean"
        corr = profile_correlation((masked - global_mean[:, None])[:, non_red])
    else:
        if measure == "counts":
            library = np.nansum(values, axis=1)
            table["library_size"] = library
            detected = np.nan_to_num(profile) > 0
            table["detected"] = detected.sum(axis=1)
            index = _log2_ratio_counts(values, columns, marker, reference)
            # the "effective" library leaves red-cell miRNAs out: in a hemolysed serum miR-451a can
            # take most of the reads, which is a hemolysis finding, not a second problem
            effective = np.nansum(np.nan_to_num(profile[:, non_red]), axis=1)
            recovery = _spike_recovery_counts(values, columns, spike, effective)
            z_level = robust_z(np.log10(np.where(library > 0, library, np.nan)))
            level_name = "z_library_size"
            with np.errstate(divide="ignore", invalid="ignore"):
                logcpm = np.log2(np.nan_to_num(profile) / np.where(effective > 0, effective, np.nan)[:, None] * 1e6 + 1)
            # well-expressed miRNAs only: sampling zeros of rare miRNAs say "shallow", not "different"
            expressed = non_red & (np.nanmedian(np.nan_to_num(profile), axis=0) >= 50)
            if expressed.sum() < 10:
                expressed = non_red
            corr = profile_correlation(logcpm[:, expressed])
        else:  # log2 abundances: higher is more
            detected = np.isfinite(profile)
            table["detected"] = detected.sum(axis=1)
            index = _log2_ratio_log(values, columns, marker, reference)
            recovery = _spike_recovery_log(values, columns, spike)
            z_level = robust_z(np.nanmean(profile, axis=1))
            level_name = "z_mean_level"
            corr = profile_correlation(profile[:, non_red])
        table["hemolysis_log2_ratio"] = index
    category = hemolysis_category(index)
    table["hemolysis"] = category
    table["spike_in_recovery"] = recovery
    z_detected = robust_z(table["detected"].to_numpy(dtype=float))
    # Fisher's z makes correlations near 1 roughly normal before the robust z-score
    z_corr = robust_z(np.arctanh(np.clip(corr, -0.999999, 0.999999)))
    table[level_name] = z_level
    table["z_detected"] = z_detected
    table["profile_correlation"] = corr
    table["z_correlation"] = z_corr
    reasons = []
    for i in range(n):
        why = []
        if np.isfinite(z_level[i]) and abs(z_level[i]) > outlier_z:
            why.append(level_name.removeprefix("z_"))
        # with counts, detection follows depth, which the library size already judges
        if measure != "counts" and np.isfinite(z_detected[i]) and z_detected[i] < -outlier_z:
            why.append("detected")
        if np.isfinite(z_corr[i]) and z_corr[i] < -outlier_z:
            why.append("correlation")
        reasons.append(why)
    table["outlier"] = [bool(r) for r in reasons]
    high_sd = (
        adata.obs["qc_high_sd_replicates"].to_numpy(dtype=int) if "qc_high_sd_replicates" in adata.obs else np.zeros(n, int)
    )
    flags = []
    for i in range(n):
        parts = []
        if category[i] == "hemolysed":
            parts.append("hemolysed")
        elif category[i] == "possible":
            parts.append("possible_hemolysis")
        if np.isfinite(recovery[i]) and not SPIKE_IN_LIMITS[0] <= recovery[i] <= SPIKE_IN_LIMITS[1]:
            parts.append("spike_in_low" if recovery[i] < SPIKE_IN_LIMITS[0] else "spike_in_high")
        if reasons[i]:
            parts.append("outlier:" + ",".join(reasons[i]))
        if high_sd[i] > 0:
            parts.append(f"replicate_sd:{int(high_sd[i])}")
        flags.append(";".join(parts))
    table["flags"] = flags
    adata.obs["qc_hemolysis"] = pd.Categorical(category, categories=["clean", "possible", "hemolysed", "unknown"])
    adata.obs["qc_hemolysis_index"] = np.asarray(index, dtype=float)
    adata.obs["qc_spike_in_recovery"] = np.asarray(recovery, dtype=float)
    adata.obs["qc_outlier"] = table["outlier"].to_numpy(dtype=bool)
    adata.obs["qc_flags"] = table["flags"].to_numpy(dtype=object).astype(str)
    record_step(
        adata,
        "quality_control",
        hemolysis_marker=marker or "absent",
        hemolysis_reference=reference or "absent",
        hemolysis_thresholds=f"possible > {HEMOLYSIS_POSSIBLE:g}, hemolysed > {HEMOLYSIS_HEMOLYSED:g}",
        spike_in=spike or "absent",
        outlier_z=outlier_z,
        lod=lod,
        n_hemolysed=int((category == "hemolysed").sum()),
        n_possible=int((category == "possible").sum()),
        n_outliers=int(table["outlier"].sum()),
    )
    meta(adata)["qc"] = {"n_flagged": int(sum(bool(f) for f in flags))}
    return table


# Small-RNA controls and spike-ins: measured to normalize and to check the assay, never biomarkers.
# Names as instrument exports write them: TaqMan arrays append an assay ID ("MammU6-4395470",
# "U6 snRNA-001973", "RNU48-001006"), kits prefix their spike-ins ("UniSp6", "cel-miR-39-3p").
_SPIKE_IN = re.compile(r"^(cel|ath|osa|dme|mmu-cel)-|^unisp|spike|^ercc[-_]", re.IGNORECASE)
_SMALL_RNA_REFERENCE = re.compile(
    r"""(^|[^a-z0-9])(mamm)?u6($|[^0-9a-z])      # U6, U6 snRNA, MammU6
        |(^|[^a-z0-9])rnu\d                     # RNU6B, RNU6-2, RNU44, RNU48, RNU24 ...
        |(^|[^a-z0-9])snor[ad]?\d               # SNORD44, SNORD48, SNORA74 ...
        |(^|[^a-z0-9])5(\.8)?s($|[\s_-]*r?rna|[^0-9a-z])   # 5S rRNA, 5.8S
        |snrna|snorna|rrna""",
    re.IGNORECASE | re.VERBOSE,
)
SPIKE_IN_ROLE = "spike-in (exogenous control)"
REFERENCE_ROLE = "small-RNA reference (snRNA/snoRNA/rRNA control)"
USER_ROLE = "control named by the user"


def control_role(name: str, extra: Iterable[str] = ()) -> str | None:
    """What a spike-in or small-RNA control column is (``None`` for a miRNA that may be tested).

    ``extra`` are names the user declared as controls (compared case-insensitively, also
    against the name without the assay ID TaqMan arrays append).
    """
    text = str(name).strip()
    if not text:
        return None
    wanted = {str(e).strip().lower() for e in extra if str(e).strip()}
    if wanted and (text.lower() in wanted or re.sub(r"[-_ ]\d{4,}$", "", text).lower() in wanted):
        return USER_ROLE
    if text.lower().startswith("hsa-"):
        return None  # a human miRNA (its name may contain "5s", "u6" never)
    if _SPIKE_IN.search(text):
        return SPIKE_IN_ROLE
    if _SMALL_RNA_REFERENCE.search(text):
        return REFERENCE_ROLE
    return None


def is_control(name: str, extra: Iterable[str] = ()) -> bool:
    """Whether ``name`` is a spike-in or small-RNA control (see :func:`control_role`)."""
    return control_role(name, extra) is not None


def control_columns(adata: ad.AnnData, extra: Iterable[str] | None = None) -> dict[str, str]:
    """Control columns of a Cohort and their role, by ``var_name``; the canonical name in
    ``var["name"]`` is checked too. ``extra`` defaults to the list stored in
    ``uns["exomir"]["control_rnas"]`` (``exomir analyze --control-rna``)."""
    if extra is None:
        extra = meta(adata).get("control_rnas", [])
    extra = [str(e) for e in (extra if not isinstance(extra, str) else [extra])]
    canonical = adata.var["name"].astype(str).tolist() if "name" in adata.var else [""] * adata.n_vars
    roles = {}
    for column, name in zip(map(str, adata.var_names), canonical):
        role = control_role(column, extra) or (control_role(name, extra) if name not in ("", "nan") else None)
        if role:
            roles[column] = role
    return roles


CONTROL_EXCLUSION = "control, used for QC/normalization only: never tested, ranked or used in a panel"


def drop_controls(adata: ad.AnnData) -> ad.AnnData:
    """``adata`` without its spike-in and small-RNA control columns (:func:`control_columns`), each
    recorded once as an exclusion with its role. Every screen starts here, so a control is never
    tested, ranked or put in a panel, whichever entry point (CLI or Python) reached it.

    Returns ``adata`` itself when it holds no control. Otherwise the returned Cohort shares
    ``adata.uns``, so exclusions and steps recorded on it later land in the caller's provenance.
    """
    roles = control_columns(adata)
    if not roles:
        return adata
    done = {(e.get("item"), e.get("reason")) for e in meta(adata).get("excluded", []) if e.get("what") == "mirna"}
    for name, role in roles.items():
        if (name, CONTROL_EXCLUSION) not in done:
            record_exclusion(adata, "mirna", name, CONTROL_EXCLUSION, role=role)
    out = adata[:, [str(n) not in roles for n in adata.var_names]].copy()
    out.uns = adata.uns  # one provenance: what the screen records reaches the caller's Cohort
    return out


def drop_empty_mirnas(adata: ad.AnnData) -> ad.AnnData:
    """A Cohort without the miRNAs that hold nothing to test: no read in any sample (counts) or no
    value at all; each is recorded as an exclusion (an all-zero miRNA would otherwise appear with
    AUC 0.5 and a threshold of infinity)."""
    measure = measure_of(adata)
    raw = np.asarray(adata.layers[measure] if measure in adata.layers else adata.X, dtype=float)
    with np.errstate(invalid="ignore"):
        if measure == "counts":
            empty = ~(np.nan_to_num(raw) > 0).any(axis=0)
            why = "no read in any sample"
        else:
            empty = ~np.isfinite(np.asarray(adata.X, dtype=float)).any(axis=0)
            why = "no value in any sample"
    if not empty.any():
        return adata

    for name in adata.var_names[empty]:
        record_exclusion(adata, "mirna", str(name), f"{why}: not tested")
    log.info(f"{int(empty.sum())} miRNA(s) with {why} left out (see exclusions)")
    return adata[:, ~empty].copy()


def _col(values: np.ndarray, columns: list[str], name: str | None) -> np.ndarray | None:
    return None if name is None else values[:, columns.index(name)]


def _hemolysis_dcq(values, columns, marker, reference, lod) -> np.ndarray:
    """Cq(miR-23a-3p) − Cq(miR-451a); a non-detected miR-23a-3p gives a lower bound at the LOD."""
    m, r = _col(values, columns, marker), _col(values, columns, reference)
    if m is None or r is None:
        return np.full(values.shape[0], np.nan)
    m_ok = np.isfinite(m) & (m <= lod)
    r_ok = np.isfinite(r) & (r <= lod)
    out = np.where(m_ok & r_ok, r - m, np.nan)
    # miR-23a-3p absent but miR-451a present: ΔCq is at least LOD − Cq(451a); call it only when
    # that bound already exceeds the hemolysed threshold
    bound = lod - m
    out = np.where(m_ok & ~r_ok & (bound > HEMOLYSIS_HEMOLYSED), bound, out)
    return out


def _log2_ratio_counts(values, columns, marker, reference) -> np.ndarray:
    m, r = _col(values, columns, marker), _col(values, columns, reference)
    if m is None or r is None:
        return np.full(values.shape[0], np.nan)
    m = np.nan_to_num(m)
    r = np.nan_to_num(r)
    out = np.log2((m + 1.0) / (r + 1.0))
    return np.where((m + r) > 0, out, np.nan)


def _log2_ratio_log(values, columns, marker, reference) -> np.ndarray:
    m, r = _col(values, columns, marker), _col(values, columns, reference)
    if m is None or r is None:
        return np.full(values.shape[0], np.nan)
    return m - r


def _spike_recovery_cq(values, columns, spike, lod) -> np.ndarray:
    s = _col(values, columns, spike)
    if s is None:
        return np.full(values.shape[0], np.nan)
    ok = np.isfinite(s) & (s <= lod)
    if not ok.any():  # the spike-in failed everywhere: nothing was recovered
        return np.zeros(values.shape[0])
    median = np.median(s[ok])
    return np.where(ok, np.power(2.0, -(s - median)), 0.0)


def _spike_recovery_counts(values, columns, spike, library) -> np.ndarray:
    s = _col(values, columns, spike)
    if s is None:
        return np.full(values.shape[0], np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.nan_to_num(s) / library
    finite = np.isfinite(share)
    if not finite.any() or np.median(share[finite]) == 0:
        return np.full(values.shape[0], np.nan)
    return share / np.median(share[finite])


def _spike_recovery_log(values, columns, spike) -> np.ndarray:
    s = _col(values, columns, spike)
    if s is None:
        return np.full(values.shape[0], np.nan)
    return np.power(2.0, s - np.nanmedian(s))
