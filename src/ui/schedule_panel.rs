//! The Ingestion page's "Daily schedule" panel: when the lake's sources run by themselves (every
//! day or every school day at a time), set or removed here as with `edlake schedule`, and
//! installed into the operating system's scheduler off the UI thread (it runs `crontab`,
//! `systemctl`, `launchctl` or `schtasks`).

use super::Shared;
use super::task::{Task, TaskState};
use crate::app::schedule::{Operations, Schedule};
use crate::app::scheduler::{Backend, install, uninstall};

/// The panel's state.
#[derive(Default)]
pub struct SchedulePanel {
    /// The lake's settings as last read.
    ops: Task<Operations>,
    /// The time being typed, and the weekday choice.
    at: String,
    weekdays: bool,
    /// A set or remove in progress, with its message when done.
    change: Task<String>,
    /// Whether the form was filled from the lake's settings.
    filled: bool,
}

impl SchedulePanel {
    /// Reads the lake's settings again (after a change, or another lake).
    pub fn reload(&mut self, sh: &Shared) {
        let lake = sh.lake.clone();
        self.filled = false;
        self.ops = Task::spawn(sh.repaint.clone(), move |_, _| Ok(Operations::load(&lake)?));
    }

    /// Draws the panel.
    pub fn ui(&mut self, ui: &mut egui::Ui, sh: &mut Shared) {
        if matches!(self.ops.state, TaskState::Idle) {
            self.reload(sh);
        }
        self.ops.poll();
        if self.change.poll() {
            match &self.change.state {
                TaskState::Done(m) => sh.toast(m.clone(), true),
                TaskState::Failed(e) => sh.toast(super::widgets::plain(e), false),
                _ => {}
            }
            self.reload(sh);
        }
        let Some(ops) = self.ops.done().cloned() else {
            ui.spinner();
            return;
        };
        if !self.filled {
            let s = ops.schedule.clone();
            self.at = s
                .as_ref()
                .map_or_else(|| "06:30".to_string(), |s| s.at.clone());
            self.weekdays = s.is_none_or(|s| s.weekdays_only);
            self.filled = true;
        }
        ui.heading("Daily schedule");
        match &ops.schedule {
            Some(s) => {
                let next = s
                    .next_after(chrono::Local::now().naive_local())
                    .map(|t| t.format("%A %Y-%m-%d at %H:%M").to_string())
                    .unwrap_or_default();
                ui.label(format!("Runs {}. Next run: {next}.", s.describe()));
            }
            None => {
                ui.label("No schedule: the sources run only when someone runs them.");
            }
        }
        let busy = self.change.is_running();
        ui.horizontal(|ui| {
            ui.label("Run every source at");
            ui.add(
                egui::TextEdit::singleline(&mut self.at)
                    .hint_text("HH:MM")
                    .desired_width(60.0),
            )
            .accessible_name("Daily run time");
            ui.checkbox(&mut self.weekdays, "school days only (Monday to Friday)");
            let set = ui.add_enabled(!busy && !sh.is_demo, egui::Button::new("Set schedule"));
            let set = set.on_disabled_hover_text("The demo lake is deleted when edlake closes");
            if set.clicked() {
                self.set(sh, &ops);
            }
            if ops.schedule.is_some()
                && ui
                    .add_enabled(!busy, egui::Button::new("Remove schedule"))
                    .clicked()
            {
                self.remove(sh, &ops);
            }
            if busy {
                ui.spinner();
            }
        });
        if let TaskState::Failed(e) = &self.change.state {
            ui.colored_label(ui.visuals().error_fg_color, super::widgets::plain(e));
        }
        ui.label(
            egui::RichText::new(format!(
                "It is kept in the lake and installed in {}, so it runs with edlake closed. A \
                 scheduled run reads the salt and passwords from the OS keyring, so your login \
                 keyring must be unlocked then; its log goes to _edlake/logs/, and Home shows \
                 when a run failed.",
                Backend::detect().name()
            ))
            .weak(),
        );
    }

    fn set(&mut self, sh: &Shared, ops: &Operations) {
        let schedule = match Schedule::new(&self.at, self.weekdays, Vec::new()) {
            Ok(s) => s,
            Err(e) => {
                self.change.state = TaskState::Failed(e.to_string());
                return;
            }
        };
        let (lake, mut ops) = (sh.lake.clone(), ops.clone());
        self.change = Task::spawn(sh.repaint.clone(), move |_, _| {
            let exe = std::env::current_exe()?;
            let into = install(&lake, &schedule, &exe)?;
            ops.schedule = Some(schedule.clone());
            if let Err(e) = ops.save(&lake) {
                let _ = uninstall(&lake);
                return Err(e.into());
            }
            Ok(format!("Scheduled {} (in {into})", schedule.describe()))
        });
    }

    fn remove(&mut self, sh: &Shared, ops: &Operations) {
        let (lake, mut ops) = (sh.lake.clone(), ops.clone());
        self.change = Task::spawn(sh.repaint.clone(), move |_, _| {
            uninstall(&lake)?;
            ops.schedule = None;
            ops.save(&lake)?;
            Ok("Schedule removed".to_string())
        });
    }
}
