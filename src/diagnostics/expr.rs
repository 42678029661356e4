//! Diagnostic rules as data (SPEC §7). A rule's conditions are short expressions over KPI
//! values, read once when the config is checked:
//!
//! ```text
//! condition := expr [op number]          op: < <= > >= ==
//! expr      := kpi ('|' kpi)*            first KPI the card computed (fallbacks)
//!            | delta(expr)               current − previous period (same group)
//!            | pct_change(expr)          current / previous − 1
//!            | ratio_to_baseline(expr)   current / baseline window
//!            | ratio(expr, expr)         a / b in the same period
//!            | abs(expr)
//!            | by(dim, value, kpi)       kpi on one value of a dimension (see SLICE_KPIS)
//!            | event_ended_within(kind, 14d)   true when such an event ended in
//!                                               [period end − window, period end]
//!            | significant(change)       true when the change's p-value < α (SPEC §10.3)
//! change    := delta(kpi) | pct_change(kpi)       against the previous period
//!            | ratio_to_baseline(kpi) | kpi       against the baseline window
//! ```
//!
//! A condition whose value is null (an empty denominator, a missing previous period, a
//! banded KPI on fewer than its band's `min_sample`) does not hold, so a rule never fires
//! on missing data or on too little of it.

use std::collections::BTreeMap;

use crate::kpis as catalog;
use crate::kpis::slices::SLICE_KPIS;
use crate::statistics::Change;
use crate::time::parse_duration;

/// Which period a value is read for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// The period being diagnosed.
    Current,
    /// The period before it (same group).
    Previous,
    /// The baseline window before it.
    Baseline,
}

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A KPI id, with fallbacks.
    Kpi(Vec<String>),
    /// current − previous.
    Delta(Box<Expr>),
    /// current / previous − 1.
    PctChange(Box<Expr>),
    /// current / baseline.
    RatioToBaseline(Box<Expr>),
    /// a / b.
    Ratio(Box<Expr>, Box<Expr>),
    /// |x|.
    Abs(Box<Expr>),
    /// A KPI on one dimension value.
    By {
        /// Dimension column.
        dim: String,
        /// Its value.
        value: String,
        /// One of SLICE_KPIS.
        kpi: String,
    },
    /// The change of a KPI is significant (its p-value < α): against the previous period
    /// (`delta`, `pct_change`) or the baseline window (`ratio_to_baseline`, a bare KPI).
    Significant {
        /// The KPI, with fallbacks.
        ids: Vec<String>,
        /// What it is compared with: When::Previous or When::Baseline.
        against: When,
    },
    /// An event of `kind` ended within `window` µs before the period end.
    EventEndedWithin {
        /// promo, launch or peak.
        kind: String,
        /// Window, µs.
        window: i64,
    },
}

/// Comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// <
    Lt,
    /// <=
    Le,
    /// >
    Gt,
    /// >=
    Ge,
    /// ==
    Eq,
}

impl Op {
    fn holds(self, a: f64, b: f64) -> bool {
        // Values within rounding distance of the threshold count as equal to it, so that
        // 0.026 / 0.02 (= 1.2999999999999998) meets ">= 1.3" as the user meant.
        let equal = crate::bands::nearly_equal(a, b);
        match self {
            Op::Lt => a < b && !equal,
            Op::Le => a <= b || equal,
            Op::Gt => a > b && !equal,
            Op::Ge => a >= b || equal,
            Op::Eq => equal,
        }
    }
}

/// One condition of a rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// The text as written (the evidence key).
    pub text: String,
    /// The expression.
    pub expr: Expr,
    /// The comparison; None for boolean expressions (event_ended_within).
    pub compare: Option<(Op, f64)>,
}

/// How deeply functions may nest in a condition. Real rules nest two or three levels; the
/// parser, its checker and the evaluator recurse once per level, so the limit also bounds
/// their stack use whatever the input (a `abs(abs(…))` thousands deep is an error, not a
/// stack overflow).
pub const MAX_NESTING: usize = 32;

