"""The numbers behind the demo cohort: abundances, dispersions, planted effects, analytic AUCs.

Kept apart from the sampling code so that the planted truth can be read (and tested) on its own.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, special, stats

GROUPS: tuple[str, ...] = ("HCC", "LC", "CHB", "Healthy")
CONTROLS: tuple[str, ...] = ("LC", "CHB", "Healthy")
DEFAULT_FRACTIONS: dict[str, float] = {"HCC": 0.4, "LC": 0.2, "CHB": 0.2, "Healthy": 0.2}

#: Serum exosome abundance (counts per million miRNA reads in a healthy donor) of miRNAs whose
#: level is known to be high or that carry a planted effect; the rest are drawn at random.
FIXED_CPM: dict[str, float] = {
    "hsa-miR-486-5p": 80_000.0,
    "hsa-miR-451a": 20_000.0,  # 5x miR-23a-3p in clean serum: log2 ratio about 2.3
    "hsa-miR-92a-3p": 20_000.0,
    "hsa-miR-122-5p": 15_000.0,
    "hsa-miR-16-5p": 15_000.0,
    "hsa-let-7a-5p": 12_000.0,
    "hsa-let-7b-5p": 10_000.0,
    "hsa-miR-26a-5p": 9_000.0,
    "hsa-let-7f-5p": 8_000.0,
    "hsa-let-7g-5p": 6_000.0,
    "hsa-miR-25-3p": 5_000.0,
    "hsa-miR-423-5p": 5_000.0,
    "hsa-miR-191-5p": 5_000.0,
    "hsa-miR-22-3p": 4_500.0,
    "hsa-miR-223-3p": 4_500.0,
    "hsa-miR-23a-3p": 4_000.0,
    "hsa-miR-21-5p": 3_000.0,
    "hsa-miR-126-3p": 3_000.0,
    "hsa-miR-30d-5p": 3_000.0,
    "hsa-miR-148a-3p": 2_000.0,
    "hsa-miR-101-3p": 2_000.0,
    "hsa-miR-142-3p": 2_000.0,
    "hsa-miR-222-3p": 600.0,
    "hsa-miR-1246": 600.0,
    "hsa-miR-106b-5p": 500.0,
    "hsa-miR-10b-5p": 300.0,
    "hsa-miR-221-3p": 300.0,
    "hsa-miR-195-5p": 150.0,
    "hsa-miR-215-5p": 150.0,
    "hsa-miR-18a-5p": 60.0,
    "hsa-miR-224-5p": 40.0,
    "hsa-miR-96-5p": 20.0,
}

#: Mean log2 level of each group relative to healthy donors (0 where not listed).
#: miR-10b-5p's HCC shift is not here: it is solved from the planted AUC.
GROUP_LOG2: dict[str, dict[str, float]] = {
    "hsa-miR-21-5p": {"HCC": 1.2, "LC": 0.2, "CHB": 0.1},
    "hsa-miR-215-5p": {"HCC": 1.0},
    # hepatocyte injury releases miR-122: highest in chronic hepatitis B, lower again in HCC
    "hsa-miR-122-5p": {"HCC": 0.3, "LC": 0.8, "CHB": 1.5},
    "hsa-miR-221-3p": {"HCC": 0.4},
    "hsa-miR-222-3p": {"HCC": 0.35},
    "hsa-miR-224-5p": {"HCC": 0.5},
    "hsa-miR-18a-5p": {"HCC": 0.4},
    "hsa-miR-101-3p": {"HCC": -0.35},
    "hsa-miR-195-5p": {"HCC": -0.35},
}

#: Biological dispersion fixed for the planted miRNAs (the rest follow the mean–dispersion trend).
FIXED_DISPERSION: dict[str, float] = {"hsa-miR-10b-5p": 0.12, "hsa-miR-215-5p": 0.25}

AUC_MIRNA = "hsa-miR-10b-5p"
PLANTED_AUC = 0.93
PROGNOSTIC_MIRNA = "hsa-miR-215-5p"
HR_PER_LOG2 = 2.5  # disease-free survival hazard ratio per log2 unit of miR-215-5p (stage held fixed)
STAGE_LOG2_SLOPE = 0.35  # miR-215-5p rises with tumour stage (log2 per stage step, centred)
STAGE_LOG_HR = 0.25  # independent hazard of each further stage step
STAGES = ("I", "II", "III", "IV")
STAGE_P = (0.30, 0.35, 0.22, 0.13)
BCLC_BY_STAGE = {"I": (("0", "A"), (0.3, 0.7)), "II": (("A", "B"), (0.4, 0.6)),
                 "III": (("B", "C"), (0.4, 0.6)), "IV": (("C", "D"), (0.8, 0.2))}
WEIBULL_SHAPE = 1.3
MEDIAN_DFS_MONTHS = 24.0
FOLLOW_UP_MONTHS = (6.0, 60.0)

#: Hemolysis releases red-cell miRNAs; miR-23a-3p is the unchanged reference of the ratio.
HEMOLYSIS_LOG2: dict[str, tuple[float, float]] = {
    "hsa-miR-451a": (5.5, 7.0),
    "hsa-miR-486-5p": (1.2, 1.8),
    "hsa-miR-16-5p": (1.2, 1.8),
    "hsa-miR-92a-3p": (0.7, 1.2),
}
HEMOLYSIS_REFERENCE = "hsa-miR-23a-3p"

#: AFP: lognormal per group; the share at or above 20 ng/mL (AFP_CUTOFF) and the log-scale SD.
AFP_CUTOFF = 20.0
AFP_ABOVE_CUTOFF: dict[str, float] = {"HCC": 0.60, "LC": 0.32, "CHB": 0.24, "Healthy": 0.04}
AFP_LOG_SD: dict[str, float] = {"HCC": 1.8, "LC": 0.9, "CHB": 0.9, "Healthy": 0.6}

AGE_MEAN: dict[str, float] = {"HCC": 58.0, "LC": 55.0, "CHB": 42.0, "Healthy": 45.0}
MALE_FRACTION: dict[str, float] = {"HCC": 0.8, "LC": 0.7, "CHB": 0.65, "Healthy": 0.5}

LIBRARY_MEDIAN = 3.0e6
LIBRARY_LOG_SD = 0.45
DISPERSION_ASYMPTOTE = 0.10  # alpha(mu) = asymptote + extra / mu, as DESeq2's parametric trend
DISPERSION_EXTRA = 2.0
DISPERSION_SCATTER = 0.35  # log-normal scatter of gene-wise dispersions around the trend

CQ_AT_ONE_CPM = 35.0  # Cq of a miRNA at 1 CPM; 1 cycle per doubling
CQ_MAX = 40.0  # the instrument's last cycle: beyond it the well is "Undetermined"
CQ_TECH_SD = 0.25
CQ_INPUT_SD = 0.6
SPIKE_IN = "cel-miR-39-3p"
SPIKE_IN_CQ = 24.0


def afp_log_mean(group: str) -> float:
    """Log-scale mean of AFP in ``group`` so that the planted share lies at or above the cutoff."""
    p = AFP_ABOVE_CUTOFF[group]
    return float(np.log(AFP_CUTOFF) - AFP_LOG_SD[group] * stats.norm.ppf(1.0 - p))


def weibull_scale() -> float:
    """Weibull scale giving the planted median DFS at average miR-215-5p and stage."""
    return MEDIAN_DFS_MONTHS / np.log(2.0) ** (1.0 / WEIBULL_SHAPE)


def auc_of_shift(shift: float, shape: float, noise_var: float = 0.0) -> float:
    """AUC of a log-gamma biomarker shifted by ``shift`` (natural log) in cases.

    Biological level = shift + log G with G ~ Gamma(shape) in cases and log G in controls, so the
    case-minus-control difference of two log-gammas is a logit-Beta(shape, shape) variable:
    P(case > control) = I_{expit(shift)}(shape, shape). Measurement noise (normal, total variance
    ``noise_var`` of the difference) is integrated out by Gauss–Hermite quadrature.
    """
    if noise_var <= 0:
        return float(stats.beta.cdf(special.expit(shift), shape, shape))
    nodes, weights = np.polynomial.hermite_e.hermegauss(64)
    values = stats.beta.cdf(special.expit(shift + np.sqrt(noise_var) * nodes), shape, shape)
    return float(np.sum(weights * values) / np.sqrt(2.0 * np.pi))


def shift_for_auc(auc: float, shape: float, noise_var=0.0) -> float:
    """Natural-log shift that gives ``auc``; ``noise_var`` may be a function of the shift."""
    noise = noise_var if callable(noise_var) else (lambda _shift: noise_var)
    return float(optimize.brentq(lambda s: auc_of_shift(s, shape, noise(s)) - auc, 0.0, 10.0, xtol=1e-10))


def dispersion_trend(mean_count: np.ndarray) -> np.ndarray:
    return DISPERSION_ASYMPTOTE + DISPERSION_EXTRA / np.maximum(mean_count, 1e-3)
