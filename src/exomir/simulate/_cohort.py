"""Sampling of the demo cohort (see ``_effects`` for the numbers it plants)."""

from __future__ import annotations

import anndata as ad
import logging
import numpy as np
import pandas as pd
from scipy import special

from exomir.cohort import build_cohort, meta
from exomir.errors import ReferenceDataError
import exomir.simulate._effects as fx
from exomir.simulate._names import WELL_KNOWN_MIRNAS
from exomir.identity import load_mirbase

log = logging.getLogger(__name__)

MEASURES = ("counts", "cq")



#: The smallest cohort the simulator draws: 8 samples per group, and every miRNA with a planted effect.
MIN_SAMPLES = 8 * len(fx.GROUPS)
_PLANTED = set(fx.FIXED_CPM) | set(fx.GROUP_LOG2) | set(fx.HEMOLYSIS_LOG2) | {fx.HEMOLYSIS_REFERENCE, fx.AUC_MIRNA}
MIN_MIRNAS = len(_PLANTED)

def simulate_cohort(
    n: int = 400,
    *,
    measure: str = "counts",
    n_mirnas: int = 300,
    seed: int = 0,
    population_seed: int = 0,
    fractions: dict[str, float] | None = None,
    hemolysis_fraction: float = 0.08,
    annotate: bool = True,
) -> ad.AnnData:
    """Draw a reproducible cohort of ``n`` serum samples (HCC, LC, CHB, Healthy) over ``n_mirnas`` miRNAs.

    ``measure`` is ``counts`` (small RNA-seq) or ``cq`` (RT-qPCR; non-detects are NaN and a
    cel-miR-39-3p spike-in is added). The same arguments always give the same cohort.

    ``population_seed`` fixes the population (which miRNAs, their baseline abundances and
    dispersions); ``seed`` draws the samples. Two seeds with one population seed are two
    independent cohorts of the same population, as a validation cohort should be.
    """
    if measure not in MEASURES:
        raise ValueError(f"measure must be one of {MEASURES}, not {measure!r}")
    fractions = dict(fractions or fx.DEFAULT_FRACTIONS)
    if set(fractions) != set(fx.GROUPS) or any(v <= 0 for v in fractions.values()):
        raise ValueError(f"fractions must give a positive share for each of {fx.GROUPS}")
    if n < MIN_SAMPLES:
        raise ValueError(f"n must be at least {MIN_SAMPLES} (8 samples per group)")
    # independent random streams, so that changing one part leaves the others as they were
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(8)]
    _, r_samples, _, r_bio, r_meas, r_afp, r_surv, r_hemo = streams
    population = [np.random.default_rng(s) for s in np.random.SeedSequence(population_seed).spawn(8)]
    r_names, r_abund = population[0], population[2]

    names = _choose_names(n_mirnas, r_names)
    groups = _assign_groups(n, fractions, r_samples)
    sample_ids = [f"EXO{i + 1:04d}" for i in range(n)]
    m = len(names)
    col = {name: j for j, name in enumerate(names)}

    cpm = _base_cpm(names, r_abund)
    mean_count = cpm / 1e6 * fx.LIBRARY_MEDIAN
    dispersion = fx.dispersion_trend(mean_count) * np.exp(r_abund.normal(0.0, fx.DISPERSION_SCATTER, m))
    for name, value in fx.FIXED_DISPERSION.items():
        dispersion[col[name]] = value
    shape = 1.0 / dispersion

    # planted AUC: solve the HCC shift of miR-10b-5p with the measurement noise of this measure
    j10b = col[fx.AUC_MIRNA]
    if measure == "counts":
        mu10b = mean_count[j10b]
        noise = lambda s: 1.0 / mu10b + 1.0 / (mu10b * np.exp(s))  # Poisson, on the log scale
    else:
        noise = 2.0 * (fx.CQ_TECH_SD * np.log(2.0)) ** 2
    shift10b = fx.shift_for_auc(fx.PLANTED_AUC, shape[j10b], noise)
    group_log2 = {name: dict(levels) for name, levels in fx.GROUP_LOG2.items()}
    group_log2[fx.AUC_MIRNA] = {"HCC": shift10b / np.log(2.0)}

    is_hcc = groups == "HCC"
    stage, bclc = _stages(is_hcc, r_samples)
    stage_index = np.array([fx.STAGES.index(s) if s else np.nan for s in stage])
    mean_stage = float(np.dot(np.arange(len(fx.STAGES)), fx.STAGE_P))

    effect = np.zeros((n, m))
    for name, levels in group_log2.items():
        for group, value in levels.items():
            effect[groups == group, col[name]] += value
    j215 = col[fx.PROGNOSTIC_MIRNA]
    effect[is_hcc, j215] += fx.STAGE_LOG2_SLOPE * (stage_index[is_hcc] - mean_stage)
    hemolysed = np.zeros(n, dtype=bool)
    hemolysed[r_hemo.choice(n, size=int(round(hemolysis_fraction * n)), replace=False)] = True
    hemo_shift = {}
    for name, (low, high) in fx.HEMOLYSIS_LOG2.items():
        shift = r_hemo.uniform(low, high, n) * hemolysed
        effect[:, col[name]] += shift
        hemo_shift[name] = [low, high]

    gamma = r_bio.gamma(shape, 1.0 / shape, size=(n, m))  # biological variation, mean 1
    level = cpm[None, :] * np.exp2(effect) * gamma  # CPM each sample would show without noise

    if measure == "counts":
        library = fx.LIBRARY_MEDIAN * np.exp(r_meas.normal(0.0, fx.LIBRARY_LOG_SD, n))
        # sequencing depth is fixed per library: what hemolysis or disease adds, others lose
        share = level / level.sum(axis=1, keepdims=True)
        values = r_meas.poisson(share * library[:, None]).astype(np.float64)
        frame = pd.DataFrame(values, index=sample_ids, columns=names)
    else:
        extraction = r_meas.normal(0.0, fx.CQ_INPUT_SD / np.sqrt(2.0), n)
        yield_ = r_meas.normal(0.0, fx.CQ_INPUT_SD / np.sqrt(2.0), n)
        cq = fx.CQ_AT_ONE_CPM - np.log2(level) + (extraction + yield_)[:, None]
        cq += r_meas.normal(0.0, fx.CQ_TECH_SD, size=(n, m))
        spike = fx.SPIKE_IN_CQ + extraction + r_meas.normal(0.0, fx.CQ_TECH_SD, n)
        cq = np.column_stack([cq, spike])
        cq = np.round(cq, 3)
        cq[cq >= fx.CQ_MAX] = np.nan  # "Undetermined"
        frame = pd.DataFrame(cq, index=sample_ids, columns=[*names, fx.SPIKE_IN])

    afp = _afp(groups, r_afp)
    x215 = np.log2(gamma[:, j215]) - (special.digamma(shape[j215]) - np.log(shape[j215])) / np.log(2.0)
    x215 += np.where(is_hcc, fx.STAGE_LOG2_SLOPE * (np.nan_to_num(stage_index) - mean_stage), 0.0)
    dfs_time, dfs_event = _survival(is_hcc, x215, stage_index, mean_stage, r_surv)

    obs = pd.DataFrame(
        {
            "group": pd.Categorical(groups, categories=list(fx.GROUPS)),
            "age": np.clip(np.round(r_samples.normal([fx.AGE_MEAN[g] for g in groups], 10.0)), 18, 90).astype(int),
            "sex": pd.Categorical(
                np.where(r_samples.random(n) < [fx.MALE_FRACTION[g] for g in groups], "M", "F"), categories=["F", "M"]
            ),
            "afp_ng_ml": afp,
            "stage": pd.Categorical([s or np.nan for s in stage], categories=list(fx.STAGES)),
            "bclc": pd.Categorical([b or np.nan for b in bclc], categories=["0", "A", "B", "C", "D"]),
            "dfs_months": dfs_time,
            "dfs_event": dfs_event,
        },
        index=sample_ids,
    )
    adata = _build(frame, measure, obs, seed, annotate)
    controls = ~is_hcc
    control_sizes = {g: int(np.sum(groups == g)) for g in fx.CONTROLS}
    specificity = 1.0 - sum(fx.AFP_ABOVE_CUTOFF[g] * k for g, k in control_sizes.items()) / int(np.sum(controls))
    meta(adata)["planted"] = _plain(
        {
            "seed": seed,
            "population_seed": population_seed,
            "n": n,
            "measure": measure,
            "n_mirnas": m,
            "groups": {g: int(np.sum(groups == g)) for g in fx.GROUPS},
            "group_column": "group",
            "case": "HCC",
            "controls": list(fx.CONTROLS),
            "group_log2": group_log2,
            "up_in_hcc": sorted(k for k, v in group_log2.items() if v.get("HCC", 0) > 0
                                and all(v.get("HCC", 0) > v.get(c, 0) for c in fx.CONTROLS)),
            "down_in_hcc_vs_chb": sorted(k for k, v in group_log2.items() if v.get("HCC", 0) < v.get("CHB", 0)),
            "expected_log2fc": {
                f"HCC_vs_{c}": {k: v.get("HCC", 0.0) - v.get(c, 0.0) for k, v in sorted(group_log2.items())}
                for c in fx.CONTROLS
            },
            "auc": {
                "mirna": fx.AUC_MIRNA,
                "auc": fx.PLANTED_AUC,
                "versus": list(fx.CONTROLS),
                "log2_shift": shift10b / np.log(2.0),
                "dispersion": float(dispersion[j10b]),
                "auc_without_measurement_noise": fx.auc_of_shift(shift10b, shape[j10b]),
            },
            "afp": {
                "column": "afp_ng_ml",
                "cutoff": fx.AFP_CUTOFF,
                "sensitivity": fx.AFP_ABOVE_CUTOFF["HCC"],
                "specificity": specificity,
                "above_cutoff": dict(fx.AFP_ABOVE_CUTOFF),
                "log_sd": dict(fx.AFP_LOG_SD),
            },
            "survival": {
                "mirna": fx.PROGNOSTIC_MIRNA,
                "endpoint": "DFS",
                "time": "dfs_months",
                "event": "dfs_event",
                "hr_per_log2": fx.HR_PER_LOG2,
                "stage_log_hr": fx.STAGE_LOG_HR,
                "stage_log2_slope": fx.STAGE_LOG2_SLOPE,
                "weibull_shape": fx.WEIBULL_SHAPE,
                "median_dfs_months": fx.MEDIAN_DFS_MONTHS,
                "follow_up_months": list(fx.FOLLOW_UP_MONTHS),
                "events": int(np.nansum(dfs_event)),
            },
            "hemolysis": {
                "samples": [s for s, h in zip(sample_ids, hemolysed) if h],
                "fraction": hemolysis_fraction,
                "shift_log2": hemo_shift,
                "reference": fx.HEMOLYSIS_REFERENCE,
            },
        }
    )
    return adata


