//! Folding per-contact results into per-day × group states, plus the customer-level cohorts
//! and the backlog stock, which are not sums over contact days.

use rayon::prelude::*;

use super::state::{CellValues, ContactState, DayTotals, PeriodCustomerState, RepurchaseState};
use crate::config::{Config, CostSource};
use crate::ingest::{
    Contacts, HandledBy, Joinable, SessionTime, Sessions, ANONYMOUS, NULL_CODE, NULL_TS,
};
use crate::joins::{ContactJoins, CustomerIndex};
use crate::taxonomy::WISMO_INTENT;
use crate::time::Calendar;

/// Durations in hours and minutes are µs divided once (docs/semantics.md, "Time").
const MICROS_PER_HOUR: f64 = crate::time::MICROS_PER_HOUR as f64;
const MICROS_PER_MINUTE: f64 = crate::time::MICROS_PER_MINUTE as f64;

/// start + window ≤ as_of (SPEC §2).
pub fn matures(start: i64, window: i64, as_of: i64) -> bool {
    start.saturating_add(window) <= as_of
}

/// resolved_at not null and path in (self_service, ai) (SPEC §3.7).
pub fn resolved_without_human(c: &Contacts, i: usize, path: HandledBy) -> bool {
    c.is_resolved(i) && matches!(path, HandledBy::SelfService | HandledBy::Ai)
}

/// Per-intent-code taxonomy flags, resolved once per distinct intent from the config.
pub struct IntentFlags {
    preventable: Vec<bool>,
    policy: Vec<bool>,
    checkout_shipping: Vec<bool>,
    wismo: Vec<bool>,
}

impl IntentFlags {
    /// Flags of the contacts' distinct intents under the config's taxonomy.
    pub fn new(contacts: &Contacts, config: &Config) -> Self {
        let values: &[String] = contacts.intent.as_ref().map_or(&[], |i| &i.values);
        let class = |v: &String| config.taxonomy.get(v);
        IntentFlags {
            preventable: values
                .iter()
                .map(|v| class(v).is_some_and(|c| c.preventable))
                .collect(),
            policy: values
                .iter()
                .map(|v| class(v).is_some_and(|c| c.policy))
                .collect(),
            checkout_shipping: values
                .iter()
                .map(|v| class(v).is_some_and(|c| c.checkout_shipping))
                .collect(),
            wismo: values.iter().map(|v| v == WISMO_INTENT).collect(),
        }
    }

    fn flag(flags: &[bool], contacts: &Contacts, i: usize) -> bool {
        match contacts.intent.as_ref().map(|intent| intent.codes[i]) {
            Some(code) if code != NULL_CODE => flags[code as usize],
            _ => false,
        }
    }

    /// Preventable: the `preventable` column when present and non-null, else the taxonomy.
    pub fn is_preventable(&self, contacts: &Contacts, i: usize) -> bool {
        match contacts.preventable.as_ref().map(|p| p[i]) {
            Some(1) => true,
            Some(0) => false,
            _ => Self::flag(&self.preventable, contacts, i),
        }
    }
}

/// Everything the per-contact fold needs.
pub struct Context<'a> {
    /// Contacts.
    pub contacts: &'a Contacts,
    /// Their join results.
    pub joins: &'a ContactJoins,
    /// Taxonomy flags.
    pub flags: IntentFlags,
    /// The configuration.
    pub config: &'a Config,
    /// Windows, µs.
    pub recovery_window: i64,
    /// Windows, µs.
    pub repeat_window: i64,
    /// Windows, µs.
    pub recontact_window: i64,
    /// End of observed data.
    pub as_of: i64,
}

