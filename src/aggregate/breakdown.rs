//! Counts per value of a dimension (device, template, campaign, …) for the diagnostic rules
//! that compare slices: contacts from the period × group cell, orders and sessions from the
//! period (both are split only when their own table carries the dimension).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::daily::session_day;
use crate::error::Result;
use crate::ingest::coded::read_coded;
use crate::ingest::{Joinable, Sessions, TableInput, NULL_CODE};
use crate::kpis::slices::SliceCounts;
use crate::kpis::IntentFlags;
use crate::time::day_in_grid;
use crate::time::Calendar;

/// Counts of one dimension, one vector per value (so values can be added later, by the
/// sessions table or by merging partial states).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Breakdown {
    /// Distinct non-null values over the tables.
    pub values: Vec<String>,
    /// Contacts per value, then per period × group, if contacts carry the dimension.
    pub contacts: Option<Vec<Vec<u64>>>,
    /// Preventable contacts per value, then per period × group.
    pub preventable: Option<Vec<Vec<u64>>>,
    /// Orders per value, then per period, if orders carry the dimension.
    pub orders: Option<Vec<Vec<u64>>>,
    /// Sessions per value, then per period, if sessions carry the dimension.
    pub sessions: Option<Vec<Vec<f64>>>,
    /// Groups of the view.
    pub n_groups: usize,
    /// Periods of the view.
    pub n_periods: usize,
    /// Code of each value in `values`, so adding and finding a value costs O(1) whatever the
    /// number of distinct values (rebuilt when stale, e.g. after decoding).
    #[serde(skip)]
    index: HashMap<String, usize>,
}

/// Value codes of one table's column by input row, in the table's own dictionary (None
/// when the table lacks it or it cannot be read as text).
fn coded_values(table: &TableInput, dim: &str) -> Result<Option<(Vec<String>, Vec<u32>)>> {
    let Some(chunks) = table.column(dim)? else {
        return Ok(None);
    };
    Ok(read_coded(&chunks, true)
        .ok()
        .map(|coded| (coded.values, coded.codes)))
}

/// Inputs of a breakdown.
pub struct BreakdownInputs<'a> {
    /// The tables as given.
    pub contacts: &'a TableInput,
    /// Orders table.
    pub orders: &'a TableInput,
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

/// Adds `zero` vectors so `per_value` has one per value.
fn pad<T: Clone>(per_value: &mut Option<Vec<Vec<T>>>, n_values: usize, len: usize, zero: T) {
    if let Some(v) = per_value {
        v.resize(n_values, vec![zero; len]);
    }
}

impl Breakdown {
    /// No values yet, for a view of `n_periods` × `n_groups` cells.
    pub fn empty(n_groups: usize, n_periods: usize) -> Breakdown {
        Breakdown {
            n_groups,
            n_periods,
            ..Breakdown::default()
        }
    }

    /// The same counts with every group as one (the total view of a grouped one): each
    /// contact is counted in one group, so the groups' counts add up to the total's.
    pub fn merged_groups(&self) -> Breakdown {
        let n_groups = self.n_groups.max(1);
        let merge = |per_value: &Vec<Vec<u64>>| -> Vec<Vec<u64>> {
            per_value
                .iter()
                .map(|cells| cells.chunks(n_groups).map(|c| c.iter().sum()).collect())
                .collect()
        };
        Breakdown {
            values: self.values.clone(),
            contacts: self.contacts.as_ref().map(merge),
            preventable: self.preventable.as_ref().map(merge),
            orders: self.orders.clone(),
            sessions: self.sessions.clone(),
            n_groups: 1,
            n_periods: self.n_periods,
            index: self.index.clone(),
        }
    }