def _build(frame: pd.DataFrame, measure: str, obs: pd.DataFrame, seed: int, annotate: bool) -> ad.AnnData:
    source = {"simulated": f"exomir.simulate seed={seed}"}
    try:
        return build_cohort(frame, measure, obs=obs, source=source, annotate=annotate)
    except ReferenceDataError as exc:
        # the names are real miRBase 22 names; without miRBase at hand they are simply not annotated
        log.warning(f"miRNA names left unannotated: {exc}")
        return build_cohort(frame, measure, obs=obs, source=source, annotate=False)


def _choose_names(n_mirnas: int, rng: np.random.Generator) -> list[str]:
    if n_mirnas < MIN_MIRNAS:
        raise ValueError(f"n_mirnas must be at least {MIN_MIRNAS} (the miRNAs with planted effects)")
    required = _PLANTED
    known = list(WELL_KNOWN_MIRNAS)
    if n_mirnas <= len(known):
        optional = [name for name in known if name not in required]
        keep = set(rng.choice(optional, size=n_mirnas - len(required), replace=False)) | required
        return [name for name in known if name in keep]
    extra = [name for name in _mirbase_names() if name not in set(known)]
    if len(extra) < n_mirnas - len(known):
        log.warning(f"miRBase is not available: simulating the {len(known)} built-in miRNAs instead of {n_mirnas}")
        return known
    chosen = set(rng.choice(extra, size=n_mirnas - len(known), replace=False))
    return known + [name for name in extra if name in chosen]


