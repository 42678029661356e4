"""Configuration as data (SPEC §4, §6, §7; docs/semantics.md "Readings for bands, baselines
and rules"): the defaults, partial overrides, TOML / JSON round trips, ConfigError naming the
bad key, and the effect of the taxonomy, scales and cost-model sections on the KPIs.
"""

import json
import math
from datetime import timedelta

import pandas as pd
import pytest
import supportkpi as sk
from frames import W, at, orders, table
from spec_tables import SPEC_RULE_TEXT


def contacts(rows):
    """One week (W0) of contacts, a minute apart from Tuesday 10:00."""
    rows = [
        {"customer_id": None, "created_at": at(0, days=1, minutes=i), **r}
        for i, r in enumerate(rows)
    ]
    return table(rows, "contact_id")


def one_order(revenue=10.0):
    return orders([{"created_at": at(0, days=1), "revenue": revenue}])


def kpi_row(card, kpi, period=0):
    long = card.to_pandas()
    rows = long[(long["kpi"] == kpi) & (long["period_start"] == W[period])]
    assert len(rows) == 1, (kpi, rows)
    return rows.iloc[0]


# --- the defaults mirror SPEC §6 / §7 / §4 -------------------------------------------------

LOWER, HIGHER, RANGE = "lower_is_better", "higher_is_better", "range"

# SPEC §6, row by row: (shape, healthy edge, watch edge, owner); range: (min, max, watch_max)
SPEC_BANDS = {
    "preventable_contact_rate": (LOWER, 0.018, 0.028, "CX + ecommerce ops"),
    "self_service_resolution_rate": (HIGHER, 0.72, 0.60, "support enablement"),
    "recovery_rate_7d": (HIGHER, 0.18, 0.10, "growth + lifecycle"),
    "repeat_contact_rate_14d": (LOWER, 0.12, 0.20, "support operations"),
    "cost_per_resolved_vs_baseline": (LOWER, 0.10, 0.20, "finance + support"),
    "negative_csat_checkout_shipping_share": (LOWER, 0.08, 0.14, "product + checkout owner"),
    "csat_mean": (HIGHER, 4.3, 4.0, "support lead"),
    "fcr_rate": (HIGHER, 0.75, 0.65, "support operations"),
    "deflection_rate": (HIGHER, 0.50, 0.35, "support enablement"),
    "recontact_rate_48h": (LOWER, 0.10, 0.15, "support operations"),
    "escalation_rate": (RANGE, (0.20, 0.40), 0.50, "support enablement"),
    "resolution_accuracy": (HIGHER, 0.90, 0.85, "support enablement"),
    "csat_ai_human_gap": (LOWER, 0.3, 0.5, "support lead"),
    "tickets_per_order": (LOWER, 0.10, 0.15, "CX + ecommerce ops"),
    "frt_median_human": (LOWER, 240.0, 480.0, "support lead"),
    "frt_median_ai": (LOWER, 5.0, 15.0, "support enablement"),
    "aht_minutes": (LOWER, 15.0, 20.0, "support lead"),
    "backlog_age_hours": (LOWER, 4.0, 8.0, "support operations"),
    # SPEC §9.3, §9.4
    "sla_first_response_rate": (HIGHER, 0.95, 0.90, "support operations"),
    "sla_resolution_rate": (HIGHER, 0.95, 0.90, "support operations"),
    "reopen_rate": (LOWER, 0.10, 0.15, "support operations"),
}

# docs/semantics.md, "The default rules (SPEC §7) as conditions"
DOC_RULE_CONDITIONS = {
    "deflection_up_conversion_down": [
        "delta(deflection_rate) >= 0.02",
        "significant(delta(deflection_rate))",
        "delta(conversion_rate|recovery_rate_7d) <= -0.01",
        "significant(delta(conversion_rate|recovery_rate_7d))",
    ],
    "repeats_up_volume_flat": [
        "abs(pct_change(contacts)) <= 0.05",
        "delta(repeat_contact_rate_14d) >= 0.02",
        "significant(delta(repeat_contact_rate_14d))",
    ],
    "wismo_after_launch": [
        "event_ended_within(launch, 14d)",
        "ratio_to_baseline(wismo_share) >= 1.25",
        "significant(ratio_to_baseline(wismo_share))",
    ],
    "backlog_after_promo": [
        "event_ended_within(promo, 14d)",
        "ratio_to_baseline(backlog_open) >= 1.5",
    ],
    "mobile_contacts_despite_web": [
        "ratio(by(device, mobile, preventable_contact_rate), "
        "by(device, desktop, preventable_contact_rate)) >= 1.3",
        "delta(by(device, desktop, conversion_rate)) >= 0",
    ],
    "csat_below_floor": ["csat_mean < 4.0"],
    "ai_quality_gap": ["csat_ai_human_gap > 0.3"],
    "escalations_high": ["escalation_rate > 0.4"],
    "tickets_per_order_rising": ["ratio_to_baseline(tickets_per_order) >= 1.10"],
    "sla_breaches_volume_flat": [
        "abs(pct_change(contacts)) <= 0.05",
        "pct_change(sla_first_response_breaches) >= 0.25",
        "sla_first_response_breaches >= 5",
    ],
}

