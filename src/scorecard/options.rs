//! Scorecard options (the Python call's keyword arguments) and the settings they resolve to
//! against the config.

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::ingest::OnInvalid;
use crate::joins::Windows;
use crate::kpis::CATALOG;
use crate::time::{check_window, parse_duration, parse_instant, MAX_WINDOW_DAYS};
use crate::time::{parse_tz, PeriodKind};

pub(super) const MICROS_PER_HOUR: f64 = crate::time::MICROS_PER_HOUR as f64;
pub(super) const MICROS_PER_MINUTE: f64 = crate::time::MICROS_PER_MINUTE as f64;
pub(super) use crate::time::MICROS_PER_DAY;

/// Scorecard options, deserialized from the Python call's keyword arguments (unknown keys
/// are a `ConfigError`). Windows left `None` come from the config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Options {
    /// "day" | "week" | "month".
    pub by: String,
    /// IANA zone for day and period boundaries.
    pub tz: String,
    /// Contact columns to group by.
    pub group_by: Vec<String>,
    /// End of observed data, UTC µs; default: the largest created_at (SPEC §8.1).
    pub as_of: Option<i64>,
    /// recovered_7d and attribution window, µs.
    pub recovery_window: Option<i64>,
    /// repeat_14d window, µs.
    pub repeat_window: Option<i64>,
    /// recontact_48h window, µs.
    pub recontact_window: Option<i64>,
    /// repurchase_rate_90d window, µs.
    pub repurchase_window: Option<i64>,
    /// Baseline window before each period, µs (whole days).
    pub baseline_window: Option<i64>,
    /// A fixed baseline range [start, end), UTC µs, instead of the rolling window.
    pub baseline_range: Option<(i64, i64)>,
    /// clv_simple lifespan, days.
    pub clv_lifespan_days: f64,
    /// Renaming per table: table -> (ours -> theirs).
    pub columns: HashMap<String, HashMap<String, String>>,
    /// A (partial) configuration document; null for the defaults.
    pub config: serde_json::Value,
    /// Raise on the first invalid row (default) or drop invalid rows and audit them.
    pub on_invalid: OnInvalid,
    /// The KPI ids the card shows (catalogue ids); `None` for every KPI.
    pub kpis: Option<Vec<String>>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            by: "week".to_owned(),
            tz: "UTC".to_owned(),
            group_by: Vec::new(),
            as_of: None,
            recovery_window: None,
            repeat_window: None,
            recontact_window: None,
            repurchase_window: None,
            baseline_window: None,
            baseline_range: None,
            clv_lifespan_days: 3.0 * 365.0,
            columns: HashMap::new(),
            config: serde_json::Value::Null,
            on_invalid: OnInvalid::Raise,
            kpis: None,
        }
    }
}

/// Columns of the scorecard's output tables (long, bands, diagnostics) besides the group
/// keys: a group_by column of the same name would make two columns of one name.
pub(super) const OUTPUT_COLUMNS: &[&str] = &[
    "period_start",
    "kpi",
    "value",
    "numerator",
    "denominator",
    "unit",
    "band",
    "owner",
    "baseline",
    "delta_vs_baseline",
    "expected",
    // SPEC §10
    "ci_low",
    "ci_high",
    "n",
    "band_certain",
    "p_value",
    "rule",
    "symptom",
    "likely_cause",
    "action",
    "validation_metric",
    "evidence",
    // added by the Python layer to diagnose()
    "evidence_text",
];

/// Options resolved against the config.
pub struct Settings {
    /// The configuration.
    pub config: Config,
    /// Period kind.
    pub kind: PeriodKind,
    /// Zone.
    pub tz: chrono_tz::Tz,
    /// Join windows.
    pub windows: Windows,
    /// Repurchase window, µs.
    pub repurchase_window: i64,
    /// Rolling baseline length, days.
    pub baseline_days: usize,
    /// Fixed baseline range, if any.
    pub baseline_range: Option<(i64, i64)>,
    /// Per catalogue entry: whether the card shows it.
    pub shown: Vec<bool>,
}

