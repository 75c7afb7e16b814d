"""Which groups are compared: ``--case HCC --control LC --control CHB`` → HCC_vs_LC, HCC_vs_CHB.

A control written ``LC+CHB+Healthy`` pools those groups into one control arm. Which samples are
case and which control is decided by :func:`exomir.cohort.select_groups`, for planning and for
every step that runs a comparison.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from exomir.cohort import Comparison, select_groups


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
    requested = split_values(controls)
    if not requested:
        select_groups(obs, group, case)  # the column, the case group and at least one other group
        present = dict.fromkeys(obs[group].astype("string").dropna().tolist())
        requested = [value for value in present if value != case]
    comparisons = []
    for control in requested:
        arms = [part.strip() for part in control.split("+") if part.strip()]
        comparisons.append(Comparison(group=group, case=case, controls=select_groups(obs, group, case, arms).controls))
    return comparisons
