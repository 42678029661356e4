//! Configuration as data: the intent taxonomy, band edges and owners, windows, score scales,
//! the unit-cost model and the diagnostic rules (SPEC §4, §6, §7). Loaded from a dict (as
//! JSON), TOML or JSON. A partial config overrides only what it names: the user's document is
//! deep-merged into the defaults before it is read strictly, so unknown keys and bad values
//! are a `ConfigError` naming the key path.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::bands::Band;
use crate::business::sla::{check_policies, SlaPolicy};
use crate::business::CalendarSpec;
use crate::diagnostics::{default_rules, RuleSpec};
use crate::error::{Error, Result};
use crate::ingest::{Scales, TimestampRange, ValueChecks};
use crate::kpis::cost::CostModel;
use crate::kpis::{self, CATALOG};
use crate::limits::Limits;
use crate::statistics::Statistics;
use crate::taxonomy::{default_taxonomy, Taxonomy};
use crate::time::{FixedBaseline, WindowsSpec};

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// intent -> class.
    pub taxonomy: Taxonomy,
    /// KPI id -> band.
    pub bands: BTreeMap<String, Band>,
    /// Windows.
    pub windows: WindowsSpec,
    /// Score scales.
    pub scales: Scales,
    /// Unit-cost model.
    pub cost_model: CostModel,
    /// A fixed baseline range, or none for the rolling window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_range: Option<FixedBaseline>,
    /// The plausible range of input timestamps.
    pub timestamps: TimestampRange,
    /// Rule id -> rule.
    pub rules: BTreeMap<String, RuleSpec>,
    /// Resource limits.
    #[serde(default)]
    pub limits: Limits,
    /// Business calendars by name (SPEC §9.1); `default` applies to contacts without a
    /// `calendar` value.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub calendars: BTreeMap<String, CalendarSpec>,
    /// SLA policies, first match wins (SPEC §9.3).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sla: Vec<SlaPolicy>,
    /// Confidence of the intervals and tests (SPEC §10).
    #[serde(default)]
    pub statistics: Statistics,
}

impl Default for Config {
    fn default() -> Self {
        let bands = CATALOG
            .iter()
            .filter_map(|k| Some((k.id.to_owned(), k.band.clone()?)))
            .collect();
        Config {
            taxonomy: default_taxonomy(),
            bands,
            windows: WindowsSpec::default(),
            timestamps: TimestampRange::default(),
            scales: Scales::default(),
            cost_model: CostModel::default(),
            baseline_range: None,
            rules: default_rules(),
            limits: Limits::default(),
            calendars: BTreeMap::new(),
            sla: Vec::new(),
            statistics: Statistics::default(),
        }
    }
}