impl Options {
    /// Parses options from JSON (the binding's transport), mapping failures to ConfigError.
    pub fn from_json(text: &str) -> Result<Self> {
        serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_str(text)).map_err(
            |e| {
                let path = e.path().to_string();
                Error::config(
                    if path == "." { "options" } else { &path },
                    e.into_inner().to_string(),
                )
            },
        )
    }

    /// Resolves the options against the config and checks every value.
    pub fn settings(&self) -> Result<Settings> {
        let config = Config::from_value(self.config.clone())?;
        let kind = PeriodKind::parse(&self.by)?;
        let tz = parse_tz(&self.tz)?;
        let window = |given: Option<i64>, key: &str, configured: &str| -> Result<i64> {
            match given {
                Some(w) => check_window(w, key),
                None => parse_duration(configured, &format!("windows.{key}")),
            }
        };
        let w = &config.windows;
        let windows = Windows {
            recovery: window(self.recovery_window, "recovery_window", &w.recovery)?,
            repeat: window(self.repeat_window, "repeat_window", &w.repeat)?,
            recontact: window(self.recontact_window, "recontact_window", &w.recontact)?,
        };
        let repurchase_window = window(self.repurchase_window, "repurchase_window", &w.repurchase)?;
        let baseline = window(self.baseline_window, "baseline_window", &w.baseline)?;
        if baseline % MICROS_PER_DAY != 0 {
            return Err(Error::config(
                "baseline_window",
                "the baseline window must be a whole number of days (it is counted in local days)",
            ));
        }
        let baseline_range = match (self.baseline_range, &config.baseline_range) {
            (Some(range), _) => Some(range),
            (None, Some(fixed)) => Some((
                parse_instant(&fixed.start, "baseline_range.start")?,
                parse_instant(&fixed.end, "baseline_range.end")?,
            )),
            (None, None) => None,
        };
        if let Some((start, end)) = baseline_range {
            if end <= start {
                return Err(Error::config("baseline_range", "end must be after start"));
            }
        }
        // An as_of or baseline range centuries away would stretch the day grid just as an
        // implausible row would.
        let (earliest, latest) = config.timestamps.bounds()?;
        let plausible = |t: i64| (earliest..=latest).contains(&t);
        if self.as_of.is_some_and(|t| !plausible(t)) {
            return Err(Error::config(
                "as_of",
                "outside the plausible range of timestamps (config timestamps.earliest / latest)",
            ));
        }
        if baseline_range.is_some_and(|(start, end)| !plausible(start) || !plausible(end)) {
            return Err(Error::config(
                "baseline_range",
                "outside the plausible range of timestamps (config timestamps.earliest / latest)",
            ));
        }
        if !(self.clv_lifespan_days.is_finite()
            && self.clv_lifespan_days > 0.0
            && self.clv_lifespan_days <= MAX_WINDOW_DAYS as f64)
        {
            return Err(Error::config(
                "clv_lifespan_days",
                format!("must be a positive number of days, at most {MAX_WINDOW_DAYS}"),
            ));
        }
        let mut seen = BTreeSet::new();
        for column in &self.group_by {
            if OUTPUT_COLUMNS.contains(&column.as_str()) {
                return Err(Error::config(
                    "group_by",
                    format!(
                        "{column:?} is also a column of the scorecard's tables ({}); rename it \
                         with columns={{\"contacts\": {{\"{column}_group\": \"{column}\"}}}} and \
                         group by the new name",
                        OUTPUT_COLUMNS.join(", ")
                    ),
                ));
            }
            if !seen.insert(column.as_str()) {
                return Err(Error::config(
                    "group_by",
                    format!("{column:?} is listed twice"),
                ));
            }
        }
        for table in self.columns.keys() {
            if !matches!(
                table.as_str(),
                "contacts" | "orders" | "sessions" | "events"
            ) {
                return Err(Error::config(
                    "columns",
                    format!(
                        "unknown table {table:?}; expected contacts, orders, sessions or events"
                    ),
                ));
            }
        }
        Ok(Settings {
            config,
            kind,
            tz,
            windows,
            repurchase_window,
            baseline_days: (baseline / MICROS_PER_DAY) as usize,
            baseline_range,
            shown: shown_kpis(self.kpis.as_deref())?,
        })
    }

    /// The renaming for one table.
    pub fn rename_for(&self, table: &str) -> HashMap<String, String> {
        self.columns.get(table).cloned().unwrap_or_default()
    }
}

/// Per catalogue entry, whether a `kpis` selection (all when `None`) names it; an unknown
/// id is a `ConfigError`.
pub(super) fn shown_kpis(kpis: Option<&[String]>) -> Result<Vec<bool>> {
    let Some(ids) = kpis else {
        return Ok(vec![true; CATALOG.len()]);
    };
    if ids.is_empty() {
        return Err(Error::config(
            "kpis",
            "name at least one KPI (or leave kpis out for all of them)",
        ));
    }
    let mut shown = vec![false; CATALOG.len()];
    for id in ids {
        let k = CATALOG.iter().position(|kpi| kpi.id == id).ok_or_else(|| {
            Error::config(
                "kpis",
                format!("unknown KPI {id:?}; sk.kpi_catalog() lists the catalogue's ids"),
            )
        })?;
        shown[k] = true;
    }
    Ok(shown)
}
