//! Looking at table rows: paging, column choice and text/JSON rendering for the CLI and the GUI.

use polars::prelude::*;

use crate::lake::delta;
use crate::lake::{Lake, LakeError, TableRef};

/// Why a preview could not be shown.
#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    #[error(transparent)]
    Lake(#[from] LakeError),
    #[error("table {table} has no column `{column}`; its columns are: {available}")]
    NoColumn {
        table: String,
        column: String,
        available: String,
    },
    #[error("{0}")]
    Data(#[from] PolarsError),
}

/// Rows `offset..offset + limit` of a table, optionally only some columns.
pub fn preview(
    lake: &Lake,
    t: &TableRef,
    offset: usize,
    limit: usize,
    columns: Option<&[String]>,
) -> Result<DataFrame, PreviewError> {
    let state = lake.table_state(t)?;
    if let Some(cols) = columns {
        for c in cols {
            if state.schema.get(c).is_none() {
                return Err(PreviewError::NoColumn {
                    table: t.id(),
                    column: c.clone(),
                    available: state
                        .schema
                        .columns
                        .iter()
                        .map(|c| c.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
        }
    }
    let df = delta::read_range(&lake.table_dir(t), &state, offset, limit)?;
    Ok(match columns {
        Some(cols) => df.select(cols.iter().map(|s| s.as_str()))?,
        None => df,
    })
}

/// A timestamp as `YYYY-MM-DD HH:MM:SS[.ffffff]` in UTC (how edlake stores them).
fn timestamp_text(v: i64, unit: TimeUnit) -> String {
    let micros = match unit {
        TimeUnit::Nanoseconds => v / 1_000,
        TimeUnit::Microseconds => v,
        TimeUnit::Milliseconds => v.saturating_mul(1_000),
    };
    match chrono::DateTime::from_timestamp_micros(micros) {
        Some(t) if t.timestamp_subsec_micros() == 0 => t.format("%Y-%m-%d %H:%M:%S").to_string(),
        Some(t) => t.format("%Y-%m-%d %H:%M:%S%.6f").to_string(),
        None => v.to_string(),
    }
}

/// Whether a spreadsheet would run this text as a formula (OWASP's CSV injection list).
fn looks_like_formula(s: &str) -> bool {
    s.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

/// One CSV cell safe to open in a spreadsheet (see [`formula_safe`]).
pub fn safe_cell(s: &str) -> std::borrow::Cow<'_, str> {
    if looks_like_formula(s) {
        std::borrow::Cow::Owned(format!("'{s}"))
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

/// A copy of `df` safe to open in Excel or LibreOffice: text cells that begin with `=`, `+`,
/// `-`, `@`, a tab or a carriage return get a leading `'`, so they show as text instead of
/// running (an edX learner can call themselves `=HYPERLINK(...)`). Every CSV export uses it.
pub fn formula_safe(df: &DataFrame) -> PolarsResult<DataFrame> {
    let mut out = df.clone();
    for c in df.columns() {
        if c.dtype() != &DataType::String {
            continue;
        }
        let ca = c.str()?;
        if !ca.iter().flatten().any(looks_like_formula) {
            continue;
        }
        let safe: StringChunked = ca
            .iter()
            .map(|v| {
                v.map(|s| {
                    if looks_like_formula(s) {
                        format!("'{s}")
                    } else {
                        s.to_string()
                    }
                })
            })
            .collect();
        out.with_column(safe.with_name(c.name().clone()).into_column())?;
    }
    Ok(out)
}

/// A cell as text (`null` for missing values).
pub fn cell_text(v: &AnyValue) -> String {
    match v {
        AnyValue::Null => "null".into(),
        // Formatted here: polars' own formatting of zoned timestamps needs its time-zone database.
        AnyValue::Datetime(x, unit, _) => timestamp_text(*x, *unit),
        AnyValue::DatetimeOwned(x, unit, _) => timestamp_text(*x, *unit),
        AnyValue::String(s) => s.to_string(),
        AnyValue::StringOwned(s) => s.to_string(),
        other => other.to_string(),
    }
}

/// A cell as JSON.
pub fn cell_json(v: &AnyValue) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        AnyValue::Null => J::Null,
        AnyValue::Boolean(b) => J::Bool(*b),
        AnyValue::Int8(x) => (*x).into(),
        AnyValue::Int16(x) => (*x).into(),
        AnyValue::Int32(x) => (*x).into(),
        AnyValue::Int64(x) => (*x).into(),
        AnyValue::UInt8(x) => (*x).into(),
        AnyValue::UInt16(x) => (*x).into(),
        AnyValue::UInt32(x) => (*x).into(),
        AnyValue::UInt64(x) => (*x).into(),
        AnyValue::Float32(x) => serde_json::Number::from_f64(*x as f64).map_or(J::Null, J::Number),
        AnyValue::Float64(x) => serde_json::Number::from_f64(*x).map_or(J::Null, J::Number),
        other => J::String(cell_text(other)),
    }
}

/// Rows as a list of JSON objects.
pub fn to_json_rows(df: &DataFrame) -> serde_json::Value {
    let cols = df.columns();
    let rows = (0..df.height())
        .map(|i| {
            let mut m = serde_json::Map::new();
            for c in cols {
                let v = c.get(i).map(|v| cell_json(&v)).unwrap_or_default();
                m.insert(c.name().to_string(), v);
            }
            serde_json::Value::Object(m)
        })
        .collect();
    serde_json::Value::Array(rows)
}

/// Rows as an aligned text table; long cells are cut at `max_width` characters.
pub fn to_text_table(df: &DataFrame, max_width: usize) -> String {
    let cols = df.columns();
    let mut cells: Vec<Vec<String>> = vec![cols.iter().map(|c| c.name().to_string()).collect()];
    for i in 0..df.height() {
        cells.push(
            cols.iter()
                .map(|c| {
                    let t = c.get(i).map(|v| cell_text(&v)).unwrap_or_default();
                    if t.chars().count() > max_width {
                        format!(
                            "{}…",
                            t.chars()
                                .take(max_width.saturating_sub(1))
                                .collect::<String>()
                        )
                    } else {
                        t
                    }
                })
                .collect(),
        );
    }
    let widths: Vec<usize> = (0..cols.len())
        .map(|j| {
            cells
                .iter()
                .map(|r| r[j].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for (n, row) in cells.iter().enumerate() {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
        if n == 0 {
            let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
            out.push_str(&rule.join("  "));
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_neutralized_for_spreadsheets() {
        let df = df!(
            "name" => ["=HYPERLINK(\"http://x\")", "Ada", "+1", "-2", "@me", "\tx", "a=b"],
            "n" => [-1, 2, 3, 4, 5, 6, 7]
        )
        .unwrap();
        let safe = formula_safe(&df).unwrap();
        let names: Vec<&str> = safe
            .column("name")
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .flatten()
            .collect();
        assert_eq!(
            names,
            [
                "'=HYPERLINK(\"http://x\")",
                "Ada",
                "'+1",
                "'-2",
                "'@me",
                "'\tx",
                "a=b"
            ]
        );
        assert_eq!(safe.column("n").unwrap().i32().unwrap().get(0), Some(-1));
    }

    #[test]
    fn zoned_timestamps_print_as_utc_text() {
        let s = Series::new("t".into(), [1_000_000i64, 1_500_000])
            .cast(&DataType::Datetime(
                TimeUnit::Microseconds,
                Some(TimeZone::UTC),
            ))
            .unwrap();
        assert_eq!(cell_text(&s.get(0).unwrap()), "1970-01-01 00:00:01");
        assert_eq!(cell_text(&s.get(1).unwrap()), "1970-01-01 00:00:01.500000");
    }
}