impl Context<'_> {
    /// Whether total cost comes from the `cost` column.
    fn cost_from_column(&self) -> bool {
        self.contacts.cost.is_some() && self.config.cost_model.source != CostSource::Model
    }

    /// Whether any cost is known (the column, or the unit-cost model).
    pub fn has_cost(contacts: &Contacts, config: &Config) -> bool {
        match config.cost_model.source {
            CostSource::Column => contacts.cost.is_some(),
            CostSource::Model => config.cost_model.has_prices(),
            CostSource::Auto => contacts.cost.is_some() || config.cost_model.has_prices(),
        }
    }

    /// Cost of contact `i`: the column (null = 0), or the model's price for its path plus
    /// its handle minutes.
    pub fn cost(&self, i: usize, path: HandledBy) -> f64 {
        let c = self.contacts;
        if self.cost_from_column() {
            let cost = c.cost.as_ref().map_or(f64::NAN, |x| x[i]);
            return if cost.is_nan() { 0.0 } else { cost };
        }
        let model = &self.config.cost_model;
        let key = path.name().unwrap_or("unknown");
        let per_contact = model.per_contact.get(key).copied().unwrap_or(0.0);
        let seconds = c.handle_seconds.as_ref().map_or(f64::NAN, |h| h[i]);
        let handling = if seconds.is_nan() {
            0.0
        } else {
            model.per_handle_minute * seconds / 60.0
        };
        per_contact + handling
    }

    /// Folds contact `i` into its cell.
    pub fn accumulate(&self, s: &mut ContactState, v: &mut CellValues, i: usize) {
        let c = self.contacts;
        let j = self.joins;
        let scales = &self.config.scales;
        let created = c.created_at[i];
        let path = c.path(i);
        let resolved = c.is_resolved(i);
        let escalated = c.is_escalated(i);
        let known_customer = c.customer[i] != ANONYMOUS;
        let cost = self.cost(i, path);

        s.contacts += 1;
        s.opened += 1;
        s.opened_created_sum += i128::from(created);
        s.preventable += u64::from(self.flags.is_preventable(c, i));
        s.wismo += u64::from(IntentFlags::flag(&self.flags.wismo, c, i));
        s.policy += u64::from(IntentFlags::flag(&self.flags.policy, c, i));
        s.cost += cost;
        if resolved {
            s.resolved += 1;
            s.resolved_without_human += u64::from(resolved_without_human(c, i, path));
        }
        let handled_by = c.handled_by.as_ref().map_or(HandledBy::Unknown, |h| h[i]);
        match handled_by {
            HandledBy::SelfService => {
                s.self_service += 1;
                s.self_service_resolved += u64::from(resolved && !escalated);
            }
            HandledBy::Ai => {
                s.ai += 1;
                s.ai_resolved += u64::from(resolved && !escalated);
                s.ai_escalated += u64::from(escalated);
                let verdict = c.resolution_correct.as_ref().map_or(-1, |r| r[i]);
                if resolved && !escalated && verdict != -1 {
                    s.accuracy_reviewed += 1;
                    s.accuracy_correct += u64::from(verdict == 1);
                }
            }
            _ => {}
        }

        // Forward-looking KPIs count mature contacts only (SPEC §2).
        if matures(created, self.recovery_window, self.as_of) {
            if known_customer {
                s.recovery_mature += 1;
                if j.recovered[i] {
                    s.recovered += 1;
                    v.recovery_hours
                        .push(j.next_order_delay[i] as f64 / MICROS_PER_HOUR);
                }
            }
            let revenue = j.attributed_revenue[i];
            s.recovered_revenue += revenue;
            match path {
                HandledBy::Ai | HandledBy::Human => s.recovered_revenue_assisted += revenue,
                HandledBy::SelfService => s.recovered_revenue_self_service += revenue,
                HandledBy::Unknown => {}
            }
            s.recovered_net_revenue +=
                revenue - j.attributed_deductions.as_ref().map_or(0.0, |d| d[i]);
            s.recovery_mature_cost += cost;
        }
        if known_customer && matures(created, self.repeat_window, self.as_of) {
            s.repeat_mature += 1;
            s.repeated += u64::from(j.repeat[i]);
        }
        let resolved_at = c.resolved_at.as_ref().map_or(NULL_TS, |r| r[i]);
        if known_customer
            && resolved_at != NULL_TS
            && matures(resolved_at, self.recontact_window, self.as_of)
        {
            s.recontact_mature += 1;
            if j.recontact[i] == 1 {
                s.recontacted += 1;
            } else {
                let touches = c.touches.as_ref().map_or(f64::NAN, |t| t[i]);
                s.first_contact_resolved += u64::from(touches.is_nan() || touches <= 1.0);
            }
        }
        if resolved && path == HandledBy::Human {
            let seconds = c.handle_seconds.as_ref().map_or(f64::NAN, |h| h[i]);
            if !seconds.is_nan() {
                s.aht_seconds += seconds;
                s.aht_count += 1;
            }
        }
        let csat = c.csat.as_ref().map_or(f64::NAN, |x| x[i]);
        if !csat.is_nan() {
            s.csat_sum += csat;
            s.csat_count += 1;
            // Satisfied = the top two points of the scale, negative = the bottom two.
            s.csat_satisfied += u64::from(csat >= scales.csat.max - 1.0);
            if csat <= scales.csat.min + 1.0 {
                s.csat_negative += 1;
                s.csat_negative_checkout_shipping +=
                    u64::from(IntentFlags::flag(&self.flags.checkout_shipping, c, i));
            }
            match path {
                HandledBy::Ai => {
                    s.csat_ai_sum += csat;
                    s.csat_ai_count += 1;
                }
                HandledBy::Human => {
                    s.csat_human_sum += csat;
                    s.csat_human_count += 1;
                }
                _ => {}
            }
        }
        let nps = c.nps.as_ref().map_or(f64::NAN, |x| x[i]);
        if !nps.is_nan() {
            // 9–10 promoters and 0–6 detractors on the 0–10 scale, kept relative to its top.
            s.nps_rated += 1;
            s.nps_promoters += u64::from(nps >= scales.nps.max - 1.0);
            s.nps_detractors += u64::from(nps <= scales.nps.max - 4.0);
        }
        let ces = c.ces.as_ref().map_or(f64::NAN, |x| x[i]);
        if !ces.is_nan() {
            s.ces_sum += ces;
            s.ces_count += 1;
        }
        let first_response = c.first_response_at.as_ref().map_or(NULL_TS, |f| f[i]);
        if first_response != NULL_TS {
            let minutes = (first_response - created) as f64 / MICROS_PER_MINUTE;
            v.frt_minutes.push(minutes);
            match path {
                HandledBy::Ai => v.frt_ai_minutes.push(minutes),
                HandledBy::Human => v.frt_human_minutes.push(minutes),
                _ => {}
            }
        }
        if resolved_at != NULL_TS {
            v.resolution_hours
                .push((resolved_at - created) as f64 / MICROS_PER_HOUR);
        }
    }
}