const SIGNIFICANT_FORMS: &str = "significant(...) tests one KPI's change: \
    significant(delta(kpi)) or significant(pct_change(kpi)) against the previous period, \
    significant(ratio_to_baseline(kpi)) or significant(kpi) against the baseline window";

struct Parser<'a> {
    text: &'a str,
    pos: usize,
    /// Functions open at `pos`.
    depth: usize,
}

impl<'a> Parser<'a> {
    fn skip_ws(&mut self) {
        while self.text[self.pos..].starts_with(char::is_whitespace) {
            self.pos += self.text[self.pos..]
                .chars()
                .next()
                .map_or(1, char::len_utf8);
        }
    }

    fn eat(&mut self, token: &str) -> bool {
        self.skip_ws();
        if self.text[self.pos..].starts_with(token) {
            self.pos += token.len();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, token: &str) -> std::result::Result<(), String> {
        if self.eat(token) {
            Ok(())
        } else {
            Err(format!("expected {token:?} at position {}", self.pos))
        }
    }

    fn word(&mut self) -> std::result::Result<&'a str, String> {
        self.skip_ws();
        let rest = &self.text[self.pos..];
        let len = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.' || c == '-'))
            .unwrap_or(rest.len());
        if len == 0 {
            return Err(format!("expected a name at position {}", self.pos));
        }
        self.pos += len;
        Ok(&rest[..len])
    }

    fn expr(&mut self) -> std::result::Result<Expr, String> {
        let name = self.word()?;
        if self.eat("(") {
            self.depth += 1;
            if self.depth > MAX_NESTING {
                return Err(format!(
                    "functions nest more than {MAX_NESTING} deep at position {}",
                    self.pos
                ));
            }
            let expr = match name {
                "delta" => Expr::Delta(Box::new(self.expr()?)),
                "pct_change" => Expr::PctChange(Box::new(self.expr()?)),
                "ratio_to_baseline" => Expr::RatioToBaseline(Box::new(self.expr()?)),
                "abs" => Expr::Abs(Box::new(self.expr()?)),
                "ratio" => {
                    let a = self.expr()?;
                    self.expect(",")?;
                    let b = self.expr()?;
                    Expr::Ratio(Box::new(a), Box::new(b))
                }
                "by" => {
                    let dim = self.word()?.to_owned();
                    self.expect(",")?;
                    let value = self.word()?.to_owned();
                    self.expect(",")?;
                    let kpi = self.word()?.to_owned();
                    Expr::By { dim, value, kpi }
                }
                "significant" => {
                    let inner = self.expr()?;
                    let (ids, against) = match inner {
                        Expr::Delta(e) | Expr::PctChange(e) => (e, When::Previous),
                        Expr::RatioToBaseline(e) => (e, When::Baseline),
                        e @ Expr::Kpi(_) => (Box::new(e), When::Baseline),
                        _ => return Err(SIGNIFICANT_FORMS.to_owned()),
                    };
                    let Expr::Kpi(ids) = *ids else {
                        return Err(SIGNIFICANT_FORMS.to_owned());
                    };
                    Expr::Significant { ids, against }
                }
                "event_ended_within" => {
                    let kind = self.word()?.to_owned();
                    self.expect(",")?;
                    let window = self.word()?;
                    let window = parse_duration(window, "window").map_err(|e| e.to_string())?;
                    Expr::EventEndedWithin { kind, window }
                }
                other => return Err(format!("unknown function {other:?}")),
            };
            self.expect(")")?;
            self.depth -= 1;
            return Ok(expr);
        }
        let mut ids = vec![name.to_owned()];
        while self.eat("|") {
            ids.push(self.word()?.to_owned());
        }
        Ok(Expr::Kpi(ids))
    }

