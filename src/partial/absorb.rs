//! Merging decoded partial states into one view: group keys unified across slices, each
//! slice's days placed on the global calendar and added, audits summed.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use arrow_array::ArrayRef;
use arrow_schema::DataType;

use crate::aggregate::breakdown::Breakdown;
use crate::aggregate::daily::{Daily, DenseDaily};
use crate::business::facts::{compile_calendars, origin, DUE_HORIZON_DAYS};
use crate::business::BusinessTime;
use crate::error::{Error, Result};
use crate::ingest::TableAudit;
use crate::kpis::customers::{PeriodCustomerState, RepurchaseState};
use crate::limits::{self, Limits, ViewShape};
use crate::scorecard::{
    baseline_windows, distinct_sorted_keys, partial_extension, Grid, KeyColumns, Options, Settings,
    ViewState,
};
use crate::time::Calendar;

use super::format::{decode, epoch, PartialGrid, PartialState};
use super::wire::decode_keys;

/// Where one slice's groups land among the merged groups, and the merged group keys.
pub(super) fn merge_groups(
    parts: &[PartialState],
    group_by: &[String],
) -> Result<(Vec<Vec<u32>>, KeyColumns)> {
    if group_by.is_empty() {
        return Ok((
            parts.iter().map(|p| vec![0; p.n_groups]).collect(),
            Vec::new(),
        ));
    }
    let decoded: Vec<Vec<(String, ArrayRef)>> = parts
        .iter()
        .enumerate()
        .map(|(i, p)| decode_keys(&p.group_keys_ipc, i))
        .collect::<Result<_>>()?;
    let mut keys = Vec::with_capacity(group_by.len());
    for (c, name) in group_by.iter().enumerate() {
        let columns: Vec<&ArrayRef> = decoded
            .iter()
            .filter_map(|k| k.get(c))
            .map(|(_, a)| a)
            .collect();
        if columns.len() != decoded.len() {
            return Err(Error::config(
                "states",
                format!("corrupt partial state: group keys without the column {name:?}"),
            ));
        }
        let target = common_key_type(&columns, name)?;
        // Casts that cannot hold a value fail (safe = false) rather than turn it null.
        let strict = arrow_cast::CastOptions {
            safe: false,
            ..Default::default()
        };
        let cast: Vec<ArrayRef> = columns
            .iter()
            .map(|a| {
                arrow_cast::cast_with_options(a.as_ref(), &target, &strict).map_err(|e| {
                    Error::schema(
                        "contacts",
                        name,
                        format!("group_by values of the partitions do not fit {target}: {e}"),
                    )
                })
            })
            .collect::<Result<_>>()?;
        let refs: Vec<&dyn arrow_array::Array> = cast.iter().map(|a| a.as_ref()).collect();
        let all = arrow_select::concat::concat(&refs)
            .map_err(|e| Error::schema("contacts", name, e.to_string()))?;
        keys.push((name.clone(), all));
    }
    let (codes, distinct) = distinct_sorted_keys(&keys)?;
    let mut maps = Vec::with_capacity(parts.len());
    let mut at = 0;
    for (p, k) in parts.iter().zip(&decoded) {
        let n = k.first().map_or(0, |(_, a)| a.len());
        if n != p.n_groups {
            return Err(Error::config(
                "states",
                "corrupt partial state: group count",
            ));
        }
        maps.push(codes[at..at + n].to_vec());
        at += n;
    }
    Ok((maps, distinct))
}

