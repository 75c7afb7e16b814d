"""exomir.pp (``ex.pp``): preprocessing verbs of a Cohort under short names.

Each takes the Cohort (``AnnData``), records what it did in ``adata.uns["exomir"]["steps"]`` and
returns what its module documents: :func:`qc` a per-sample table (flags also written into
``obs``), :func:`normalize` the normalized Cohort (``X`` on a log2 scale; in place except for
``reference`` and ``spike``, which return a Cohort without the normalizer columns, so write
``adata = ex.pp.normalize(adata, ...)``). The RT-qPCR steps (non-detects, ΔCq against the global
mean, reference miRNAs or a spike-in, ΔΔCq, efficiency) and the reference-gene stability measures
(geNorm, NormFinder) follow. The code lives in :mod:`exomir.preprocess`, whose modules keep the
names ``qc``, ``normalize`` and ``qpcr``: this module gives the verbs those short names.
"""

from exomir.preprocess.normalize import normalize
from exomir.preprocess.qc import quality_control as qc
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
    "censor_nondetects",
    "delta_delta_cq",
    "efficiency_correct",
    "genorm",
    "global_mean_dcq",
    "log2_abundance",
    "normalize",
    "normfinder",
    "qc",
    "reference_dcq",
    "spike_in_dcq",
]