    fn condition(&mut self) -> std::result::Result<(Expr, Option<(Op, f64)>), String> {
        let expr = self.expr()?;
        self.skip_ws();
        if self.pos == self.text.len() {
            return Ok((expr, None));
        }
        let op = [
            ("<=", Op::Le),
            (">=", Op::Ge),
            ("==", Op::Eq),
            ("<", Op::Lt),
            (">", Op::Gt),
        ]
        .into_iter()
        .find(|(token, _)| self.eat(token))
        .map(|(_, op)| op)
        .ok_or_else(|| format!("expected a comparison at position {}", self.pos))?;
        self.skip_ws();
        let number: f64 = self.text[self.pos..].trim().parse().map_err(|_| {
            format!(
                "expected a number after the comparison, found {:?}",
                &self.text[self.pos..]
            )
        })?;
        // inf and NaN parse as numbers but compare backwards or never (`x >= inf` would
        // fire through the rounding tolerance): a threshold is a finite number.
        if !number.is_finite() {
            return Err(format!(
                "the threshold must be a finite number, found {:?}",
                self.text[self.pos..].trim()
            ));
        }
        Ok((expr, Some((op, number))))
    }
}

fn check_expr(expr: &Expr) -> std::result::Result<(), String> {
    match expr {
        Expr::Kpi(ids) | Expr::Significant { ids, .. } => {
            for id in ids {
                if catalog::find(id).is_none() {
                    return Err(format!("{id:?} is not a KPI id of the catalogue"));
                }
            }
            Ok(())
        }
        Expr::Delta(e) | Expr::PctChange(e) | Expr::RatioToBaseline(e) | Expr::Abs(e) => {
            check_expr(e)
        }
        Expr::Ratio(a, b) => check_expr(a).and(check_expr(b)),
        Expr::By { kpi, .. } => {
            if SLICE_KPIS.iter().any(|(id, _)| id == kpi) {
                Ok(())
            } else {
                let ids: Vec<&str> = SLICE_KPIS.iter().map(|(id, _)| *id).collect();
                Err(format!("by(...) computes only {}", ids.join(", ")))
            }
        }
        Expr::EventEndedWithin { kind, .. } => {
            if matches!(kind.as_str(), "promo" | "launch" | "peak") {
                Ok(())
            } else {
                Err(format!(
                    "event kind {kind:?}: expected promo, launch or peak"
                ))
            }
        }
    }
}

/// Parses one condition.
pub fn parse_condition(text: &str) -> std::result::Result<Condition, String> {
    let mut parser = Parser {
        text,
        pos: 0,
        depth: 0,
    };
    let (expr, compare) = parser.condition()?;
    check_expr(&expr)?;
    let boolean = matches!(
        expr,
        Expr::EventEndedWithin { .. } | Expr::Significant { .. }
    );
    if boolean != compare.is_none() {
        return Err(if boolean {
            "event_ended_within(...) and significant(...) are conditions by themselves; \
             drop the comparison"
                .to_owned()
        } else {
            "a value needs a comparison, e.g. \"csat_mean < 4.0\"".to_owned()
        });
    }
    Ok(Condition {
        text: text.trim().to_owned(),
        expr,
        compare,
    })
}

/// What a rule can read about one period × group cell.
pub trait Facts {
    /// Whether the card computed this KPI (its inputs are present).
    fn has_kpi(&self, id: &str) -> bool;
    /// A KPI value (None when a banded KPI's sample is below its band's min_sample).
    fn kpi(&self, id: &str, when: When) -> Option<f64>;
    /// The change of a KPI from `against` (the previous period or the baseline window) to
    /// the current period, with its interval and p-value (SPEC §10.3).
    fn change(&self, id: &str, against: When) -> Option<Change>;
    /// α = 1 − confidence.
    fn alpha(&self) -> f64;
    /// A slice KPI on one dimension value.
    fn by(&self, dim: &str, value: &str, kpi: &str, when: When) -> Option<f64>;
    /// The name of an event of `kind` that ended within `window` before the period end.
    fn event_ended_within(&self, kind: &str, window: i64) -> Option<String>;
}

