//! The site mapping: every school identity the sources use (SIS ids, Clever and Insights
//! names), the name the charts show for it, suggestions from matching names and ids, and the
//! names the district sets. Saving rebuilds the chart data so every chart shows one row per
//! real school.

use std::collections::BTreeMap;

use super::task::{Task, TaskState};
use super::widgets::{task_line, task_value};
use super::{Nav, Shared};
use crate::derive::sites::{self, SiteMap, SiteRow, SiteSource};

/// The section's runtime state.
#[derive(Default)]
pub struct SchoolsPage {
    pub rows: Task<Vec<SiteRow>>,
    /// Names as typed, by (source, key); saved with "Save names".
    edits: BTreeMap<(SiteSource, String), String>,
    pub save: Task<()>,
}

impl SchoolsPage {
    fn refresh(&mut self, sh: &Shared) {
        let lake = sh.lake.clone();
        self.edits.clear();
        self.rows = Task::spawn(sh.repaint.clone(), move |_, _| Ok(sites::discover(&lake)?));
    }

    /// Takes in a finished save (every frame, whatever page is open).
    pub fn poll(&mut self, sh: &mut Shared) {
        if self.save.poll() && matches!(self.save.state, TaskState::Done(_)) {
            sh.toast("School names saved; the charts use them now.", true);
            self.refresh(sh);
            sh.nav.push(Nav::Refresh);
        }
    }

    /// Draws the section.
    pub fn ui(&mut self, ui: &mut egui::Ui, sh: &mut Shared) {
        if matches!(self.rows.state, TaskState::Idle) {
            self.refresh(sh);
        }
        self.rows.poll();
        ui.heading("Schools");
        ui.label(
            "SIS, Clever and Insights each identify schools their own way. Give each the name the \
             charts should show: identities with the same name become one school everywhere. \
             Nothing in the tables changes; only how the charts name schools.",
        );
        let Some(rows) = task_value(ui, &self.rows).cloned() else {
            return;
        };
        if rows.is_empty() {
            ui.label("No schools yet: ingest Clever, Insights or SIS data first.");
            return;
        }
        let unnamed = rows.iter().filter(|r| r.unnamed).count();
        if unnamed > 0 {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                format!(
                    "{unnamed} SIS school id(s) have no name, so the charts show the id: name them below."
                ),
            );
        }
        let suggested: Vec<&SiteRow> = rows.iter().filter(|r| r.suggestion.is_some()).collect();
        let busy = self.save.is_running();
        if !suggested.is_empty()
            && ui
                .add_enabled(
                    !busy,
                    egui::Button::new(format!("Use all {} suggestion(s)", suggested.len())),
                )
                .clicked()
        {
            for r in suggested {
                if let Some(s) = &r.suggestion {
                    self.edits.insert((r.source, r.key.clone()), s.clone());
                }
            }
        }
        self.grid(ui, &rows, busy);
        let changes: Vec<(SiteSource, String, String)> = rows
            .iter()
            .filter_map(|r| {
                let e = self.edits.get(&(r.source, r.key.clone()))?;
                (e.trim() != r.shown).then(|| (r.source, r.key.clone(), e.clone()))
            })
            .collect();
        let n = changes.len();
        ui.horizontal(|ui| {
            let label = format!("Save names ({n} changed) and rebuild the charts");
            if ui
                .add_enabled(!busy && n > 0, egui::Button::new(label))
                .clicked()
            {
                let lake = sh.lake.clone();
                self.save = Task::spawn(sh.repaint.clone(), move |p, c| {
                    let mut map = SiteMap::load(&lake)?;
                    for (source, key, name) in &changes {
                        map.set(*source, key, name);
                    }
                    map.save(&lake)?;
                    crate::derive::build_stage3_with(&lake, p, c)?;
                    Ok(())
                });
            }
            if n > 0 && ui.button("Discard changes").clicked() {
                self.edits.clear();
            }
        });
        task_line(ui, &self.save, "Rebuilding the chart data");
    }

    fn grid(&mut self, ui: &mut egui::Ui, rows: &[SiteRow], busy: bool) {
        egui::Grid::new("site-mapping")
            .num_columns(4)
            .striped(true)
            .spacing([16.0, 6.0])
            .show(ui, |ui| {
                for h in ["Source", "In the source", "Charts show", "Suggestion"] {
                    ui.label(egui::RichText::new(h).strong());
                }
                ui.end_row();
                for r in rows {
                    ui.label(r.source.title());
                    ui.label(&r.key);
                    let edit = self
                        .edits
                        .entry((r.source, r.key.clone()))
                        .or_insert_with(|| r.shown.clone());
                    let raw_id = r.unnamed && *edit == r.shown;
                    let mut field = egui::TextEdit::singleline(edit).desired_width(220.0);
                    if raw_id {
                        field = field.text_color(ui.visuals().warn_fg_color);
                    }
                    // A grid cell gives a text field its minimum width unless told.
                    ui.add_enabled_ui(!busy, |ui| {
                        ui.add_sized([240.0, 20.0], field)
                            .on_hover_text("The name every chart shows for this school")
                    });
                    match &r.suggestion {
                        Some(s) if *edit != *s => {
                            if ui
                                .add_enabled(!busy, egui::Button::new(format!("Use “{s}”")))
                                .clicked()
                            {
                                *edit = s.clone();
                            }
                        }
                        _ => {
                            ui.label("");
                        }
                    }
                    ui.end_row();
                }
            });
    }
}
