//! The first screen (create / open / demo) and the home page of an open lake: sources and their
//! last run, tables by stage with row counts and freshness, the school-day gap strip and the
//! audit log.

use std::path::PathBuf;
use std::sync::Arc;

use super::dialogs::Dialogs;
use super::task::{Task, TaskState};
use super::{Nav, Page, Shared};
use crate::app::run::SourceKind;
use crate::demo::Demo;
use crate::lake::{Lake, Layer, TableRef};
use crate::metrics::gaps::{Coverage, coverage};
use crate::pipeline::{RunReport, RunStatus};

/// What the first screen asks the app to do.
pub enum WelcomeAction {
    Create(PathBuf),
    Open(PathBuf),
    Demo(Demo, Option<tempfile::TempDir>),
}

/// The screen shown when no lake is open.
#[derive(Default)]
pub struct Welcome {
    pub demo: Task<Demo>,
    pub error: Option<String>,
    /// The demo's folder: handed to the open lake, deleted when that closes.
    demo_dir: Option<tempfile::TempDir>,
    /// When the demo was started (to say how long it took).
    demo_started: Option<std::time::Instant>,
}

impl Welcome {
    /// Starts building the demo lake in a fresh temporary folder.
    pub fn start_demo(&mut self, repaint: &Arc<dyn Fn() + Send + Sync>) {
        let dir = match tempfile::Builder::new().prefix("edlake-demo-").tempdir() {
            Ok(d) => d,
            Err(e) => {
                self.error = Some(format!("Could not make a folder for the demo: {e}"));
                return;
            }
        };
        let path = dir.path().to_path_buf();
        self.demo_dir = Some(dir);
        self.demo_started = Some(std::time::Instant::now());
        self.demo = Task::spawn(repaint.clone(), move |p, c| {
            Ok(crate::demo::build(&path, p, c)?)
        });
    }

    /// Draws the screen; returns what the user chose.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        dialogs: &dyn Dialogs,
        repaint: &Arc<dyn Fn() + Send + Sync>,
    ) -> Option<WelcomeAction> {
        if self.demo.poll()
            && let TaskState::Done(_) = self.demo.state
        {
            let TaskState::Done(d) = std::mem::replace(&mut self.demo.state, TaskState::Idle)
            else {
                return None;
            };
            if let Some(t) = self.demo_started.take() {
                // On standard error for whoever started the app (a terminal, the desktop's
                // journal, the installer check); it names no student.
                eprintln!(
                    "edlake: the demo lake is open ({:.1} s to build)",
                    t.elapsed().as_secs_f64()
                );
            }
            return Some(WelcomeAction::Demo(d, self.demo_dir.take()));
        }
        let mut act = None;
        ui.add_space(24.0);
        ui.vertical_centered(|ui| {
            ui.heading("Your district's education data lake, on this computer");
            ui.label(
                "edlake brings Clever, Microsoft Education Insights and SIS data together, \
                 pseudonymizes student identifiers and draws engagement charts — all offline.",
            );
        });
        ui.add_space(16.0);
        if let Some(e) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, e);
            ui.add_space(8.0);
        }
        let running = self.demo.is_running();
        let mut demo = false;
        ui.columns(3, |cols| {
            use super::path_field::{PathKind, path_row};
            cols[0].group(|ui| {
                ui.set_min_height(110.0);
                ui.strong("Create a lake");
                ui.label("Pick an empty folder. The setup wizard then connects your sources.");
                ui.add_space(8.0);
                let ask = ("Folder for the new lake", "Create a lake…");
                if let Some(p) = path_row(ui, dialogs, ask, PathKind::NewFolder, None) {
                    act = Some(WelcomeAction::Create(p));
                }
            });
            cols[1].group(|ui| {
                ui.set_min_height(110.0);
                ui.strong("Open a lake");
                ui.label("A folder made by edlake before (on this or another computer).");
                ui.add_space(8.0);
                let ask = ("Lake folder", "Open a lake…");
                if let Some(p) = path_row(ui, dialogs, ask, PathKind::Folder, None) {
                    act = Some(WelcomeAction::Open(p));
                }
            });
            cols[2].group(|ui| {
                ui.set_min_height(110.0);
                ui.strong("Try the demo");
                ui.label(
                    "A lake built from generated test data for 200 students: no real student data.",
                );
                ui.add_space(8.0);
                demo = ui
                    .add_enabled(!running, egui::Button::new("Start the demo"))
                    .clicked();
            });
        });
        if demo {
            self.error = None;
            self.start_demo(repaint);
        }
        ui.add_space(16.0);
        match &self.demo.state {
            TaskState::Running { started } => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label(format!(
                        "Building the demo lake… {:.0} s",
                        started.elapsed().as_secs_f64()
                    ));
                    if ui.button("Cancel").clicked() {
                        self.demo.cancel();
                    }
                });
                super::task::stage_bars(ui, &self.demo.progress);
                if let Some(l) = self.demo.progress.log.back() {
                    ui.label(egui::RichText::new(l).weak());
                }
            }
            TaskState::Failed(e) => {
                ui.colored_label(
                    ui.visuals().error_fg_color,
                    format!("The demo could not be built: {e}"),
                );
            }
            _ => {}
        }
        act
    }
}

