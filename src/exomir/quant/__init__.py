"""Small RNA-seq quantification: FASTQ to miRNA and isomiR counts without an external aligner.

``quantify(fastqs, out)`` runs many samples (process pool or Dask) into ``counts.csv``,
``qc.csv`` and ``isomirs.gff3``; ``quantify_file(path, reference)`` counts one sample;
``load_reference()`` builds the miRBase reference the reads are matched against.
"""

from __future__ import annotations

from exomir.quant.adapters import KITS, AdapterChoice, AdapterTrimmer, detect_adapter
from exomir.quant.fastq import collapse_chunks, sample_name
from exomir.quant.isomir import Assignment, Hit, assign, place
from exomir.quant.mirgff import make_uid
from exomir.quant.reference import MirnaReference, load_reference
from exomir.quant.runner import QuantRun, counts_table, quantify
from exomir.quant.sample import QuantOptions, SampleResult, quantify_file, quantify_reads

__all__ = [
    "KITS", "AdapterChoice", "AdapterTrimmer", "Assignment", "Hit", "MirnaReference", "QuantOptions",
    "QuantRun", "SampleResult", "assign", "collapse_chunks", "counts_table", "detect_adapter",
    "load_reference", "make_uid", "place", "quantify", "quantify_file", "quantify_reads", "sample_name",
]
