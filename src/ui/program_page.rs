//! edX MicroMasters: ingest the course downloads, edit the program (courses, titles, passing
//! grades, courses required), build the reports, and export the two outreach lists after an
//! audited unlock (they hold names and emails).

use super::task::{Task, TaskState};
use super::widgets::{folder_action, task_line};
use super::{Nav, Shared};
use crate::derive::micromasters::{
    self, OUTREACH, ProgramCourse, ProgramDef, ProgramReport, report_table,
};
use crate::lake::{Lake, Layer, delta};

/// Counts read back from the report tables.
#[derive(Debug, Clone, Default)]
pub struct ProgramCounts {
    pub learners: usize,
    pub completed: usize,
    /// Rows of each outreach list.
    pub lists: Vec<usize>,
}

/// The section's runtime state.
#[derive(Default)]
pub struct ProgramPage {
    /// The program as edited.
    pub program: Option<ProgramDef>,
    /// Reading the saved program (`Idle` until the section is first drawn).
    program_load: Task<Option<ProgramDef>>,
    pub counts: Task<Option<ProgramCounts>>,
    pub job: Task<Option<ProgramReport>>,
    message: Option<(String, bool)>,
    /// The outreach list waiting for the unlock confirmation.
    confirm: Option<&'static str>,
    /// An outreach export being written (rows, file).
    pub export: Task<(usize, std::path::PathBuf)>,
}

fn counts(lake: &Lake) -> anyhow::Result<Option<ProgramCounts>> {
    let dir = lake.table_dir(&report_table(Layer::General, "completion"));
    if !delta::is_table(&dir) {
        return Ok(None);
    }
    let df = delta::read_table(&dir, None)?;
    let done = df
        .column("completed_program")
        .and_then(|c| c.bool().cloned())?;
    let mut lists = Vec::new();
    for (name, _) in OUTREACH {
        let t = report_table(Layer::Sensitive, name);
        let st = delta::read_state(&lake.table_dir(&t))?;
        lists.push(st.map(|s| s.rows().max(0) as usize).unwrap_or(0));
    }
    Ok(Some(ProgramCounts {
        learners: df.height(),
        completed: done.iter().flatten().filter(|d| *d).count(),
        lists,
    }))
}

impl ProgramPage {
    fn refresh(&mut self, sh: &Shared) {
        let lake = sh.lake.clone();
        self.counts = Task::spawn(sh.repaint.clone(), move |_, _| counts(&lake));
    }

    /// Takes in the running build's or export's news (every frame, whatever page is open).
    pub fn poll(&mut self, sh: &mut Shared) {
        if self.export.poll() {
            match &self.export.state {
                TaskState::Done((n, p)) => sh.toast(
                    format!(
                        "Exported {n} rows to {} (recorded in the audit log)",
                        p.display()
                    ),
                    true,
                ),
                TaskState::Failed(e) => sh.toast(format!("Export failed: {e}"), false),
                _ => {}
            }
        }
        if self.job.poll() {
            self.refresh(sh);
            sh.nav.push(Nav::Refresh);
        }
    }

    /// Draws the section.
    pub fn ui(&mut self, ui: &mut egui::Ui, sh: &mut Shared) {
        if matches!(self.program_load.state, TaskState::Idle) {
            let lake = sh.lake.clone();
            self.program_load =
                Task::spawn(sh.repaint.clone(), move |_, _| Ok(ProgramDef::load(&lake)?));
            self.refresh(sh);
        }
        if self.program_load.poll()
            && let Some(p) = self.program_load.done()
        {
            self.program = p.clone();
        }
        self.counts.poll();
        ui.heading("edX course reports");
        ui.label(
            "The grade_report and student_profile_info CSVs downloaded from each course run's \
             instructor dashboard, in any folder layout (edX's file names say the run).",
        );
        let busy = self.job.is_running();
        let run = ("edx", "Downloads folder:");
        if let Some((dir, salt)) = folder_action(ui, sh, run, "Ingest edX reports", busy) {
            let lake = sh.lake.clone();
            let program = self.program.clone();
            self.job = Task::spawn(sh.repaint.clone(), move |p, c| {
                let m = crate::modules::edx::Edx::new()?;
                let src = crate::sources::FolderSource::new(&dir);
                let out = crate::app::run::run_module(&lake, Box::new(m), &src, &salt, p, c);
                if let Some(e) = out.error {
                    return Err(e.into());
                }
                match program {
                    Some(pr) => Ok(micromasters::build(&lake, &pr, &salt)?),
                    None => Ok(None),
                }
            });
        }
        task_line(ui, &self.job, "Working");
        ui.separator();
        self.editor(ui, sh, busy);
        ui.separator();
        self.reports(ui, sh);
    }

