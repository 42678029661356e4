//! Customers: repurchase cohorts, retention and lifetime value. These are not sums over
//! contact days: one walk over each customer's contacts and orders (in customer order, from
//! the join index) fills the per-period counters.

use super::prelude::*;
use rayon::prelude::*;

use super::row::matures;
use super::sample::additive_state;
use super::{ratio, KpiDef, Measure, Need};
use crate::ingest::Joinable;
use crate::joins::CustomerIndex;
use crate::time::{day_in_grid, Calendar};

additive_state! {
    /// Customer-level counts of one period × group cell (repurchase cohorts).
    RepurchaseState {
        /// Mature customers with a contact in the cell.
        mature: u64,
        /// … who ordered within the window after their first contact.
        repurchased: u64,
        /// Mature, first contact rated csat ≥ 4.
        satisfied_mature: u64,
        /// … repurchased.
        satisfied_repurchased: u64,
        /// Mature, first contact rated csat < 4.
        unsatisfied_mature: u64,
        /// … repurchased.
        unsatisfied_repurchased: u64,
        /// Mature, first contact unrated.
        unrated_mature: u64,
        /// … repurchased.
        unrated_repurchased: u64,
    }
}

additive_state! {
    /// Customer-level order totals of one period (not split by contact group).
    PeriodCustomerState {
        /// Customers ordering in the previous period.
        retention_base: u64,
        /// … who order again in this one.
        retained: u64,
        /// Orders with a customer.
        orders_with_customer: u64,
        /// Distinct ordering customers.
        ordering_customers: u64,
        /// Mature customers with an order and no contact in the period.
        no_contact_mature: u64,
        /// … who ordered again within the window after their first order in it.
        no_contact_repurchased: u64,
    }
}

/// Parameters of the customer cohorts.
#[derive(Debug, Clone, Copy)]
pub struct CohortRules {
    /// repurchase_rate_90d window, µs.
    pub repurchase_window: i64,
    /// Lowest "satisfied" csat (the top two points of the scale).
    pub csat_satisfied_min: f64,
    /// End of observed data.
    pub as_of: i64,
}

/// A contact's csat class in the cohort pass.
const CSAT_UNRATED: u8 = 0;
const CSAT_SATISFIED: u8 = 1;
const CSAT_UNSATISFIED: u8 = 2;

/// What one pass of [`customer_cohorts`] gives.
pub struct Cohorts {
    /// Repurchase cohorts per period × group.
    pub repurchase: Vec<RepurchaseState>,
    /// Customer-level order totals per period (no group).
    pub per_period: Vec<PeriodCustomerState>,
    /// Repurchase cohorts per period over all groups, when asked for: a customer counts
    /// once per period however many groups they contacted in, so these are not the sum
    /// of the groups'.
    pub repurchase_total: Option<Vec<RepurchaseState>>,
}