    /// Counts `dim` over contacts and orders (sessions come with [`Breakdown::add_sessions`]).
    /// `within_budget` is asked with the number of distinct values before the per-value
    /// counts are allocated (values × periods × groups).
    pub fn build(
        dim: &str,
        inputs: &BreakdownInputs,
        within_budget: &dyn Fn(usize) -> Result<()>,
    ) -> Result<Breakdown> {
        let calendar = inputs.calendar;
        let mut b = Breakdown::empty(inputs.n_groups, calendar.n_periods());
        let cells = b.n_periods * b.n_groups;
        let period_of = |t: i64| calendar.period_of_day[day_in_grid(calendar, t)] as usize;
        if let Some((names, codes)) = coded_values(inputs.contacts, dim)? {
            let global = b.codes_of(&names);
            within_budget(b.values.len())?;
            let mut counts = vec![vec![0u64; cells]; b.values.len()];
            let mut prevent = vec![vec![0u64; cells]; b.values.len()];
            let contacts = &inputs.data.contacts;
            for i in 0..contacts.len {
                let code = codes[contacts.source_row(i)];
                if code == NULL_CODE {
                    continue;
                }
                let v = global[code as usize];
                let k = period_of(contacts.created_at[i]) * b.n_groups + inputs.group[i] as usize;
                counts[v][k] += 1;
                prevent[v][k] += u64::from(inputs.flags.is_preventable(contacts, i));
            }
            b.contacts = Some(counts);
            b.preventable = Some(prevent);
        }
        if let Some((names, codes)) = coded_values(inputs.orders, dim)? {
            let global = b.codes_of(&names);
            within_budget(b.values.len())?;
            let mut counts = vec![vec![0u64; b.n_periods]; b.values.len()];
            let orders = &inputs.data.orders;
            for i in 0..orders.len {
                // Codes are by input row; orders may have lost invalid rows.
                let code = codes[orders.source_row(i)];
                if code != NULL_CODE {
                    counts[global[code as usize]][period_of(orders.created_at[i])] += 1;
                }
            }
            b.orders = Some(counts);
        }
        b.pad_values();
        Ok(b)
    }

    /// Global codes of a table's values, adding the new ones.
    fn codes_of(&mut self, names: &[String]) -> Vec<usize> {
        names.iter().map(|name| self.code_or_insert(name)).collect()
    }

    /// The code of a value, added if new.
    pub fn code_or_insert(&mut self, name: &str) -> usize {
        if self.index.len() != self.values.len() {
            self.index = self
                .values
                .iter()
                .enumerate()
                .map(|(v, name)| (name.clone(), v))
                .collect();
        }
        if let Some(&v) = self.index.get(name) {
            return v;
        }
        self.values.push(name.to_owned());
        self.index.insert(name.to_owned(), self.values.len() - 1);
        self.values.len() - 1
    }

    /// Gives every per-value table one vector per value.
    pub fn pad_values(&mut self) {
        let n = self.values.len();
        let cells = self.n_periods * self.n_groups;
        pad(&mut self.contacts, n, cells, 0);
        pad(&mut self.preventable, n, cells, 0);
        pad(&mut self.orders, n, self.n_periods, 0);
        pad(&mut self.sessions, n, self.n_periods, 0.0);
    }

    /// Counts `dim` over the sessions table (`within_budget` is asked with the number of
    /// values, the sessions' new ones included, before anything is allocated for them).
    pub fn add_sessions(
        &mut self,
        dim: &str,
        table: &TableInput,
        sessions: &Sessions,
        calendar: &Calendar,
        within_budget: &dyn Fn(usize) -> Result<()>,
    ) -> Result<()> {
        let Some((names, codes)) = coded_values(table, dim)? else {
            return Ok(());
        };
        let global = self.codes_of(&names);
        within_budget(self.values.len())?;
        let mut counts = vec![vec![0f64; self.n_periods]; self.values.len()];
        for row in 0..sessions.count.len() {
            let code = codes[sessions.source_row(row)];
            if code == NULL_CODE {
                continue;
            }
            if let Some(d) = session_day(calendar, sessions, row) {
                let p = calendar.period_of_day[d] as usize;
                counts[global[code as usize]][p] += sessions.count[row];
            }
        }
        self.sessions = Some(counts);
        self.pad_values();
        Ok(())
    }