/// Deep-merges `patch` into `base`: objects merge key by key, anything else replaces.
fn merge(base: &mut Value, patch: Value) {
    match (base, patch) {
        (Value::Object(base), Value::Object(patch)) => {
            for (key, value) in patch {
                match base.get_mut(&key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (base, patch) => *base = patch,
    }
}

/// A band whose patch names another shape starts from its owner only: the old shape's
/// edges would be options the new shape does not use (and a band refuses those).
fn restart_reshaped_bands(base: &mut Value, patch: &Value) {
    let (Some(Value::Object(patched)), Some(Value::Object(bands))) =
        (patch.get("bands"), base.get_mut("bands"))
    else {
        return;
    };
    for (id, band_patch) in patched {
        let Some(shape) = band_patch.get("shape") else {
            continue;
        };
        if let Some(band) = bands.get_mut(id) {
            if band.get("shape") != Some(shape) {
                let owner = band.get("owner").cloned().unwrap_or(Value::Null);
                let min_sample = band.get("min_sample").cloned().unwrap_or(Value::Null);
                *band = serde_json::json!({ "owner": owner, "min_sample": min_sample });
            }
        }
    }
}

/// A new rule added by the user starts from these defaults.
fn new_rule_defaults() -> Value {
    serde_json::json!({
        "enabled": true,
        "kind": "conditions",
        "symptom": "",
        "likely_cause": "",
        "action": "",
        "validation_metric": "",
        "owner": "",
        "when": [],
        "dimensions": [],
        "min_contacts": 0.0,
        "min_ratio": 0.0,
    })
}

impl Config {
    /// What ingest checks values against: scales, plausible timestamps, calendar names.
    pub fn value_checks(&self) -> Result<ValueChecks<'_>> {
        Ok(ValueChecks {
            scales: &self.scales,
            time_range: self.timestamps.bounds()?,
            calendars: self.calendars.keys().cloned().collect(),
        })
    }

    /// The defaults overridden by a partial document (already parsed from JSON or TOML).
    pub fn from_value(patch: Value) -> Result<Self> {
        let mut base = serde_json::to_value(Config::default())
            .map_err(|e| Error::config("config", e.to_string()))?;
        // New rules start from rule defaults rather than from nothing, so users only write
        // the fields they mean.
        if let (Some(Value::Object(rules)), Some(Value::Object(base_rules))) =
            (patch.get("rules"), base.get_mut("rules"))
        {
            for name in rules.keys() {
                if !base_rules.contains_key(name) {
                    base_rules.insert(name.clone(), new_rule_defaults());
                }
            }
        }
        if !patch.is_object() && !patch.is_null() {
            return Err(Error::config("config", "expected a table of settings"));
        }
        if !patch.is_null() {
            restart_reshaped_bands(&mut base, &patch);
            merge(&mut base, patch);
        }
        let config: Config = serde_path_to_error::deserialize(base).map_err(|e| {
            let path = e.path().to_string();
            Error::config(
                &if path == "." {
                    "config".to_owned()
                } else {
                    path
                },
                e.into_inner().to_string(),
            )
        })?;
        config.validate()?;
        Ok(config)
    }

    /// From a JSON document.
    pub fn from_json(text: &str) -> Result<Self> {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| Error::config("config", format!("not valid JSON: {e}")))?;
        Config::from_value(value)
    }

    /// From a TOML document.
    pub fn from_toml(text: &str) -> Result<Self> {
        let value: Value = toml::from_str(text)
            .map_err(|e| Error::config("config", format!("not valid TOML: {e}")))?;
        Config::from_value(value)
    }

    /// As TOML.
    pub fn to_toml(&self) -> Result<String> {
        toml::to_string_pretty(self).map_err(|e| Error::config("config", e.to_string()))
    }

    /// As JSON.
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string(self).map_err(|e| Error::config("config", e.to_string()))
    }

    /// Checks values the types cannot.
    pub fn validate(&self) -> Result<()> {
        // Band edges are checked as they are read (bands.rs).
        for id in self.bands.keys() {
            if kpis::find(id).is_none() {
                return Err(Error::config(
                    &format!("bands.{id}"),
                    "not a KPI id of the catalogue",
                ));
            }
        }
        self.windows.check()?;
        self.scales.check()?;
        self.timestamps.bounds()?;
        self.cost_model.check()?;
        for (id, rule) in &self.rules {
            crate::diagnostics::check_rule(id, rule)?;
        }
        self.limits.check()?;
        self.statistics.check()?;
        if self.calendars.len() > crate::business::calendar::MAX_CALENDARS {
            return Err(Error::config(
                "calendars",
                format!(
                    "at most {} calendars",
                    crate::business::calendar::MAX_CALENDARS
                ),
            ));
        }
        for (name, calendar) in &self.calendars {
            calendar.check(&format!("calendars.{name}"))?;
        }
        check_policies(&self.sla, !self.calendars.is_empty())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_duration;

    #[test]
    fn partial_config_overrides_only_what_it_names() {
        let config = Config::from_toml(
            "[bands.csat_mean]\nhealthy_min = 4.5\n[taxonomy.gift_cards]\njourney_step = \"cart\"\npreventable = true\npolicy = false\ncheckout_shipping = false\n",
        )
        .unwrap_or_default();
        let csat = &config.bands["csat_mean"];
        assert_eq!(
            csat.edges,
            crate::bands::Edges::HigherIsBetter {
                healthy_min: 4.5,
                watch_min: 4.0
            }
        );
        assert_eq!(csat.owner, "support lead");
        assert!(config.taxonomy["gift_cards"].preventable);
        assert!(config.taxonomy.contains_key("order_tracking"));
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_key() {
        let unknown = Config::from_toml("[bands.csat_mean]\nhealthy = 4.5\n");
        assert!(
            matches!(&unknown, Err(Error::Config { key, .. }) if key == "bands.csat_mean.healthy"),
            "{unknown:?}"
        );
        let bad = Config::from_json(r#"{"windows": {"recovery": "seven days"}}"#);
        assert!(matches!(&bad, Err(Error::Config { key, .. }) if key == "windows.recovery"));
        let order = Config::from_json(r#"{"bands": {"fcr_rate": {"watch_min": 0.9}}}"#);
        assert!(matches!(&order, Err(Error::Config { key, .. }) if key == "bands.fcr_rate"));
        let kpi = Config::from_json(r#"{"bands": {"no_such_kpi": {"shape": "range"}}}"#);
        assert!(kpi.is_err());
        // An option the band's shape does not use is refused, not ignored.
        let unused = Config::from_json(r#"{"bands": {"csat_mean": {"watch_max": 3.0}}}"#);
        assert!(
            matches!(&unused, Err(Error::Config { key, message }) if key == "bands.csat_mean"
                && message.contains("has no watch_max")),
            "{unused:?}"
        );
        // A new shape starts from the owner: the old shape's edges do not linger.
        let reshaped = Config::from_json(
            r#"{"bands": {"escalation_rate": {"shape": "higher_is_better",
                "healthy_min": 0.3, "watch_min": 0.2}}}"#,
        );
        let band = reshaped.map(|c| c.bands["escalation_rate"].clone());
        assert!(
            matches!(&band, Ok(b) if b.owner == "support enablement"
                && b.edges == crate::bands::Edges::HigherIsBetter { healthy_min: 0.3, watch_min: 0.2 }),
            "{band:?}"
        );
    }

    #[test]
    fn toml_round_trip_and_durations() {
        let config = Config::default();
        let text = config.to_toml().unwrap_or_default();
        assert_eq!(Config::from_toml(&text).ok(), Some(config));
        assert_eq!(parse_duration("48h", "k").ok(), Some(48 * 3_600_000_000));
        assert!(parse_duration("-1d", "k").is_err());
    }
}