/// What the home page shows (read on a worker thread).
pub struct Overview {
    pub tables: Vec<(TableRef, i64, i64, Option<i64>)>,
    pub runs: Vec<RunReport>,
    pub coverage: Coverage,
    /// How current each source is (none when the lake's settings could not be read).
    pub status: Option<crate::app::status::LakeStatus>,
}

fn overview(lake: &Lake) -> anyhow::Result<Overview> {
    let mut tables = Vec::new();
    for t in lake.tables() {
        if let Ok(st) = lake.table_state(&t) {
            tables.push((t, st.rows(), st.version, st.modified_ms));
        }
    }
    let runs = RunReport::history(lake)?;
    let coverage = coverage(lake)?;
    let ops = crate::app::schedule::Operations::load(lake)?;
    let now = chrono::Local::now().naive_local();
    let status = crate::app::status::status(lake, now, &ops).ok();
    Ok(Overview {
        tables,
        runs,
        coverage,
        status,
    })
}

/// The home page of an open lake.
#[derive(Default)]
pub struct HomePage {
    pub overview: Task<Overview>,
    /// The audit log panel (read when opened).
    pub audit: super::audit_view::AuditView,
    /// Whether failed or skipped runs found on opening were announced (once per opening).
    announced: bool,
}

impl HomePage {
    /// Reads the overview again in the background.
    pub fn refresh(&mut self, lake: &Lake, repaint: &Arc<dyn Fn() + Send + Sync>) {
        if !matches!(self.audit.log.state, TaskState::Idle) {
            self.audit.load(lake, repaint);
        }
        let lake = lake.clone();
        self.overview = Task::spawn(repaint.clone(), move |_, _| overview(&lake));
    }

    /// Draws the page.
    pub fn ui(&mut self, ui: &mut egui::Ui, sh: &mut Shared, salt_error: &Option<String>) {
        self.overview.poll();
        if let Some(e) = salt_error {
            ui.colored_label(
                ui.visuals().error_fg_color,
                format!(
                    "{}\nOpen Setup to import the salt (or keep it for this session only).",
                    super::widgets::plain(e)
                ),
            );
        }
        if sh.is_demo {
            ui.label(
                "This is the demo lake: generated students, schools and activity. It is deleted when \
                 edlake closes. Look around the tables and charts, or create your own lake.",
            );
        }
        let ov = match &self.overview.state {
            TaskState::Done(o) => o,
            TaskState::Failed(e) => {
                ui.colored_label(ui.visuals().error_fg_color, e);
                return;
            }
            _ => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label("Reading the lake…");
                });
                return;
            }
        };
        if !self.announced {
            self.announced = true;
            if let Some(st) = &ov.status {
                super::home_status::announce_failures(sh, st);
            }
        }
        // The whole page scrolls, wherever the pointer is.
        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show(ui, |ui| {
                ui.heading("Sources");
                egui::Grid::new("sources").striped(true).show(ui, |ui| {
                    ui.strong("Source");
                    ui.strong("Last run");
                    ui.strong("Status");
                    ui.strong("Rows");
                    ui.end_row();
                    for kind in SourceKind::ALL {
                        ui.label(kind.title());
                        let job = format!("ingest {}", kind.lake_source());
                        match ov.runs.iter().find(|r| r.job == job) {
                            Some(r) => {
                                ui.label(r.started.format("%Y-%m-%d %H:%M UTC").to_string());
                                let (txt, bad) = match &r.status {
                                    RunStatus::Succeeded if r.rows_quarantined > 0 => (
                                        format!("done, {} rows quarantined", r.rows_quarantined),
                                        true,
                                    ),
                                    RunStatus::Succeeded => ("done".to_string(), false),
                                    RunStatus::Cancelled => ("cancelled".to_string(), true),
                                    RunStatus::Failed(e) => (format!("failed: {e}"), true),
                                    RunStatus::Skipped(e) => (format!("skipped: {e}"), true),
                                };
                                if bad {
                                    ui.colored_label(ui.visuals().warn_fg_color, txt);
                                } else {
                                    ui.label(txt);
                                }
                                ui.label(r.rows_ingested.to_string());
                            }
                            None => {
                                ui.label("never");
                                ui.label("not set up");
                                ui.label("-");
                            }
                        }
                        ui.end_row();
                    }
                });
                ui.horizontal(|ui| {
                    if ui.button("Run ingestion").clicked() {
                        sh.nav.push(Nav::Page(Page::Ingest));
                    }
                    if ui.button("See the charts").clicked() {
                        sh.nav.push(Nav::Page(Page::Charts));
                    }
                    if ui.button("Refresh").clicked() {
                        sh.nav.push(Nav::Refresh);
                    }
                });
                if let Some(st) = &ov.status {
                    ui.add_space(8.0);
                    super::home_status::attention(ui, sh, st);
                }
                ui.add_space(12.0);
                ui.heading("School days with data");
                super::gap_strip::gap_strip(ui, &ov.coverage, &ov.runs);
                ui.add_space(12.0);
                ui.heading("Tables by stage");
                tables_by_stage(ui, sh, &ov.tables);
                ui.add_space(12.0);
                self.audit.ui(ui, sh.lake, sh.repaint);
            });
    }
}