# SPEC §7: likely cause, first corrective action, validation metric

# SPEC §4: intent -> (journey_step, preventable, policy, checkout_shipping)
SPEC_TAXONOMY = {
    "order_tracking": ("post_purchase", True, False, True),
    "shipping_info": ("checkout", True, False, True),
    "payment_issue": ("checkout", False, False, True),
    "promo_confusion": ("cart", True, True, True),
    "returns": ("post_purchase", True, True, False),
    "product_question": ("product_discovery", True, False, False),
    "cancellation": ("post_purchase", False, False, False),
    "damaged_item": ("post_purchase", False, False, False),
    "account": ("account", False, False, False),
    "other": ("unknown", False, False, False),
    "unknown": ("unknown", False, False, False),
}


def test_default_bands_mirror_spec_table():
    bands = sk.default_config()["bands"]
    assert set(bands) == set(SPEC_BANDS)
    for kpi, (shape, healthy, watch, owner) in SPEC_BANDS.items():
        band = bands[kpi]
        assert band["shape"] == shape, kpi
        assert band["owner"] == owner, kpi
        if shape == LOWER:
            assert band["healthy_max"] == pytest.approx(healthy, rel=1e-12), kpi
            assert band["watch_max"] == pytest.approx(watch, rel=1e-12), kpi
        elif shape == HIGHER:
            assert band["healthy_min"] == pytest.approx(healthy, rel=1e-12), kpi
            assert band["watch_min"] == pytest.approx(watch, rel=1e-12), kpi
        else:
            assert band["healthy_min"] == pytest.approx(healthy[0], rel=1e-12), kpi
            assert band["healthy_max"] == pytest.approx(healthy[1], rel=1e-12), kpi
            assert band["watch_max"] == pytest.approx(watch, rel=1e-12), kpi


def test_catalogue_carries_the_same_bands_and_owners():
    cat = sk.kpi_catalog().set_index("id")
    banded = {kpi for kpi, band in cat["band"].items() if isinstance(band, dict)}
    assert banded == set(SPEC_BANDS)
    for kpi, (shape, _, _, owner) in SPEC_BANDS.items():
        assert cat.loc[kpi, "owner"] == owner, kpi
        assert cat.loc[kpi, "band"]["shape"] == shape, kpi
        assert cat.loc[kpi, "direction"] == shape, kpi


def test_default_rules_mirror_spec_table():
    rules = sk.default_config()["rules"]
    assert set(rules) == set(SPEC_RULE_TEXT)
    for rule_id, (cause, action, metric) in SPEC_RULE_TEXT.items():
        rule = rules[rule_id]
        assert rule["enabled"] is True
        assert rule["likely_cause"] == cause
        assert rule["action"] == action
        assert rule["validation_metric"] == metric
        assert rule["owner"] and rule["symptom"]
    for rule_id, when in DOC_RULE_CONDITIONS.items():
        assert rules[rule_id]["kind"] == "conditions"
        assert rules[rule_id]["when"] == when, rule_id
    hotspot = rules["friction_hotspot"]
    assert hotspot["kind"] == "hotspot"
    assert sorted(hotspot["dimensions"]) == ["campaign", "device", "template"]
    assert hotspot["min_contacts"] == 30
    assert hotspot["min_ratio"] == 2


def test_default_taxonomy_mirrors_spec():
    taxonomy = sk.default_config()["taxonomy"]
    assert set(taxonomy) == set(SPEC_TAXONOMY)
    for intent, (step, preventable, policy, checkout) in SPEC_TAXONOMY.items():
        assert taxonomy[intent] == {
            "journey_step": step,
            "preventable": preventable,
            "policy": policy,
            "checkout_shipping": checkout,
        }, intent


