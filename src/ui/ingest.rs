//! The ingestion page: choose each source's folder, run one source or all of them as a job with a
//! progress bar per stage (files, MB, rows, rows/s, ETA), cancel, a live log, and run history.

use std::sync::Arc;

use super::path_field::{PathKind, path_row};
use super::setup_state::SourceSetup;
use super::task::{Task, TaskState, stage_bars};
use super::{Nav, Page, Shared};
use crate::app::run::SourceKind;
use crate::app::saved::{run_order, run_sources};
use crate::lake::{Lake, TableRef};
use crate::pipeline::{RunReport, RunStatus};
use crate::pseudo::Salt;
use crate::secrets::Secrets;
use crate::sources::saved::{SavedSource, SourceDef};

/// The ingestion page.
#[derive(Default)]
pub struct IngestPage {
    pub job: Task<Vec<RunReport>>,
    /// The run history as read (`Idle`: to be read again, after a run).
    history: Task<Vec<RunReport>>,
    /// The last history read (kept on screen while a fresh read runs).
    shown: Option<Vec<RunReport>>,
    /// The daily schedule panel.
    pub schedule: super::schedule_panel::SchedulePanel,
}

impl IngestPage {
    /// Starts a job that runs the lake's saved `sources` one after another, as the CLI's
    /// `edlake run --sources` does (the roster first, the rest derived once). Fails (with the
    /// message to show) when the lake has no salt yet.
    pub fn start(
        &mut self,
        lake: &Lake,
        salt: Option<&Salt>,
        secrets: &Secrets,
        repaint: &Arc<dyn Fn() + Send + Sync>,
        sources: Vec<SavedSource>,
    ) -> Result<(), &'static str> {
        let salt = salt
            .cloned()
            .ok_or("The lake has no salt yet: finish step 1 of Setup first.")?;
        let (lake, secrets) = (lake.clone(), secrets.clone());
        self.job = Task::spawn(repaint.clone(), move |p, c| {
            // One job: every source ingested in turn, the derived tables rebuilt once.
            let outs = run_sources(&lake, sources, &secrets, &salt, p, c)?;
            let mut reports = Vec::new();
            for out in outs {
                if let Some(e) = out.error {
                    return Err(anyhow::anyhow!("{}: {e}", out.report.job));
                }
                reports.push(out.report);
            }
            Ok(reports)
        });
        Ok(())
    }

    /// Takes in the running job's news; called every frame whatever page is open, so a run's
    /// end is announced (toast, refreshed lists) at once.
    pub fn poll(&mut self, sh: &mut Shared) {
        if self.job.poll() {
            self.history = Task::default();
            sh.nav.push(Nav::Refresh);
            match &self.job.state {
                TaskState::Done(r) => {
                    let rows: u64 = r.iter().map(|r| r.rows_ingested).sum();
                    let q: u64 = r.iter().map(|r| r.rows_quarantined).sum();
                    sh.toast(
                        format!("Ingestion finished: {rows} rows, {q} quarantined"),
                        q == 0,
                    );
                }
                TaskState::Failed(e) => sh.toast(format!("Ingestion stopped: {e}"), false),
                _ => {}
            }
        }
    }

    /// Draws the page.
    pub fn ui(&mut self, ui: &mut egui::Ui, sh: &mut Shared) {
        if self.history.poll()
            && let Some(h) = self.history.done()
        {
            self.shown = Some(h.clone());
        }
        if matches!(self.history.state, TaskState::Idle) {
            let lake = sh.lake.clone();
            self.history = Task::spawn(sh.repaint.clone(), move |_, _| {
                Ok(RunReport::history(&lake)?)
            });
        }
        ui.heading("Ingestion");
        if sh.salt.is_none() {
            ui.horizontal(|ui| {
                ui.colored_label(
                    ui.visuals().warn_fg_color,
                    "This lake has no salt available, so nothing can be pseudonymized yet.",
                );
                if ui.button("Go to Setup").clicked() {
                    sh.nav.push(Nav::Page(Page::Setup));
                }
            });
        }
        self.sources(ui, sh);
        ui.separator();
        self.progress(ui);
        ui.separator();
        self.history_ui(ui, sh);
    }

    fn sources(&mut self, ui: &mut egui::Ui, sh: &mut Shared) {
        let running = self.job.is_running();
        let mut start = None;
        egui::Grid::new("ingest-sources")
            .num_columns(3)
            .spacing([12.0, 8.0])
            .show(ui, |ui| {
                for kind in SourceKind::ALL {
                    let module = kind.name();
                    ui.label(kind.title()).on_hover_text(kind.expected_layout());
                    let saved = sh.sources.map.get(module);
                    match saved.map(|s| &s.def) {
                        Some(SourceDef::Folder { .. }) | None => {
                            let dir = sh.sources.folder(module).cloned();
                            let ask = (kind.title(), "Choose…");
                            let picked = ui
                                .add_enabled_ui(!running, |ui| {
                                    path_row(ui, sh.dialogs, ask, PathKind::Folder, dir.as_deref())
                                })
                                .inner;
                            if let Some(p) = picked {
                                sh.nav.push(Nav::SetFolder(module.into(), p));
                            }
                        }
                        Some(def) => {
                            ui.label(format!("{} (set up in Setup)", describe(def)));
                        }
                    }
                    let ok = sh.sources.runnable(module) && !running;
                    if ui
                        .add_enabled(ok, egui::Button::new(format!("Run {module}")))
                        .clicked()
                        && let Some(s) = saved
                    {
                        start = Some(vec![s.clone()]);
                    }
                    ui.end_row();
                }
            });
        let all = configured(sh.sources);
        ui.horizontal(|ui| {
            let label = match all.len() {
                0 => "Run all".to_string(),
                1 => "Run the 1 source".to_string(),
                n => format!("Run all {n} sources"),
            };
            let names: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
            if ui
                .add_enabled(!running && !all.is_empty(), egui::Button::new(label))
                .on_hover_text(format!(
                    "Runs {} in turn, then rebuilds the charts' data once (the same job as edlake run)",
                    names.join(", ")
                ))
                .on_disabled_hover_text(
                    "No source is set up yet: choose a folder above, or set up a server in Setup.",
                )
                .clicked()
            {
                start = Some(all.clone());
            }
            if sh.is_demo {
                ui.label(
                    egui::RichText::new("The demo lake was ingested from the bundled test data.")
                        .weak(),
                );
            }
        });
        ui.separator();
        self.schedule.ui(ui, sh);
        if let Some(k) = start
            && let Err(e) = self.start(sh.lake, sh.salt.as_ref(), sh.secrets, sh.repaint, k)
        {
            sh.toast(e, false);
        }
    }

    fn progress(&mut self, ui: &mut egui::Ui) {
        match &self.job.state {
            TaskState::Idle => {
                ui.label("No job running.");
                return;
            }
            TaskState::Running { started } => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    let what = if self.job.is_cancelling() {
                        "Cancelling at the next safe point…"
                    } else {
                        "Running"
                    };
                    ui.label(format!("{what} ({:.0} s)", started.elapsed().as_secs_f64()));
                    if ui
                        .add_enabled(!self.job.is_cancelling(), egui::Button::new("Cancel"))
                        .clicked()
                    {
                        self.job.cancel();
                    }
                });
            }
            TaskState::Done(r) => {
                ui.label(format!(
                    "Finished: {}",
                    r.iter()
                        .map(|r| r.summary())
                        .collect::<Vec<_>>()
                        .join(" · ")
                ));
            }
            TaskState::Failed(e) => {
                ui.colored_label(
                    ui.visuals().error_fg_color,
                    format!("Stopped: {}", super::widgets::plain(e)),
                );
            }
        }
        stage_bars(ui, &self.job.progress);
        egui::CollapsingHeader::new("Log")
            .default_open(true)
            .show(ui, |ui| {
                egui::ScrollArea::vertical()
                    .max_height(140.0)
                    .stick_to_bottom(true)
                    .id_salt("log")
                    .show(ui, |ui| {
                        for l in &self.job.progress.log {
                            ui.label(egui::RichText::new(l).monospace());
                        }
                    });
            });
    }

    fn history_ui(&mut self, ui: &mut egui::Ui, sh: &mut Shared) {
        ui.heading("Run history");
        if let TaskState::Failed(e) = &self.history.state {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        let Some(h) = &self.shown else {
            return;
        };
        if h.is_empty() {
            ui.label("No runs yet.");
            return;
        }
        egui::ScrollArea::vertical()
            .id_salt("history")
            .show(ui, |ui| {
                egui::Grid::new("history-grid")
                    .striped(true)
                    .show(ui, |ui| {
                        for head in [
                            "Started (UTC)",
                            "Job",
                            "Status",
                            "Seconds",
                            "Landed",
                            "Skipped",
                            "Rows",
                            "Quarantined",
                        ] {
                            ui.strong(head);
                        }
                        ui.end_row();
                        for r in h.iter().take(50) {
                            ui.label(r.started.format("%Y-%m-%d %H:%M:%S").to_string());
                            ui.label(&r.job);
                            match &r.status {
                                RunStatus::Succeeded if r.rows_quarantined > 0 => ui.colored_label(
                                    ui.visuals().warn_fg_color,
                                    format!("done, {} rows quarantined", r.rows_quarantined),
                                ),
                                RunStatus::Succeeded => ui.label("done"),
                                RunStatus::Cancelled => {
                                    ui.colored_label(ui.visuals().warn_fg_color, "cancelled")
                                }
                                RunStatus::Failed(e) => ui
                                    .colored_label(ui.visuals().error_fg_color, "failed")
                                    .on_hover_text(e),
                                RunStatus::Skipped(e) => ui
                                    .colored_label(ui.visuals().warn_fg_color, "skipped")
                                    .on_hover_text(e),
                            };
                            ui.label(format!("{:.1}", r.seconds));
                            ui.label(r.files_landed.to_string());
                            ui.label(r.files_skipped.to_string());
                            ui.label(r.rows_ingested.to_string());
                            if r.rows_quarantined > 0 {
                                quarantine_link(ui, sh, r);
                            } else {
                                ui.label("0");
                            }
                            ui.end_row();
                        }
                    });
            });
    }
}

