//! Partial states for scale-out (Dask, Spark, or any split of the customers).
//!
//! Every join of SPEC §3 stays inside one customer, so for customer-disjoint slices of the
//! inputs the per-day × group states, the customer cohorts, the baseline backlog and the
//! slice counts all add up. A partial state is that view state for one slice, with its
//! quantile inputs as DDSketches, serialized with postcard behind a magic tag and a format
//! version. [`merge`] places every slice's days on the global calendar by date, adds them,
//! and evaluates the scorecard exactly as a local view would.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{Field, Schema};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::aggregate::breakdown::Breakdown;
use crate::aggregate::daily::Daily;
use crate::aggregate::state::{
    CellValues, ContactState, DayTotals, PeriodCustomerState, RepurchaseState,
};
use crate::error::{Error, Result};
use crate::ingest::{read_events, read_sessions, TableAudit, TableInput};
use crate::scorecard::{
    baseline_windows, distinct_sorted_keys, finish, partial_extension, Grid, KeyColumns, Options,
    Scorecard, Settings, ViewState,
};
use crate::time::Calendar;

/// Leading bytes of every partial state.
const MAGIC: &[u8; 8] = b"SKPARTL\0";
/// Version of the encoding; a merge reads only its own version.
pub const FORMAT_VERSION: u32 = 1;

/// A slice's view state, as serialized.
#[derive(Serialize, Deserialize)]
struct PartialState {
    /// The library version that wrote it (for messages).
    library_version: String,
    /// The options, as JSON (every partial of a merge must carry the same).
    options_json: String,
    /// The as_of used.
    as_of: Option<i64>,
    /// Group-by columns, one row per group, as an Arrow IPC stream (empty without group_by).
    group_keys_ipc: Vec<u8>,
    /// Number of groups.
    n_groups: usize,
    /// Contacts columns present (our names).
    contact_columns: BTreeSet<String>,
    /// Whether any cost is known.
    has_cost: bool,
    /// Row audits of contacts and orders.
    audits: Vec<TableAudit>,
    /// The states, if the slice has rows.
    grid: Option<PartialGrid>,
}

/// The dated states of a slice.
#[derive(Serialize, Deserialize)]
struct PartialGrid {
    first: i64,
    last: i64,
    as_of: i64,
    /// Local date of day 0, as days since 1970-01-01.
    first_date: i64,
    /// First day of each period, plus the end.
    period_first_day: Vec<usize>,
    states: Vec<ContactState>,
    values: Vec<CellValues>,
    totals: Vec<DayTotals>,
    repurchase: Vec<RepurchaseState>,
    per_period: Vec<PeriodCustomerState>,
    baseline_windows: Vec<(i64, i64)>,
    baseline_backlog: Vec<(u64, i128)>,
    breakdowns: BTreeMap<String, Breakdown>,
}

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default()
}

fn encode_keys(keys: &[(String, ArrayRef)]) -> Result<Vec<u8>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let arrow_error = |e: arrow_schema::ArrowError| Error::Arrow {
        table: "partial state".to_owned(),
        message: e.to_string(),
    };
    let schema = Arc::new(Schema::new(
        keys.iter()
            .map(|(name, a)| Field::new(name, a.data_type().clone(), true))
            .collect::<Vec<_>>(),
    ));
    let batch = RecordBatch::try_new(
        schema.clone(),
        keys.iter().map(|(_, a)| a.clone()).collect(),
    )
    .map_err(arrow_error)?;
    let mut out = Vec::new();
    let mut writer =
        arrow_ipc::writer::StreamWriter::try_new(&mut out, &schema).map_err(arrow_error)?;
    writer.write(&batch).map_err(arrow_error)?;
    writer.finish().map_err(arrow_error)?;
    drop(writer);
    Ok(out)
}

fn decode_keys(bytes: &[u8], which: usize) -> Result<Vec<(String, ArrayRef)>> {
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    let bad = |e: arrow_schema::ArrowError| {
        Error::config(
            &format!("states[{which}]"),
            format!("corrupt group keys: {e}"),
        )
    };
    let reader =
        arrow_ipc::reader::StreamReader::try_new(std::io::Cursor::new(bytes), None).map_err(bad)?;
    let schema = reader.schema();
    let batches = reader
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(bad)?;
    let batch = arrow_select::concat::concat_batches(&schema, &batches).map_err(bad)?;
    Ok(schema
        .fields()
        .iter()
        .zip(batch.columns())
        .map(|(f, a)| (f.name().clone(), a.clone()))
        .collect())
}