def test_default_windows_scales_cost_model():
    cfg = sk.default_config()
    assert cfg["windows"] == {
        "recovery": "7d",
        "repeat": "14d",
        "recontact": "48h",
        "baseline": "30d",
        "repurchase": "90d",
    }
    assert cfg["scales"] == {
        "csat": {"min": 1, "max": 5},
        "nps": {"min": 0, "max": 10},
        "ces": {"min": 1, "max": 7},
    }
    assert cfg["cost_model"]["source"] == "auto"
    assert cfg["cost_model"]["per_contact"] == {}
    assert cfg["cost_model"]["per_handle_minute"] == 0


def test_default_config_is_a_fresh_copy():
    a = sk.default_config()
    a["bands"]["csat_mean"]["healthy_min"] = 1.0
    assert sk.default_config()["bands"]["csat_mean"]["healthy_min"] == 4.3


# --- partial configs, round trips ------------------------------------------------------


def test_empty_configs_are_the_defaults():
    default = sk.default_config()
    for cfg in (sk.Config(), sk.Config({}), sk.Config(None), sk.Config.from_toml("")):
        assert cfg.to_dict() == default
    assert sk.Config.from_json("{}").to_dict() == default


def test_partial_config_overrides_only_what_it_names():
    cfg = sk.Config(
        {
            "bands": {"csat_mean": {"healthy_min": 4.5}},
            "rules": {"csat_below_floor": {"when": ["csat_mean < 3.5"]}},
            "windows": {"recovery": "3d"},
            "taxonomy": {"returns": {"policy": False}},
        }
    )
    expected = sk.default_config()
    expected["bands"]["csat_mean"]["healthy_min"] = 4.5
    expected["rules"]["csat_below_floor"]["when"] = ["csat_mean < 3.5"]
    expected["windows"]["recovery"] = "3d"
    expected["taxonomy"]["returns"]["policy"] = False
    assert cfg.to_dict() == expected


def test_partial_config_adds_a_band_a_rule_and_an_intent():
    cfg = sk.Config(
        {
            "bands": {
                "ces_mean": {
                    "shape": "higher_is_better",
                    "healthy_min": 5.0,
                    "watch_min": 4.0,
                    "owner": "CX",
                }
            },
            "taxonomy": {
                "gift_card": {
                    "journey_step": "post_purchase",
                    "preventable": True,
                    "policy": False,
                    "checkout_shipping": False,
                }
            },
            "rules": {"low_ces": {"when": ["ces_mean < 4"], "owner": "CX"}},
        }
    ).to_dict()
    default = sk.default_config()
    assert set(cfg["bands"]) == set(default["bands"]) | {"ces_mean"}
    assert set(cfg["taxonomy"]) == set(default["taxonomy"]) | {"gift_card"}
    assert set(cfg["rules"]) == set(default["rules"]) | {"low_ces"}
    assert cfg["rules"]["low_ces"]["when"] == ["ces_mean < 4"]
    assert cfg["rules"]["low_ces"]["enabled"] is True
    for rule_id, rule in default["rules"].items():
        assert cfg["rules"][rule_id] == rule
    # a band added for a KPI without a default band shows up in card.bands()
    c = contacts([{"ces": 4.5}, {"ces": 3.5}] * 15)  # mean 4.0 over 30 (min_sample): watch
    card = sk.scorecard(c, one_order(), config={"bands": {"ces_mean": cfg["bands"]["ces_mean"]}})
    b = card.bands()
    row = b[b["kpi"] == "ces_mean"].iloc[0]
    assert (row["value"], row["band"], row["owner"]) == (4.0, "watch", "CX")


def test_toml_round_trip_of_defaults_and_overrides():
    for cfg in (
        sk.Config(),
        sk.Config({"bands": {"escalation_rate": {"healthy_min": 0.1}}}),
        sk.Config.from_toml(
            '[rules.slow]\nwhen = ["frt_median > 60"]\nsymptom = "s"\nlikely_cause = "c"\n'
            'action = "a"\nvalidation_metric = "frt_median"\nowner = "o"\n'
            "[cost_model]\nper_contact = { human = 5, ai = 1 }\n"
            '[scales.csat]\nmin = 1\nmax = 10\n[windows]\nbaseline = "28d"\n'
        ),
    ):
        assert sk.Config.from_toml(cfg.to_toml()) == cfg
        assert sk.Config.from_json(cfg.to_json()) == cfg
        assert sk.Config(cfg.to_dict()) == cfg


