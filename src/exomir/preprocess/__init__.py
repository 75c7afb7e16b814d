"""exomir.preprocess: quality control and normalization of a Cohort.

* :mod:`exomir.preprocess.qc`: pre-analytical QC (hemolysis, spike-in recovery, outliers) for Cq
  and count data: :func:`quality_control`, :data:`HEMOLYSIS_SENSITIVE`, :func:`hemolysis_warnings`.
* :mod:`exomir.preprocess.qpcr`: RT-qPCR normalization (non-detects, global mean, spike-in,
  reference miRNAs, ΔΔCq, efficiency and inter-plate correction). X holds ΔCq afterwards;
  −ΔCq is the log2 abundance.
* :mod:`exomir.preprocess.reference_genes`: geNorm and NormFinder.
* :mod:`exomir.preprocess.normalize`: the ``normalize(adata, method)`` entry point of ``analyze``.
"""

from exomir.preprocess.qc import HEMOLYSIS_SENSITIVE, hemolysis_warnings, quality_control
from exomir.preprocess.qpcr import (
    censor_nondetects,
    delta_delta_cq,
    efficiency_correct,
    global_mean_dcq,
    log2_abundance,
    reference_dcq,
    spike_in_dcq,
)
from exomir.preprocess.reference_genes import genorm, normfinder

__all__ = [
    "HEMOLYSIS_SENSITIVE",
    "censor_nondetects",
    "delta_delta_cq",
    "efficiency_correct",
    "genorm",
    "global_mean_dcq",
    "hemolysis_warnings",
    "log2_abundance",
    "normfinder",
    "quality_control",
    "reference_dcq",
    "spike_in_dcq",
]
