"""A fired rule's evidence in words (SPEC §10.3): the change, its interval and p-value,
formatted in the KPI's unit, instead of the raw condition text and 16-digit numbers.

The engine's evidence is a dict: a condition's text -> the value that met it, a tested
change (``significant(...)``) -> ``{kpi, against, difference, ci_low, ci_high, p_value}``,
``<kind>_event`` -> an event name, and for hotspots the dimension, value, shares and
p-values. :func:`describe_evidence` writes each entry as a short clause.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from ._present import as_float, catalog_entry, format_delta, format_value, kpi_name

# "fn(kpi|fallback) op number" or "kpi op number"; anything else is quoted as written.
_CONDITION = re.compile(
    r"^\s*(?:(?P<abs>abs\(\s*)?(?P<fn>delta|pct_change|ratio_to_baseline)"
    r"\(\s*(?P<inner>[\w.|-]+)\s*\)(?(abs)\s*\))"
    r"|(?P<kpi>[\w.|-]+))\s*(?P<op><=|>=|==|<|>)\s*(?P<number>[-+0-9.eE]+)\s*$"
)
# Slices: "ratio(by(dim, a, kpi), by(dim, b, kpi)) op x" and "delta(by(dim, v, kpi)) op x".
_BY = r"by\(\s*(?P<dim{n}>[\w.-]+)\s*,\s*(?P<value{n}>[\w.-]+)\s*,\s*(?P<kpi{n}>[\w.-]+)\s*\)"
_COMPARE = r"\s*(?P<op><=|>=|==|<|>)\s*(?P<number>[-+0-9.eE]+)\s*$"
_SLICE_RATIO = re.compile(
    r"^\s*ratio\(\s*" + _BY.format(n=1) + r"\s*,\s*" + _BY.format(n=2) + r"\s*\)" + _COMPARE
)
_SLICE_DELTA = re.compile(r"^\s*delta\(\s*" + _BY.format(n=1) + r"\s*\)" + _COMPARE)
_OPS = {"<=": "≤", ">=": "≥", "==": "=", "<": "<", ">": ">"}
_AGAINST = {"previous": "the previous period", "baseline": "the baseline window"}


def format_p(p: object) -> str:
    """A p-value for people: ``p = `` 3 decimals, or ``p < 0.001``.

    Example:
        >>> format_p(0.0123), format_p(2.7e-18), format_p(0.5)
        ('p = 0.012', 'p < 0.001', 'p = 0.500')
    """
    number = as_float(p)
    if number is None:
        return "p = n/a"
    return "p < 0.001" if number < 0.001 else f"p = {number:.3f}"


def _unit(kpi: str) -> str:
    return str(catalog_entry(kpi).get("unit", ""))


def _first_kpi(ids: str) -> str:
    # Fallback lists ("conversion_rate|recovery_rate_7d") name the first KPI.
    return ids.split("|")[0]


def _describe_slice(text: str, value: float) -> str | None:
    if match := _SLICE_RATIO.match(text):
        op = _OPS[match["op"]]
        return (
            f"{kpi_name(match['kpi1'])} on {match['dim1']} {match['value1']} at "
            f"{value:.2f}× {match['value2']} (rule: {op} {float(match['number']):.2f}×)"
        )
    if match := _SLICE_DELTA.match(text):
        kpi, op = match["kpi1"], _OPS[match["op"]]
        unit = _unit(kpi)
        return (
            f"{kpi_name(kpi)} on {match['dim1']} {match['value1']} changed "
            f"{format_delta(value, unit)} on the previous period "
            f"(rule: {op} {format_delta(float(match['number']), unit)})"
        )
    return None


def _describe_condition(text: str, value: float) -> str:
    match = _CONDITION.match(text)
    if match is None:
        return _describe_slice(text, value) or f"{text}: {value:.4g}"
    op, threshold = _OPS[match["op"]], float(match["number"])
    fn, kpi = match["fn"], _first_kpi(match["inner"] or match["kpi"])
    name, unit = kpi_name(kpi), _unit(kpi)
    if match["abs"] and fn == "pct_change":
        return (
            f"{name} moved {100 * value:.1f}% from the previous period "
            f"(rule: {op} {100 * threshold:.1f}%)"
        )
    if match["abs"] and fn == "delta":
        return (
            f"{name} moved {format_delta(value, unit).lstrip('+')} from the previous "
            f"period (rule: {op} {format_delta(threshold, unit).lstrip('+')})"
        )
    if fn is None:
        return (
            f"{name} {format_value(value, unit, kpi)} "
            f"(rule: {op} {format_value(threshold, unit, kpi)})"
        )
    if fn == "delta":
        return (
            f"{name} changed {format_delta(value, unit)} on the previous period "
            f"(rule: {op} {format_delta(threshold, unit)})"
        )
    if fn == "pct_change":
        return (
            f"{name} changed {100 * value:+.1f}% on the previous period "
            f"(rule: {op} {100 * threshold:+.1f}%)"
        )
    if fn == "ratio_to_baseline":
        return f"{name} at {value:.2f}× its baseline (rule: {op} {threshold:.2f}×)"
    return f"{text_of(match)}: {value:.4g}"


def text_of(match: re.Match[str]) -> str:
    return match.string.strip()


def _delta_rules(evidence: Mapping[str, Any]) -> dict[str, str]:
    """KPI id -> the threshold of its ``delta(kpi) op number`` condition, in words (every
    id of a fallback list, since the tested change names the one the card computed)."""
    rules = {}
    for key in evidence:
        match = _CONDITION.match(key)
        if match is None or match["fn"] != "delta" or match["abs"]:
            continue
        unit = _unit(_first_kpi(match["inner"]))
        words = f"{_OPS[match['op']]} {format_delta(float(match['number']), unit)}"
        for kpi in match["inner"].split("|"):
            rules[kpi] = words
    return rules


def _describe_change(
    change: Mapping[str, Any], confidence: float | None, rule: str | None = None
) -> str:
    kpi = str(change.get("kpi", ""))
    unit = _unit(kpi)
    against = _AGAINST.get(str(change.get("against")), str(change.get("against")))
    text = f"{kpi_name(kpi)} {format_delta(change.get('difference'), unit)} vs {against}"
    low, high = as_float(change.get("ci_low")), as_float(change.get("ci_high"))
    if low is not None and high is not None:
        level = f"{100 * confidence:g}% " if confidence else ""
        text += f" ({level}CI {format_delta(low, unit)} to {format_delta(high, unit)})"
    text += f", {format_p(change.get('p_value'))}"
    return f"{text} (rule: {rule})" if rule else text


def _describe_hotspot(evidence: Mapping[str, Any]) -> str:
    contacts, orders = as_float(evidence.get("contacts")), as_float(evidence.get("orders"))
    text = (
        f"{evidence.get('dimension')} = {evidence.get('value')}: "
        f"{format_value(evidence.get('contact_share'), 'rate')} of contacts vs "
        f"{format_value(evidence.get('order_share'), 'rate')} of orders"
    )
    if contacts is not None and orders is not None:
        text += f" ({contacts:,.0f} contacts, {orders:,.0f} orders)"
    if "p_value" in evidence:
        adjusted = format_p(evidence.get("adjusted_p_value")).removeprefix("p ")
        p_value = format_p(evidence.get("p_value"))
        text += f", {p_value} (adjusted across the values scanned: {adjusted})"
    return text


def describe_evidence(evidence: Mapping[str, Any], confidence: float | None = None) -> str:
    """A fired rule's evidence as clauses joined by ``; ``.

    Example:
        >>> describe_evidence({
        ...     "delta(deflection_rate) >= 0.02": 0.0312,
        ...     "significant(delta(deflection_rate))": {
        ...         "kpi": "deflection_rate", "against": "previous", "difference": 0.0312,
        ...         "ci_low": 0.011, "ci_high": 0.051, "p_value": 0.0021},
        ...     "launch_event": "Autumn launch",
        ... }, 0.95).split("; ")  # doctest: +NORMALIZE_WHITESPACE
        ['Deflection rate +3.1 pp vs the previous period (95% CI +1.1 pp to +5.1 pp),
          p = 0.002 (rule: ≥ +2.0 pp)',
         'after the launch event "Autumn launch"']

    A change tested against the previous period carries its ``delta`` condition's
    threshold, instead of a second clause repeating the change. Slices read as such:

        >>> describe_evidence({
        ...     "ratio(by(device, mobile, preventable_contact_rate), "
        ...     "by(device, desktop, preventable_contact_rate)) >= 1.3": 1.4412,
        ...     "delta(by(device, desktop, conversion_rate)) >= 0": 0.00581934,
        ... }).split("; ")  # doctest: +NORMALIZE_WHITESPACE
        ['Preventable contact rate on device mobile at 1.44× desktop (rule: ≥ 1.30×)',
         'Conversion rate on device desktop changed +0.6 pp on the previous period
          (rule: ≥ +0.0 pp)']
    """
    if "dimension" in evidence and "contact_share" in evidence:
        return _describe_hotspot(evidence)
    delta_rules = _delta_rules(evidence)
    tested = {
        str(v.get("kpi"))
        for v in evidence.values()
        if isinstance(v, Mapping) and v.get("against") == "previous"
    }
    clauses = []
    for key, value in evidence.items():
        if isinstance(value, Mapping) and "p_value" in value:
            kpi = str(value.get("kpi"))
            rule = delta_rules.get(kpi) if value.get("against") == "previous" else None
            clauses.append(_describe_change(value, confidence, rule))
        elif (
            (m := _CONDITION.match(key))
            and m["fn"] == "delta"
            and not m["abs"]
            and any(kpi in tested for kpi in m["inner"].split("|"))
        ):
            continue  # said with its tested change
        elif key.endswith("_event"):
            clauses.append(f'after the {key[: -len("_event")]} event "{value}"')
        elif isinstance(value, int | float) and math.isfinite(value):
            clauses.append(_describe_condition(key, float(value)))
        else:
            clauses.append(f"{key}: {value}")
    return "; ".join(clauses)
