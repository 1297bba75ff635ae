//! Home's "Is the lake current?" panel: the next scheduled run, and per source what needs
//! attention — a failed or skipped last run with its reason, data older than the lake's limit
//! (with the newest day), no run yet — each with "Run now". The same facts as `edlake status`.

use super::{Nav, Page, Shared};
use crate::app::run::SourceKind;
use crate::app::status::{LakeStatus, Problem, school_days_text};

/// Draws the panel.
pub fn attention(ui: &mut egui::Ui, sh: &mut Shared, st: &LakeStatus) {
    ui.horizontal(|ui| {
        match st.next_run {
            Some(t) => ui.label(format!(
                "Next scheduled run: {}",
                t.format("%A %Y-%m-%d at %H:%M")
            )),
            None => ui.label("No daily schedule: the sources run only when someone runs them."),
        };
        let label = if st.next_run.is_some() {
            "Change the schedule…"
        } else {
            "Set a daily schedule…"
        };
        if ui.button(label).clicked() {
            sh.nav.push(Nav::Page(Page::Ingest));
        }
    });
    let warn = ui.visuals().warn_fg_color;
    let error = ui.visuals().error_fg_color;
    for s in st.sources.iter().filter(|s| !s.problems.is_empty()) {
        let failed = s
            .problems
            .iter()
            .any(|p| matches!(p, Problem::Failed { .. } | Problem::Skipped { .. }));
        let texts: Vec<String> = s
            .problems
            .iter()
            .map(|p| match p {
                Problem::Stale { .. } => format!(
                    "{p} (newest day {}; stale after {})",
                    s.newest_day.map(|d| d.to_string()).unwrap_or_default(),
                    school_days_text(st.stale_after)
                ),
                _ => p.to_string(),
            })
            .collect();
        let last_ok = match s.last_success {
            Some(t) => format!(
                "; last successful run {}",
                t.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M")
            ),
            None => "; no successful run yet".to_string(),
        };
        // The button first: the text wraps beside it, so a long reason never pushes the
        // button out of the window.
        ui.horizontal(|ui| {
            if ui
                .button(format!("Run {} now", s.name))
                .on_hover_text("Runs this source now, as the schedule would")
                .clicked()
            {
                sh.nav.push(Nav::RunNow(s.name.clone()));
            }
            let text = super::widgets::plain(&(texts.join("; ") + &last_ok));
            let text = format!(
                "{} needs attention: {text}",
                display_name(&s.name, &s.module)
            );
            let color = if failed { error } else { warn };
            ui.add(egui::Label::new(egui::RichText::new(text).color(color)).wrap());
        });
    }
    if st.healthy() && !st.sources.is_empty() {
        ui.label(format!(
            "Every source is current (data at most {} old, last runs done).",
            school_days_text(st.stale_after)
        ));
    }
}

/// A saved source as users know it: the built-in source's title ("Clever participation
/// reports (clever)"), or the name it was saved under.
fn display_name(name: &str, module: &str) -> String {
    match SourceKind::named(name).or_else(|| SourceKind::named(module)) {
        Some(k) if k.name() == name => k.title().to_string(),
        Some(k) => format!("{name} ({})", k.title()),
        None => name.to_string(),
    }
}

/// Says once, on opening the lake, which sources' last runs failed or were skipped (a
/// scheduled run that nobody watched); Home keeps showing it until a run succeeds.
pub fn announce_failures(sh: &mut Shared, st: &LakeStatus) {
    for s in &st.sources {
        for p in &s.problems {
            if matches!(p, Problem::Failed { .. } | Problem::Skipped { .. }) {
                sh.toast(
                    format!(
                        "{}: {}",
                        display_name(&s.name, &s.module),
                        super::widgets::plain(&p.to_string())
                    ),
                    false,
                );
            }
        }
    }
}
