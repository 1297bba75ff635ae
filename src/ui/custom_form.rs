//! Any source from an OEA metadata.csv: pick the metadata and a data folder, see each entity's
//! first rows and its inferred column types next to the metadata's (mismatches in red), choose
//! batch types and keys, then save the module in the lake and ingest.

use std::path::PathBuf;

use super::task::{Task, TaskState};
use super::widgets::task_line;
use super::{Nav, Shared};
use crate::app::saved::run_saved;
use crate::modules::BatchType;
use crate::modules::definition::ModuleDef;
use crate::modules::inspect::{self, EntityPreview};
use crate::pipeline::RunReport;
use crate::pseudo::{Metadata, Op};
use crate::sources::saved::{SavedSource, SourceDef};

const BATCHES: [BatchType; 4] = [
    BatchType::Snapshot,
    BatchType::Additive,
    BatchType::Delta,
    BatchType::Delete,
];
/// Sample rows shown per entity.
const SHOWN: usize = 5;

/// The form's runtime state.
#[derive(Default)]
pub struct CustomForm {
    pub name: String,
    /// The data folder (saved as the module's source in the lake when it is ingested).
    pub dir: Option<PathBuf>,
    metadata_path: Option<PathBuf>,
    metadata_text: String,
    metadata: Option<anyhow::Result<Metadata>>,
    /// Per entity: batch type and key column ("" for none).
    choices: Vec<(String, BatchType, String)>,
    pub preview: Task<Vec<EntityPreview>>,
    previewed: Option<(PathBuf, PathBuf)>,
    pub run: Task<RunReport>,
    message: Option<(String, bool)>,
    /// The lake's custom modules (read in the background; `Idle` until asked).
    modules: Task<Vec<ModuleDef>>,
    /// Saving or removing a module: the message to show when done.
    action: Task<String>,
}

impl CustomForm {
    fn def(&self) -> anyhow::Result<ModuleDef> {
        let batches: Vec<(String, BatchType)> = self
            .choices
            .iter()
            .map(|(e, b, _)| (e.clone(), *b))
            .collect();
        let keys: Vec<(String, String)> = self
            .choices
            .iter()
            .filter(|(_, _, k)| !k.is_empty())
            .map(|(e, _, k)| (e.clone(), k.clone()))
            .collect();
        let file = self
            .metadata_path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        ModuleDef::new(
            self.name.trim(),
            &self.metadata_text,
            &file,
            &batches,
            &keys,
        )
        .map_err(|e| {
            // The library's advice names the CLI flag; here the key is picked above.
            let e = e.to_string();
            match e.split_once(": add --key") {
                Some((head, _)) => anyhow::anyhow!("{head}: choose its key above"),
                None => anyhow::anyhow!(e),
            }
        })
    }

    /// Takes in the running ingest's news (every frame, whatever page is open).
    pub fn poll(&mut self, sh: &mut Shared) {
        if self.run.poll() {
            self.modules = Task::default();
            sh.nav.push(Nav::Refresh);
        }
    }

    /// Saves the module and its data folder as the lake's source for it (so `edlake ingest
    /// NAME --source NAME` and the app run it alike), then ingests it.
    fn start_run(&mut self, sh: &Shared, def: ModuleDef, dir: PathBuf, salt: crate::pseudo::Salt) {
        let (lake, secrets) = (sh.lake.clone(), sh.secrets.clone());
        self.message = None;
        self.run = Task::spawn(sh.repaint.clone(), move |p, c| {
            def.save(&lake)?;
            let src = SavedSource {
                name: def.name.clone(),
                module: Some(def.name.clone()),
                def: SourceDef::Folder { path: dir },
            };
            src.save(&lake)?;
            let out = run_saved(&lake, &src, &secrets, &salt, p, c);
            match out.error {
                Some(e) => Err(e.into()),
                None => Ok(out.report),
            }
        });
    }