/// Serializes a view state built from one slice of the customers.
pub(crate) fn encode(view: ViewState, options: &Options) -> Result<Vec<u8>> {
    let options_json = serde_json::to_string(options)
        .map_err(|e| Error::config("options", format!("cannot serialize: {e}")))?;
    let grid = view.grid.map(|g| PartialGrid {
        first: g.first,
        last: g.last,
        as_of: g.as_of,
        first_date: (g.calendar.first_date - epoch()).num_days(),
        period_first_day: g.calendar.period_first_day.clone(),
        states: g.daily.states,
        values: g.daily.values.iter().map(CellValues::sketched).collect(),
        totals: g.daily.totals,
        repurchase: g.repurchase,
        per_period: g.per_period,
        baseline_windows: g.baseline_windows,
        baseline_backlog: g.baseline_backlog,
        breakdowns: g.breakdowns,
    });
    let state = PartialState {
        library_version: env!("CARGO_PKG_VERSION").to_owned(),
        options_json,
        as_of: view.as_of,
        group_keys_ipc: encode_keys(&view.group_keys)?,
        n_groups: view.n_groups,
        contact_columns: view.contact_columns,
        has_cost: view.has_cost,
        audits: view.audits,
        grid,
    };
    let mut out = Vec::with_capacity(1 << 16);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    let body = postcard::to_stdvec(&state)
        .map_err(|e| Error::config("options", format!("cannot serialize the state: {e}")))?;
    out.extend_from_slice(&body);
    Ok(out)
}

fn decode(bytes: &[u8], which: usize) -> Result<PartialState> {
    let key = format!("states[{which}]");
    if bytes.len() < MAGIC.len() + 4 || &bytes[..MAGIC.len()] != MAGIC {
        return Err(Error::config(
            &key,
            "not a supportkpi partial state (make states with sk.partial)",
        ));
    }
    let mut version = [0u8; 4];
    version.copy_from_slice(&bytes[MAGIC.len()..MAGIC.len() + 4]);
    let version = u32::from_le_bytes(version);
    if version != FORMAT_VERSION {
        return Err(Error::config(
            &key,
            format!(
                "partial state format {version}; this supportkpi {} reads format \
                 {FORMAT_VERSION} (compute every partial with the same library version)",
                env!("CARGO_PKG_VERSION")
            ),
        ));
    }
    let state: PartialState = postcard::from_bytes(&bytes[MAGIC.len() + 4..])
        .map_err(|e| Error::config(&key, format!("corrupt partial state: {e}")))?;
    if !shape_ok(&state) {
        return Err(Error::config(
            &key,
            "corrupt partial state: inconsistent sizes",
        ));
    }
    Ok(state)
}

/// The options a partial state was computed with.
pub fn options_of(state: &[u8]) -> Result<Options> {
    Options::from_json(&decode(state, 0)?.options_json)
}

/// Whether every table of a decoded state has the size its grid and groups imply (a
/// corrupt or hand-made state must not index out of bounds).
fn shape_ok(state: &PartialState) -> bool {
    // Far more groups than any scorecard has; guards allocations sized by n_groups.
    const MAX_GROUPS: usize = 1 << 24;
    if state.n_groups > MAX_GROUPS {
        return false;
    }
    let Some(g) = &state.grid else {
        return true;
    };
    let n_groups = state.n_groups;
    let n_days = g.totals.len();
    let n_periods = g.period_first_day.len().saturating_sub(1);
    let sized = |len: usize, n: usize| n.checked_mul(n_groups) == Some(len);
    let days_ok = g.period_first_day.first() == Some(&0)
        && g.period_first_day.windows(2).all(|w| w[0] < w[1])
        && g.period_first_day.last() == Some(&n_days);
    let cells = n_periods * n_groups;
    let breakdowns_ok = g.breakdowns.values().all(|b| {
        let n_values = b.values.len();
        let table_ok = |t: &Option<Vec<Vec<u64>>>, len: usize| {
            t.as_ref()
                .is_none_or(|t| t.len() == n_values && t.iter().all(|v| v.len() == len))
        };
        b.n_groups == n_groups
            && b.n_periods == n_periods
            && table_ok(&b.contacts, cells)
            && table_ok(&b.preventable, cells)
            && table_ok(&b.orders, n_periods)
            // Sessions are added at the merge, never carried.
            && b.sessions.is_none()
    });
    g.first <= g.last
        && days_ok
        && sized(g.states.len(), n_days)
        && g.values.len() == g.states.len()
        && sized(g.repurchase.len(), n_periods)
        && g.per_period.len() == n_periods
        && g.baseline_windows.len() == n_periods
        && sized(g.baseline_backlog.len(), n_periods)
        && breakdowns_ok
}

