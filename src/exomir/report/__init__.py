"""The HTML report of an analysis: one self-contained file (plotly's JavaScript embedded once,
no links to the network) that a biologist opens by double-click.

``render_report(result)`` returns the HTML text of an :class:`exomir.results.AnalysisResult`.
"""

from __future__ import annotations

from exomir.report.render import render_report

__all__ = ["render_report"]
