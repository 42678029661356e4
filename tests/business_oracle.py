"""An independent brute-force reading of SPEC §9.1 and §9.3 in plain Python (zoneinfo).

Every local date of the range is expanded into its intervals, one boundary at a time:
a wall time in a spring-forward gap maps to the instant the gap ends (found by walking
minutes), an ambiguous one to its first occurrence (fold=0). Holidays remove whole local
days. Business time is the length of [a, b) intersected with the union, summed interval by
interval; the due instant walks the intervals in order. Nothing here shares code with the
engine.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

US = 1_000_000
UTC = dt.UTC
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _micros(moment: dt.datetime) -> int:
    delta = moment.astimezone(UTC) - dt.datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * US + delta.microseconds


def wall_to_instant(zone: ZoneInfo, wall: dt.datetime) -> int:
    """SPEC §9.1: gap → the instant the gap ends; overlap → the first occurrence."""
    first = wall.replace(tzinfo=zone, fold=0)
    back = first.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    if back == wall:
        return _micros(first)
    # In a gap: the earliest instant whose wall time is at or after `wall`. The instant
    # with the later offset (fold=1) lies before the gap end; walk forward by minutes.
    moment = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    for _ in range(24 * 60):
        if moment.astimezone(zone).replace(tzinfo=None) >= wall:
            return _micros(moment)
        moment += dt.timedelta(minutes=1)
    raise AssertionError(f"no gap end near {wall}")


def _clock(text: str) -> int:
    h, m = text.split(":")
    return int(h) * 60 + int(m)


def intervals(spec: dict, first: dt.date, last: dt.date) -> list[tuple[int, int]]:
    """The calendar's business intervals opened on local dates first..last, holidays cut,
    as a sorted list of disjoint [start, end) in UTC µs."""
    zone = ZoneInfo(spec["tz"])
    versions = [(dt.date.min, spec.get("week", {}))] + [
        (dt.date.fromisoformat(v["from"]), v["week"]) for v in spec.get("versions", [])
    ]
    raw = []
    day = first
    while day <= last:
        week = [w for start, w in versions if start <= day][-1]
        for text in week.get(WEEKDAYS[day.weekday()], []):
            a, b = (_clock(x) for x in text.split("-"))
            if b <= a:
                b += 24 * 60
            start = dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=a)
            end = dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=b)
            s, e = wall_to_instant(zone, start), wall_to_instant(zone, end)
            if s < e:
                raw.append((s, e))
        day += dt.timedelta(days=1)
    raw.sort()
    union: list[list[int]] = []
    for s, e in raw:
        if union and s <= union[-1][1]:
            union[-1][1] = max(union[-1][1], e)
        else:
            union.append([s, e])
    cuts = []
    for text in spec.get("holidays", []):
        d = dt.date.fromisoformat(text)
        midnight = dt.datetime.combine(d, dt.time())
        cuts.append(
            (wall_to_instant(zone, midnight), wall_to_instant(zone, midnight + dt.timedelta(1)))
        )
    out = []
    for s, e in union:
        pieces = [(s, e)]
        for c0, c1 in cuts:
            pieces = [
                part
                for a, b in pieces
                for part in ((a, min(b, c0)), (max(a, c1), b))
                if part[0] < part[1]
            ]
        out.extend(pieces)
    return sorted(out)


def business_time(spans: list[tuple[int, int]], a: int, b: int) -> int:
    """B(a, b) in µs (0 when b <= a)."""
    if b <= a:
        return 0
    return sum(max(0, min(b, e) - max(a, s)) for s, e in spans)


def due(spans: list[tuple[int, int]], a: int, target: int) -> int | None:
    """The earliest d >= a with B(a, d) = target; target 0: the first business instant."""
    left = target
    for s, e in spans:
        if e <= a:
            continue
        start = max(s, a)
        if left == 0:
            return start
        if e - start >= left:
            return start + left
        left -= e - start
    return None