fn eval(expr: &Expr, facts: &dyn Facts, when: When) -> Option<f64> {
    match expr {
        Expr::Kpi(ids) => {
            let id = ids.iter().find(|id| facts.has_kpi(id))?;
            facts.kpi(id, when)
        }
        Expr::Delta(e) => Some(eval(e, facts, When::Current)? - eval(e, facts, When::Previous)?),
        Expr::PctChange(e) => {
            let previous = eval(e, facts, When::Previous)?;
            (previous != 0.0).then_some(())?;
            Some(eval(e, facts, When::Current)? / previous - 1.0)
        }
        Expr::RatioToBaseline(e) => {
            let baseline = eval(e, facts, When::Baseline)?;
            (baseline != 0.0).then_some(())?;
            Some(eval(e, facts, When::Current)? / baseline)
        }
        Expr::Ratio(a, b) => {
            let denominator = eval(b, facts, when)?;
            (denominator != 0.0).then_some(())?;
            Some(eval(a, facts, when)? / denominator)
        }
        Expr::Abs(e) => eval(e, facts, when).map(f64::abs),
        Expr::By { dim, value, kpi } => facts.by(dim, value, kpi, when),
        Expr::EventEndedWithin { .. } | Expr::Significant { .. } => None,
    }
}

/// Evidence value: a number or a name.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum Evidence {
    /// A value.
    Number(f64),
    /// A name (event, dimension value).
    Text(String),
    /// A tested change (SPEC §10.3).
    Change {
        /// The KPI.
        kpi: String,
        /// "previous" or "baseline".
        against: &'static str,
        /// now − before.
        difference: f64,
        /// Interval of the difference.
        ci_low: Option<f64>,
        /// Interval of the difference.
        ci_high: Option<f64>,
        /// Two-sided p-value.
        p_value: f64,
    },
}