/// The type the slices' key columns merge to without loss: their one type, ignoring
/// columns without a value (an all-null pandas partition is often float64); Int64 for
/// integers of several widths. Anything else (text in one slice, integers in another; 1.5
/// beside 1) is a SchemaError naming both types.
pub(super) fn common_key_type(columns: &[&ArrayRef], name: &str) -> Result<DataType> {
    let mut types: Vec<&DataType> = columns
        .iter()
        .filter(|a| a.null_count() < a.len())
        .map(|a| a.data_type())
        .collect();
    types.dedup();
    let mut distinct: Vec<&DataType> = Vec::new();
    for t in types {
        if !distinct.contains(&t) {
            distinct.push(t);
        }
    }
    match distinct.as_slice() {
        [] => Ok(columns
            .first()
            .map_or(DataType::Null, |a| a.data_type().clone())),
        [one] => Ok((*one).clone()),
        many if many
            .iter()
            .all(|t| t.is_integer() && **t != DataType::UInt64) =>
        {
            Ok(DataType::Int64)
        }
        [a, b, ..] => Err(Error::schema(
            "contacts",
            name,
            format!(
                "the group_by column is {a} in one partition and {b} in another; give it one \
                 type in every partition (e.g. .astype(\"string\") before partitioning)"
            ),
        )),
    }
}

/// Row audits added up per table, in order of first appearance.
pub(super) fn merge_audits(parts: &[PartialState]) -> Vec<TableAudit> {
    let mut merged: Vec<TableAudit> = Vec::new();
    for audit in parts.iter().flat_map(|p| &p.audits) {
        match merged.iter_mut().find(|m| m.table == audit.table) {
            Some(m) => {
                m.rows_read += audit.rows_read;
                m.rows_used += audit.rows_used;
                for (reason, n) in &audit.dropped {
                    *m.dropped.entry(reason.clone()).or_insert(0) += n;
                }
            }
            None => merged.push(audit.clone()),
        }
    }
    merged
}

/// The configured business calendars, compiled over the merged grid's dates (with the due
/// horizon's margin, as a local view's are).
fn merged_business_calendars(
    settings: &Settings,
    calendar: &Calendar,
) -> Result<Vec<BusinessTime>> {
    // From the same origin as every slice's, so `until` agrees with their flows.
    let first = origin(settings.config.timestamps.bounds()?.0);
    let last = calendar
        .first_date
        .checked_add_signed(chrono::Duration::days(
            calendar.n_days() as i64 + DUE_HORIZON_DAYS + 1,
        ));
    let compiled = compile_calendars(&settings.config.calendars, |_| Some(first).zip(last))?;
    Ok(compiled.into_iter().map(|(_, bt)| bt).collect())
}

/// Adds one slice's grid into the merged one.
pub(super) fn absorb(
    grid: &mut Grid,
    daily: &mut DenseDaily,
    part: &PartialGrid,
    group_map: &[u32],
    window_sums: &mut HashMap<(i64, i64), Vec<(u64, i128)>>,
) -> Result<()> {
    let calendar = &grid.calendar;
    let n_days = calendar.n_days();
    let n_groups = daily.n_groups;
    let part_groups = group_map.len();
    // Every slice runs the same config, so carries flows for the same calendars (or none).
    let n_calendars = grid.business_calendars.len();
    if part.business_flows.len() != part.states.len() * n_calendars {
        return Err(Error::config(
            "states",
            "partial states with different business calendars (the same config is needed)",
        ));
    }
    let first_date = (calendar.first_date - epoch()).num_days();
    let offset = part
        .first_date
        .checked_sub(first_date)
        .and_then(|d| usize::try_from(d).ok())
        .ok_or_else(|| Error::config("states", "corrupt partial state: starts before the data"))?;
    for (d, totals) in part.totals.iter().enumerate() {
        let day = d + offset;
        if day >= n_days {
            // Only a slice's padding runs past the merged grid.
            break;
        }
        daily.totals[day].add(totals);
        for (g, &to) in group_map.iter().enumerate() {
            let k = day * n_groups + to as usize;
            daily.states[k].add(&part.states[d * part_groups + g]);
            daily.values[k].extend(&part.values[d * part_groups + g]);
            for c in 0..n_calendars {
                let (count, until) = part.business_flows[(d * part_groups + g) * n_calendars + c];
                let merged = &mut daily.business_flows[k * n_calendars + c];
                merged.0 += count;
                merged.1 += until;
            }
        }
    }
    let n_periods = part.period_first_day.len() - 1;
    let mut period_map: Vec<Option<usize>> = Vec::with_capacity(n_periods);
    for p in 0..n_periods {
        let day = offset + part.period_first_day[p];
        if day >= n_days {
            period_map.push(None);
            continue;
        }
        let to = calendar.period_of_day[day] as usize;
        if calendar.period_first_day[to] != day {
            return Err(Error::config(
                "states",
                "partial states have different period boundaries (same by= and tz= needed)",
            ));
        }
        period_map.push(Some(to));
    }
    let mut seen = HashSet::new();
    for (p, to) in period_map.iter().enumerate() {
        if let Some(to) = *to {
            grid.per_period[to].add(&part.per_period[p]);
            for (g, &gt) in group_map.iter().enumerate() {
                grid.repurchase[to * n_groups + gt as usize]
                    .add(&part.repurchase[p * part_groups + g]);
            }
        }
        // A fixed baseline range repeats one window for every period: count it once.
        let window = part.baseline_windows[p];
        if seen.insert(window) {
            let sums = window_sums
                .entry(window)
                .or_insert_with(|| vec![(0, 0); n_groups]);
            for (g, &gt) in group_map.iter().enumerate() {
                let (open, age) = part.baseline_backlog[p * part_groups + g];
                sums[gt as usize].0 += open;
                sums[gt as usize].1 += age;
            }
        }
    }
    for (dim, b) in &part.breakdowns {
        let merged = grid
            .breakdowns
            .entry(dim.clone())
            .or_insert_with(|| Breakdown::empty(n_groups, grid.calendar.n_periods()));
        merged.absorb(b, &period_map, group_map);
    }
    Ok(())
}