def test_from_toml_and_from_json_files(tmp_path):
    toml_path = tmp_path / "c.toml"
    toml_path.write_text("[bands.csat_mean]\nhealthy_min = 4.5\n", encoding="utf-8")
    json_path = tmp_path / "c.json"
    json_path.write_text(json.dumps({"bands": {"csat_mean": {"healthy_min": 4.5}}}), "utf-8")
    want = sk.Config({"bands": {"csat_mean": {"healthy_min": 4.5}}})
    assert sk.Config.from_toml(toml_path) == want
    assert sk.Config.from_toml(str(toml_path)) == want
    assert sk.Config.from_json(json_path) == want
    assert sk.Config.from_json(str(json_path)) == want
    assert sk.Config.from_json('{"bands": {"csat_mean": {"healthy_min": 4.5}}}') == want


def test_config_equality():
    assert sk.Config() == sk.Config()
    assert sk.Config() != sk.Config({"bands": {"csat_mean": {"healthy_min": 4.5}}})
    assert sk.Config() != sk.default_config()  # a Config only equals a Config


def test_to_dict_is_a_copy():
    cfg = sk.Config()
    d = cfg.to_dict()
    d["bands"]["csat_mean"]["healthy_min"] = 1.0
    assert cfg.to_dict()["bands"]["csat_mean"]["healthy_min"] == 4.3


def test_config_file_path_in_scorecard(tmp_path):
    # csat mean 4.3 is healthy by default, watch with healthy_min = 4.5 from a file
    c = contacts(([{"csat": 5.0}, {"csat": 4.0}, {"csat": 4.0}] + [{"csat": 4.5}] * 2) * 6)
    # (5 + 4 + 4 + 4.5 + 4.5) / 5 = 22 / 5 = 4.4, over 30 ratings (min_sample)
    toml_path = tmp_path / "c.toml"
    toml_path.write_text("[bands.csat_mean]\nhealthy_min = 4.5\n", encoding="utf-8")
    json_path = tmp_path / "c.json"
    json_path.write_text('{"bands": {"csat_mean": {"healthy_min": 4.5}}}', encoding="utf-8")

    def band(config):
        b = sk.scorecard(c, one_order(), config=config).bands()
        return b.loc[b["kpi"] == "csat_mean", "band"].iloc[0]

    assert band(None) == "healthy"
    assert band(str(toml_path)) == "watch"
    assert band(toml_path) == "watch"
    assert band(str(json_path)) == "watch"
    assert band(sk.Config.from_toml(toml_path)) == "watch"
    assert band({"bands": {"csat_mean": {"healthy_min": 4.5}}}) == "watch"


# --- bad configs: ConfigError naming the key --------------------------------------------

