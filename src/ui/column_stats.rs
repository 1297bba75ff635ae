//! The table browser's column descriptions in plain words, and its statistics panel.

use crate::browse::ColumnStats;
use crate::preview::PreviewError;

/// A column's rows, nulls, distinct values, range and most frequent values (a spinner while
/// they are computed; a hint before any column was clicked).
pub(super) fn panel(
    ui: &mut egui::Ui,
    pending: bool,
    stats: &Option<Result<ColumnStats, PreviewError>>,
) {
    if pending {
        ui.spinner();
    }
    match stats {
        Some(Ok(s)) => {
            ui.strong(format!("Column {}", s.column));
            ui.label(format!(
                "{} rows · {} nulls · {} distinct",
                s.rows, s.nulls, s.distinct
            ));
            ui.label(format!(
                "min {} · max {}",
                s.min.as_deref().unwrap_or("-"),
                s.max.as_deref().unwrap_or("-")
            ));
            ui.label("Most frequent:");
            for (v, n) in &s.top {
                ui.label(format!("  {v}  ({n})"));
            }
        }
        Some(Err(e)) => {
            ui.colored_label(ui.visuals().error_fg_color, e.to_string());
        }
        None => {
            ui.label(egui::RichText::new("Click a column name for its statistics.").weak());
        }
    }
}

/// A column's type as an analyst would say it.
pub(super) fn type_words(dtype: &polars::prelude::DataType) -> &'static str {
    use polars::prelude::DataType as T;
    match dtype {
        T::String => "text",
        T::Int8 | T::Int16 | T::Int32 | T::Int64 | T::UInt8 | T::UInt16 | T::UInt32 | T::UInt64 => {
            "whole number"
        }
        T::Float32 | T::Float64 => "number",
        T::Boolean => "yes / no",
        T::Date => "date",
        T::Datetime(..) => "date and time",
        T::Null => "empty",
        _ => "other",
    }
}

/// A pseudonymization treatment (OEA's op name) as an analyst would say it.
pub(super) fn op_words(op: &str) -> &'static str {
    match op {
        "hash" => "replaced by a pseudonym (the original is in the locked lookup table)",
        "hash-no-lookup" => "replaced by a pseudonym",
        "mask" => "hidden",
        "no-op" => "kept as is",
        "partition-by" => "kept as is (the table is split by it)",
        "" => "",
        _ => "other",
    }
}
