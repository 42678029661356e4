//! SLA policies (SPEC §9.3): an ordered list; a contact takes the first whose match holds.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::time::{check_window, parse_duration};

/// One SLA policy as configured (`[[sla]]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaPolicy {
    /// Name, shown per contact as `sla_policy`.
    pub name: String,
    /// Contact column → value: the policy applies when every column equals its value
    /// (compared as text); empty matches every contact.
    #[serde(default, rename = "match", skip_serializing_if = "BTreeMap::is_empty")]
    pub matches: BTreeMap<String, Value>,
    /// First response target, a duration ("1h"; "0m" = at the first business instant).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_response: Option<String>,
    /// Resolution target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
    /// Targets count business time of the contact's calendar (else calendar time).
    #[serde(default)]
    pub business_hours: bool,
}

/// A policy checked: targets in µs, match values as text.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Name.
    pub name: String,
    /// (column, value as text) pairs, all of which must hold.
    pub matches: Vec<(String, String)>,
    /// First response target, µs.
    pub first_response: Option<i64>,
    /// Resolution target, µs.
    pub resolution: Option<i64>,
    /// Business time (true) or calendar time.
    pub business_hours: bool,
}

/// A target duration: 0 (any unit) or a positive window.
fn target(text: &str, key: &str) -> Result<i64> {
    let digits = text
        .trim()
        .trim_end_matches(|c: char| c.is_ascii_alphabetic());
    if digits.trim().parse::<f64>().is_ok_and(|x| x == 0.0) {
        return Ok(0);
    }
    check_window(parse_duration(text, key)?, key)
}

/// A match value as the text a coded column holds.
fn match_text(value: &Value, key: &str) -> Result<String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Number(n) => Ok(n.to_string()),
        _ => Err(Error::config(
            key,
            "a match value is a string, number or boolean",
        )),
    }
}

/// Checks the policies (`sla[i]`): names unique and non-empty, at least one target each,
/// targets durations, business policies only with a calendar configured.
/// At most this many SLA policies (a contact's policy is kept in a byte).
pub const MAX_POLICIES: usize = 64;

pub fn check_policies(policies: &[SlaPolicy], has_calendars: bool) -> Result<Vec<Policy>> {
    if policies.len() > MAX_POLICIES {
        return Err(Error::config(
            "sla",
            format!("at most {MAX_POLICIES} policies ({} given)", policies.len()),
        ));
    }
    let mut out: Vec<Policy> = Vec::with_capacity(policies.len());
    for (i, p) in policies.iter().enumerate() {
        let key = format!("sla[{i}]");
        if p.name.trim().is_empty() {
            return Err(Error::config(
                &format!("{key}.name"),
                "a policy needs a name",
            ));
        }
        if out.iter().any(|q| q.name == p.name) {
            return Err(Error::config(
                &format!("{key}.name"),
                format!("{:?} is used twice", p.name),
            ));
        }
        if p.first_response.is_none() && p.resolution.is_none() {
            return Err(Error::config(
                &key,
                "a policy needs a first_response or resolution target",
            ));
        }
        if p.business_hours && !has_calendars {
            return Err(Error::config(
                &format!("{key}.business_hours"),
                "business-hours targets need a calendar ([calendars.default])",
            ));
        }
        let matches = p
            .matches
            .iter()
            .map(|(column, value)| {
                Ok((
                    column.clone(),
                    match_text(value, &format!("{key}.match.{column}"))?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        out.push(Policy {
            name: p.name.clone(),
            matches,
            first_response: p
                .first_response
                .as_deref()
                .map(|t| target(t, &format!("{key}.first_response")))
                .transpose()?,
            resolution: p
                .resolution
                .as_deref()
                .map(|t| target(t, &format!("{key}.resolution")))
                .transpose()?,
            business_hours: p.business_hours,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(name: &str, fr: Option<&str>) -> SlaPolicy {
        SlaPolicy {
            name: name.into(),
            matches: [("priority".to_owned(), Value::String("urgent".into()))].into(),
            first_response: fr.map(str::to_owned),
            resolution: None,
            business_hours: false,
        }
    }

    #[test]
    fn policies_are_checked_with_their_key() {
        let ok = check_policies(
            &[policy("urgent", Some("1h")), policy("zero", Some("0m"))],
            false,
        );
        let ok = ok.unwrap_or_default();
        assert_eq!(ok[0].first_response, Some(3_600_000_000));
        assert_eq!(ok[1].first_response, Some(0));
        assert_eq!(
            ok[0].matches,
            vec![("priority".to_owned(), "urgent".to_owned())]
        );
        let err = |p: &[SlaPolicy], cal| {
            check_policies(p, cal)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        assert!(err(&[policy("a", None)], false).contains("sla[0]"));
        assert!(
            err(&[policy("a", Some("1h")), policy("a", Some("2h"))], false).contains("sla[1].name")
        );
        assert!(err(&[policy("a", Some("soon"))], false).contains("sla[0].first_response"));
        let mut business = policy("b", Some("1h"));
        business.business_hours = true;
        assert!(err(std::slice::from_ref(&business), false).contains("sla[0].business_hours"));
        assert!(check_policies(&[business], true).is_ok());
    }
}
