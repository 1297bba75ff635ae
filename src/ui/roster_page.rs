//! Clever roster syncs and identity matching: sync a roster folder, choose which roster id each
//! source carries (match rates before and after), and the operations log with a CSV download.

use super::task::{Task, TaskState};
use super::widgets::{folder_action, task_line};
use super::{Nav, Shared};
use crate::derive::identity::{
    self, IdSource, IdentityBuild, IdentityConfig, InsightsId, RosterKey,
};
use crate::derive::people_status::RosterRoles;
use crate::derive::roster::{self, SyncEntry};

/// What the section shows about the lake.
#[derive(Debug, Clone, Default)]
pub struct RosterInfo {
    pub config: IdentityConfig,
    pub log: Vec<SyncEntry>,
    pub builds: Vec<IdentityBuild>,
    /// Which roles a sync takes besides students.
    pub roles: RosterRoles,
}

/// The section's runtime state.
#[derive(Default)]
pub struct RosterPage {
    pub info: Task<RosterInfo>,
    /// The keys as edited (saved only with "Apply keys").
    keys: Option<IdentityConfig>,
    pub sync: Task<Vec<SyncEntry>>,
    pub apply: Task<Option<IdentityBuild>>,
    /// Saving a change of roles.
    roles_save: Task<()>,
}

fn load(lake: &crate::lake::Lake) -> anyhow::Result<RosterInfo> {
    Ok(RosterInfo {
        config: IdentityConfig::load(lake)?,
        log: roster::operations(lake)?,
        builds: identity::history(lake)?,
        roles: RosterRoles::load(lake)?,
    })
}

impl RosterPage {
    fn refresh(&mut self, sh: &Shared) {
        let lake = sh.lake.clone();
        self.info = Task::spawn(sh.repaint.clone(), move |_, _| load(&lake));
    }

    /// Takes in the running sync's or key change's news (every frame, whatever page is open).
    pub fn poll(&mut self, sh: &mut Shared) {
        if self.sync.poll() || self.apply.poll() || self.roles_save.poll() {
            self.refresh(sh);
            sh.nav.push(Nav::Refresh);
        }
    }

    /// Draws the section.
    pub fn ui(&mut self, ui: &mut egui::Ui, sh: &mut Shared) {
        if matches!(self.info.state, TaskState::Idle) {
            self.refresh(sh);
        }
        self.info.poll();
        ui.heading("Clever roster");
        ui.label(
            "Clever's SFTP roster files (schools, students, teachers, staff, sections, enrollments \
             .csv), in the folder itself or in dated subfolders such as 2025-09-01/. Each sync \
             replaces the roster; a student, teacher or staff member missing from it is marked \
             transferred (not deleted) and becomes active again on return.",
        );
        let saving = self.roles_save.is_running();
        if let TaskState::Done(info) = &mut self.info.state {
            // Shown as chosen at once; saved off the UI thread.
            let roles = &mut info.roles;
            let mut changed = false;
            ui.horizontal(|ui| {
                ui.label("Besides students, sync:");
                changed |= ui
                    .add_enabled(
                        !saving,
                        egui::Checkbox::new(&mut roles.teachers, "teachers"),
                    )
                    .changed();
                changed |= ui
                    .add_enabled(!saving, egui::Checkbox::new(&mut roles.staff, "staff"))
                    .changed();
            });
            if changed {
                let (lake, roles) = (sh.lake.clone(), *roles);
                self.roles_save =
                    Task::spawn(sh.repaint.clone(), move |_, _| Ok(roles.save(&lake)?));
            }
        }
        let busy = self.sync.is_running() || self.apply.is_running();
        let run = ("roster", "Roster folder:");
        if let Some((dir, salt)) = folder_action(ui, sh, run, "Sync roster", busy) {
            let lake = sh.lake.clone();
            self.sync = Task::spawn(sh.repaint.clone(), move |p, c| {
                let out = crate::app::run::sync_roster(
                    &lake,
                    &crate::sources::FolderSource::new(&dir),
                    &salt,
                    p,
                    c,
                );
                for s in &out.skipped {
                    p.log(s.clone());
                }
                match out.error {
                    Some(e) => Err(e.into()),
                    None => Ok(out.entries),
                }
            });
        }
        ui.horizontal(|ui| {
            task_line(ui, &self.sync, "Syncing the roster");
            if self.sync.is_running()
                && ui
                    .add_enabled(!self.sync.is_cancelling(), egui::Button::new("Cancel sync"))
                    .clicked()
            {
                self.sync.cancel();
            }
        });
        if let TaskState::Done(entries) = &self.sync.state {
            ui.label(match entries.len() {
                0 => "Nothing new: every snapshot in the folder was synced before.".to_string(),
                n => format!("Synced {n} snapshot(s)."),
            });
        }
        ui.separator();
        let Some(info) = super::widgets::task_value(ui, &self.info).cloned() else {
            return;
        };
        self.identity(ui, sh, &info, busy);
        ui.separator();
        self.log(ui, sh, &info);
    }

