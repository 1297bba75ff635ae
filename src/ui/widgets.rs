//! Small widgets the pages share: a folder row with its Choose button and a task's status line.

use super::Shared;

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