/// Counting sort of rows by cell: (rows grouped by cell, offsets).
pub fn rows_by_cell(cell: &[u32], n_cells: usize) -> (Vec<u32>, Vec<usize>) {
    let mut offsets = vec![0usize; n_cells + 1];
    for &c in cell {
        offsets[c as usize + 1] += 1;
    }
    for i in 0..n_cells {
        offsets[i + 1] += offsets[i];
    }
    let mut fill = offsets.clone();
    let mut rows = vec![0u32; cell.len()];
    for (row, &c) in cell.iter().enumerate() {
        rows[fill[c as usize]] = row as u32;
        fill[c as usize] += 1;
    }
    (rows, offsets)
}

/// The day index of an instant inside the grid (the grid covers every created_at; this
/// clamps only against misuse).
pub fn day_in_grid(calendar: &Calendar, t: i64) -> usize {
    calendar
        .day_of(t)
        .unwrap_or(0)
        .min(calendar.n_days().saturating_sub(1))
}

/// Above this many day × group cells, contacts are sorted by cell before folding (the
/// per-block cell tables of the row-order fold would no longer fit in cache).
const ROW_ORDER_MAX_CELLS: usize = 8192;
/// Rows per block of the row-order folds (fixed, so results do not depend on threads).
const ROWS_PER_BLOCK: usize = 1 << 18;

/// Fixed-size row blocks covering 0..len.
fn row_blocks(len: usize) -> Vec<std::ops::Range<usize>> {
    (0..len.div_ceil(ROWS_PER_BLOCK))
        .map(|b| b * ROWS_PER_BLOCK..((b + 1) * ROWS_PER_BLOCK).min(len))
        .collect()
}

