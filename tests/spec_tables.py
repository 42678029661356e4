"""Tables of SPEC.md written out as literals, shared by the tests that check the defaults
against the contract (never derived from the library)."""

#: SPEC §7: rule id -> (likely cause, first corrective action, validation metric).
SPEC_RULE_TEXT = {
    "deflection_up_conversion_down": (
        "self-service content unclear for buying-stage questions",
        "rewrite high-intent help modules and add route-back CTAs",
        "recovery_rate_7d of assisted contacts",
    ),
    "repeats_up_volume_flat": (
        "issue not resolved end-to-end",
        "enforce root-cause tags and escalation ownership",
        "repeat_contact_rate_14d",
    ),
    "wismo_after_launch": (
        "ETA communication weak in post-purchase flow",
        "improve shipment status visibility and proactive updates",
        "wismo_share",
    ),
    "backlog_after_promo": (
        "returns and discount logic confusion",
        "add campaign-specific policy explainers and scripts",
        "policy_contact_share",
    ),
    "mobile_contacts_despite_web": (
        "app/web parity gap in key flows",
        "map parity defects and prioritize high-impact fixes",
        "preventable_contact_rate on mobile",
    ),
    "csat_below_floor": (
        "quality, speed or accuracy gap",
        "review all sub-4 responses from the past 7 days and name the root cause",
        "csat_mean",
    ),
    "ai_quality_gap": (
        "AI answers weaker than human ones",
        "review knowledge and data connections of the AI agent",
        "csat_ai_human_gap",
    ),
    "escalations_high": (
        "knowledge gaps",
        "find escalation categories and close the knowledge gaps",
        "escalation_rate by intent",
    ),
    "tickets_per_order_rising": (
        "something upstream is getting worse",
        "check volume by intent and the journey steps behind it",
        "tickets_per_order",
    ),
    # SPEC §9.3 via issue #18: "SLA breaches rising while volume is flat -> staffing or
    # routing; owner support operations".
    "sla_breaches_volume_flat": (
        "staffing or routing",
        "check staffing against the queue and the routing of the breached policies",
        "sla_first_response_rate",
    ),
    "friction_hotspot": (
        "a repeated friction pattern in that template/campaign/device",
        "fix the flow behind it",
        "contacts per order in that group",
    ),
}


#: The quantile KPIs of SPEC §5 (medians and p90s): in partial states they travel as
#: DDSketches, so merged values are held to the sketch's accuracy, not to exact equality.
QUANTILE_KPIS = {
    "frt_median",
    "frt_p90",
    "frt_median_ai",
    "frt_median_human",
    "resolution_time_median",
    "resolution_time_p90",
    "recovery_hours_median",
    # SPEC §9.2, §9.4
    "frt_business_median",
    "frt_business_p90",
    "resolution_time_business_median",
    "resolution_time_business_p90",
    "first_resolution_time_median",
}