    /// Draws the form.
    pub fn ui(&mut self, ui: &mut egui::Ui, sh: &mut Shared) {
        self.preview.poll();
        ui.heading("A source described by an OEA metadata.csv");
        ui.label(
            "One subfolder (or file) per entity; files may be CSV, JSON lines (.jsonl) or Parquet. \
             Values of hashed and masked columns stay hidden here too.",
        );
        self.pickers(ui, sh);
        let dir = self.dir.clone();
        let meta = match &self.metadata {
            Some(Ok(m)) => m.clone(),
            _ => return,
        };
        if let Some(d) = &dir {
            let key = (self.metadata_path.clone().unwrap_or_default(), d.clone());
            if self.previewed.as_ref() != Some(&key) && !self.preview.is_running() {
                self.previewed = Some(key);
                let (m, d) = (meta.clone(), d.clone());
                self.preview = Task::spawn(sh.repaint.clone(), move |_, _| {
                    Ok(inspect::preview(&m, &d, SHOWN))
                });
            }
        }
        ui.horizontal(|ui| {
            ui.label("Module name:");
            ui.text_edit_singleline(&mut self.name)
                .on_hover_text("lowercase letters, digits and _; also its folder in the lake");
        });
        task_line(ui, &self.preview, "Reading the first rows");
        self.entity_choices(ui, &meta);
        ui.separator();
        let running = self.run.is_running();
        ui.horizontal(|ui| {
            let save = ui.button("Save module");
            let go = ui.add_enabled(
                dir.is_some() && sh.salt.is_some() && !running,
                egui::Button::new("Save and ingest"),
            );
            if save.clicked() || go.clicked() {
                match self.def() {
                    Ok(d) if go.clicked() => {
                        if let (Some(dir), Some(salt)) = (dir.clone(), sh.salt.clone()) {
                            self.start_run(sh, d, dir, salt);
                        }
                    }
                    Ok(d) => {
                        let lake = sh.lake.clone();
                        self.action = Task::spawn(sh.repaint.clone(), move |_, _| {
                            d.save(&lake)?;
                            Ok(format!("Module `{}` saved in the lake.", d.name))
                        });
                    }
                    Err(e) => self.message = Some((e.to_string(), false)),
                }
            }
        });
        if self.action.poll() {
            self.modules = Task::default();
            self.message = match &self.action.state {
                TaskState::Done(m) => Some((m.clone(), true)),
                TaskState::Failed(e) => Some((e.clone(), false)),
                _ => None,
            };
        }
        super::widgets::message(ui, &self.message);
        task_line(ui, &self.run, "Ingesting");
        if let TaskState::Done(r) = &self.run.state {
            ui.label(r.summary());
            for i in r.issues.iter().take(5) {
                ui.colored_label(ui.visuals().warn_fg_color, i.to_string());
            }
        }
        self.saved_modules(ui, sh);
    }

    /// Reads a metadata.csv and resets the per-entity choices.
    pub fn load_metadata(&mut self, p: PathBuf) {
        let parsed = std::fs::read_to_string(&p)
            .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))
            .and_then(|t| {
                let m = Metadata::parse(&t, &p.display().to_string())?;
                Ok((t, m))
            });
        self.previewed = None;
        match parsed {
            Ok((t, m)) => {
                self.choices = m
                    .entities
                    .iter()
                    .map(|e| (e.name.clone(), BatchType::Snapshot, String::new()))
                    .collect();
                if self.name.is_empty() {
                    self.name = p
                        .parent()
                        .and_then(|d| d.file_name())
                        .map(|n| {
                            n.to_string_lossy()
                                .to_ascii_lowercase()
                                .replace(['-', ' '], "_")
                        })
                        .unwrap_or_default();
                }
                self.metadata_text = t;
                self.metadata = Some(Ok(m));
            }
            Err(e) => self.metadata = Some(Err(e)),
        }
        self.metadata_path = Some(p);
    }

    /// The metadata.csv and data folder choices.
    fn pickers(&mut self, ui: &mut egui::Ui, sh: &mut Shared) {
        use super::path_field::{PathKind, path_row};
        ui.label("Metadata:");
        let ask = ("The source's metadata.csv", "Choose metadata.csv…");
        let current = self.metadata_path.clone();
        if let Some(p) = path_row(
            ui,
            sh.dialogs,
            ask,
            PathKind::File(&["csv"]),
            current.as_deref(),
        ) {
            self.load_metadata(p);
        }
        if let Some(Err(e)) = &self.metadata {
            ui.colored_label(ui.visuals().error_fg_color, e.to_string());
        }
        ui.label("Data folder:");
        let ask = ("Data folder", "Choose folder…");
        if let Some(p) = path_row(ui, sh.dialogs, ask, PathKind::Folder, self.dir.as_deref()) {
            self.dir = Some(p);
        }
    }

    /// Each entity's batch type and key, with its first rows and column checks.
    fn entity_choices(&mut self, ui: &mut egui::Ui, meta: &Metadata) {
        let previews = self.preview.done().cloned().unwrap_or_default();
        for (entity, batch, key) in &mut self.choices {
            let Some(em) = meta.entity(entity) else {
                continue;
            };
            let p = previews.iter().find(|p| &p.entity == entity);
            let bad = p.map(|p| p.mismatches()).unwrap_or(0);
            let title = match p {
                Some(p) if bad > 0 => {
                    format!("{entity} — {} file(s), {bad} column issue(s)", p.files)
                }
                Some(p) => format!("{entity} — {} file(s)", p.files),
                None => entity.clone(),
            };
            egui::CollapsingHeader::new(title)
                .id_salt(("custom-entity", entity.as_str()))
                .default_open(true)
                .show(ui, |ui| {
                    ui.horizontal(|ui| {
                        ui.label("Batch type:");
                        for b in BATCHES {
                            ui.radio_value(batch, b, b.name());
                        }
                        ui.label("  Key:");
                        egui::ComboBox::from_id_salt(("custom-key", entity.as_str()))
                            .selected_text(if key.is_empty() { "none" } else { key.as_str() })
                            .show_ui(ui, |ui| {
                                ui.selectable_value(key, String::new(), "none");
                                for a in &em.attributes {
                                    ui.selectable_value(key, a.name.clone(), &a.name);
                                }
                            })
                            .response
                            .accessible_name(format!("Key of {entity}"));
                    });
                    if let Some(p) = p {
                        entity_preview(ui, p, em);
                    }
                });
        }
    }

    fn saved_modules(&mut self, ui: &mut egui::Ui, sh: &mut Shared) {
        self.modules.poll();
        if matches!(self.modules.state, TaskState::Idle) {
            let lake = sh.lake.clone();
            self.modules = Task::spawn(sh.repaint.clone(), move |_, _| Ok(ModuleDef::list(&lake)?));
        }
        let Some(modules) = self.modules.done() else {
            return;
        };
        if modules.is_empty() {
            return;
        }
        ui.separator();
        ui.strong("Custom modules in this lake");
        let mut remove = None;
        for m in modules.iter() {
            ui.horizontal(|ui| {
                let kinds: Vec<String> = m
                    .entities
                    .iter()
                    .map(|e| format!("{} ({})", e.name, e.batch.name()))
                    .collect();
                ui.label(format!("{}: {}", m.name, kinds.join(", ")));
                if ui.small_button(format!("Remove {}", m.name)).clicked() {
                    remove = Some(m.name.clone());
                }
            });
        }
        if let Some(n) = remove {
            let lake = sh.lake.clone();
            self.action = Task::spawn(sh.repaint.clone(), move |_, _| {
                ModuleDef::remove(&lake, &n)?;
                Ok(format!(
                    "Module `{n}` removed; its tables stay in the lake."
                ))
            });
        }
    }
}