/// Customer-level cohorts: repurchase per period × group (and, with `with_total`, per
/// period over all groups), retention/CLV/no-contact per period. Customers are
/// independent, so they fold in parallel; each row's period is looked up once up front
/// and nothing is allocated per customer.
pub fn customer_cohorts(
    data: &Joinable,
    index: &CustomerIndex,
    calendar: &Calendar,
    group: &[u32],
    n_groups: usize,
    rules: &CohortRules,
    with_total: bool,
) -> Cohorts {
    let CohortRules {
        repurchase_window: window,
        csat_satisfied_min,
        as_of,
    } = *rules;
    let n_periods = calendar.n_periods();
    let c = &data.contacts;
    let period_of = |t: i64| calendar.period_of_day[day_in_grid(calendar, t)];
    // Periods in customer-sorted order, aligned with the index's time arrays.
    let contact_period: Vec<u32> = index
        .contact_times
        .par_iter()
        .map(|&t| period_of(t))
        .collect();
    let order_period: Vec<u32> = index
        .order_times
        .par_iter()
        .map(|&t| period_of(t))
        .collect();
    // Each contact's group and csat class, gathered once into customer order. As a tight
    // loop of independent loads this gather overlaps its cache misses; done inside the fold
    // below, each miss would stall the loop (two random reads per contact over 10M rows).
    let csat = c.csat.as_deref();
    let csat_class = |row: u32| -> u8 {
        match csat.map_or(f64::NAN, |x| x[row as usize]) {
            v if v.is_nan() => CSAT_UNRATED,
            v if v >= csat_satisfied_min => CSAT_SATISFIED,
            _ => CSAT_UNSATISFIED,
        }
    };
    let contact_csat: Vec<u8> = index
        .contact_rows
        .par_iter()
        .map(|&r| csat_class(r))
        .collect();
    // One group: every contact's group is 0, nothing to gather.
    let contact_group: Option<Vec<u32>> = (n_groups > 1).then(|| {
        index
            .contact_rows
            .par_iter()
            .map(|&row| group[row as usize])
            .collect()
    });
    struct Fold {
        repurchase: Vec<RepurchaseState>,
        per_period: Vec<PeriodCustomerState>,
        repurchase_total: Vec<RepurchaseState>,
        seen_groups: Vec<u32>,
    }
    let empty = || Fold {
        repurchase: vec![RepurchaseState::default(); n_periods * n_groups],
        per_period: vec![PeriodCustomerState::default(); n_periods],
        repurchase_total: vec![RepurchaseState::default(); if with_total { n_periods } else { 0 }],
        seen_groups: Vec::new(),
    };
    let fold_customer = |acc: &mut Fold, customer: usize| {
        let (c0, o0) = (
            index.contact_offsets[customer],
            index.order_offsets[customer],
        );
        let contact_times = index.contact_times_of(customer);
        let order_times = index.order_times_of(customer);
        let contact_periods = &contact_period[c0..c0 + contact_times.len()];
        let n_contacts = contact_times.len();
        let csat_classes = &contact_csat[c0..c0 + n_contacts];
        let groups = contact_group.as_ref().map(|g| &g[c0..c0 + n_contacts]);
        let order_periods = &order_period[o0..o0 + order_times.len()];
        // Another order in (t0, t0 + window].
        let ordered_within = |t0: i64| {
            let next = order_times.partition_point(|&t| t <= t0);
            next < order_times.len() && order_times[next] - t0 <= window
        };
        let mut current_period = u32::MAX;
        // Contacts are in (created_at, contact_id) order, so the first of a cell is
        // the earliest, ties going to the smallest id.
        for (k, &csat_class) in csat_classes.iter().enumerate() {
            let p = contact_periods[k];
            let first_of_period = p != current_period;
            if first_of_period {
                current_period = p;
                acc.seen_groups.clear();
            }
            let g = groups.map_or(0, |g| g[k]);
            let first_of_group = !acc.seen_groups.contains(&g);
            let first_overall = with_total && first_of_period;
            if !first_of_group && !first_overall {
                continue;
            }
            if first_of_group {
                acc.seen_groups.push(g);
            }
            let t0 = contact_times[k];
            if !matures(t0, window, as_of) {
                continue;
            }
            let hit = u64::from(ordered_within(t0));
            if first_of_group {
                count_repurchase(
                    &mut acc.repurchase[p as usize * n_groups + g as usize],
                    csat_class,
                    hit,
                );
            }
            if first_overall {
                count_repurchase(&mut acc.repurchase_total[p as usize], csat_class, hit);
            }
        }
        // Orders: one pass over the customer's periods with orders (periods are
        // non-decreasing along the time-sorted rows).
        let mut k = 0usize;
        let mut previous_period: Option<u32> = None;
        while k < order_times.len() {
            let p = order_periods[k];
            let mut end = k + 1;
            while end < order_times.len() && order_periods[end] == p {
                end += 1;
            }
            let pu = p as usize;
            let totals = &mut acc.per_period[pu];
            totals.ordering_customers += 1;
            totals.orders_with_customer += (end - k) as u64;
            if p > 0 && previous_period == Some(p - 1) {
                totals.retained += 1;
            }
            if pu + 1 < n_periods {
                acc.per_period[pu + 1].retention_base += 1;
            }
            let at = contact_periods.partition_point(|&q| q < p);
            let contacted = at < contact_periods.len() && contact_periods[at] == p;
            let t0 = order_times[k];
            if !contacted && matures(t0, window, as_of) {
                let totals = &mut acc.per_period[pu];
                totals.no_contact_mature += 1;
                totals.no_contact_repurchased += u64::from(ordered_within(t0));
            }
            previous_period = Some(p);
            k = end;
        }
    };
    // A fixed number of blocks of customers, each folded into its own states: rayon's
    // adaptive `fold` starts a fresh accumulator at every split, and with many groups each
    // one is n_periods × n_groups states to allocate, first-touch and add up.
    let n_customers = index.customers();
    let per_block = n_customers
        .div_ceil(rayon::current_num_threads() * 2)
        .max(1);
    let mut blocks = (0..n_customers.div_ceil(per_block))
        .into_par_iter()
        .map(|b| {
            let mut acc = empty();
            for customer in b * per_block..((b + 1) * per_block).min(n_customers) {
                fold_customer(&mut acc, customer);
            }
            acc
        })
        .collect::<Vec<Fold>>()
        .into_iter();
    let mut folded = blocks.next().unwrap_or_else(empty);
    for b in blocks {
        for (x, y) in folded.repurchase.iter_mut().zip(&b.repurchase) {
            x.add(y);
        }
        for (x, y) in folded.per_period.iter_mut().zip(&b.per_period) {
            x.add(y);
        }
        for (x, y) in folded.repurchase_total.iter_mut().zip(&b.repurchase_total) {
            x.add(y);
        }
    }
    Cohorts {
        repurchase: folded.repurchase,
        per_period: folded.per_period,
        repurchase_total: with_total.then_some(folded.repurchase_total),
    }
}

