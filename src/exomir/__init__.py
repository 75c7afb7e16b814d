"""exomir: exosomal microRNA liquid biopsy for hepatocellular carcinoma.

From small RNA-seq reads or RT-qPCR Cq exports to differential expression, diagnostic ROC
against alpha-fetoprotein, leakage-free panels, prognosis and a cited knowledge base.
"""

from exomir._version import __version__

__all__ = ["__version__"]
