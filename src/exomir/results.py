"""The settings and result objects of exomir's workflows, below both the workflows that fill them
(:mod:`exomir.analysis`) and the report that reads them (:mod:`exomir.report`).

* :class:`AnalysisSettings` — what ``analyze`` was asked (the methods section, ``uns``);
* :class:`AnalysisResult` — what it found: the Cohort, the tables and the curves the report draws;
* :class:`MetaAnalysis` — a finished cross-study meta-analysis (``exomir meta``).

Nothing here computes: the objects are filled by the workflows and read by the report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations only: the command line reads the options without loading these
    import anndata as ad
    import pandas as pd

    from exomir.stats.meta import MetaResult


@dataclass
class AnalysisSettings:
    """What was asked for (recorded in the report's methods section and in ``uns``)."""

    group: str = "group"
    case: str = "HCC"
    controls: tuple[str, ...] = ()
    measure: str = "auto"
    normalization: str = "auto"
    reference: tuple[str, ...] = ()  # reference miRNAs of --normalization reference
    spike_in: str | None = None  # spike-in assay of --normalization spike
    afp: str | None = None
    afp_cutoff: float = 20.0
    stage: str | None = None
    panels: bool = True
    panel_options: dict[str, Any] = field(default_factory=dict)  # options of tools.panel (PanelOptions fields)
    direction: str = "auto"  # ROC direction: auto, higher_in_case, lower_in_case or a CSV of mirna,direction
    time: str | None = None
    event: str | None = None
    endpoint: str | None = None  # default: named after the columns (OS_days + OS_event → OS)
    survival: tuple[tuple[str, str, str], ...] = ()  # more endpoints: (name, time column, event column)
    adjust: tuple[str, ...] = ()  # clinical covariates of the adjusted Cox models
    horizons: tuple[float, ...] = ()  # times of the time-dependent AUC
    time_unit: str | None = None  # default: read from the time column's name
    prognostic_panel: bool = True
    covariates: tuple[str, ...] = ()
    sample_column: str | None = None
    seed: int = 0
    nondetect_lod: float = 35.0
    nondetect_max_fraction: float = 0.5
    survival_min_detected: float = 0.5
    control_rnas: tuple[str, ...] = ()  # extra spike-in/control column names (QC and normalization only)
    patient: str | None = None  # clinical column: the patient of each sample (grouped CV folds, a label)

    def endpoints(self) -> list[tuple[str, str, str]]:
        """(name, time column, event column) of every survival endpoint asked for."""
        from exomir.tools import endpoint_name  # lazy: at the top it made `import exomir.cli` load anndata (0.5 s → 20 s, measured)

        out = []
        if self.time and self.event:
            out.append((self.endpoint or endpoint_name(self.time, self.event), self.time, self.event))
        out += [tuple(e) for e in self.survival if tuple(e) not in out]
        return out

    def as_dict(self) -> dict[str, Any]:
        out = {}
        for key, value in self.__dict__.items():
            if key == "survival":
                value = [":".join(map(str, e)) for e in value]
            if isinstance(value, tuple):
                value = [str(v) for v in value]
            elif isinstance(value, dict):
                value = ", ".join(f"{k}={v}" for k, v in sorted(value.items()))
            out[key] = "" if value is None else value
        return out


# --- the options of analyze: declared once ----------------------------------------------------
#
# Each option of ``analyze`` is written here once, in the order ``exomir analyze --help`` lists
# them. The CLI's options (exomir.cli.analysis), the keyword arguments of
# :func:`exomir.analysis.analyze`, what ``params.json`` may hold and the :class:`AnalysisSettings`
# an analysis runs with are all derived from this list. An option that sets an AnalysisSettings
# field takes its default from that field.

_FROM_SETTINGS = object()


@dataclass(frozen=True)
class Option:
    """One option of ``analyze``.

    ``name`` is the keyword of :func:`exomir.analysis.analyze` (and the key in ``params.json``);
    ``flags`` the CLI's (``()``: Python only), ``parameter`` the CLI parameter's name when it is
    not ``name`` (``--control`` gives ``controls``); ``kind`` the type of one value, ``many`` a
    repeatable option; ``setting`` the :class:`AnalysisSettings` field it sets.
    """

    name: str
    help: str = ""
    flags: tuple[str, ...] = ()
    metavar: str | None = None
    kind: type = str
    many: bool = False
    min: int | None = None
    parameter: str | None = None
    setting: str | None = None
    default: Any = _FROM_SETTINGS

    @property
    def value(self) -> Any:
        """The default: the AnalysisSettings field's (``None`` for a repeatable option, which
        defaults to none given), else the one written here."""
        if self.default is not _FROM_SETTINGS:
            return self.default
        if self.many:
            return None
        return AnalysisSettings.__dataclass_fields__[self.setting].default

    @property
    def cli_name(self) -> str:
        return self.parameter or self.name


ANALYZE_OPTIONS: tuple[Option, ...] = (
    Option("expression", "Expression table (CSV/TSV, qPCR export, GEO matrix, .h5ad); repeat for the plates of one "
           "qPCR study.", ("--expression", "-e"), "FILE", kind=Path, many=True),
    Option("clinical", "Clinical table, joined on the sample ID.", ("--clinical", "-c"), "FILE", kind=Path,
           default=None),
    Option("measure", "counts | cq | log | auto.", ("--measure",), "KIND", setting="measure"),
    Option("normalization", "auto | none | median_of_ratios | cpm | tmm | global_mean | reference (with --reference) "
           "| spike (with --spike).", ("--normalization",), "METHOD", setting="normalization"),
    Option("reference", "Reference miRNA(s) of --normalization reference, repeatable or comma-separated (e.g. "
           "miR-16-5p,miR-93-5p).", ("--reference",), "MIRNA", many=True, setting="reference"),
    Option("spike_in", "Spike-in assay of --normalization spike (e.g. cel-miR-39-3p).", ("--spike",), "ASSAY",
           parameter="spike", setting="spike_in"),
    Option("group", "Clinical column with the diagnostic group (default: 'group'; without one, survival runs "
           "prognosis-only).", ("--group",), "COLUMN", setting="group", default=None),
    Option("case", "The case group.", ("--case",), "GROUP", setting="case"),
    Option("controls", "Control group(s), repeatable or comma-separated; A+B pools groups. Default: every other "
           "group.", ("--control",), "GROUP", many=True, parameter="control", setting="controls"),
    Option("afp", "Clinical column with AFP (ng/mL).", ("--afp",), "COLUMN", setting="afp"),
    Option("time", "Clinical column with follow-up time.", ("--time",), "COLUMN", setting="time"),
    Option("event", "Clinical column with the event (1 = event, 0 = censored).", ("--event",), "COLUMN",
           setting="event"),
    Option("endpoint", "Name of the --time/--event endpoint (default: from the column names, OS_days + OS_event → "
           "OS).", ("--endpoint",), "NAME", setting="endpoint"),
    Option("survival", "A survival endpoint (repeatable), e.g. OS:OS_days:OS_event.", ("--survival",),
           "NAME:TIME:EVENT", many=True, setting="survival"),
    Option("adjust", "Clinical covariate of the adjusted Cox models (repeatable): numbers as they are, categories "
           "as indicators against the first level.", ("--adjust",), "COLUMN", many=True, setting="adjust"),
    Option("horizons", "Time of the time-dependent AUC (repeatable; default 1 and 3 years when the time unit is "
           "known).", ("--horizon",), "TIME", kind=float, many=True, parameter="horizon", setting="horizons"),
    Option("time_unit", "Unit of the survival times (default: read from the column name).", ("--time-unit",),
           "UNIT", setting="time_unit"),
    Option("prognostic_panel", "Fit nested-CV elastic-net Cox panels (miRNAs, clinical, both).",
           ("--prognostic-panel/--no-prognostic-panel",), kind=bool, setting="prognostic_panel"),
    Option("covariates", "Clinical column(s) to adjust differential expression for.", ("--covariate",), "COLUMN",
           many=True, parameter="covariate", setting="covariates"),
    Option("sample_column", "Clinical column with the sample IDs (default: the first column).", ("--sample-column",),
           "COLUMN", setting="sample_column"),
    Option("stage", "Clinical column with tumour stage (early-stage panel subgroup).", ("--stage",), "COLUMN",
           setting="stage"),
    Option("panels", "Fit nested-CV miRNA panels with and against AFP.", ("--panels/--no-panels",), kind=bool,
           setting="panels"),
    Option("panel_options", "Options of the panels' nested cross-validation (Python only).", kind=dict,
           setting="panel_options", default=None),
    Option("folds", "Outer and inner folds of the panels' nested cross-validation (default 5); fewer for small "
           "cohorts.", ("--folds",), "N", kind=int, min=2, default=None),
    Option("permutations", "Label permutations of each panel's permutation test (default 100 up to 200 samples; "
           "above, the corrected CV t-test). 0: none.", ("--permutations",), "N", kind=int, min=0, default=None),
    Option("bootstraps", "Bootstrap draws of the whole nested CV behind each panel's AUC interval (default 40). "
           "0: the corrected CV t interval (fast, too narrow in small cohorts).", ("--bootstraps",), "N", kind=int,
           min=0, default=None),
    Option("direction", "ROC direction given in advance: higher_in_case, lower_in_case, or a CSV with columns "
           "mirna,direction (a discovery cohort's roc.csv). Default auto: from the data (the p-value is two-sided, "
           "unaffected).", ("--direction",), "DIRECTION", setting="direction"),
    Option("seed", "Random seed for resampling steps.", ("--seed",), "N", kind=int, setting="seed"),
    Option("calibrator", "Inter-plate calibrator sample(s) of qPCR exports (aligns the plates).", ("--calibrator",),
           "SAMPLE", many=True),
    Option("figures", "Also write every report figure as SVG into DIR/figures (needs Chromium: /usr/bin/chromium or "
           "EXOMIR_CHROMIUM).", ("--figures/--no-figures",), kind=bool, default=False),
    Option("control_rnas", "Further spike-in/small-RNA control column(s), repeatable or comma-separated: used for QC "
           "and normalization only, never tested.", ("--control-rna",), many=True, parameter="control_rna",
           setting="control_rnas"),
    Option("lod", "Limit of detection of Cq data: a Cq above it (or none) is a non-detect, ranked below every "
           "measured value.", ("--lod",), kind=float, setting="nondetect_lod"),
    Option("patient", "Clinical column with each sample's patient: IDs are labels (pairing keys, also as digits); "
           "panel CV folds keep a patient's samples together.", ("--patient",), setting="patient"),
)


@dataclass
class AnalysisResult:
    """Everything ``analyze`` found: the Cohort, the tables and what the report draws."""

    adata: ad.AnnData
    settings: AnalysisSettings
    comparisons: list[Any]  # exomir.analysis.comparisons.Comparison, until it moves below the report
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    roc_curves: dict[str, dict[str, pd.DataFrame]] = field(default_factory=dict)
    panel_analyses: dict[str, Any] = field(default_factory=dict)  # comparison → tools.PanelAnalysis
    km_curves: dict[str, Any] = field(default_factory=dict)  # "endpoint: miRNA" → tools.KMCurves
    time_roc_curves: pd.DataFrame | None = None  # cumulative/dynamic ROC curves at the horizons
    notes: list[str] = field(default_factory=list)


@dataclass
class MetaAnalysis:
    """A finished cross-study meta-analysis: the tables that are written and the fits behind them."""

    measure: str
    method: str
    test: str
    min_studies: int
    studies: list[str]
    sources: list[str]
    summary: pd.DataFrame
    forest: pd.DataFrame
    excluded: pd.DataFrame
    comparison: str | None = None
    endpoint: str | None = None
    results: dict[str, MetaResult] = field(default_factory=dict)  # by mirna (display name)