BAD_CONFIGS = [
    pytest.param({"bandz": {}}, "bandz", id="unknown-top-level-key"),
    pytest.param(
        {"bands": {"csat_mean": {"healty_min": 4.0}}}, "healty_min", id="unknown-band-field"
    ),
    pytest.param(
        {
            "bands": {
                "not_a_kpi": {
                    "shape": "lower_is_better",
                    "healthy_max": 1.0,
                    "watch_max": 2.0,
                    "owner": "x",
                }
            }
        },
        "not_a_kpi",
        id="band-for-non-kpi",
    ),
    pytest.param(
        {"bands": {"csat_mean": {"healthy_min": 3.9}}}, "csat_mean", id="higher-edges-out-of-order"
    ),
    pytest.param(
        {"bands": {"tickets_per_order": {"healthy_max": 0.2}}},
        "tickets_per_order",
        id="lower-edges-out-of-order",
    ),
    pytest.param(
        {"bands": {"escalation_rate": {"healthy_min": 0.45}}},
        "escalation_rate",
        id="range-min-above-max",
    ),
    pytest.param(
        {"bands": {"escalation_rate": {"watch_max": 0.3}}},
        "escalation_rate",
        id="range-watch-inside-healthy",
    ),
    pytest.param({"bands": {"csat_mean": {"shape": "sideways"}}}, "shape", id="unknown-shape"),
    pytest.param({"windows": {"recovery": "7 days"}}, "recovery", id="bad-duration"),
    pytest.param({"windows": {"baseline": "-3d"}}, "baseline", id="negative-duration"),
    pytest.param({"windows": {"weekly": "7d"}}, "weekly", id="unknown-window"),
    pytest.param(
        {"rules": {"csat_below_floor": {"when": ["csat_mean <<< 4"]}}},
        "csat_below_floor",
        id="condition-does-not-parse",
    ),
    pytest.param(
        {"rules": {"csat_below_floor": {"when": ["csat_meen < 4"]}}},
        "csat_meen",
        id="condition-unknown-kpi",
    ),
    pytest.param(
        {"rules": {"launchy": {"when": ["event_ended_within(sale, 14d)"]}}},
        "launchy",
        id="condition-unknown-event-kind",
    ),
    pytest.param({"rules": {"x": {"whenn": ["csat_mean < 4"]}}}, "whenn", id="unknown-rule-field"),
    pytest.param({"scales": {"csat": {"min": 5, "max": 5}}}, "csat", id="scale-min-equals-max"),
    pytest.param({"scales": {"nps": {"min": 10, "max": 0}}}, "nps", id="scale-min-above-max"),
    pytest.param({"cost_model": {"per_contact": {"human": -1}}}, "human", id="negative-cost-price"),
    pytest.param(
        {"cost_model": {"per_handle_minute": -0.5}}, "per_handle_minute", id="negative-minute-price"
    ),
    pytest.param({"cost_model": {"per_contact": {"robot": 1}}}, "robot", id="unknown-cost-path"),
    pytest.param(
        {"taxonomy": {"returns": {"preventable": "yes"}}}, "preventable", id="taxonomy-bad-type"
    ),
]


@pytest.mark.parametrize(("config", "key"), BAD_CONFIGS)
def test_bad_config_raises_config_error_naming_the_key(config, key):
    with pytest.raises(sk.ConfigError, match=key):
        sk.Config(config)
    with pytest.raises(sk.ConfigError, match=key):
        sk.scorecard(contacts([{}]), one_order(), config=config)


def test_nan_edge_in_a_dict_names_the_key():
    with pytest.raises(sk.ConfigError, match=r"bands\.csat_mean\.healthy_min"):
        sk.Config({"bands": {"csat_mean": {"healthy_min": float("nan")}}})


def test_window_strings_in_the_config_format_are_accepted():
    # "7d" is the config's own duration format; pandas alone would warn on it.
    t = pd.Timestamp("2024-01-01 10:00", tz="UTC")
    contacts = pd.DataFrame({"contact_id": [1], "customer_id": [1], "created_at": [t]})
    orders = pd.DataFrame(
        {"order_id": [1], "customer_id": [1], "created_at": [t], "revenue": [1.0]}
    )
    card = sk.scorecard(contacts, orders, baseline_window="7d", recovery_window="48h")
    assert "recovery_rate_7d" in card.kpis


def test_config_error_is_a_value_error():
    assert issubclass(sk.ConfigError, sk.SupportKpiError)
    assert issubclass(sk.ConfigError, ValueError)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[bandz]\n", "bandz"),
        ('[windows]\nrecovery = "7 days"\n', "recovery"),
        ("[windows]\nrecovery = 7\n", "recovery"),
        ("[bands.csat_mean]\nhealthy_min = nan\n", "csat_mean"),
        ("[scales.csat]\nmin = 5\nmax = 1\n", "csat"),
        ('[rules.csat_below_floor]\nwhen = ["csat_mean <"]\n', "csat_below_floor"),
        ("not toml [[[", "TOML"),
    ],
)
def test_bad_toml_raises_config_error(text, key):
    with pytest.raises(sk.ConfigError, match=key):
        sk.Config.from_toml(text)


def test_bad_json_raises_config_error():
    with pytest.raises(sk.ConfigError, match="JSON"):
        sk.Config.from_json('{"bands": ')


