//! The scorecard pipeline: ingest → joins → per-day × group states → periods → KPI rows,
//! with baselines, bands and diagnostics read from the config. Also the per-contact view
//! (`enrich`), which stops after the joins.

mod cells;
mod enrich;
mod evaluate;
mod findings;
mod groups;
mod options;
mod output;
mod prepare;
mod reads;
#[cfg(test)]
mod tests;
mod view;

use arrow_array::RecordBatch;

use crate::error::Result;
use crate::ingest::TableInput;

use self::enrich::enrich_prepared;

pub(crate) use self::evaluate::finish;
pub(crate) use self::groups::{distinct_sorted_keys, KeyColumns};
pub use self::options::{Options, Settings};
pub use self::output::Scorecard;
pub(crate) use self::prepare::read_calendar_tables;
pub use self::prepare::{prepare, Prepared};
pub(crate) use self::view::{
    baseline_windows, build_view, build_view_and_total, partial_extension, CellSpan, Grid,
    ViewState,
};

/// The runs of a prepared input: the per-contact view and the scorecard views (the partial
/// state of a slice is `crate::partial`'s).
impl Prepared {
    /// The per-contact view (see the one-call [`enrich`]).
    pub fn enrich(&self) -> Result<Vec<RecordBatch>> {
        let contacts = &self.contacts;
        let options = &self.options;
        let settings = &self.settings;
        let joined = &self.joined;
        enrich_prepared(contacts, options, settings, joined)
    }

    /// A scorecard view: `view` supplies the period, zone, grouping, baseline and cohort
    /// options; everything that shapes the joins (windows, as_of, config, renaming,
    /// on_invalid) is the prepared one.
    pub fn scorecard(&self, view: &Options) -> Result<Scorecard> {
        let options = self.view_options(view);
        let settings = options.settings()?;
        let view = build_view(self, &options, &settings, 0, CellSpan::Stretch)?;
        let sessions = self.sessions_table.as_ref().zip(self.sessions.as_ref());
        finish(view, &options, &settings, sessions, &self.events)
    }

    /// Several scorecard views, in order, each as [`Prepared::scorecard`] gives it. A view
    /// without `group_by` whose other options equal those of a grouped view is read from
    /// that view's passes ([`build_view_and_total`]): one daily fold, one cohort pass and
    /// one backlog pass serve both. Its sums may then differ from the view computed alone
    /// in the last bits (the same terms added in another order); counts, quantiles and
    /// intervals of order statistics are the same.
    pub fn scorecards(&self, views: &[Options]) -> Result<Vec<Scorecard>> {
        let sessions = self.sessions_table.as_ref().zip(self.sessions.as_ref());
        let mut cards: Vec<Option<Scorecard>> = views.iter().map(|_| None).collect();
        // Each total is paired with the first grouped view of the same other options not
        // already serving a total.
        let mut serving = vec![false; views.len()];
        for (t, total_view) in views.iter().enumerate() {
            if !total_view.group_by.is_empty() {
                continue;
            }
            let same_but_groups = |v: &Options| {
                !v.group_by.is_empty()
                    && Options {
                        group_by: Vec::new(),
                        ..v.clone()
                    } == *total_view
            };
            let Some(g) = (0..views.len()).find(|&g| !serving[g] && same_but_groups(&views[g]))
            else {
                continue;
            };
            serving[g] = true;
            let grouped_options = self.view_options(&views[g]);
            let total_options = self.view_options(total_view);
            let settings = grouped_options.settings()?;
            let (grouped, total) = build_view_and_total(self, &grouped_options, &settings)?;
            if let Some(total) = total {
                let total_settings = total_options.settings()?;
                cards[t] = Some(finish(
                    total,
                    &total_options,
                    &total_settings,
                    sessions,
                    &self.events,
                )?);
            }
            cards[g] = Some(finish(
                grouped,
                &grouped_options,
                &settings,
                sessions,
                &self.events,
            )?);
        }
        views
            .iter()
            .zip(cards)
            .map(|(view, card)| match card {
                Some(card) => Ok(card),
                None => self.scorecard(view),
            })
            .collect()
    }
}

/// Per-contact join results as an Arrow batch, in input order (see docs/semantics.md).
pub fn enrich(
    contacts: &TableInput,
    orders: &TableInput,
    options: &Options,
) -> Result<Vec<RecordBatch>> {
    prepare(
        contacts.clone(),
        orders.clone(),
        None,
        None,
        options.clone(),
    )?
    .enrich()
}

/// Computes the scorecard.
pub fn scorecard(
    contacts: &TableInput,
    orders: &TableInput,
    sessions_table: Option<&TableInput>,
    events_table: Option<&TableInput>,
    options: &Options,
) -> Result<Scorecard> {
    let prepared = prepare(
        contacts.clone(),
        orders.clone(),
        sessions_table.cloned(),
        events_table.cloned(),
        options.clone(),
    )?;
    prepared.scorecard(options)
}