def _mirbase_names() -> list[str]:
    """Human mature miRNA names of miRBase (in accession order), or [] when miRBase is not at hand."""
    try:
        mature = load_mirbase().mature
    except Exception:  # noqa: BLE001 - any failure means: fall back to the built-in list
        return []
    table = mature.sort_values("mimat", kind="mergesort")
    return [name for name in table["name"].astype(str) if name.startswith("hsa-")]


def _assign_groups(n: int, fractions: dict[str, float], rng: np.random.Generator) -> np.ndarray:
    total = sum(fractions.values())
    sizes = {g: int(np.floor(n * fractions[g] / total)) for g in fx.GROUPS}
    sizes["HCC"] += n - sum(sizes.values())
    labels = np.array([g for g in fx.GROUPS for _ in range(sizes[g])], dtype=object)
    return labels[rng.permutation(n)]


def _base_cpm(names: list[str], rng: np.random.Generator) -> np.ndarray:
    """Heavy-tailed abundances scaled to a million (CPM); known abundant miRNAs take fixed weights.

    The free draws are capped below the fixed top miRNAs so that the well-known serum miRNAs
    (miR-486-5p, miR-451a, miR-92a-3p, miR-122-5p ...) stay the most abundant, as in real serum.
    """
    fixed = np.array([fx.FIXED_CPM.get(name, np.nan) for name in names])
    free = np.isnan(fixed)
    weights = fixed.copy()
    weights[free] = np.clip(10.0 ** rng.normal(1.0, 1.2, int(free.sum())), 0.05, 8_000.0)
    return weights / weights.sum() * 1e6


