"""exomir.plotting (``ex.pl``): every figure of the report as a function returning a plotly
``Figure``, to show in a notebook, restyle (``fig.update_layout(...)``) or save
(``fig.write_html(...)``). The report draws its figures with these same functions.

Diagnosis: :func:`volcano`, :func:`roc` (miRNAs beside AFP), :func:`afp`, :func:`hemolysis`,
:func:`panel_roc` (the panel against AFP, with the paired DeLong p), :func:`calibration`,
:func:`decision_curve`, :func:`subgroup_forest`.
Prognosis: :func:`km`, :func:`hr_forest`, :func:`time_roc`, :func:`stage_box`.
Meta-analysis: :func:`meta_forest`. Any estimate with an interval: :func:`forest`.
The knowledge base's transfer network page is drawn by :mod:`exomir.plotting.network`.
"""

from exomir.plotting.cohort_figures import (
    afp,
    hemolysis,
    hr_forest,
    km,
    roc,
    stage_box,
    subgroup_forest,
    time_roc,
    volcano,
)
from exomir.plotting.diagnostic import calibration_figure as calibration
from exomir.plotting.diagnostic import decision_curve_figure as decision_curve
from exomir.plotting.diagnostic import panel_roc_figure as panel_roc
from exomir.plotting.figures import forest
from exomir.plotting.study_forest import meta_forest

__all__ = [
    "afp",
    "calibration",
    "decision_curve",
    "forest",
    "hemolysis",
    "hr_forest",
    "km",
    "meta_forest",
    "panel_roc",
    "roc",
    "stage_box",
    "subgroup_forest",
    "time_roc",
    "volcano",
]