fn tables_by_stage(
    ui: &mut egui::Ui,
    sh: &mut Shared,
    tables: &[(TableRef, i64, i64, Option<i64>)],
) {
    let empty_q = tables
        .iter()
        .filter(|(t, rows, ..)| t.layer == Layer::Quarantine && *rows == 0)
        .count();
    for layer in Layer::ALL {
        // An empty quarantine table only says that nothing went wrong.
        let mut of: Vec<_> = tables
            .iter()
            .filter(|(t, rows, ..)| t.layer == layer && !(layer == Layer::Quarantine && *rows == 0))
            .collect();
        if of.is_empty() {
            continue;
        }
        of.sort_by(|a, b| (&a.0.source, &a.0.entity).cmp(&(&b.0.source, &b.0.entity)));
        ui.strong(layer_title(layer))
            .on_hover_text(layer_about(layer));
        egui::Grid::new(("tables", layer.name()))
            .striped(true)
            .num_columns(4)
            .show(ui, |ui| {
                let mut source = None;
                for (t, rows, version, modified) in of {
                    // Grouped by source: the source's name once, its tables under it.
                    if source != Some(&t.source) {
                        source = Some(&t.source);
                        ui.label(egui::RichText::new(&t.source).weak());
                        ui.end_row();
                    }
                    if ui.link(format!("  {}", t.entity)).clicked() {
                        sh.nav.push(Nav::OpenTable(t.clone()));
                    }
                    ui.label(format!("{rows} rows"));
                    ui.label(format!("{} change(s)", version + 1)).on_hover_text(
                        "Each run that changed the table adds a version; earlier versions stay readable.",
                    );
                    ui.label(freshness(*modified));
                    ui.end_row();
                }
            });
    }
    if empty_q > 0 {
        ui.label(
            egui::RichText::new(format!(
                "{empty_q} quarantine table(s) are empty: no rows had to be set aside."
            ))
            .weak(),
        );
    }
}

/// What a layer holds, for its tooltip.
fn layer_about(l: Layer) -> &'static str {
    match l {
        Layer::Ingested => {
            "The vendors' rows as they arrived, typed but not pseudonymized (locked: opening one is recorded)."
        }
        Layer::General => {
            "The rows with student identifiers replaced by pseudonyms: what analyses and charts use."
        }
        Layer::Sensitive => {
            "The originals behind the pseudonyms (locked: opening one is recorded)."
        }
        Layer::Quarantine => "Rows that did not fit their file's format, with the reason.",
        Layer::Stage3 => {
            "Tables computed from the others: engagement per student, the identity map."
        }
    }
}

/// A layer as users know it.
pub fn layer_title(l: Layer) -> &'static str {
    match l {
        Layer::Ingested => "As delivered (locked)",
        Layer::General => "Pseudonymized (for analysis)",
        Layer::Sensitive => "Originals behind the pseudonyms (locked)",
        Layer::Quarantine => "Rows set aside (did not fit their format)",
        Layer::Stage3 => "Computed: engagement and identity",
    }
}

fn freshness(ms: Option<i64>) -> String {
    let Some(ms) = ms else { return "-".into() };
    let Some(t) = chrono::DateTime::from_timestamp_millis(ms) else {
        return "-".into();
    };
    let age = chrono::Utc::now() - t;
    match age.num_minutes() {
        m if m < 1 => "updated just now".into(),
        m if m < 60 => format!("updated {m} min ago"),
        m if m < 60 * 48 => format!("updated {} h ago", m / 60),
        _ => format!("updated {}", t.format("%Y-%m-%d")),
    }
}