/// Evaluates a conditions rule; Some(evidence) when every condition holds.
pub fn fire(conditions: &[Condition], facts: &dyn Facts) -> Option<BTreeMap<String, Evidence>> {
    let mut evidence = BTreeMap::new();
    for condition in conditions {
        match (&condition.expr, condition.compare) {
            (Expr::EventEndedWithin { kind, window }, _) => {
                let name = facts.event_ended_within(kind, *window)?;
                evidence.insert(format!("{kind}_event"), Evidence::Text(name));
            }
            (Expr::Significant { ids, against }, _) => {
                let id = ids.iter().find(|id| facts.has_kpi(id))?;
                let change = facts.change(id, *against)?;
                // A NaN p-value is never significant.
                let significant = change.p_value < facts.alpha();
                if !significant {
                    return None;
                }
                evidence.insert(
                    condition.text.clone(),
                    Evidence::Change {
                        kpi: id.clone(),
                        against: if *against == When::Previous {
                            "previous"
                        } else {
                            "baseline"
                        },
                        difference: change.difference,
                        ci_low: change.interval.map(|i| i.0),
                        ci_high: change.interval.map(|i| i.1),
                        p_value: change.p_value,
                    },
                );
            }
            (expr, Some((op, threshold))) => {
                let value = eval(expr, facts, When::Current)?;
                if !op.holds(value, threshold) {
                    return None;
                }
                evidence.insert(condition.text.clone(), Evidence::Number(value));
            }
            (_, None) => return None,
        }
    }
    Some(evidence)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed;

    impl Facts for Fixed {
        fn has_kpi(&self, id: &str) -> bool {
            id != "conversion_rate"
        }
        fn kpi(&self, id: &str, when: When) -> Option<f64> {
            match (id, when) {
                ("deflection_rate", When::Current) => Some(0.45),
                ("deflection_rate", When::Previous) => Some(0.42),
                ("recovery_rate_7d", When::Current) => Some(0.18),
                ("recovery_rate_7d", When::Previous) => Some(0.20),
                ("csat_mean", When::Current) => Some(4.1),
                _ => None,
            }
        }
        fn by(&self, _: &str, value: &str, _: &str, _: When) -> Option<f64> {
            match value {
                "mobile" => Some(0.026),
                "desktop" => Some(0.02),
                _ => None,
            }
        }
        fn event_ended_within(&self, kind: &str, _: i64) -> Option<String> {
            (kind == "launch").then(|| "Autumn launch".to_owned())
        }
        fn change(&self, id: &str, against: When) -> Option<Change> {
            // deflection: a real change against the previous period; csat: noise.
            let p_value = match (id, against) {
                ("deflection_rate", When::Previous) => 0.001,
                ("csat_mean", When::Baseline) => 0.4,
                _ => return None,
            };
            Some(Change {
                difference: 0.03,
                interval: Some((0.01, 0.05)),
                p_value,
            })
        }
        fn alpha(&self) -> f64 {
            0.05
        }
    }

    fn conditions(texts: &[&str]) -> Vec<Condition> {
        texts
            .iter()
            .map(|t| parse_condition(t).expect("valid condition"))
            .collect()
    }

    #[test]
    fn fires_with_evidence_and_fallback() {
        let rule = conditions(&[
            "delta(deflection_rate) >= 0.02",
            "delta(conversion_rate|recovery_rate_7d) <= -0.01",
        ]);
        let evidence = fire(&rule, &Fixed).expect("fires");
        match evidence.get("delta(deflection_rate) >= 0.02") {
            Some(Evidence::Number(v)) => assert!((v - 0.03).abs() < 1e-12),
            other => panic!("{other:?}"),
        }
        assert!(fire(&conditions(&["csat_mean < 4.0"]), &Fixed).is_none());
        let ratio = conditions(&[
            "ratio(by(device, mobile, preventable_contact_rate), by(device, desktop, preventable_contact_rate)) >= 1.3",
            "event_ended_within(launch, 14d)",
        ]);
        let evidence = fire(&ratio, &Fixed).expect("fires");
        assert_eq!(
            evidence.get("launch_event"),
            Some(&Evidence::Text("Autumn launch".to_owned()))
        );
        // A missing value never fires.
        assert!(fire(&conditions(&["ratio_to_baseline(csat_mean) > 0"]), &Fixed).is_none());
    }

    #[test]
    fn significant_reads_the_tested_change() {
        let fired = fire(
            &conditions(&["significant(delta(deflection_rate))"]),
            &Fixed,
        );
        match fired
            .as_ref()
            .and_then(|e| e.get("significant(delta(deflection_rate))"))
        {
            Some(Evidence::Change {
                kpi,
                against,
                p_value,
                ..
            }) => assert!(kpi == "deflection_rate" && *against == "previous" && *p_value == 0.001),
            other => panic!("{other:?}"),
        }
        // Not significant, not tested, or tested against the other side: never fires.
        for text in [
            "significant(csat_mean)",
            "significant(ratio_to_baseline(csat_mean))",
            "significant(delta(csat_mean))",
            "significant(ratio_to_baseline(deflection_rate))",
        ] {
            assert!(fire(&conditions(&[text]), &Fixed).is_none(), "{text}");
        }
        for bad in [
            "significant(delta(deflection_rate)) > 0",
            "significant(abs(delta(deflection_rate)))",
            "significant(by(device, mobile, conversion_rate))",
            "significant(nope_kpi)",
        ] {
            assert!(parse_condition(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bad_conditions_are_reported() {
        assert!(parse_condition("csat_mean <").is_err());
        assert!(parse_condition("nope_kpi > 1").is_err());
        assert!(parse_condition("by(device, mobile, csat_mean) > 1").is_err());
        assert!(parse_condition("event_ended_within(sale, 14d)").is_err());
        assert!(parse_condition("csat_mean").is_err());
        assert!(parse_condition("frobnicate(csat_mean) > 1").is_err());
    }

    #[test]
    fn thresholds_are_finite() {
        for bad in ["inf", "-inf", "NaN", "infinity", "1e999"] {
            let err = parse_condition(&format!("csat_mean >= {bad}")).unwrap_err();
            assert!(err.contains("finite"), "{bad}: {err}");
        }
    }

    #[test]
    fn nesting_is_bounded_not_a_stack_overflow() {
        let nested =
            |depth: usize| format!("{}csat_mean{} > 1", "abs(".repeat(depth), ")".repeat(depth));
        assert!(parse_condition(&nested(MAX_NESTING)).is_ok());
        let err = parse_condition(&nested(MAX_NESTING + 1)).unwrap_err();
        assert!(err.contains("nest more than"), "{err}");
        // Far past any stack: still an error, reached without recursing that deep.
        assert!(parse_condition(&nested(1_000_000)).is_err());
    }
}
