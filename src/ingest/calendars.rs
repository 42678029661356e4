//! The `calendar` column (SPEC §9.1): each contact's business calendar, checked against the
//! configured names.

use super::coded::CodedStrings;
use super::columns::NULL_CODE;
use super::issues::RowIssues;
use crate::error::Result;

/// The calendar of each row as an index into `names` (SPEC §9.1) from the `calendar`
/// column as read (`coded`; None when absent): its value, or `default` when it is null or
/// absent. None when no calendar is configured; a name the config does not define is an
/// invalid row.
pub(super) fn read_calendar_names(
    coded: Option<CodedStrings>,
    issues: &mut RowIssues,
    names: &[String],
    len: usize,
) -> Result<Option<Vec<u32>>> {
    if names.is_empty() {
        return Ok(None);
    }
    let default = names.iter().position(|n| n == "default");
    let value_index: Vec<Option<usize>> = coded.as_ref().map_or_else(Vec::new, |c| {
        c.values
            .iter()
            .map(|v| names.iter().position(|n| n == v))
            .collect()
    });
    let index_of = |i: usize| -> Option<usize> {
        match coded.as_ref().map(|c| c.codes[i]) {
            Some(code) if code != NULL_CODE => value_index[code as usize],
            _ => default,
        }
    };
    let known = names.join(", ");
    issues.check("calendar", "not a configured calendar", len, |i| {
        index_of(i).is_none().then(|| match coded.as_ref().map(|c| c.codes[i]) {
            Some(code) if code != NULL_CODE => format!(
                "calendar={:?} (configured: {known})",
                coded.as_ref().map_or("", |c| c.values[code as usize].as_str())
            ),
            _ => format!("calendar is null, which means `default`, and no calendar `default` is configured (configured: {known})"),
        })
    })?;
    Ok(Some(
        (0..len)
            .map(|i| index_of(i).map_or(u32::MAX, |k| k as u32))
            .collect(),
    ))
}
