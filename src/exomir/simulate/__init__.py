"""Demo cohorts with planted, known effects: HCC, liver cirrhosis (LC), chronic hepatitis B (CHB), healthy.

``simulate_cohort`` draws serum exosome miRNA small RNA-seq counts (negative binomial: log-normal
library sizes, heavy-tailed abundances, a DESeq2-like mean–dispersion trend) or RT-qPCR Cq values,
with AFP, tumour stage, disease-free survival and some hemolysed samples. What was planted (the
effects the review reports) is stored in ``adata.uns["exomir"]["planted"]`` so that analyses can
be checked against the truth. ``write_cohort`` writes the expression and clinical CSV files that
``exomir analyze`` reads.
"""

from __future__ import annotations

from exomir.simulate._cohort import MIN_MIRNAS, MIN_SAMPLES, simulate_cohort
from exomir.simulate._files import write_cohort
from exomir.simulate._names import WELL_KNOWN_MIRNAS

__all__ = ["MIN_MIRNAS", "MIN_SAMPLES", "simulate_cohort", "write_cohort", "WELL_KNOWN_MIRNAS", "planted"]


def planted(adata) -> dict:
    """The planted truth of a simulated Cohort (raises KeyError for a Cohort that was not simulated)."""
    return adata.uns["exomir"]["planted"]