def test_bad_config_file_raises_config_error(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[windows]\nrepeat = "two weeks"\n', encoding="utf-8")
    with pytest.raises(sk.ConfigError, match="repeat"):
        sk.scorecard(contacts([{}]), one_order(), config=str(path))


# --- windows from the config; keyword arguments win --------------------------------------


def test_windows_from_config_and_keyword_precedence():
    # customer 1 contacts on 2024-01-02 10:00 and orders 5 days later; customer 2 contacts
    # and never orders. as_of = 2024-01-20 (an anonymous order): mature under 3 d and 7 d.
    c = contacts([{"customer_id": 1}, {"customer_id": 2}])
    o = orders(
        [
            {"customer_id": 1, "created_at": at(0, days=6)},
            {"created_at": at(2, days=5)},
        ]
    )
    assert kpi_row(sk.scorecard(c, o), "recovery_rate_7d")["value"] == 0.5  # 1 / 2
    three = {"windows": {"recovery": "3d"}}
    assert kpi_row(sk.scorecard(c, o, config=three), "recovery_rate_7d")["value"] == 0.0
    seven = sk.scorecard(c, o, config=three, recovery_window=timedelta(days=7))
    assert kpi_row(seven, "recovery_rate_7d")["value"] == 0.5


# --- taxonomy override --------------------------------------------------------------------


GIFT_CARD = {
    "journey_step": "post_purchase",
    "preventable": True,
    "policy": True,
    "checkout_shipping": True,
}


def _taxonomy_card(config=None):
    # intents: gift_card, order_tracking, account, returns; 100 sessions in W0.
    # csat: gift_card 1 (negative), order_tracking 5, account 2 (negative), returns 4
    c = contacts(
        [
            {"intent": "gift_card", "csat": 1.0},
            {"intent": "order_tracking", "csat": 5.0},
            {"intent": "account", "csat": 2.0},
            {"intent": "returns", "csat": 4.0},
        ]
    )
    s = table([{"date": at(0, days=1), "sessions": 100}])
    return sk.scorecard(c, one_order(), sessions=s, config=config)


def test_taxonomy_override_adds_a_preventable_intent():
    default = _taxonomy_card()
    # preventable by default: order_tracking, returns -> 2 / 100
    row = kpi_row(default, "preventable_contact_rate")
    assert (row["numerator"], row["denominator"]) == (2, 100)
    assert row["value"] == pytest.approx(0.02, rel=1e-15)
    # policy by default: returns -> 1 / 4
    assert kpi_row(default, "policy_contact_share")["numerator"] == 1
    # negative (csat <= 2): gift_card, account; checkout_shipping: neither -> 0 / 2
    row = kpi_row(default, "negative_csat_checkout_shipping_share")
    assert (row["numerator"], row["denominator"]) == (0, 2)

    custom = _taxonomy_card({"taxonomy": {"gift_card": GIFT_CARD}})
    # gift_card is preventable now: 3 / 100
    row = kpi_row(custom, "preventable_contact_rate")
    assert (row["numerator"], row["denominator"]) == (3, 100)
    # and policy: 2 / 4
    row = kpi_row(custom, "policy_contact_share")
    assert (row["numerator"], row["denominator"], row["value"]) == (2, 4, 0.5)
    # and checkout_shipping: 1 of the 2 negatives
    row = kpi_row(custom, "negative_csat_checkout_shipping_share")
    assert (row["numerator"], row["denominator"], row["value"]) == (1, 2, 0.5)


def test_taxonomy_override_changes_an_existing_intent():
    # returns: no longer policy nor preventable -> policy 0 / 4, preventable 1 / 100
    config = {"taxonomy": {"returns": {"policy": False, "preventable": False}}}
    card = _taxonomy_card(config)
    assert kpi_row(card, "policy_contact_share")["numerator"] == 0
    assert kpi_row(card, "preventable_contact_rate")["numerator"] == 1


def test_wismo_share_reads_the_intent_not_the_taxonomy():
    # wismo_share = order_tracking contacts / contacts (docs): changing order_tracking's
    # taxonomy flags leaves it at 1 / 4; its preventable flag does move the preventable count.
    config = {"taxonomy": {"order_tracking": {"preventable": False}}}
    card = _taxonomy_card(config)
    row = kpi_row(card, "wismo_share")
    assert (row["numerator"], row["denominator"]) == (1, 4)
    assert kpi_row(card, "preventable_contact_rate")["numerator"] == 1  # returns only


def test_taxonomy_override_from_toml():
    cfg = sk.Config.from_toml(
        "[taxonomy.gift_card]\n"
        'journey_step = "post_purchase"\npreventable = true\npolicy = true\n'
        "checkout_shipping = true\n"
    )
    assert kpi_row(_taxonomy_card(cfg), "preventable_contact_rate")["numerator"] == 3


def test_taxonomy_new_intent_needs_every_field():
    with pytest.raises(sk.ConfigError, match="gift_card"):
        sk.Config({"taxonomy": {"gift_card": {"preventable": True}}})


# --- scales -------------------------------------------------------------------------------


def test_csat_scale_override():
    # csat on 1-10: 8 is valid. satisfied = top two points (>= 9), negative = bottom two
    # (<= 2). Ratings 8, 9, 10, 2 (order_tracking: checkout_shipping), 3 (not negative),
    # 1 (account).
    c = contacts(
        [
            {"csat": 8.0, "intent": "account"},
            {"csat": 9.0, "intent": "account"},
            {"csat": 10.0, "intent": "account"},
            {"csat": 2.0, "intent": "order_tracking"},
            {"csat": 3.0, "intent": "order_tracking"},
            {"csat": 1.0, "intent": "account"},
        ]
    )
    with pytest.raises(sk.DataError, match="csat"):
        sk.scorecard(c, one_order())  # 8, 9, 10 are outside the default 1-5
    card = sk.scorecard(c, one_order(), config={"scales": {"csat": {"min": 1, "max": 10}}})
    # mean (8 + 9 + 10 + 2 + 3 + 1) / 6 = 33 / 6 = 5.5
    assert kpi_row(card, "csat_mean")["value"] == 5.5
    # satisfied: 9, 10 -> 2 / 6
    row = kpi_row(card, "csat_satisfied_rate")
    assert (row["numerator"], row["denominator"]) == (2, 6)
    # negative: 2 (order_tracking), 1 (account) -> checkout_shipping 1 / 2
    row = kpi_row(card, "negative_csat_checkout_shipping_share")
    assert (row["numerator"], row["denominator"]) == (1, 2)


def test_nps_scale_rejects_out_of_range():
    c = contacts([{"nps": 9.0}, {"nps": 11.0}])
    with pytest.raises(sk.DataError, match="nps"):
        sk.scorecard(c, one_order())
    ok = contacts([{"nps": 9.0}, {"nps": 10.0}])
    assert kpi_row(sk.scorecard(ok, one_order()), "nps")["value"] == 100.0


def test_nps_scale_override():
    # nps on 0-5: promoters >= max - 1 = 4, detractors <= max - 4 = 1.
    # ratings 5, 4, 3, 2, 1: promoters 2, detractors 1 -> 100 x (2 - 1) / 5 = 20
    c = contacts([{"nps": float(v)} for v in (5, 4, 3, 2, 1)])
    card = sk.scorecard(c, one_order(), config={"scales": {"nps": {"min": 0, "max": 5}}})
    row = kpi_row(card, "nps")
    assert (row["value"], row["numerator"], row["denominator"]) == (20.0, 1, 5)
    # default 0-10: no promoter (>= 9), all five detractors (<= 6) -> -100
    assert kpi_row(sk.scorecard(c, one_order()), "nps")["value"] == -100.0
    with pytest.raises(sk.DataError, match="nps"):
        sk.scorecard(
            contacts([{"nps": 6.0}]), one_order(), config={"scales": {"nps": {"min": 0, "max": 5}}}
        )


def test_ces_scale_override():
    c = contacts([{"ces": 9.0}, {"ces": 10.0}])
    with pytest.raises(sk.DataError, match="ces"):
        sk.scorecard(c, one_order())
    card = sk.scorecard(c, one_order(), config={"scales": {"ces": {"min": 1, "max": 10}}})
    assert kpi_row(card, "ces_mean")["value"] == 9.5


# --- the unit-cost model ----------------------------------------------------------------


COST_KPIS = {
    "cost_per_contact",
    "cost_per_resolved_contact",
    "cost_per_resolved_vs_baseline",
    "support_cost_to_revenue",
    "recovered_margin",
}


def _cost_contacts(with_cost=False):
    rows = [
        # path human, resolved, 600 s handling
        {"handled_by": "human", "resolved_at": at(0, days=2), "handle_seconds": 600.0},
        # path human, open, 300 s
        {"handled_by": "human", "handle_seconds": 300.0},
        # path ai, resolved
        {"handled_by": "ai", "escalated": False, "resolved_at": at(0, days=2)},
        # escalated AI: path human, resolved
        {"handled_by": "ai", "escalated": True, "resolved_at": at(0, days=2)},
    ]
    if with_cost:
        rows = [{**r, "cost": 2.0} for r in rows]
    return contacts(rows)


def test_cost_model_per_contact():
    # human-path contacts: 3 x 5 = 15, AI: 1 -> total 16
    # cost_per_contact = 16 / 4 = 4.0; resolved: 3 -> cost_per_resolved = 16 / 3
    # support_cost_to_revenue = 16 / 200 = 0.08
    config = {"cost_model": {"per_contact": {"human": 5, "ai": 1}}}
    card = sk.scorecard(_cost_contacts(), one_order(200.0), config=config)
    row = kpi_row(card, "cost_per_contact")
    assert (row["value"], row["numerator"], row["denominator"]) == (4.0, 16, 4)
    row = kpi_row(card, "cost_per_resolved_contact")
    assert row["value"] == pytest.approx(16 / 3, rel=1e-15)
    assert (row["numerator"], row["denominator"]) == (16, 3)
    assert kpi_row(card, "support_cost_to_revenue")["value"] == pytest.approx(0.08, rel=1e-15)
    assert not COST_KPIS & set(card.skipped)


def test_cost_model_from_toml_with_handle_minutes():
    # per contact as above (16) + 0.5 per handle minute x (600 + 300) / 60 = 7.5 -> 23.5
    cfg = sk.Config.from_toml(
        "[cost_model]\nper_contact = { human = 5, ai = 1 }\nper_handle_minute = 0.5\n"
    )
    card = sk.scorecard(_cost_contacts(), one_order(200.0), config=cfg)
    row = kpi_row(card, "cost_per_contact")
    assert row["numerator"] == pytest.approx(23.5, rel=1e-15)
    assert row["value"] == pytest.approx(23.5 / 4, rel=1e-15)


def test_cost_kpis_skipped_without_cost_column_or_model():
    card = sk.scorecard(_cost_contacts(), one_order(200.0))
    assert COST_KPIS <= set(card.skipped)
    assert not COST_KPIS & set(card.to_pandas()["kpi"])


def test_cost_column_wins_under_auto():
    # cost column 2.0 each -> 8 / 4 = 2.0, the model's prices are ignored under "auto"
    config = {"cost_model": {"per_contact": {"human": 5, "ai": 1}}}
    card = sk.scorecard(_cost_contacts(with_cost=True), one_order(200.0), config=config)
    assert kpi_row(card, "cost_per_contact")["value"] == 2.0


def test_cost_source_model_ignores_the_column():
    config = {"cost_model": {"source": "model", "per_contact": {"human": 5, "ai": 1}}}
    card = sk.scorecard(_cost_contacts(with_cost=True), one_order(200.0), config=config)
    assert kpi_row(card, "cost_per_contact")["value"] == 4.0


def test_cost_source_column_without_column_skips():
    config = {"cost_model": {"source": "column", "per_contact": {"human": 5, "ai": 1}}}
    card = sk.scorecard(_cost_contacts(), one_order(200.0), config=config)
    assert {"cost_per_contact", "cost_per_resolved_contact"} <= set(card.skipped)


def test_cost_model_prices_every_path():
    # self_service 0.5, unknown (null handled_by) 2, human 5, ai 1:
    # human 5 + ai 1 + self_service 0.5 + unknown 2 = 8.5 over 4 contacts
    c = contacts(
        [
            {"handled_by": "human"},
            {"handled_by": "ai"},
            {"handled_by": "self_service"},
            {"handled_by": None},
        ]
    )
    prices = {"human": 5, "ai": 1, "self_service": 0.5, "unknown": 2}
    card = sk.scorecard(c, one_order(), config={"cost_model": {"per_contact": prices}})
    row = kpi_row(card, "cost_per_contact")
    assert row["numerator"] == 8.5
    assert row["value"] == 8.5 / 4
    # a path without a price costs 0: human 5 only
    card = sk.scorecard(c, one_order(), config={"cost_model": {"per_contact": {"human": 5}}})
    assert kpi_row(card, "cost_per_contact")["numerator"] == 5


def test_cost_model_without_handled_by_prices_unknown():
    # no handled_by column: every contact's path is null -> the `unknown` price
    c = contacts([{}, {}, {}])
    card = sk.scorecard(c, one_order(), config={"cost_model": {"per_contact": {"unknown": 3}}})
    row = kpi_row(card, "cost_per_contact")
    assert (row["numerator"], row["value"]) == (9, 3.0)
    assert not math.isnan(row["value"])