    fn editor(&mut self, ui: &mut egui::Ui, sh: &mut Shared, busy: bool) {
        ui.heading("Program");
        let Some(p) = &mut self.program else {
            ui.label("No program defined yet.");
            if ui.button("Start from the courses in the lake").clicked() {
                match micromasters::program_from_data(sh.lake) {
                    Ok(p) => self.program = Some(p),
                    Err(e) => sh.toast(e.to_string(), false),
                }
            }
            return;
        };
        ui.horizontal(|ui| {
            ui.label("Title:");
            ui.text_edit_singleline(&mut p.title);
        });
        let mut remove = None;
        egui::Grid::new("program-courses")
            .striped(true)
            .spacing([10.0, 4.0])
            .show(ui, |ui| {
                for h in ["Course id", "Title", "Passing grade", ""] {
                    ui.strong(h);
                }
                ui.end_row();
                for (i, c) in p.courses.iter_mut().enumerate() {
                    ui.add_sized([150.0, 20.0], egui::TextEdit::singleline(&mut c.course));
                    ui.add_sized([300.0, 20.0], egui::TextEdit::singleline(&mut c.title));
                    ui.add(
                        egui::DragValue::new(&mut c.passing_grade)
                            .range(0.0..=1.0)
                            .speed(0.01)
                            .fixed_decimals(2),
                    );
                    if ui.small_button(format!("Remove {}", i + 1)).clicked() {
                        remove = Some(i);
                    }
                    ui.end_row();
                }
            });
        if let Some(i) = remove {
            p.courses.remove(i);
        }
        ui.horizontal(|ui| {
            if ui.button("Add course").clicked() {
                p.courses.push(ProgramCourse {
                    course: String::new(),
                    title: String::new(),
                    passing_grade: 0.6,
                });
            }
            let mut required = p.required.unwrap_or(p.courses.len());
            ui.label("Courses required to complete:");
            ui.add(egui::DragValue::new(&mut required).range(1..=p.courses.len().max(1)));
            p.required = (required != p.courses.len()).then_some(required);
        });
        if ui
            .add_enabled(
                !busy && sh.salt.is_some(),
                egui::Button::new("Save program and build reports"),
            )
            .clicked()
        {
            match p.check() {
                Err(e) => self.message = Some((e.to_string(), false)),
                Ok(()) => match p.save(sh.lake) {
                    Err(e) => self.message = Some((e.to_string(), false)),
                    Ok(()) => {
                        self.message = Some(("Program saved in the lake.".into(), true));
                        if let Some(salt) = sh.salt.clone() {
                            let (lake, pr) = (sh.lake.clone(), p.clone());
                            self.job = Task::spawn(sh.repaint.clone(), move |_, _| {
                                Ok(micromasters::build(&lake, &pr, &salt)?)
                            });
                        }
                    }
                },
            }
        }
        super::widgets::message(ui, &self.message);
    }

    fn reports(&mut self, ui: &mut egui::Ui, sh: &mut Shared) {
        ui.heading("Reports");
        ui.label(
            egui::RichText::new(
                "Passed: a run's grade at or above the course's passing grade. Certificate-eligible: \
                 passed in the verified track. Completed: enough certificate-eligible courses.",
            )
            .weak(),
        );
        if let TaskState::Done(Some(r)) = &self.job.state
            && !r.other_courses.is_empty()
        {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                format!(
                    "Not in the program, left out: {}",
                    r.other_courses.join(", ")
                ),
            );
        }
        let c = match super::widgets::task_value(ui, &self.counts) {
            Some(Some(c)) => c.clone(),
            Some(None) => {
                ui.label("No reports yet: ingest edX downloads and save a program.");
                return;
            }
            None => return,
        };
        ui.label(format!(
            "{} learners, {} completed the program.",
            c.learners, c.completed
        ));
        ui.horizontal(|ui| {
            for t in ["learners", "enrolments", "completion"] {
                if ui.button(format!("Open {t}")).clicked() {
                    sh.nav.push(Nav::OpenTable(report_table(Layer::General, t)));
                }
            }
        });
        ui.strong("Outreach lists (sensitive: names and emails)");
        for ((name, about), n) in OUTREACH.iter().zip(&c.lists) {
            ui.horizontal(|ui| {
                ui.label(format!("{about}: {n}"));
                if ui.button(format!("Export {name}…")).clicked() {
                    self.confirm = Some(name);
                }
            });
            if self.confirm == Some(*name) {
                ui.horizontal(|ui| {
                    ui.colored_label(
                        ui.visuals().warn_fg_color,
                        "This list holds learners' names and emails. Unlock it? The export is recorded in the lake's audit log.",
                    );
                    if ui.button("Yes, unlock and export").clicked() {
                        self.confirm = None;
                        self.export = export(sh, name);
                    }
                    if ui.button("Cancel").clicked() {
                        self.confirm = None;
                    }
                });
            }
        }
    }
}

/// Asks where to save, records the unlock in the audit log, then writes the list.
/// Asks where to save and records the unlock in the audit log (on the UI thread: both are
/// the user's step), then reads and writes the list on a worker.
fn export(sh: &mut Shared, name: &str) -> Task<(usize, std::path::PathBuf)> {
    let Some(path) = sh
        .dialogs
        .save_file("Save the outreach list", &format!("{name}.csv"))
    else {
        return Task::default();
    };
    let t = report_table(Layer::Sensitive, name);
    let access = crate::audit::Access {
        action: "export",
        table: &t.id(),
        detail: format!("to {}", path.display()),
    };
    if let Err(e) = crate::audit::record_access(sh.lake, &access) {
        sh.toast(
            format!("Export refused: the audit log cannot be written ({e})"),
            false,
        );
        return Task::default();
    }
    let lake = sh.lake.clone();
    Task::spawn(sh.repaint.clone(), move |_, _| {
        let df = delta::read_table(&lake.table_dir(&t), None)?;
        let n = crate::browse::export(&df, &path, crate::browse::ExportFormat::from_path(&path))?;
        Ok((n, path))
    })
}
