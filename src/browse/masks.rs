//! Which rows of a frame a query's filters keep.

use polars::prelude::*;

use crate::preview::cell_text;

/// Rows whose `column`, as text, contains `text` ignoring case.
pub(super) fn contains_mask(
    df: &DataFrame,
    column: &str,
    text: &str,
) -> PolarsResult<BooleanChunked> {
    let needle = text.to_lowercase();
    let s = df.column(column)?.as_materialized_series();
    let mask: BooleanChunked = match s.dtype() {
        DataType::String => s
            .str()?
            .iter()
            .map(|v| Some(v.is_some_and(|v| v.to_lowercase().contains(&needle))))
            .collect(),
        _ => s
            .iter()
            .map(|v| Some(!v.is_null() && cell_text(&v).to_lowercase().contains(&needle)))
            .collect(),
    };
    Ok(mask)
}

/// Rows whose `column` reads `value`, or a date-time on day `value` (see [`Query::exact`]).
pub(super) fn equal_mask(
    df: &DataFrame,
    column: &str,
    value: &str,
) -> PolarsResult<BooleanChunked> {
    let s = df.column(column)?.as_materialized_series();
    let day_of = |t: &str| {
        t.strip_prefix(value)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', 'T']))
    };
    let mask: BooleanChunked = match s.dtype() {
        DataType::String => s
            .str()?
            .iter()
            .map(|v| Some(v.is_some_and(day_of)))
            .collect(),
        DataType::Datetime(..) | DataType::Date => s
            .iter()
            .map(|v| Some(!v.is_null() && day_of(&cell_text(&v))))
            .collect(),
        _ => s
            .iter()
            .map(|v| Some(!v.is_null() && cell_text(&v) == value))
            .collect(),
    };
    Ok(mask)
}