def _stages(is_hcc: np.ndarray, rng: np.random.Generator) -> tuple[list[str], list[str]]:
    stage, bclc = [], []
    for hcc in is_hcc:
        if not hcc:
            stage.append("")
            bclc.append("")
            continue
        s = str(rng.choice(fx.STAGES, p=fx.STAGE_P))
        options, probs = fx.BCLC_BY_STAGE[s]
        stage.append(s)
        bclc.append(str(rng.choice(options, p=probs)))
    return stage, bclc


def _afp(groups: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    mean = np.array([fx.afp_log_mean(g) for g in groups])
    sd = np.array([fx.AFP_LOG_SD[g] for g in groups])
    return np.round(np.exp(rng.normal(mean, sd)), 2)


def _survival(is_hcc, x215, stage_index, mean_stage, rng) -> tuple[np.ndarray, np.ndarray]:
    """Weibull proportional-hazards disease-free survival with administrative censoring (HCC only)."""
    n = len(is_hcc)
    linear = np.log(fx.HR_PER_LOG2) * x215 + fx.STAGE_LOG_HR * (np.nan_to_num(stage_index) - mean_stage)
    exposure = rng.exponential(1.0, n)
    event_time = fx.weibull_scale() * (exposure / np.exp(linear)) ** (1.0 / fx.WEIBULL_SHAPE)
    censor = rng.uniform(*fx.FOLLOW_UP_MONTHS, n)
    time = np.round(np.minimum(event_time, censor), 2)
    event = (event_time <= censor).astype(float)
    time[~is_hcc] = np.nan
    event[~is_hcc] = np.nan
    return time, event


def _plain(value):
    """Make the planted record JSON- and h5ad-storable (plain floats, ints, strings, lists, dicts)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value
