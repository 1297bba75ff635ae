//! The table browser's column statistics panel.

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
