//! The audit log in the app: every unlock, restricted read and export and every salt export,
//! newest first, with who (the OS account), where (the machine), what and the chain check.
//! Read on a worker thread when the panel opens and on Refresh.

use std::sync::Arc;

use super::task::{Task, TaskState};
use crate::audit::AuditEntry;
use crate::lake::Lake;

/// Most entries drawn at once (the newest); the CLI's `edlake audit` prints them all.
const SHOWN: usize = 500;

/// The audit panel's state.
#[derive(Default)]
pub struct AuditView {
    /// The entries (oldest first), or why the log could not be read or verified.
    pub log: Task<Vec<AuditEntry>>,
}

impl AuditView {
    /// Reads and verifies the log on a worker thread.
    pub fn load(&mut self, lake: &Lake, repaint: &Arc<dyn Fn() + Send + Sync>) {
        let lake = lake.clone();
        self.log = Task::spawn(repaint.clone(), move |_, _| {
            Ok(crate::audit::entries(&lake)?)
        });
    }

    /// Draws the panel (collapsed until opened; opening it reads the log).
    pub fn ui(&mut self, ui: &mut egui::Ui, lake: &Lake, repaint: &Arc<dyn Fn() + Send + Sync>) {
        self.log.poll();
        let open = egui::CollapsingHeader::new("Audit log")
            .id_salt("audit-log")
            .show(ui, |ui| self.body(ui, lake, repaint));
        if open.body_returned.is_some() && matches!(self.log.state, TaskState::Idle) {
            self.load(lake, repaint);
        }
    }

    fn body(&mut self, ui: &mut egui::Ui, lake: &Lake, repaint: &Arc<dyn Fn() + Send + Sync>) {
        ui.label(
            "Who unlocked, read or exported restricted data (raw names, birthdates, quarantined \
             rows, lookups) and who exported the salt. Each line is chained to the one before it, \
             so an edited or removed line is detected.",
        );
        let entries = match &self.log.state {
            TaskState::Idle => return,
            TaskState::Running { .. } => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label("Reading and checking the audit log…");
                });
                return;
            }
            TaskState::Failed(e) => {
                ui.colored_label(ui.visuals().error_fg_color, e);
                if ui.button("Check again").clicked() {
                    self.load(lake, repaint);
                }
                return;
            }
            TaskState::Done(v) => v,
        };
        let refresh = ui
            .horizontal(|ui| {
                ui.label(format!(
                    "{} entr{}, chain intact.",
                    entries.len(),
                    if entries.len() == 1 { "y" } else { "ies" }
                ));
                ui.button("Check again").clicked()
            })
            .inner;
        if !entries.is_empty() {
            table(ui, entries);
        }
        if refresh {
            self.load(lake, repaint);
        }
    }
}

fn table(ui: &mut egui::Ui, entries: &[AuditEntry]) {
    egui::ScrollArea::both()
        .max_height(260.0)
        .id_salt("audit-scroll")
        .show(ui, |ui| {
            egui::Grid::new("audit").striped(true).show(ui, |ui| {
                for h in [
                    "When (UTC)",
                    "Account",
                    "Machine",
                    "Action",
                    "What",
                    "Details",
                ] {
                    ui.strong(h);
                }
                ui.end_row();
                for e in entries.iter().rev().take(SHOWN) {
                    ui.label(e.at.format("%Y-%m-%d %H:%M:%S").to_string());
                    ui.label(match e.uid {
                        Some(uid) => format!("{} ({uid})", e.user),
                        None => e.user.clone(),
                    });
                    ui.label(&e.host);
                    ui.label(&e.action);
                    ui.label(egui::RichText::new(&e.table).monospace());
                    ui.label(&e.detail);
                    ui.end_row();
                }
            });
        });
    if entries.len() > SHOWN {
        ui.label(format!(
            "The newest {SHOWN} are shown; `edlake audit` prints all {}.",
            entries.len()
        ));
    }
}