    /// Adds another slice's counts: its period `p` is `period_map[p]` here (None: past
    /// this grid), its group `g` is `group_map[g]`.
    pub fn absorb(&mut self, other: &Breakdown, period_map: &[Option<usize>], group_map: &[u32]) {
        let codes: Vec<usize> = other
            .values
            .iter()
            .map(|v| self.code_or_insert(v))
            .collect();
        let cells = self.n_periods * self.n_groups;
        let n_values = self.values.len();
        if other.contacts.is_some() && self.contacts.is_none() {
            self.contacts = Some(Vec::new());
            self.preventable = Some(Vec::new());
        }
        if other.orders.is_some() && self.orders.is_none() {
            self.orders = Some(Vec::new());
        }
        pad(&mut self.contacts, n_values, cells, 0);
        pad(&mut self.preventable, n_values, cells, 0);
        pad(&mut self.orders, n_values, self.n_periods, 0);
        pad(&mut self.sessions, n_values, self.n_periods, 0.0);
        let other_groups = group_map.len();
        for (v, &to_v) in codes.iter().enumerate() {
            for (p, to_p) in period_map.iter().enumerate() {
                let Some(to_p) = *to_p else { continue };
                for (g, &to_g) in group_map.iter().enumerate() {
                    let from = p * other_groups + g;
                    let to = to_p * self.n_groups + to_g as usize;
                    if let (Some(mine), Some(theirs)) = (&mut self.contacts, &other.contacts) {
                        mine[to_v][to] += theirs[v][from];
                    }
                    if let (Some(mine), Some(theirs)) = (&mut self.preventable, &other.preventable)
                    {
                        mine[to_v][to] += theirs[v][from];
                    }
                }
                if let (Some(mine), Some(theirs)) = (&mut self.orders, &other.orders) {
                    mine[to_v][to_p] += theirs[v][p];
                }
            }
        }
    }

    /// The code of a value.
    pub fn value_code(&self, value: &str) -> Option<usize> {
        if self.index.len() == self.values.len() {
            self.index.get(value).copied()
        } else {
            self.values.iter().position(|v| v == value)
        }
    }

    /// Contacts of value `v` in period `p`, group `g`.
    pub fn contacts_at(&self, p: usize, g: usize, v: usize) -> Option<u64> {
        self.contacts.as_ref().map(|c| c[v][p * self.n_groups + g])
    }

    /// Preventable contacts of value `v` in period `p`, group `g`.
    pub fn preventable_at(&self, p: usize, g: usize, v: usize) -> Option<u64> {
        self.preventable
            .as_ref()
            .map(|c| c[v][p * self.n_groups + g])
    }

    /// Orders of value `v` in period `p`.
    pub fn orders_at(&self, p: usize, v: usize) -> Option<u64> {
        self.orders.as_ref().map(|c| c[v][p])
    }

    /// Sessions of value `v` in period `p`.
    pub fn sessions_at(&self, p: usize, v: usize) -> Option<f64> {
        self.sessions.as_ref().map(|c| c[v][p])
    }

    /// The counts of value `v` in period `p`, group `g` (for `kpis::slices`).
    pub fn slice_counts(&self, p: usize, g: usize, v: usize) -> SliceCounts {
        SliceCounts {
            contacts: self.contacts_at(p, g, v).zip(self.preventable_at(p, g, v)),
            orders: self.orders_at(p, v),
            sessions: self.sessions_at(p, v),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_coded_once_each_also_after_decoding() {
        let mut b = Breakdown::empty(1, 1);
        let names: Vec<String> = (0..50_000).map(|i| format!("t{i}")).collect();
        let codes = b.codes_of(&names);
        assert_eq!(codes, (0..50_000).collect::<Vec<_>>());
        assert_eq!(b.code_or_insert("t123"), 123);
        assert_eq!(b.value_code("t49999"), Some(49_999));
        // A decoded breakdown has no index yet: lookups still find every value, and the
        // first insert rebuilds it rather than appending a duplicate.
        let bytes = postcard::to_stdvec(&b).expect("encodes");
        let mut decoded: Breakdown = postcard::from_bytes(&bytes).expect("decodes");
        assert_eq!(decoded.value_code("t7"), Some(7));
        assert_eq!(decoded.code_or_insert("t7"), 7);
        assert_eq!(decoded.code_or_insert("new"), 50_000);
        assert_eq!(decoded.values.len(), 50_001);
    }
}
