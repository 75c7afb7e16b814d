"""exomir: exosomal microRNA liquid biopsy for hepatocellular carcinoma.

From small RNA-seq reads or RT-qPCR Cq exports to differential expression, diagnostic ROC
against alpha-fetoprotein, leakage-free panels, prognosis and a cited knowledge base.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("exomir")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+local"

__all__ = ["__version__"]