/// The view state of the union of the slices; `extend` lengthens the grid as a partial
/// state's is (for [`combine`]).
pub(super) fn merged_view(
    states: &[&[u8]],
    extend: bool,
) -> Result<(ViewState, Options, Settings, Vec<u64>)> {
    if states.is_empty() {
        return Err(Error::config("states", "no partial states to merge"));
    }
    let parts: Vec<PartialState> = states
        .iter()
        .enumerate()
        .map(|(i, s)| decode(s, i))
        .collect::<Result<_>>()?;
    let options = Options::from_json(&parts[0].options_json)?;
    for (i, part) in parts.iter().enumerate().skip(1) {
        if Options::from_json(&part.options_json)? != options {
            return Err(Error::config(
                "states",
                format!(
                    "states[{i}] was computed with other options than states[0]; every \
                     partial of one merge needs the same options"
                ),
            ));
        }
        if part.contact_columns != parts[0].contact_columns {
            let differ: Vec<&String> = part
                .contact_columns
                .symmetric_difference(&parts[0].contact_columns)
                .collect();
            return Err(Error::schema(
                "contacts",
                differ.first().map_or("columns", |s| s.as_str()),
                format!(
                    "states[{i}] and states[0] were computed from contacts with different \
                     columns ({differ:?} in one only)"
                ),
            ));
        }
    }
    let mut held = HashMap::new();
    for (i, part) in parts.iter().enumerate() {
        if options.group_by.is_empty() && part.n_groups != 1 {
            return Err(Error::config(
                &format!("states[{i}]"),
                "corrupt partial state: groups without group_by",
            ));
        }
        for &slice in &part.slices {
            if let Some(j) = held.insert(slice, i) {
                return Err(Error::config(
                    "states",
                    format!(
                        "states[{j}] and states[{i}] hold the same slice of customers; merging \
                         it twice would count it twice"
                    ),
                ));
            }
        }
    }
    let as_ofs: BTreeSet<i64> = parts.iter().filter_map(|p| p.as_of).collect();
    if as_ofs.len() > 1 {
        return Err(Error::config(
            "as_of",
            format!(
                "partial states were computed with {} different as_of values; pass the \
                 same as_of= to every sk.partial call (supportkpi.dask and supportkpi.spark \
                 compute the global one first)",
                as_ofs.len()
            ),
        ));
    }
    let mut settings = options.settings()?;
    // A state's own options cannot raise the memory limit: they are data, not the
    // caller's configuration. The merge and everything after it use the default budget.
    settings.config.limits = Limits::default();
    let (group_maps, group_keys) = merge_groups(&parts, &options.group_by)?;
    let n_groups = if options.group_by.is_empty() {
        1
    } else {
        group_keys.first().map_or(0, |(_, a)| a.len())
    };
    let audits = merge_audits(&parts);
    let extension = if extend {
        partial_extension(&settings)
    } else {
        0
    };
    let grids: Vec<(&PartialGrid, &Vec<u32>)> = parts
        .iter()
        .zip(&group_maps)
        .filter_map(|(p, m)| p.grid.as_ref().map(|g| (g, m)))
        .collect();
    // Rows were checked against the plausible range; a state outside it is corrupt (and
    // would size the merged grid by it).
    let (earliest, latest) = settings.config.timestamps.bounds()?;
    if grids
        .iter()
        .any(|(g, _)| g.first < earliest || g.last > latest)
    {
        return Err(Error::config(
            "states",
            "corrupt partial state: data outside the plausible range of timestamps",
        ));
    }
    let grid = match grids.iter().map(|(g, _)| g.as_of).next() {
        None => None,
        Some(as_of) => {
            let first = grids.iter().map(|(g, _)| g.first).min().unwrap_or(as_of);
            let last = grids.iter().map(|(g, _)| g.last).max().unwrap_or(as_of);
            let calendar = Calendar::covering(
                settings.tz,
                settings.kind,
                first,
                last.saturating_add(extension),
            );
            let n_days = calendar.n_days();
            let n_periods = calendar.n_periods();
            let n_calendars = settings.config.calendars.len();
            // The merged grid spans every slice's days for the union of their groups: sized
            // before it is allocated, as a local view is.
            let slice_values = grids
                .iter()
                .flat_map(|(g, _)| g.breakdowns.iter())
                .flat_map(|(dim, b)| b.values.iter().map(move |v| (dim, v)))
                .collect::<HashSet<_>>()
                .len();
            let shape = ViewShape::new(&calendar, n_groups, slice_values);
            limits::check(&shape, &settings.config.limits, limits::input_rows(&audits))?;
            let mut grid = Grid {
                first,
                last,
                as_of,
                // Filled from the merged dense tables below.
                daily: Daily::from_dense(DenseDaily::zeroed(0, n_groups, 0)),
                repurchase: vec![RepurchaseState::default(); n_periods * n_groups],
                per_period: vec![PeriodCustomerState::default(); n_periods],
                baseline_windows: baseline_windows(&calendar, &settings),
                baseline_backlog: Vec::new(),
                breakdowns: BTreeMap::new(),
                business_calendars: merged_business_calendars(&settings, &calendar)?,
                calendar,
            };
            let mut window_sums = HashMap::new();
            let mut daily = DenseDaily::zeroed(n_days, n_groups, n_calendars);
            for (part, map) in &grids {
                absorb(&mut grid, &mut daily, part, map, &mut window_sums)?;
            }
            grid.daily = Daily::from_dense(daily);
            grid.baseline_backlog = grid
                .baseline_windows
                .iter()
                .flat_map(|w| match window_sums.get(&(w.start, w.end)) {
                    Some(sums) => sums.clone(),
                    None => vec![(0, 0); n_groups],
                })
                .collect();
            Some(grid)
        }
    };
    let view = ViewState {
        group_keys,
        n_groups,
        contact_columns: parts[0].contact_columns.clone(),
        has_cost: parts[0].has_cost,
        audits,
        as_of: as_ofs.first().copied(),
        grid,
    };
    let mut slices: Vec<u64> = held.into_keys().collect();
    slices.sort_unstable();
    Ok((view, options, settings, slices))
}