/// Books backlog outflow on the day a contact is resolved (SPEC §8.16).
fn book_closed(
    states: &mut [ContactState],
    calendar: &Calendar,
    c: &Contacts,
    i: usize,
    cell_group: usize,
    n_groups: usize,
) {
    let Some(resolved) = &c.resolved_at else {
        return;
    };
    let r = resolved[i];
    if r == NULL_TS {
        return;
    }
    if let Some(d) = calendar.day_of(r).filter(|&d| d < calendar.n_days()) {
        let s = &mut states[d * n_groups + cell_group];
        s.closed += 1;
        s.closed_created_sum += i128::from(c.created_at[i]);
    }
}

/// Folds contacts in input order, each fixed block of rows into its own cell tables, then
/// adds the blocks' tables in block order: every column is read sequentially.
fn fold_in_row_order(
    ctx: &Context,
    calendar: &Calendar,
    group: &[u32],
    n_groups: usize,
) -> (Vec<ContactState>, Vec<CellValues>) {
    let c = ctx.contacts;
    let n_cells = calendar.n_days() * n_groups;
    let (block_states, block_values): (Vec<Vec<ContactState>>, Vec<Vec<CellValues>>) =
        row_blocks(c.len)
            .into_par_iter()
            .map(|rows| {
                let start = rows.start;
                let cells: Vec<usize> = rows
                    .map(|i| day_in_grid(calendar, c.created_at[i]) * n_groups + group[i] as usize)
                    .collect();
                // Each contact adds at most one value to each list of its cell, so a cell's
                // contact count bounds its lists: sized once, they never grow.
                let mut counts = vec![0usize; n_cells];
                for &k in &cells {
                    counts[k] += 1;
                }
                let mut states = vec![ContactState::default(); n_cells];
                let mut values: Vec<CellValues> = counts
                    .iter()
                    .map(|&n| CellValues::with_capacity(n))
                    .collect();
                for (offset, &k) in cells.iter().enumerate() {
                    let i = start + offset;
                    ctx.accumulate(&mut states[k], &mut values[k], i);
                    book_closed(&mut states, calendar, c, i, group[i] as usize, n_groups);
                }
                (states, values)
            })
            .unzip();
    // Cell by cell, the blocks' lists in block order; a day inside one block (most days)
    // keeps that block's list as it is.
    let mut per_cell: Vec<Vec<CellValues>> = (0..n_cells)
        .map(|_| Vec::with_capacity(block_values.len()))
        .collect();
    for values in block_values {
        for (cell, v) in per_cell.iter_mut().zip(values) {
            cell.push(v);
        }
    }
    per_cell
        .into_par_iter()
        .enumerate()
        .map(|(k, parts)| {
            let mut state = ContactState::default();
            for states in &block_states {
                state.add(&states[k]);
            }
            (state, CellValues::concat_owned(parts))
        })
        .unzip()
}

/// Sorts contacts by cell (a counting sort), then folds each cell's rows.
fn fold_by_cell(
    ctx: &Context,
    calendar: &Calendar,
    group: &[u32],
    n_groups: usize,
) -> (Vec<ContactState>, Vec<CellValues>) {
    let c = ctx.contacts;
    let n_cells = calendar.n_days() * n_groups;
    let cell: Vec<u32> = (0..c.len)
        .into_par_iter()
        .map(|i| (day_in_grid(calendar, c.created_at[i]) * n_groups + group[i] as usize) as u32)
        .collect();
    let (rows, offsets) = rows_by_cell(&cell, n_cells);
    let (mut states, values): (Vec<ContactState>, Vec<CellValues>) = (0..n_cells)
        .into_par_iter()
        .map(|k| {
            let mut state = ContactState::default();
            let mut cell_values = CellValues::default();
            for &row in &rows[offsets[k]..offsets[k + 1]] {
                ctx.accumulate(&mut state, &mut cell_values, row as usize);
            }
            (state, cell_values)
        })
        .unzip();
    for (i, &g) in group.iter().enumerate().take(c.len) {
        book_closed(&mut states, calendar, c, i, g as usize, n_groups);
    }
    (states, values)
}

/// Per-day × group states.
pub struct Daily {
    /// Contact states per day × group (`day * n_groups + group`).
    pub states: Vec<ContactState>,
    /// Quantile inputs per day × group.
    pub values: Vec<CellValues>,
    /// Order and traffic totals per day.
    pub totals: Vec<DayTotals>,
    /// Number of groups.
    pub n_groups: usize,
}