/// "87 (open)": opens this run's rows in every quarantine table (each row names its table);
/// the hover lists the tables and how many rows each took.
fn quarantine_link(ui: &mut egui::Ui, sh: &mut Shared, r: &RunReport) {
    let mut tables: Vec<(&str, u64)> = r
        .tables
        .iter()
        .filter(|c| c.table.starts_with("quarantine/") && c.rows_written > 0)
        .map(|c| (c.table.as_str(), c.rows_written))
        .collect();
    tables.sort_by_key(|t| std::cmp::Reverse(t.1));
    let list: Vec<String> = tables
        .iter()
        .map(|(t, n)| format!("{t}: {n} rows"))
        .collect();
    let link = ui
        .link(format!("{} (open)", r.rows_quarantined))
        .on_hover_text(format!("This run's quarantined rows — {}", list.join(", ")));
    if link.clicked() {
        sh.nav.push(Nav::OpenWhere(
            TableRef::all_quarantine(),
            vec![("run_id".into(), r.run_id.clone())],
            None,
        ));
    }
}

/// The sources set up in the lake, in the order "Run all" (and `edlake run`) runs them: the
/// roster, Clever, Insights, SIS, edX, custom modules. Folders that are gone are left out; the
/// page shows them as missing.
pub fn configured(sources: &SourceSetup) -> Vec<SavedSource> {
    run_order(&sources.map)
        .into_iter()
        .filter(|s| s.module().is_some_and(|m| sources.runnable(m)))
        .cloned()
        .collect()
}

/// Where a remote source reads from, in words.
fn describe(def: &SourceDef) -> String {
    match def {
        SourceDef::Sftp(c) => format!("SFTP server {}", c.host),
        SourceDef::Azure(c) => format!("storage account {}", c.account),
        SourceDef::Folder { path } => path.display().to_string(),
    }
}
