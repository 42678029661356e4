//! The encoding of a partial state: magic, format version and a fingerprint of the KPI
//! families' counter layouts, then the view state (postcard), decoded only after every
//! check of `wire` has passed.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::aggregate::breakdown::Breakdown;
use crate::error::{Error, Result};
use crate::ingest::TableAudit;
use crate::kpis::customers::{PeriodCustomerState, RepurchaseState};
use crate::kpis::sample::{CellValues, DayTotals};
use crate::kpis::ContactState;
use crate::scorecard::{Options, ViewState};

use super::wire::{check_audits, check_ipc_framing, encode_keys};

/// Leading bytes of every partial state.
pub(super) const MAGIC: &[u8; 8] = b"SKPARTL\0";
/// Version of the encoding; a merge reads only its own version. 3: the contact state is
/// laid out by KPI family. 4: business backlog flows and SLA, reopen and business-time
/// counters (SPEC §9); sums of squares beside the sums the means read (SPEC §10.1).
pub const FORMAT_VERSION: u32 = 4;

/// A fingerprint of the states' field layouts (FNV-1a of their declarations): a partial
/// state whose KPI families counted other fields is refused, not misread, even when the
/// format version was not bumped for a new counter.
pub(super) fn state_layout_fingerprint() -> u64 {
    let layout = [
        ContactState::layout(),
        DayTotals::LAYOUT.to_owned(),
        RepurchaseState::LAYOUT.to_owned(),
        PeriodCustomerState::LAYOUT.to_owned(),
        format!(
            "{} quantile lists",
            crate::kpis::sample::Quantiled::ALL.len()
        ),
    ]
    .join("\n");
    layout.bytes().fold(0xcbf2_9ce4_8422_2325u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The most business calendars a partial state may carry flows for (the config allows as
/// many; see `config.rs`).
const MAX_CALENDARS: usize = crate::business::calendar::MAX_CALENDARS;

/// Bytes before the encoded state: magic, format version, layout fingerprint.
pub(super) const HEADER_LEN: usize = MAGIC.len() + 4 + 8;

/// A slice's view state, as serialized.
#[derive(Serialize, Deserialize)]
pub(super) struct PartialState {
    /// The library version that wrote it (for messages).
    pub(super) library_version: String,
    /// The options, as JSON (every partial of a merge must carry the same).
    pub(super) options_json: String,
    /// The as_of used.
    pub(super) as_of: Option<i64>,
    /// Group-by columns, one row per group, as an Arrow IPC stream (empty without group_by).
    pub(super) group_keys_ipc: Vec<u8>,
    /// Number of groups.
    pub(super) n_groups: usize,
    /// Contacts columns present (our names).
    pub(super) contact_columns: BTreeSet<String>,
    /// Whether any cost is known.
    pub(super) has_cost: bool,
    /// Row audits of contacts and orders.
    pub(super) audits: Vec<TableAudit>,
    /// Fingerprints of the slices the state holds (a hash of each one's contact and order
    /// ids; none for a slice without rows): a merge refuses a slice it already holds,
    /// which it would count twice.
    pub(super) slices: Vec<u64>,
    /// The states, if the slice has rows.
    pub(super) grid: Option<PartialGrid>,
}

/// The dated states of a slice.
#[derive(Serialize, Deserialize)]
pub(super) struct PartialGrid {
    pub(super) first: i64,
    pub(super) last: i64,
    pub(super) as_of: i64,
    /// Local date of day 0, as days since 1970-01-01.
    pub(super) first_date: i64,
    /// First day of each period, plus the end.
    pub(super) period_first_day: Vec<usize>,
    pub(super) states: Vec<ContactState>,
    pub(super) values: Vec<CellValues>,
    pub(super) totals: Vec<DayTotals>,
    pub(super) repurchase: Vec<RepurchaseState>,
    pub(super) per_period: Vec<PeriodCustomerState>,
    pub(super) baseline_windows: Vec<(i64, i64)>,
    pub(super) baseline_backlog: Vec<(u64, i128)>,
    pub(super) breakdowns: BTreeMap<String, Breakdown>,
    /// Business backlog flows per day × group × calendar (empty without calendars).
    pub(super) business_flows: Vec<(i64, i128)>,
}

pub(super) fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default()
}

/// Serializes a view state built from one slice of the customers.
pub(crate) fn encode(view: ViewState, options: &Options, slices: Vec<u64>) -> Result<Vec<u8>> {
    let options_json = serde_json::to_string(options)
        .map_err(|e| Error::config("options", format!("cannot serialize: {e}")))?;
    let grid = view.grid.map(|g| {
        let daily = g.daily.into_dense();
        PartialGrid {
            first: g.first,
            last: g.last,
            as_of: g.as_of,
            first_date: (g.calendar.first_date - epoch()).num_days(),
            period_first_day: g.calendar.period_first_day.clone(),
            states: daily.states,
            values: daily.values.iter().map(CellValues::sketched).collect(),
            totals: daily.totals,
            repurchase: g.repurchase,
            per_period: g.per_period,
            baseline_windows: g
                .baseline_windows
                .iter()
                .map(|w| (w.start, w.end))
                .collect(),
            baseline_backlog: g.baseline_backlog,
            business_flows: daily.business_flows,
            breakdowns: g.breakdowns,
        }
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
        slices,
        grid,
    };
    let mut out = Vec::with_capacity(1 << 16);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&state_layout_fingerprint().to_le_bytes());
    let body = postcard::to_stdvec(&state)
        .map_err(|e| Error::config("options", format!("cannot serialize the state: {e}")))?;
    out.extend_from_slice(&body);
    Ok(out)
}

pub(super) fn decode(bytes: &[u8], which: usize) -> Result<PartialState> {
    let key = format!("states[{which}]");
    if bytes.len() < HEADER_LEN || &bytes[..MAGIC.len()] != MAGIC {
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
    let mut fingerprint = [0u8; 8];
    fingerprint.copy_from_slice(&bytes[MAGIC.len() + 4..HEADER_LEN]);
    if u64::from_le_bytes(fingerprint) != state_layout_fingerprint() {
        return Err(Error::config(
            &key,
            format!(
                "partial state written by a supportkpi whose KPI states differ from this \
                 one's ({}; compute every partial with the same library version)",
                env!("CARGO_PKG_VERSION")
            ),
        ));
    }
    let (state, rest): (PartialState, &[u8]) = postcard::take_from_bytes(&bytes[HEADER_LEN..])
        .map_err(|e| Error::config(&key, format!("corrupt partial state: {e}")))?;
    if !rest.is_empty() {
        return Err(Error::config(
            &key,
            format!("corrupt partial state: {} bytes after its end", rest.len()),
        ));
    }
    if !shape_ok(&state) {
        return Err(Error::config(
            &key,
            "corrupt partial state: inconsistent sizes",
        ));
    }
    check_audits(&state.audits)
        .map_err(|e| Error::config(&key, format!("corrupt partial state: {e}")))?;
    check_ipc_framing(&state.group_keys_ipc)
        .map_err(|e| Error::config(&key, format!("corrupt group keys: {e}")))?;
    Ok(state)
}

/// Whether every table of a decoded state has the size its grid and groups imply (a
/// corrupt or hand-made state must not index out of bounds).
pub(super) fn shape_ok(state: &PartialState) -> bool {
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
        let distinct = b.values.iter().collect::<HashSet<_>>().len() == n_values;
        distinct
            && b.n_groups == n_groups
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
        && g.business_flows.len() % g.states.len().max(1) == 0
        && g.business_flows.len() / g.states.len().max(1) <= MAX_CALENDARS
        && breakdowns_ok
}
