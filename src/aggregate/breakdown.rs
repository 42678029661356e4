//! Counts per value of a dimension (device, template, campaign, …) for the diagnostic rules
//! that compare slices: contacts from the period × group cell, orders and sessions from the
//! period (both are split only when their own table carries the dimension).

use rustc_hash::FxHashMap;

use super::daily::{day_in_grid, session_day, IntentFlags};
use crate::ingest::columns::read_coded;
use crate::ingest::{Joinable, Sessions, TableInput, NULL_CODE};
use crate::time::Calendar;

/// Counts of one dimension.
pub struct Breakdown {
    /// Distinct non-null values over the three tables.
    pub values: Vec<String>,
    /// Contacts per (period, group, value), if contacts carry the dimension.
    pub contacts: Option<Vec<u64>>,
    /// Preventable contacts per (period, group, value).
    pub preventable: Option<Vec<u64>>,
    /// Orders per (period, value), if orders carry the dimension.
    pub orders: Option<Vec<u64>>,
    /// Sessions per (period, value), if sessions carry the dimension.
    pub sessions: Option<Vec<f64>>,
    n_groups: usize,
}

/// Global value codes of one table's column, by input row (None when the table lacks it or
/// it cannot be read as text).
fn coded_values(
    table: Option<&TableInput>,
    dim: &str,
    index: &mut FxHashMap<String, u32>,
    values: &mut Vec<String>,
) -> Option<Vec<u32>> {
    let chunks = table?.column(dim)?;
    let coded = read_coded(&chunks, true).ok()?;
    let global: Vec<u32> = coded
        .values
        .iter()
        .map(|v| {
            *index.entry(v.clone()).or_insert_with(|| {
                values.push(v.clone());
                (values.len() - 1) as u32
            })
        })
        .collect();
    Some(
        coded
            .codes
            .iter()
            .map(|&c| {
                if c == NULL_CODE {
                    NULL_CODE
                } else {
                    global[c as usize]
                }
            })
            .collect(),
    )
}

/// Inputs of a breakdown.
pub struct BreakdownInputs<'a> {
    /// The tables as given.
    pub contacts: &'a TableInput,
    /// Orders table.
    pub orders: &'a TableInput,
    /// Sessions table, if any.
    pub sessions_table: Option<&'a TableInput>,
    /// Read sessions, if any.
    pub sessions: Option<&'a Sessions>,
    /// Read contacts and orders.
    pub data: &'a Joinable,
    /// Calendar.
    pub calendar: &'a Calendar,
    /// Group code per contact.
    pub group: &'a [u32],
    /// Number of groups.
    pub n_groups: usize,
    /// Taxonomy flags.
    pub flags: &'a IntentFlags,
}

impl Breakdown {
    /// Counts `dim` over the three tables.
    pub fn build(dim: &str, inputs: &BreakdownInputs) -> Breakdown {
        let mut index = FxHashMap::default();
        let mut values = Vec::new();
        let contact_codes = coded_values(Some(inputs.contacts), dim, &mut index, &mut values);
        let order_codes = coded_values(Some(inputs.orders), dim, &mut index, &mut values);
        let session_codes = coded_values(inputs.sessions_table, dim, &mut index, &mut values);
        let calendar = inputs.calendar;
        let n_values = values.len();
        let n_periods = calendar.n_periods();
        let period_of = |t: i64| calendar.period_of_day[day_in_grid(calendar, t)] as usize;
        let contacts = &inputs.data.contacts;
        let (contact_counts, preventable) = match &contact_codes {
            Some(codes) => {
                let mut counts = vec![0u64; n_periods * inputs.n_groups * n_values];
                let mut prevent = vec![0u64; n_periods * inputs.n_groups * n_values];
                for i in 0..contacts.len {
                    let v = codes[contacts.source_row(i)];
                    if v == NULL_CODE {
                        continue;
                    }
                    let p = period_of(contacts.created_at[i]);
                    let k =
                        (p * inputs.n_groups + inputs.group[i] as usize) * n_values + v as usize;
                    counts[k] += 1;
                    prevent[k] += u64::from(inputs.flags.is_preventable(contacts, i));
                }
                (Some(counts), Some(prevent))
            }
            None => (None, None),
        };
        let orders = order_codes.map(|codes| {
            let orders = &inputs.data.orders;
            let mut counts = vec![0u64; n_periods * n_values];
            for i in 0..orders.len {
                // Codes are by input row; orders may have lost invalid rows.
                let v = codes[orders.source_row(i)];
                if v != NULL_CODE {
                    counts[period_of(orders.created_at[i]) * n_values + v as usize] += 1;
                }
            }
            counts
        });
        let sessions = match (session_codes, inputs.sessions) {
            (Some(codes), Some(sessions)) => {
                let mut counts = vec![0f64; n_periods * n_values];
                for row in 0..sessions.count.len() {
                    let v = codes[sessions.source_row(row)];
                    if v == NULL_CODE {
                        continue;
                    }
                    if let Some(d) = session_day(calendar, sessions, row) {
                        let p = calendar.period_of_day[d] as usize;
                        counts[p * n_values + v as usize] += sessions.count[row];
                    }
                }
                Some(counts)
            }
            _ => None,
        };
        Breakdown {
            values,
            contacts: contact_counts,
            preventable,
            orders,
            sessions,
            n_groups: inputs.n_groups,
        }
    }

    /// The code of a value.
    pub fn value_code(&self, value: &str) -> Option<usize> {
        self.values.iter().position(|v| v == value)
    }

    /// Contacts of value `v` in period `p`, group `g`.
    pub fn contacts_at(&self, p: usize, g: usize, v: usize) -> Option<u64> {
        let k = (p * self.n_groups + g) * self.values.len() + v;
        self.contacts.as_ref().map(|c| c[k])
    }

    /// Preventable contacts of value `v` in period `p`, group `g`.
    pub fn preventable_at(&self, p: usize, g: usize, v: usize) -> Option<u64> {
        let k = (p * self.n_groups + g) * self.values.len() + v;
        self.preventable.as_ref().map(|c| c[k])
    }

    /// Orders of value `v` in period `p`.
    pub fn orders_at(&self, p: usize, v: usize) -> Option<u64> {
        self.orders.as_ref().map(|c| c[p * self.values.len() + v])
    }

    /// Sessions of value `v` in period `p`.
    pub fn sessions_at(&self, p: usize, v: usize) -> Option<f64> {
        self.sessions.as_ref().map(|c| c[p * self.values.len() + v])
    }

    /// A slice KPI (diagnostics::SLICE_KPIS) of value `v` in period `p`, group `g`.
    pub fn slice_kpi(&self, kpi: &str, p: usize, g: usize, v: usize) -> Option<f64> {
        let ratio = |n: f64, d: f64| (d != 0.0).then(|| n / d);
        match kpi {
            "contacts" => self.contacts_at(p, g, v).map(|n| n as f64),
            "orders" => self.orders_at(p, v).map(|n| n as f64),
            "sessions" => self.sessions_at(p, v),
            "tickets_per_order" => ratio(
                self.contacts_at(p, g, v)? as f64,
                self.orders_at(p, v)? as f64,
            ),
            "preventable_contact_rate" => ratio(
                self.preventable_at(p, g, v)? as f64,
                self.sessions_at(p, v)?,
            ),
            "conversion_rate" => ratio(self.orders_at(p, v)? as f64, self.sessions_at(p, v)?),
            _ => None,
        }
    }
}
