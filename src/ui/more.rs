//! The "More sources" page: custom sources from a metadata.csv, Clever rosters with identity
//! matching, edX MicroMasters reports and the schools' names (site mapping) — one section at
//! a time.

use super::Shared;
use super::custom_form::CustomForm;
use super::program_page::ProgramPage;
use super::roster_page::RosterPage;
use super::schools_page::SchoolsPage;

/// Which section is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Section {
    #[default]
    Roster,
    Custom,
    Program,
    Schools,
}

/// The page's runtime state.
#[derive(Default)]
pub struct MorePage {
    pub section: Section,
    pub roster: RosterPage,
    pub custom: CustomForm,
    pub program: ProgramPage,
    pub schools: SchoolsPage,
}

impl MorePage {
    /// Takes in the news of every section's running jobs (every frame, whatever page is open).
    pub fn poll(&mut self, sh: &mut Shared) {
        self.roster.poll(sh);
        self.custom.poll(sh);
        self.program.poll(sh);
        self.schools.poll(sh);
    }

    /// Draws the page.
    pub fn ui(&mut self, ui: &mut egui::Ui, sh: &mut Shared) {
        ui.horizontal(|ui| {
            for (s, label) in [
                (Section::Roster, "Clever roster & identity"),
                (Section::Custom, "Custom source (metadata.csv)"),
                (Section::Program, "edX MicroMasters"),
                (Section::Schools, "Schools"),
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
                Section::Schools => self.schools.ui(ui, sh),
            });
    }
}