/// The column checks and the first rows of one entity.
fn entity_preview(ui: &mut egui::Ui, p: &EntityPreview, em: &crate::pseudo::EntityMetadata) {
    if let Some(e) = &p.error {
        ui.colored_label(ui.visuals().warn_fg_color, e);
    }
    let err = ui.visuals().error_fg_color;
    egui::Grid::new(("custom-cols", p.entity.as_str()))
        .striped(true)
        .spacing([12.0, 2.0])
        .show(ui, |ui| {
            for h in ["Column", "Metadata", "In the data", "Check"] {
                ui.strong(h);
            }
            ui.end_row();
            for c in &p.columns {
                ui.label(&c.name);
                ui.label(c.metadata.map(|t| t.name()).unwrap_or("–"));
                ui.label(c.inferred.map(|t| t.name()).unwrap_or("–"));
                match &c.issue {
                    Some(i) => ui.colored_label(err, i),
                    None => ui.label("ok"),
                };
                ui.end_row();
            }
        });
    if p.header.is_empty() {
        return;
    }
    if let Some(f) = &p.sample_file {
        ui.label(egui::RichText::new(format!("First rows of {f}")).weak());
    }
    let hidden = |h: &str| {
        matches!(
            em.attributes
                .iter()
                .find(|a| a.name.eq_ignore_ascii_case(h))
                .map(|a| a.op),
            Some(Op::Hash | Op::HashNoLookup | Op::Mask)
        )
    };
    egui::ScrollArea::horizontal()
        .id_salt(("custom-rows", p.entity.as_str()))
        .show(ui, |ui| {
            egui::Grid::new(("custom-sample", p.entity.as_str()))
                .striped(true)
                .show(ui, |ui| {
                    for h in &p.header {
                        ui.strong(h);
                    }
                    ui.end_row();
                    for r in p.rows.iter().take(SHOWN) {
                        for (h, v) in p.header.iter().zip(r) {
                            if hidden(h) {
                                ui.label(egui::RichText::new("hidden").weak());
                            } else {
                                ui.label(v.chars().take(40).collect::<String>());
                            }
                        }
                        ui.end_row();
                    }
                });
        });
}