/// Builds the daily states: contacts by (created day, group), backlog outflow by resolved
/// day, orders by day (sessions come with [`add_session_totals`]).
pub fn build_daily(
    ctx: &Context,
    calendar: &Calendar,
    group: &[u32],
    n_groups: usize,
    data: &Joinable,
) -> Daily {
    let n_days = calendar.n_days();
    let n_cells = n_days * n_groups;
    let (states, values) = if n_cells <= ROW_ORDER_MAX_CELLS {
        fold_in_row_order(ctx, calendar, group, n_groups)
    } else {
        fold_by_cell(ctx, calendar, group, n_groups)
    };
    let orders = &data.orders;
    // Fixed row blocks, added in block order: the sums do not depend on the thread count.
    let block_totals: Vec<Vec<DayTotals>> = row_blocks(orders.len)
        .into_par_iter()
        .map(|rows| {
            let mut totals = vec![DayTotals::default(); n_days];
            for i in rows {
                let d = day_in_grid(calendar, orders.created_at[i]);
                totals[d].orders += 1;
                totals[d].revenue += orders.revenue[i];
            }
            totals
        })
        .collect();
    let mut totals = vec![DayTotals::default(); n_days];
    for block in &block_totals {
        for (t, b) in totals.iter_mut().zip(block) {
            t.add(b);
        }
    }
    Daily {
        states,
        values,
        totals,
        n_groups,
    }
}

/// Adds the sessions table to the per-day totals. Rows on days outside the grid are not
/// counted; returns how many (the row audit reports them).
pub fn add_session_totals(
    totals: &mut [DayTotals],
    calendar: &Calendar,
    sessions: &Sessions,
) -> usize {
    let mut outside = 0;
    for (row, n) in sessions.count.iter().enumerate() {
        match session_day(calendar, sessions, row) {
            Some(d) => totals[d].sessions += n,
            None => outside += 1,
        }
    }
    outside
}

