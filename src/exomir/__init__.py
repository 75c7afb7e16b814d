"""exomir: exosomal microRNA liquid biopsy for hepatocellular carcinoma.

From small RNA-seq reads or RT-qPCR Cq exports to differential expression, diagnostic ROC
against alpha-fetoprotein, leakage-free panels, prognosis and a cited knowledge base.

In Python, in the manner of scanpy::

    import exomir as ex
    adata = ex.read("expression.csv", clinical="clinical.csv", group="group")
    ex.pp.qc(adata); ex.pp.normalize(adata)                      # preprocessing
    de = ex.tl.differential(adata, group="group", case="HCC", control="LC")   # Cohort verbs
    ex.pl.volcano(de)                                            # figures (plotly)
    ex.stats.delong_paired(a, b, y)                              # array numerics
    result = ex.analyze("expression.csv", "clinical.csv", "results")          # workflows

``pp``, ``tl``, ``pl`` and ``stats`` are :mod:`exomir.pp`, :mod:`exomir.tools`,
:mod:`exomir.plotting` and :mod:`exomir.stats`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

import exomir.logs as logs  # every module's messages: rich on stderr, run.log (exomir.logs.set_quiet)
from exomir._version import __version__

# Everything below loads on first use: `exomir --help` and `import exomir` stay as cheap as they
# were before the public face (measured in CPU seconds on the shared 2-core machine, 30 Nov 2026:
# `import exomir` 0.07 s before and after, `exomir --help` 0.25 s before and after), whereas
# loading pp, pl, stats, io and the workflows at import (anndata brings dask and zarr, then
# scipy, plotly, scikit-learn) cost 8 to 12 s of CPU on that machine, paid by every command.
_NAMESPACES = {"pp": "exomir.pp", "tl": "exomir.tools", "pl": "exomir.plotting", "stats": "exomir.stats"}
_FUNCTIONS = {
    "read": ("exomir.io", "read"),
    "analyze": ("exomir.analysis", "analyze"),
    "meta": ("exomir.analysis.meta", "meta_analyze"),
}

__all__ = ["__version__", *_NAMESPACES, *_FUNCTIONS]

if TYPE_CHECKING:  # for readers and type checkers; at run time the names load on first use
    from exomir import plotting as pl
    from exomir import pp, stats
    from exomir import tools as tl
    from exomir.analysis import analyze
    from exomir.io import read
    from exomir.analysis.meta import meta_analyze as meta


def __getattr__(name: str):
    if name in _NAMESPACES:
        value = importlib.import_module(_NAMESPACES[name])
    elif name in _FUNCTIONS:
        module, attribute = _FUNCTIONS[name]
        value = getattr(importlib.import_module(module), attribute)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
