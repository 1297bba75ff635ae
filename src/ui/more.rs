//! The "More sources" page: custom sources from a metadata.csv, Clever rosters with identity
//! matching, and edX MicroMasters reports — one section at a time.

use super::Shared;
use super::custom_form::CustomForm;
use super::program_page::ProgramPage;
use super::roster_page::RosterPage;

/// Which section is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Section {
    #[default]
    Roster,
    Custom,
    Program,
}

/// The page's runtime state.
#[derive(Default)]
pub struct MorePage {
    pub section: Section,
    pub roster: RosterPage,
    pub custom: CustomForm,
    pub program: ProgramPage,
}

impl MorePage {
    /// Draws the page.
    pub fn ui(&mut self, ui: &mut egui::Ui, sh: &mut Shared) {
        ui.horizontal(|ui| {
            for (s, label) in [
                (Section::Roster, "Clever roster & identity"),
                (Section::Custom, "Custom source (metadata.csv)"),
                (Section::Program, "edX MicroMasters"),
            ] {
                ui.selectable_value(&mut self.section, s, label);
            }
        });
        ui.separator();
        if sh.salt.is_none() {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                "This lake has no salt available: open Setup first, nothing can be pseudonymized yet.",
            );
        }
        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show(ui, |ui| match self.section {
                Section::Roster => self.roster.ui(ui, sh),
                Section::Custom => self.custom.ui(ui, sh),
                Section::Program => self.program.ui(ui, sh),
            });
    }
}

/// A folder row: label, chosen path and a Choose button; returns the (possibly new) folder.
pub(super) fn folder_row(
    ui: &mut egui::Ui,
    sh: &mut Shared,
    key: &str,
    label: &str,
) -> Option<std::path::PathBuf> {
    ui.horizontal(|ui| {
        ui.label(label);
        let shown = sh
            .saved
            .folders
            .get(key)
            .map(|d| d.display().to_string())
            .unwrap_or_else(|| "no folder chosen".into());
        ui.label(egui::RichText::new(shown).monospace());
        if ui.button("Choose folder…").clicked()
            && let Some(p) = sh.dialogs.pick_folder(label)
        {
            sh.saved.folders.insert(key.into(), p);
        }
    });
    sh.saved.folders.get(key).filter(|d| d.is_dir()).cloned()
}

/// Shows a task that is running (spinner and the newest log line) or failed.
pub(super) fn task_line<T>(ui: &mut egui::Ui, t: &super::task::Task<T>, what: &str) {
    match &t.state {
        super::task::TaskState::Running { started } => {
            ui.horizontal(|ui| {
                ui.spinner();
                let last = t.progress.log.back().cloned().unwrap_or_default();
                ui.label(format!(
                    "{what}… {:.0} s {last}",
                    started.elapsed().as_secs_f64()
                ));
            });
        }
        super::task::TaskState::Failed(e) => {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        _ => {}
    }
}
