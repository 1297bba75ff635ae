//! Small widgets the pages share: a folder row with its Choose button and a task's status line.

use std::time::{Duration, Instant};

use super::Shared;
use super::path_field::{PathKind, path_row};

/// A module's folder row: label, the folder the lake reads it from and a Choose button (the
/// choice is saved in the lake). Returns the folder when it is there.
pub(super) fn folder_row(
    ui: &mut egui::Ui,
    sh: &mut Shared,
    module: &str,
    label: &str,
) -> Option<std::path::PathBuf> {
    ui.label(label);
    let current = sh.sources.folder(module).cloned();
    let ask = (label, "Choose folder…");
    if let Some(p) = path_row(ui, sh.dialogs, ask, PathKind::Folder, current.as_deref()) {
        sh.nav.push(super::Nav::SetFolder(module.into(), p));
    }
    sh.sources
        .folder(module)
        .filter(|_| sh.sources.runnable(module))
        .cloned()
}

/// A module's folder row and a button that runs it; returns the folder and the lake's salt when
/// the button was clicked (it is enabled with a folder that is there, a salt, and nothing `busy`).
pub(super) fn folder_action(
    ui: &mut egui::Ui,
    sh: &mut Shared,
    (module, label): (&str, &str),
    button: &str,
    busy: bool,
) -> Option<(std::path::PathBuf, crate::pseudo::Salt)> {
    let dir = folder_row(ui, sh, module, label);
    let clicked = ui
        .add_enabled(
            dir.is_some() && sh.salt.is_some() && !busy,
            egui::Button::new(button),
        )
        .clicked();
    match (clicked, dir, sh.salt.clone()) {
        (true, Some(dir), Some(salt)) => Some((dir, salt)),
        _ => None,
    }
}

/// A form's message: in the text colour when it reports success, the error colour when not.
pub(super) fn message(ui: &mut egui::Ui, message: &Option<(String, bool)>) {
    if let Some((m, ok)) = message {
        let c = if *ok {
            ui.visuals().text_color()
        } else {
            ui.visuals().error_fg_color
        };
        ui.colored_label(c, m);
    }
}

/// A task's value when it is done; otherwise shows a spinner (running) or the error (failed).
pub(super) fn task_value<'a, T>(ui: &mut egui::Ui, t: &'a super::task::Task<T>) -> Option<&'a T> {
    match &t.state {
        super::task::TaskState::Done(v) => Some(v),
        super::task::TaskState::Failed(e) => {
            ui.colored_label(ui.visuals().error_fg_color, plain(e));
            None
        }
        _ => {
            ui.spinner();
            None
        }
    }
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
            ui.colored_label(ui.visuals().error_fg_color, plain(e));
        }
        _ => {}
    }
}

/// A short message in the corner that goes away by itself.
pub struct Toast {
    pub text: String,
    pub ok: bool,
    pub at: Instant,
}

impl Toast {
    /// A toast shown from now on.
    pub fn new(text: impl Into<String>, ok: bool) -> Toast {
        Toast {
            text: text.into(),
            ok,
            at: Instant::now(),
        }
    }
}

/// Draws the toasts in the bottom-right corner, dropping those older than six seconds.
pub(super) fn draw_toasts(ui: &egui::Ui, toasts: &mut Vec<Toast>) {
    toasts.retain(|t| t.at.elapsed() < Duration::from_secs(6));
    if toasts.is_empty() {
        return;
    }
    ui.ctx().request_repaint_after(Duration::from_millis(500));
    egui::Area::new(egui::Id::unique("toasts"))
        .anchor(egui::Align2::RIGHT_BOTTOM, [-16.0, -16.0])
        .show(ui.ctx(), |ui| {
            for t in toasts.iter() {
                egui::Frame::popup(ui.style()).show(ui, |ui| {
                    let c = if t.ok {
                        ui.visuals().text_color()
                    } else {
                        ui.visuals().error_fg_color
                    };
                    ui.colored_label(c, &t.text);
                });
            }
        });
}

/// A message from the library as the app shows it: the backticks that mark commands and names
/// for a terminal are left out.
pub fn plain(s: &str) -> String {
    s.replace('`', "")
}

/// Asks before the demo lake is closed (closing deletes it); returns true when confirmed and
/// clears `open` when either button is clicked.
pub(super) fn confirm_close_demo(ui: &mut egui::Ui, open: &mut bool) -> bool {
    let mut close = false;
    egui::Modal::new(egui::Id::unique("confirm-close-demo")).show(ui.ctx(), |ui| {
        ui.heading("Close the demo lake?");
        ui.label("The demo lake is deleted when it closes. You can start a fresh one at any time.");
        ui.horizontal(|ui| {
            if ui.button("Close and delete the demo").clicked() {
                close = true;
                *open = false;
            }
            if ui.button("Keep it open").clicked() {
                *open = false;
            }
        });
    });
    close
}

/// Ctrl+1…6 switch pages (pushed as commands, applied at frame end).
pub(super) fn page_keys(ui: &egui::Ui, nav: &mut Vec<super::Nav>) {
    use egui::Key::{Num1, Num2, Num3, Num4, Num5, Num6};
    for (k, p) in [Num1, Num2, Num3, Num4, Num5, Num6]
        .into_iter()
        .zip(super::Page::ALL)
    {
        if ui.input_mut(|i| i.consume_key(egui::Modifiers::COMMAND, k)) {
            nav.push(super::Nav::Page(p));
        }
    }
}