/// Counts one mature customer's first contact of a cell, repurchased or not (`hit`).
fn count_repurchase(state: &mut RepurchaseState, csat_class: u8, hit: u64) {
    state.mature += 1;
    state.repurchased += hit;
    match csat_class {
        CSAT_UNRATED => {
            state.unrated_mature += 1;
            state.unrated_repurchased += hit;
        }
        CSAT_SATISFIED => {
            state.satisfied_mature += 1;
            state.satisfied_repurchased += hit;
        }
        _ => {
            state.unsatisfied_mature += 1;
            state.unsatisfied_repurchased += hit;
        }
    }
}

const CSAT: Need = Need::Column("csat");

/// Customer KPIs, in output order.
pub static KPIS: &[KpiDef] = &[
    KpiDef {
        id: "repurchase_rate_90d",
        name: "90-day repurchase rate of contacting customers",
        definition: "customers with a contact in the period who order within 90 d after their first contact in it / such mature customers",
        unit: Unit::Rate,
        direction: HigherIsBetter,
        needs: &[],
        reads: Customers,
        display: Display::OTHER,
        band: None,
        source: "seed 001",
        compute: |c| ratio(c.repurchase.repurchased as f64, c.repurchase.mature as f64),
    },
    KpiDef {
        id: "repurchase_rate_90d_satisfied",
        name: "90-day repurchase rate, satisfied (csat >= 4)",
        definition: "repurchase_rate_90d of customers whose first contact in the period was rated csat >= 4",
        unit: Unit::Rate,
        direction: HigherIsBetter,
        needs: &[CSAT],
        reads: Customers,
        display: Display::OTHER,
        band: None,
        source: "seed 001",
        compute: |c| ratio(c.repurchase.satisfied_repurchased as f64, c.repurchase.satisfied_mature as f64),
    },
    KpiDef {
        id: "repurchase_rate_90d_unsatisfied",
        name: "90-day repurchase rate, unsatisfied (csat < 4)",
        definition: "repurchase_rate_90d of customers whose first contact in the period was rated csat < 4",
        unit: Unit::Rate,
        direction: HigherIsBetter,
        needs: &[CSAT],
        reads: Customers,
        display: Display::OTHER,
        band: None,
        source: "seed 001",
        compute: |c| ratio(c.repurchase.unsatisfied_repurchased as f64, c.repurchase.unsatisfied_mature as f64),
    },
    KpiDef {
        id: "repurchase_rate_90d_unrated",
        name: "90-day repurchase rate, unrated",
        definition: "repurchase_rate_90d of customers whose first contact in the period has no csat",
        unit: Unit::Rate,
        direction: HigherIsBetter,
        needs: &[CSAT],
        reads: Customers,
        display: Display::OTHER,
        band: None,
        source: "seed 001",
        compute: |c| ratio(c.repurchase.unrated_repurchased as f64, c.repurchase.unrated_mature as f64),
    },
    KpiDef {
        id: "repurchase_rate_90d_no_contact",
        name: "90-day repurchase rate of non-contacting customers",
        definition: "customers with an order and no contact in the period who order again within 90 d after their first order in it / such mature customers",
        unit: Unit::Rate,
        direction: HigherIsBetter,
        needs: &[],
        reads: Customers,
        display: Display::OTHER,
        band: None,
        source: "seed 001",
        compute: |c| ratio(c.customers.no_contact_repurchased as f64, c.customers.no_contact_mature as f64),
    },
    KpiDef {
        id: "retention_rate",
        name: "Customer retention rate",
        definition: "customers ordering in the previous period who order again in this one / customers ordering in the previous period",
        unit: Unit::Rate,
        direction: HigherIsBetter,
        needs: &[],
        reads: Customers,
        display: Display::OTHER,
        band: None,
        source: "seed 002",
        compute: |c| ratio(c.customers.retained as f64, c.customers.retention_base as f64),
    },
    KpiDef {
        id: "clv_simple",
        name: "Customer lifetime value (simple)",
        definition: "average order value x orders per customer x (lifespan days / period days)",
        unit: Unit::Currency,
        direction: HigherIsBetter,
        needs: &[],
        reads: Customers,
        display: Display::OTHER,
        band: None,
        source: "seed 002",
        compute: |c| {
            let orders = c.totals.orders as f64;
            let customers = c.customers.ordering_customers as f64;
            let value = (orders > 0.0 && customers > 0.0).then(|| {
                let average_order_value = c.totals.revenue / orders;
                let orders_per_customer = c.customers.orders_with_customer as f64 / customers;
                average_order_value * orders_per_customer * (c.lifespan_days / c.period_days)
            });
            Measure { value, ..Measure::default() }
        },
    },
];

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Float64Array, Int64Array, TimestampMicrosecondArray};

    use super::*;
    use crate::config::Config;
    use crate::ingest::{read_joinable, OnInvalid, TableInput};
    use crate::time::{PeriodKind, MICROS_PER_HOUR};

    /// Monday 2024-01-01 00:00 UTC, µs.
    const T0: i64 = 1_704_067_200_000_000;
    const DAY: i64 = 24 * MICROS_PER_HOUR;

    fn ts(values: Vec<i64>) -> ArrayRef {
        Arc::new(TimestampMicrosecondArray::from(values).with_timezone("UTC"))
    }

    /// A deterministic scramble, so rows come in no particular order.
    fn mix(i: i64, k: i64) -> i64 {
        ((i + 1).wrapping_mul(k) >> 7).rem_euclid(1 << 20)
    }

    #[test]
    fn cohorts_match_a_brute_force_walk_over_customers() {
        // 900 contacts and 1,400 orders of 60 customers over ten weeks in three groups:
        // every customer has several contacts per period, ties on created_at (the first
        // contact of a cell is then the smaller id), csat rated, unrated and low, orders
        // before, between and after contacts, and some customers ordering without contacts.
        let (n, m) = (900i64, 1_400i64);
        let c_customer: Vec<i64> = (0..n).map(|i| mix(i, 2_654_435_761) % 50).collect();
        let c_time: Vec<i64> = (0..n)
            .map(|i| T0 + (mix(i, 40_503) % 1_600) * MICROS_PER_HOUR / 2)
            .collect();
        let c_id: Vec<i64> = (0..n).map(|i| (mix(i, 97) % 1_000) * 1_000 + i).collect();
        let c_csat: Vec<Option<f64>> = (0..n)
            .map(|i| match i % 4 {
                0 => None,
                k => Some((k + 2) as f64),
            })
            .collect();
        let o_customer: Vec<i64> = (0..m).map(|i| mix(i, 7_919) % 60).collect();
        let o_time: Vec<i64> = (0..m)
            .map(|i| T0 + (mix(i, 104_729) % 1_700) * MICROS_PER_HOUR / 2)
            .collect();
        let contacts = TableInput::from_columns(
            "contacts",
            vec![
                (
                    "contact_id",
                    Arc::new(Int64Array::from(c_id.clone())) as ArrayRef,
                ),
                (
                    "customer_id",
                    Arc::new(Int64Array::from(c_customer.clone())),
                ),
                ("created_at", ts(c_time.clone())),
                ("csat", Arc::new(Float64Array::from(c_csat.clone()))),
            ],
        )
        .expect("contacts");
        let orders = TableInput::from_columns(
            "orders",
            vec![
                (
                    "order_id",
                    Arc::new(Int64Array::from((0..m).collect::<Vec<_>>())) as ArrayRef,
                ),
                (
                    "customer_id",
                    Arc::new(Int64Array::from(o_customer.clone())),
                ),
                ("created_at", ts(o_time.clone())),
                (
                    "revenue",
                    Arc::new(Float64Array::from(vec![10.0; m as usize])),
                ),
            ],
        )
        .expect("orders");
        let config = Config::default();
        let data = read_joinable(
            &contacts,
            &orders,
            &config.value_checks().expect("checks"),
            OnInvalid::Raise,
        )
        .expect("reads");
        let (index, _) = CustomerIndex::build(&data.contacts, &data.orders, data.customers);
        let window = 14 * DAY;
        let as_of = T0 + 60 * DAY;
        let calendar = Calendar::covering(chrono_tz::UTC, PeriodKind::Week, T0, as_of);
        let n_groups = 3;
        let group: Vec<u32> = (0..n).map(|i| (mix(i, 31) % 3) as u32).collect();
        let rules = CohortRules {
            repurchase_window: window,
            csat_satisfied_min: 4.0,
            as_of,
        };
        let cohorts = customer_cohorts(&data, &index, &calendar, &group, n_groups, &rules, true);
        let (repurchase, per_period) = (cohorts.repurchase.clone(), cohorts.per_period.clone());
        // Without the total, the same grouped states.
        let alone = customer_cohorts(&data, &index, &calendar, &group, n_groups, &rules, false);
        assert_eq!(alone.repurchase, repurchase);
        assert_eq!(alone.per_period, per_period);
        assert!(alone.repurchase_total.is_none());
        // One group: the states of the whole.
        let one_group = customer_cohorts(
            &data,
            &index,
            &calendar,
            &vec![0; n as usize],
            1,
            &rules,
            false,
        );

        // The oracle: customers by their input ids, every row looked at directly.
        let n_periods = calendar.n_periods();
        let period = |t: i64| calendar.period_of_day[day_in_grid(&calendar, t)] as usize;
        let orders_of = |cust: i64| -> Vec<i64> {
            let mut t: Vec<i64> = (0..m as usize)
                .filter(|&j| o_customer[j] == cust)
                .map(|j| o_time[j])
                .collect();
            t.sort_unstable();
            t
        };
        let ordered_within =
            |cust: i64, t0: i64| orders_of(cust).iter().any(|&t| t > t0 && t - t0 <= window);
        let matures = |t0: i64| t0 + window <= as_of;
        // Per period × group, and (group None) per period over all groups.
        let mut want_rep = vec![RepurchaseState::default(); n_periods * n_groups];
        let mut want_total = vec![RepurchaseState::default(); n_periods];
        for p in 0..n_periods {
            for g in (0..n_groups).map(Some).chain([None]) {
                for cust in 0..60 {
                    let first = (0..n as usize)
                        .filter(|&i| {
                            c_customer[i] == cust
                                && g.is_none_or(|g| group[i] as usize == g)
                                && period(c_time[i]) == p
                        })
                        .min_by_key(|&i| (c_time[i], c_id[i]));
                    let Some(i) = first else { continue };
                    if !matures(c_time[i]) {
                        continue;
                    }
                    let hit = u64::from(ordered_within(cust, c_time[i]));
                    let s = match g {
                        Some(g) => &mut want_rep[p * n_groups + g],
                        None => &mut want_total[p],
                    };
                    s.mature += 1;
                    s.repurchased += hit;
                    match c_csat[i] {
                        None => {
                            s.unrated_mature += 1;
                            s.unrated_repurchased += hit;
                        }
                        Some(x) if x >= 4.0 => {
                            s.satisfied_mature += 1;
                            s.satisfied_repurchased += hit;
                        }
                        Some(_) => {
                            s.unsatisfied_mature += 1;
                            s.unsatisfied_repurchased += hit;
                        }
                    }
                }
            }
        }
        let mut want_period = vec![PeriodCustomerState::default(); n_periods];
        for cust in 0..60 {
            let times = orders_of(cust);
            let in_period = |p: usize| times.iter().filter(|&&t| period(t) == p).count() as u64;
            for (p, want) in want_period.iter_mut().enumerate() {
                let k = in_period(p);
                if k > 0 {
                    want.ordering_customers += 1;
                    want.orders_with_customer += k;
                }
                if p > 0 && in_period(p - 1) > 0 {
                    want.retention_base += 1;
                    want.retained += u64::from(k > 0);
                }
                let contacted =
                    (0..n as usize).any(|i| c_customer[i] == cust && period(c_time[i]) == p);
                let first_order = times.iter().copied().find(|&t| period(t) == p);
                if let (false, Some(t0)) = (contacted, first_order) {
                    if matures(t0) {
                        want.no_contact_mature += 1;
                        want.no_contact_repurchased += u64::from(ordered_within(cust, t0));
                    }
                }
            }
        }
        assert_eq!(repurchase, want_rep);
        assert_eq!(per_period, want_period);
        assert_eq!(cohorts.repurchase_total.as_ref(), Some(&want_total));
        assert_eq!(one_group.repurchase, want_total);
        assert_eq!(one_group.per_period, want_period);
        // Customers contacting in several groups of a period: the total is not the sum.
        let summed: Vec<u64> = (0..n_periods)
            .map(|p| {
                (0..n_groups)
                    .map(|g| want_rep[p * n_groups + g].mature)
                    .sum()
            })
            .collect();
        assert!((0..n_periods).any(|p| summed[p] > want_total[p].mature));
        // The data exercise every branch.
        let total: RepurchaseState = want_rep.iter().fold(Default::default(), |mut a, b| {
            a.add(b);
            a
        });
        assert!(
            total.satisfied_repurchased > 0
                && total.unsatisfied_mature > total.unsatisfied_repurchased
        );
        assert!(total.unrated_repurchased > 0);
        let totals: PeriodCustomerState =
            want_period.iter().fold(Default::default(), |mut a, b| {
                a.add(b);
                a
            });
        assert!(totals.retained > 0 && totals.no_contact_repurchased > 0);
    }
}