/// Where one slice's groups land among the merged groups, and the merged group keys.
fn merge_groups(
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
        // A slice's column may have another type (an all-null pandas partition is often
        // float64): cast to the first slice's type that has rows.
        let columns: Vec<&ArrayRef> = decoded
            .iter()
            .filter_map(|k| k.get(c))
            .map(|(_, a)| a)
            .collect();
        let target = columns
            .iter()
            .find(|a| !a.is_empty() && a.null_count() < a.len())
            .or(columns.first())
            .map(|a| a.data_type().clone());
        let Some(target) = target else {
            return Err(Error::config(
                "states",
                "partial states carry no group keys",
            ));
        };
        let cast: Vec<ArrayRef> = columns
            .iter()
            .map(|a| {
                arrow_cast::cast(a.as_ref(), &target).map_err(|e| {
                    Error::schema(
                        "contacts",
                        name,
                        format!("group_by column has different types in different partitions: {e}"),
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

/// Row audits added up per table, in order of first appearance.
fn merge_audits(parts: &[PartialState]) -> Vec<TableAudit> {
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

/// Adds one slice's grid into the merged one.
fn absorb(
    grid: &mut Grid,
    part: &PartialGrid,
    group_map: &[u32],
    window_sums: &mut HashMap<(i64, i64), Vec<(u64, i128)>>,
) -> Result<()> {
    let calendar = &grid.calendar;
    let n_days = calendar.n_days();
    let n_groups = grid.daily.n_groups;
    let part_groups = group_map.len();
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
        grid.daily.totals[day].add(totals);
        for (g, &to) in group_map.iter().enumerate() {
            let k = day * n_groups + to as usize;
            grid.daily.states[k].add(&part.states[d * part_groups + g]);
            grid.daily.values[k].extend(&part.values[d * part_groups + g]);
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
            .or_insert_with(|| Breakdown {
                n_groups,
                n_periods: grid.calendar.n_periods(),
                ..Breakdown::default()
            });
        merged.absorb(b, &period_map, group_map);
    }
    Ok(())
}

/// The view state of the union of the slices; `extend` lengthens the grid as a partial
/// state's is (for [`combine`]).
fn merged_view(states: &[&[u8]], extend: bool) -> Result<(ViewState, Options, Settings)> {
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
    let settings = options.settings()?;
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
            let mut grid = Grid {
                first,
                last,
                as_of,
                daily: Daily {
                    states: vec![ContactState::default(); n_days * n_groups],
                    values: vec![CellValues::default(); n_days * n_groups],
                    totals: vec![DayTotals::default(); n_days],
                    n_groups,
                },
                repurchase: vec![RepurchaseState::default(); n_periods * n_groups],
                per_period: vec![PeriodCustomerState::default(); n_periods],
                baseline_windows: baseline_windows(&calendar, &settings),
                baseline_backlog: Vec::new(),
                breakdowns: BTreeMap::new(),
                calendar,
            };
            let mut window_sums = HashMap::new();
            for (part, map) in &grids {
                absorb(&mut grid, part, map, &mut window_sums)?;
            }
            grid.baseline_backlog = grid
                .baseline_windows
                .iter()
                .flat_map(|w| match window_sums.get(w) {
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
    Ok((view, options, settings))
}

/// Merges partial states into one partial state (for tree reductions: merging is
/// associative and commutative).
pub fn combine(states: &[&[u8]]) -> Result<Vec<u8>> {
    let (view, options, _) = merged_view(states, true)?;
    encode(view, &options)
}

/// Merges partial states into the scorecard; sessions and events are given here.
pub fn merge(
    states: &[&[u8]],
    sessions_table: Option<&TableInput>,
    events_table: Option<&TableInput>,
) -> Result<Scorecard> {
    let (mut view, options, settings) = merged_view(states, false)?;
    let sessions = match sessions_table {
        Some(table) => {
            let (sessions, audit) = read_sessions(table, options.on_invalid)?;
            view.audits.push(audit);
            Some(sessions)
        }
        None => None,
    };
    let events = match events_table {
        Some(table) => {
            let (events, audit) = read_events(table, options.on_invalid)?;
            view.audits.push(audit);
            events
        }
        None => Vec::new(),
    };
    let sessions = sessions_table.zip(sessions.as_ref());
    finish(view, &options, &settings, sessions, &events)
}
