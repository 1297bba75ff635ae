//! The wizard's last step: each source's columns with their pseudonymization, changeable
//! until the source has data (or taken from the district's own metadata.csv).

use super::Shared;
use super::task::{Task, TaskState};
use crate::app::run::SourceKind;
use crate::modules::overrides::{Overrides, allowed, has_data};
use crate::pseudo::Metadata;
use crate::sources::saved::{SavedSource, SourceDef};

/// The review step's state: each configured source's columns, read for the setup as it was.
#[derive(Default)]
pub struct ReviewStep {
    review: Task<Vec<ReviewSource>>,
    review_for: Option<std::collections::BTreeMap<String, SavedSource>>,
}

impl ReviewStep {
    /// Draws the step.
    pub fn ui(&mut self, ui: &mut egui::Ui, sh: &mut Shared) {
        ui.label(
            "Each column's treatment: hash (pseudonym in general, original in the locked lookup), \
             hash-no-lookup, mask (* in general), or no-op (kept). Columns holding identifiers can be \
             hashed or masked but never kept as is, and a source's choices are fixed once it has data.",
        );
        self.review.poll();
        let sources = sh.sources.map.clone();
        let share = sh.sources.is_remote("insights");
        let key = sources.clone();
        if self.review_for.as_ref() != Some(&key) {
            self.review_for = Some(key);
            let lake = sh.lake.clone();
            self.review = Task::spawn(sh.repaint.clone(), move |_, _| {
                Ok(SourceKind::ALL
                    .iter()
                    .map(|k| {
                        // Insights reads its columns from the export's schema files.
                        let dir = match sources.get(k.name()).map(|s| &s.def) {
                            Some(SourceDef::Folder { path }) if path.is_dir() => Some(path.clone()),
                            _ => None,
                        };
                        if *k == SourceKind::Insights && dir.is_none() {
                            return ReviewSource {
                                kind: *k,
                                has_data: false,
                                overrides: Overrides::default(),
                                module: None,
                                error: Some(if share {
                                    "its columns come from the share's schema files; they are \
                                     pseudonymized with the module's defaults"
                                        .into()
                                } else {
                                    "choose the export folder in step 3 to review its columns"
                                        .into()
                                }),
                            };
                        }
                        let loaded = k.module(&dir.unwrap_or_default()).and_then(|m| {
                            let o = Overrides::load(&lake, m.source())?;
                            Ok((m, o))
                        });
                        match loaded {
                            Ok((m, overrides)) => ReviewSource {
                                kind: *k,
                                has_data: has_data(&lake, m.as_ref()),
                                overrides,
                                module: Some(m),
                                error: None,
                            },
                            Err(e) => ReviewSource {
                                kind: *k,
                                has_data: false,
                                overrides: Overrides::default(),
                                module: None,
                                error: Some(e.to_string()),
                            },
                        }
                    })
                    .collect())
            });
        }
        let TaskState::Done(sources) = &mut self.review.state else {
            ui.spinner();
            return;
        };
        egui::ScrollArea::vertical()
            .max_height(ui.available_height() - 60.0)
            .show(ui, |ui| {
                for src in sources.iter_mut() {
                    review_source(ui, sh, src);
                }
            });
    }
}

/// One source in the review step.
pub struct ReviewSource {
    kind: SourceKind,
    module: Option<Box<dyn crate::modules::Module>>,
    error: Option<String>,
    has_data: bool,
    overrides: Overrides,
}

fn review_source(ui: &mut egui::Ui, sh: &mut Shared, src: &mut ReviewSource) {
    let Some(module) = &src.module else {
        ui.label(format!(
            "{}: {}",
            src.kind.title(),
            src.error.as_deref().unwrap_or("not set up")
        ));
        return;
    };
    let mut changed = false;
    egui::CollapsingHeader::new(src.kind.title()).show(ui, |ui| {
        if src.has_data {
            ui.label(
                egui::RichText::new("This source has data: its pseudonymization is fixed.").weak(),
            );
        } else if let Some(p) = super::path_field::path_row(
            ui,
            sh.dialogs,
            (
                &format!("The district's metadata.csv for {}", src.kind.title()),
                "Load metadata.csv…",
            ),
            super::path_field::PathKind::File(&["csv"]),
            None,
        ) {
            match Metadata::from_file(&p) {
                Ok(md) => {
                    let (n, refused) = src.overrides.merge_metadata(module.as_ref(), &md);
                    changed = n > 0;
                    let mut msg = format!("{n} column op(s) taken from {}", p.display());
                    if let Some(r) = refused.first() {
                        msg.push_str(&format!("; {} refused ({r})", refused.len()));
                    }
                    sh.toast(msg, refused.is_empty());
                }
                Err(e) => sh.toast(e.to_string(), false),
            }
        }
        for e in module.entities() {
            egui::CollapsingHeader::new(&e.name)
                .id_salt((src.kind.name(), &e.name))
                .show(ui, |ui| {
                    egui::Grid::new((src.kind.name(), &e.name, "ops"))
                        .striped(true)
                        .show(ui, |ui| {
                            for a in &e.metadata.attributes {
                                ui.label(&a.name);
                                let current = src
                                    .overrides
                                    .0
                                    .get(&e.name)
                                    .and_then(|c| c.get(&a.name))
                                    .copied()
                                    .unwrap_or(a.op);
                                let mut pick = current;
                                ui.add_enabled_ui(!src.has_data, |ui| {
                                    egui::ComboBox::from_id_salt((
                                        src.kind.name(),
                                        &e.name,
                                        &a.name,
                                    ))
                                    .selected_text(current.name())
                                    .show_ui(ui, |ui| {
                                        for op in allowed(a.op) {
                                            ui.selectable_value(&mut pick, *op, op.name());
                                        }
                                    })
                                    .response
                                    .accessible_name(format!("Treatment of {}", a.name));
                                });
                                if pick != current
                                    && src
                                        .overrides
                                        .set(module.as_ref(), &e.name, &a.name, pick)
                                        .is_ok()
                                {
                                    changed = true;
                                }
                                ui.end_row();
                            }
                        });
                });
        }
    });
    if changed {
        let (lake, o, source) = (
            sh.lake.clone(),
            src.overrides.clone(),
            module.source().to_string(),
        );
        // A small file, but still not on the UI thread.
        std::thread::spawn(move || o.save(&lake, &source));
    }
}