/// The grid day of a sessions row, if inside the grid.
pub fn session_day(calendar: &Calendar, sessions: &Sessions, row: usize) -> Option<usize> {
    match &sessions.when {
        SessionTime::Instant(times) => calendar
            .day_of(times[row])
            .filter(|&d| d < calendar.n_days()),
        SessionTime::LocalDate(days) => calendar.day_of_local_date(days[row]),
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

/// Customer-level cohorts: repurchase per period × group, retention/CLV/no-contact per
/// period. Customers are independent, so they fold in parallel; each row's period is
/// looked up once up front and nothing is allocated per customer.
pub fn customer_cohorts(
    data: &Joinable,
    index: &CustomerIndex,
    calendar: &Calendar,
    group: &[u32],
    n_groups: usize,
    rules: &CohortRules,
) -> (Vec<RepurchaseState>, Vec<PeriodCustomerState>) {
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
        seen_groups: Vec<u32>,
    }
    let empty = || Fold {
        repurchase: vec![RepurchaseState::default(); n_periods * n_groups],
        per_period: vec![PeriodCustomerState::default(); n_periods],
        seen_groups: Vec::new(),
    };
    let folded = (0..index.customers())
        .into_par_iter()
        .fold(empty, |mut acc, customer| {
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
                if p != current_period {
                    current_period = p;
                    acc.seen_groups.clear();
                }
                let g = groups.map_or(0, |g| g[k]);
                if acc.seen_groups.contains(&g) {
                    continue;
                }
                acc.seen_groups.push(g);
                let t0 = contact_times[k];
                if !matures(t0, window, as_of) {
                    continue;
                }
                let hit = u64::from(ordered_within(t0));
                let state = &mut acc.repurchase[p as usize * n_groups + g as usize];
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
            acc
        })
        .reduce(empty, |mut a, b| {
            for (x, y) in a.repurchase.iter_mut().zip(&b.repurchase) {
                x.add(y);
            }
            for (x, y) in a.per_period.iter_mut().zip(&b.per_period) {
                x.add(y);
            }
            a
        });
    (folded.repurchase, folded.per_period)
}

/// (open count, sum of ages in µs) at each period end, per period × group: running sums of
/// inflow minus outflow (a stock, not a sum over the period's days).
pub fn backlog_at_period_ends(daily: &Daily, calendar: &Calendar) -> Vec<(u64, i128)> {
    let n_groups = daily.n_groups;
    let n_periods = calendar.n_periods();
    let mut out = vec![(0u64, 0i128); n_periods * n_groups];
    for g in 0..n_groups {
        let mut open: i64 = 0;
        let mut created_sum: i128 = 0;
        for p in 0..n_periods {
            for d in calendar.period_days(p) {
                let s = &daily.states[d * n_groups + g];
                open += s.opened as i64 - s.closed as i64;
                created_sum += s.opened_created_sum - s.closed_created_sum;
            }
            let end = i128::from(calendar.period_end(p));
            let open = open.max(0);
            out[p * n_groups + g] = (open as u64, end * i128::from(open) - created_sum);
        }
    }
    out
}

/// The backlog of a baseline window [start, end): contacts of the group created in it and
/// still open at its end, with the sum of their ages at the end. One window per period
/// (`windows[p]`, non-decreasing in both ends), evaluated from the rows (a stock cannot be
/// read off summed days).
pub fn backlog_in_windows(
    contacts: &Contacts,
    group: &[u32],
    n_groups: usize,
    windows: &[(i64, i64)],
) -> Vec<(u64, i128)> {
    let n = windows.len();
    let empty = || vec![(0u64, 0i128); n * n_groups];
    let Some(resolved) = &contacts.resolved_at else {
        return empty();
    };
    (0..contacts.len)
        .into_par_iter()
        .fold(empty, |mut acc, i| {
            let created = contacts.created_at[i];
            let r = resolved[i];
            // Windows run forward in time (both ends non-decreasing): start at the first
            // one ending after this contact and stop at the first starting after it.
            let first = windows.partition_point(|&(_, end)| end <= created);
            for (p, &(start, end)) in windows.iter().enumerate().skip(first) {
                if start > created {
                    break;
                }
                if r == NULL_TS || r >= end {
                    let slot = &mut acc[p * n_groups + group[i] as usize];
                    slot.0 += 1;
                    slot.1 += i128::from(end - created);
                }
            }
            acc
        })
        .reduce(empty, |mut a, b| {
            for (x, y) in a.iter_mut().zip(&b) {
                x.0 += y.0;
                x.1 += y.1;
            }
            a
        })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Float64Array, Int64Array, StringArray, TimestampMicrosecondArray};

    use super::*;
    use crate::aggregate::state::{Quantiled, Sample};
    use crate::ingest::{read_joinable, OnInvalid, TableInput};
    use crate::time::{PeriodKind, MICROS_PER_HOUR};

    /// Monday 2024-01-01 00:00 UTC, µs.
    const T0: i64 = 1_704_067_200_000_000;

    fn ts(values: Vec<i64>) -> ArrayRef {
        Arc::new(TimestampMicrosecondArray::from(values).with_timezone("UTC"))
    }

    fn sorted(sample: &Sample) -> Vec<f64> {
        let Sample::Exact(values) = sample else {
            panic!("a local fold keeps exact values");
        };
        let mut values = values.clone();
        values.sort_by(f64::total_cmp);
        values
    }

    #[test]
    fn both_fold_paths_give_the_same_daily_states() {
        // The fold runs in row order for small grids and by cell for large ones (a
        // threshold on days × groups); both must give every cell the same state and the
        // same quantile inputs. 600 contacts over ~25 days in 3 groups, with responses,
        // resolutions, handlers, CSAT and repeat customers.
        let n = 600i64;
        let created: Vec<i64> = (0..n)
            .map(|i| T0 + (i * 37 % 600) * MICROS_PER_HOUR)
            .collect();
        let handlers = ["ai", "human", "self_service"];
        let contacts = TableInput::from_columns(
            "contacts",
            vec![
                (
                    "contact_id",
                    Arc::new(Int64Array::from((0..n).collect::<Vec<_>>())),
                ),
                (
                    "customer_id",
                    Arc::new(Int64Array::from((0..n).map(|i| i % 97).collect::<Vec<_>>())),
                ),
                ("created_at", ts(created.clone())),
                (
                    "first_response_at",
                    ts(created
                        .iter()
                        .enumerate()
                        .map(|(i, t)| t + (i as i64 % 7 + 1) * MICROS_PER_HOUR / 3)
                        .collect()),
                ),
                (
                    "resolved_at",
                    ts(created
                        .iter()
                        .enumerate()
                        .map(|(i, t)| t + (i as i64 % 11 + 1) * MICROS_PER_HOUR)
                        .collect()),
                ),
                (
                    "handled_by",
                    Arc::new(StringArray::from(
                        (0..n).map(|i| handlers[i as usize % 3]).collect::<Vec<_>>(),
                    )),
                ),
                (
                    "csat",
                    Arc::new(Float64Array::from(
                        (0..n).map(|i| (i % 5 + 1) as f64).collect::<Vec<_>>(),
                    )),
                ),
            ],
        )
        .expect("contacts");
        let orders = TableInput::from_columns(
            "orders",
            vec![
                (
                    "order_id",
                    Arc::new(Int64Array::from((0..n).collect::<Vec<_>>())),
                ),
                (
                    "customer_id",
                    Arc::new(Int64Array::from((0..n).map(|i| i % 89).collect::<Vec<_>>())),
                ),
                (
                    "created_at",
                    ts(created.iter().map(|t| t + 5 * MICROS_PER_HOUR).collect()),
                ),
                (
                    "revenue",
                    Arc::new(Float64Array::from(
                        (0..n).map(|i| i as f64 * 1.5).collect::<Vec<_>>(),
                    )),
                ),
            ],
        )
        .expect("orders");
        let config = Config::default();
        let bounds = config.timestamps.bounds().expect("bounds");
        let data = read_joinable(&contacts, &orders, &config.scales, bounds, OnInvalid::Raise)
            .expect("reads");
        let (index, columns) = CustomerIndex::build(&data.contacts, &data.orders, data.customers);
        let windows = crate::joins::Windows {
            recovery: 7 * 24 * MICROS_PER_HOUR,
            repeat: 14 * 24 * MICROS_PER_HOUR,
            recontact: 48 * MICROS_PER_HOUR,
        };
        let joins =
            crate::joins::join_contacts(&data.contacts, &data.orders, &index, &columns, windows);
        let as_of = T0 + 700 * MICROS_PER_HOUR;
        let ctx = Context {
            contacts: &data.contacts,
            joins: &joins,
            flags: IntentFlags::new(&data.contacts, &config),
            config: &config,
            recovery_window: windows.recovery,
            repeat_window: windows.repeat,
            recontact_window: windows.recontact,
            as_of,
        };
        let calendar = Calendar::covering(chrono_tz::UTC, PeriodKind::Week, T0, as_of);
        let n_groups = 3;
        let group: Vec<u32> = (0..data.contacts.len).map(|i| (i % 3) as u32).collect();
        let (row_states, row_values) = fold_in_row_order(&ctx, &calendar, &group, n_groups);
        let (cell_states, cell_values) = fold_by_cell(&ctx, &calendar, &group, n_groups);
        assert_eq!(row_states.len(), calendar.n_days() * n_groups);
        let total: u64 = row_states.iter().map(|s| s.contacts).sum();
        assert_eq!(total, n as u64);
        for (k, (a, b)) in row_states.iter().zip(&cell_states).enumerate() {
            // Counts are exact; sums may differ in the last bit with the order of addition.
            assert_eq!(
                (a.contacts, a.resolved, a.ai, a.csat_count),
                (b.contacts, b.resolved, b.ai, b.csat_count),
                "cell {k}"
            );
            assert!((a.csat_sum - b.csat_sum).abs() < 1e-9, "cell {k}");
            assert_eq!(
                (a.opened, a.closed, a.recovered),
                (b.opened, b.closed, b.recovered),
                "cell {k}"
            );
        }
        for (a, b) in row_values.iter().zip(&cell_values) {
            for which in Quantiled::ALL {
                assert_eq!(sorted(a.sample(which)), sorted(b.sample(which)));
            }
        }
    }
}
