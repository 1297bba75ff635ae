//! Home's strip of school days per source: a cell per weekday, filled where the source has data.
//! A school day a source lacks while others have it is a gap, and the strip says which kind:
//! the vendor sent nothing (a successful run of the source came after that day and found no
//! file for it) or no run has happened since (run the source). Weekdays no source has are
//! closures, drawn grey.

use std::collections::BTreeSet;

use chrono::{Datelike, NaiveDate};

use crate::app::run::SourceKind;
use crate::metrics::gaps::Coverage;
use crate::pipeline::{RunReport, RunStatus};

/// Why a source has no data for a school day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// A successful run came after the day: the vendor sent nothing for it.
    NotSent,
    /// No successful run since the day: the data may be waiting.
    NotRun,
}

/// Why `day` is missing, given the source's last successful run (its UTC date).
pub fn why_missing(day: NaiveDate, last_ok: Option<NaiveDate>) -> Missing {
    match last_ok {
        Some(ran) if ran > day => Missing::NotSent,
        _ => Missing::NotRun,
    }
}

/// Draws the strip.
pub fn gap_strip(ui: &mut egui::Ui, cov: &Coverage, runs: &[RunReport]) {
    let days = cov.weekdays();
    if days.is_empty() {
        ui.label("No dated data yet.");
        return;
    }
    let cell = egui::vec2(12.0, 16.0);
    let school: BTreeSet<NaiveDate> = cov.school_days().into_iter().collect();
    for s in &cov.sources {
        let missing = cov.missing(s);
        let job = SourceKind::named(s.source).map(|k| format!("ingest {}", k.lake_source()));
        let last_ok = runs
            .iter()
            .filter(|r| Some(&r.job) == job.as_ref() && r.status == RunStatus::Succeeded)
            .map(|r| r.started.date_naive())
            .max();
        ui.horizontal(|ui| {
            ui.add_sized([130.0, cell.y], egui::Label::new(s.source));
            let (rect, resp) = ui.allocate_exact_size(
                egui::vec2(cell.x * days.len() as f32, cell.y),
                egui::Sense::hover(),
            );
            let painter = ui.painter_at(rect);
            let ok = ui.visuals().selection.bg_fill;
            let not_sent = ui.visuals().error_fg_color;
            let not_run = ui.visuals().warn_fg_color;
            let closed = ui.visuals().widgets.noninteractive.bg_stroke.color;
            for (i, d) in days.iter().enumerate() {
                let r = egui::Rect::from_min_size(
                    rect.min + egui::vec2(i as f32 * cell.x, 0.0),
                    cell - egui::vec2(2.0, 0.0),
                );
                let c = if s.days.contains(d) {
                    ok
                } else if !school.contains(d) {
                    closed
                } else if why_missing(*d, last_ok) == Missing::NotSent {
                    not_sent
                } else {
                    not_run
                };
                painter.rect_filled(r, 1.0, c);
            }
            if let Some(pos) = resp.hover_pos() {
                let i = ((pos.x - rect.min.x) / cell.x) as usize;
                if let Some(d) = days.get(i) {
                    let has = if s.days.contains(d) {
                        "data"
                    } else if !school.contains(d) {
                        "no source has data (holiday or closure?)"
                    } else if why_missing(*d, last_ok) == Missing::NotSent {
                        "no data while other sources have this day, and runs since found none: \
                         the vendor sent nothing"
                    } else {
                        "no data yet: no run of this source since this day"
                    };
                    resp.on_hover_text(format!("{} {}: {has}", d.weekday(), d));
                }
            }
            if missing.is_empty() {
                ui.label("complete");
            } else {
                let not_sent = missing
                    .iter()
                    .filter(|d| why_missing(**d, last_ok) == Missing::NotSent)
                    .count();
                ui.colored_label(
                    ui.visuals().warn_fg_color,
                    format!(
                        "{} school day(s) missing{} — {not_sent} the vendor did not send, {} not \
                         run yet",
                        missing.len(),
                        first_few(&missing),
                        missing.len() - not_sent
                    ),
                );
            }
        });
    }
    if let (Some(a), Some(b)) = (days.first(), days.last()) {
        ui.label(
            egui::RichText::new(format!(
                "{a} to {b}, weekdays; red: the vendor sent nothing; orange: not run since; grey: \
                 no source has data that day (holiday or closure)"
            ))
            .weak(),
        );
    }
}

fn first_few(days: &[NaiveDate]) -> String {
    let shown: Vec<String> = days.iter().take(3).map(|d| d.to_string()).collect();
    let more = if days.len() > 3 { ", …" } else { "" };
    format!(": {}{more}", shown.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_is_not_sent_only_when_a_successful_run_came_after_it() {
        let d = |day| NaiveDate::from_ymd_opt(2026, 11, day).expect("date");
        assert_eq!(why_missing(d(23), Some(d(24))), Missing::NotSent);
        // A run on the day itself may have come before the vendor's nightly drop.
        assert_eq!(why_missing(d(23), Some(d(23))), Missing::NotRun);
        assert_eq!(why_missing(d(23), Some(d(20))), Missing::NotRun);
        assert_eq!(why_missing(d(23), None), Missing::NotRun);
    }
}
