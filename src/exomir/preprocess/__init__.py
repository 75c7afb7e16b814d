"""exomir.preprocess: quality control and normalization of a Cohort.

* :mod:`exomir.preprocess.qc`: pre-analytical QC (hemolysis, spike-in recovery, outliers) for Cq
  and count data: :func:`quality_control`, :data:`HEMOLYSIS_SENSITIVE`, :func:`hemolysis_warnings`.
* :mod:`exomir.preprocess.qpcr`: RT-qPCR normalization (non-detects, global mean, spike-in,
  reference miRNAs, ΔΔCq, efficiency and inter-plate correction). X holds ΔCq afterwards;
  −ΔCq is the log2 abundance.
* :mod:`exomir.preprocess.reference_genes`: geNorm and NormFinder.
* :mod:`exomir.preprocess.normalize`: the ``normalize(adata, method)`` entry point of ``analyze``.

The verbs are gathered under short names in :mod:`exomir.pp` (``ex.pp.qc``, ``ex.pp.normalize``,
...); this package imports none of its modules, so that a reader of one loads only that one.
"""
