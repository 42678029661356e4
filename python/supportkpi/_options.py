"""The arguments of the public functions as the engine reads them: instants, windows,
groupings and the options of a view."""

from __future__ import annotations

import datetime as dt
import math
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

import pandas as pd

from ._config import Config
from ._supportkpi import ConfigError

TimeLike: TypeAlias = dt.datetime | pd.Timestamp | str
WindowLike: TypeAlias = dt.timedelta | pd.Timedelta | str
ConfigLike: TypeAlias = Config | Mapping[str, Any] | str | os.PathLike[str] | None


def to_micros(value: TimeLike, name: str) -> int:
    """A point in time as UTC microseconds; naive values are read as UTC."""
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError) as error:
        raise ConfigError(f"{name}: not a point in time: {value!r}") from error
    if stamp is pd.NaT:
        raise ConfigError(f"{name}: must not be NaT")
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return int(stamp.value // 1000)


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([dhms])\s*$")
_UNIT_MICROS = {"d": 86_400_000_000, "h": 3_600_000_000, "m": 60_000_000, "s": 1_000_000}


def window_micros(value: WindowLike, name: str) -> int:
    """A duration in microseconds: a timedelta, or text such as "7d", "48h" (the config's
    own format), or anything pandas reads as a Timedelta."""
    if isinstance(value, str) and (match := _DURATION.match(value)):
        micros = round(float(match.group(1)) * _UNIT_MICROS[match.group(2)])
    else:
        try:
            delta = pd.Timedelta(value)
        except (ValueError, TypeError, OverflowError) as error:
            raise ConfigError(f"{name}: not a duration: {value!r}") from error
        if delta is pd.NaT:
            raise ConfigError(f"{name}: must not be NaT")
        micros = int(delta.value // 1000)
    # The core reads a 64-bit count and bounds windows itself (at most 100 years, with its
    # message); a longer one must reach it as too long, not as an unreadable number.
    return max(-_I64_MAX, min(micros, _I64_MAX))


_I64_MAX = 2**63 - 1


def lifespan_days(value: float) -> float:
    """clv_lifespan_days as a finite float (JSON has no inf or NaN; the core bounds it)."""
    try:
        days = float(value)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"clv_lifespan_days: not a number: {value!r}") from error
    if not math.isfinite(days):
        raise ConfigError(f"clv_lifespan_days: must be a finite number of days, not {value!r}")
    return days


def group_list(group_by: str | Sequence[str] | None) -> list[str]:
    if group_by is None:
        return []
    if isinstance(group_by, str):
        return [group_by]
    return [str(g) for g in group_by]


def view_options(
    by: str,
    tz: str,
    groups: list[str],
    repurchase_window: WindowLike | None,
    baseline_window: WindowLike | None,
    baseline_range: tuple[TimeLike, TimeLike] | None,
    clv_lifespan_days: float,
    kpis: str | Sequence[str] | None = None,
) -> dict[str, Any]:
    """The options of a view (period, zone, grouping, cohort, baseline and the KPIs shown),
    as the core reads them."""
    view: dict[str, Any] = {
        "by": by,
        "tz": tz,
        "group_by": groups,
        "clv_lifespan_days": lifespan_days(clv_lifespan_days),
    }
    if kpis is not None:
        view["kpis"] = group_list(kpis)
    for key, value in (
        ("repurchase_window", repurchase_window),
        ("baseline_window", baseline_window),
    ):
        if value is not None:
            view[key] = window_micros(value, key)
    if baseline_range is not None:
        view["baseline_range"] = [
            to_micros(baseline_range[0], "baseline_range"),
            to_micros(baseline_range[1], "baseline_range"),
        ]
    return view