    fn identity(&mut self, ui: &mut egui::Ui, sh: &mut Shared, info: &RosterInfo, busy: bool) {
        ui.heading("Identity matching");
        ui.label(
            "Which roster identifier each source's student ids carry. Matching runs on pseudonyms, never \
             on blank ids; the hybrid engagement figures join sources through the resulting map.",
        );
        let keys = self.keys.get_or_insert(info.config);
        egui::Grid::new("identity-keys")
            .num_columns(4)
            .spacing([16.0, 6.0])
            .show(ui, |ui| {
                for s in IdSource::ALL {
                    ui.label(s.id_label());
                    let mut k = keys.key(s);
                    for option in RosterKey::ALL {
                        ui.radio_value(&mut k, option, option.name());
                    }
                    keys.set(s, k);
                    ui.end_row();
                }
            });
        ui.horizontal(|ui| {
            ui.label("Insights id compared:");
            for i in InsightsId::ALL {
                ui.radio_value(&mut keys.insights_id, i, i.name())
                    .on_hover_text(match i {
                        InsightsId::AadObjectId => "the AadUser object id the activity carries",
                        InsightsId::AadStudentId => "AadUser.StudentId of that user",
                        InsightsId::PersonIdentifier => {
                            "School Data Sync's PersonIdentifier values of that user's person"
                        }
                    });
            }
        });
        let changed = *keys != info.config;
        let keys = *keys;
        ui.horizontal(|ui| {
            if ui
                .add_enabled(changed && !busy, egui::Button::new("Apply keys"))
                .clicked()
            {
                let lake = sh.lake.clone();
                self.apply = Task::spawn(sh.repaint.clone(), move |_, _| {
                    keys.save(&lake)?;
                    let b = identity::rebuild(&lake, &keys)?;
                    crate::derive::build_stage3(&lake)?;
                    Ok(b)
                });
            }
            if changed {
                ui.label(egui::RichText::new("Not applied yet").weak());
            }
        });
        task_line(ui, &self.apply, "Rebuilding the identity map");
        let n = info.builds.len();
        let Some(after) = info.builds.last() else {
            ui.label("No identity map yet: sync a roster first.");
            return;
        };
        let before = (n >= 2).then(|| &info.builds[n - 2]);
        ui.label(egui::RichText::new("Match rates (distinct student ids per source)").strong());
        egui::Grid::new("match-rates")
            .striped(true)
            .spacing([14.0, 4.0])
            .show(ui, |ui| {
                for h in [
                    "Source",
                    "Before",
                    "Key",
                    "Ids",
                    "Matched",
                    "Unmatched",
                    "Ambiguous",
                    "Rate",
                ] {
                    ui.strong(h);
                }
                ui.end_row();
                for r in &after.rates {
                    ui.label(&r.source);
                    let prev = before.and_then(|b| b.rates.iter().find(|x| x.source == r.source));
                    ui.label(
                        prev.map(|p| format!("{} {:.1} %", p.key, 100.0 * p.rate()))
                            .unwrap_or_else(|| "–".into()),
                    );
                    ui.label(&r.key);
                    ui.label(r.ids.to_string());
                    ui.label(r.matched.to_string());
                    ui.label(r.unmatched.to_string());
                    ui.label(r.ambiguous.to_string());
                    let text = format!("{:.1} %", 100.0 * r.rate());
                    if r.ids > 0 && r.rate() < 0.5 {
                        ui.colored_label(ui.visuals().error_fg_color, text)
                            .on_hover_text("Under half the ids match: is this the right key?");
                    } else {
                        ui.label(text);
                    }
                    ui.end_row();
                }
            });
    }

    fn log(&mut self, ui: &mut egui::Ui, sh: &mut Shared, info: &RosterInfo) {
        ui.horizontal(|ui| {
            ui.heading("Operations log");
            if ui
                .add_enabled(!info.log.is_empty(), egui::Button::new("Download CSV…"))
                .clicked()
                && let Some(p) = sh
                    .dialogs
                    .save_file("Save the roster operations log", "roster-operations.csv")
            {
                match std::fs::write(&p, roster::operations_csv(&info.log)) {
                    Ok(()) => sh.toast(format!("Saved {}", p.display()), true),
                    Err(e) => sh.toast(format!("Could not save {}: {e}", p.display()), false),
                }
            }
        });
        if info.log.is_empty() {
            ui.label("No roster syncs yet.");
            return;
        }
        egui::Grid::new("roster-log")
            .striped(true)
            .spacing([14.0, 4.0])
            .show(ui, |ui| {
                for h in [
                    "Synced",
                    "Snapshot",
                    "New",
                    "Updated",
                    "Transferred",
                    "Reactivated",
                    "Active",
                    "Unmatched examples (pseudonyms)",
                ] {
                    ui.strong(h);
                }
                ui.end_row();
                for e in info.log.iter().rev() {
                    let c = &e.counts;
                    ui.label(e.at.format("%Y-%m-%d %H:%M").to_string());
                    ui.label(e.snapshot.to_string());
                    for v in [c.new, c.updated, c.transferred, c.reactivated, c.active] {
                        ui.label(v.to_string());
                    }
                    let examples: Vec<String> = e
                        .rates
                        .iter()
                        .filter_map(|r| {
                            r.unmatched_examples
                                .first()
                                .map(|x| format!("{}: {}…", r.source, &x[..10.min(x.len())]))
                        })
                        .collect();
                    ui.label(egui::RichText::new(examples.join("  ")).monospace());
                    ui.end_row();
                }
            });
    }
}
