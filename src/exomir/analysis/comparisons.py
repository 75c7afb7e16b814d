"""Which groups are compared: ``--case HCC --control LC --control CHB`` → HCC_vs_LC, HCC_vs_CHB.

A control written ``LC+CHB+Healthy`` pools those groups into one control arm.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import anndata as ad
import pandas as pd

from exomir.errors import InputError

POOLED_COLUMN = "_exomir_comparison"


@dataclass(frozen=True)
class Comparison:
    """``case`` against the (possibly pooled) ``controls`` of one group column."""

    group: str
    case: str
    controls: tuple[str, ...]

    @property
    def control(self) -> str:
        return "+".join(self.controls)

    @property
    def name(self) -> str:
        return f"{self.case}_vs_{self.control}"

    @property
    def pooled(self) -> bool:
        return len(self.controls) > 1

    def labels(self, obs: pd.DataFrame) -> pd.Series:
        """``case`` / ``control`` / missing per sample."""
        values = obs[self.group].astype("string")
        out = pd.Series(pd.NA, index=obs.index, dtype="string")
        out[values == self.case] = "case"
        out[values.isin(list(self.controls))] = "control"
        return out

    def call_arguments(self, adata: ad.AnnData) -> tuple[str, str, str]:
        """(group column, case, control) for a statistics function; pooled arms get a derived column."""
        if not self.pooled:
            return self.group, self.case, self.controls[0]
        labels = self.labels(adata.obs)
        adata.obs[POOLED_COLUMN] = pd.Categorical(
            labels.map({"case": self.case, "control": self.control}).astype(object).where(labels.notna(), None)
        )
        return POOLED_COLUMN, self.case, self.control


def split_values(values: Iterable[str] | str | None) -> list[str]:
    """Repeatable and comma-separated option values, in order, without repeats."""
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    out: list[str] = []
    for value in values:
        for part in str(value).split(","):
            part = part.strip()
            if part and part not in out:
                out.append(part)
    return out


def plan_comparisons(obs: pd.DataFrame, group: str, case: str, controls: Iterable[str] | str | None) -> list[Comparison]:
    """Check the group column and the requested groups; one Comparison per control.

    Without controls, every other group of the column (in order of appearance) is a control.
    """
    if group not in obs.columns:
        raise InputError(f"no group column {group!r} in the clinical table", column=group,
                         expected="one of " + ", ".join(repr(c) for c in obs.columns))
    labels = obs[group].astype("string")
    present = list(dict.fromkeys(v for v in labels.dropna().tolist()))
    if case not in present:
        raise InputError(f"case group {case!r} not found in column {group!r}", column=group,
                         expected="one of " + ", ".join(repr(v) for v in present))
    requested = split_values(controls) or [v for v in present if v != case]
    comparisons = []
    for control in requested:
        arms = tuple(part.strip() for part in control.split("+") if part.strip())
        for arm in arms:
            if arm not in present:
                raise InputError(f"control group {arm!r} not found in column {group!r}", column=group,
                                 expected="one of " + ", ".join(repr(v) for v in present))
            if arm == case:
                raise InputError(f"{arm!r} is the case group and cannot also be a control", column=group)
        comparisons.append(Comparison(group=group, case=case, controls=arms))
    if not comparisons:
        raise InputError(f"column {group!r} holds no group besides {case!r} to compare with", column=group)
    return comparisons
