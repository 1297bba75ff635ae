//! Finding the tables of a lake by walking its OEA folders.

use std::path::Path;

use super::delta::{self, TableState};
use super::{Lake, LakeError, Layer, TableRef};

fn subdirs(p: &Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(p)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| !n.starts_with(['_', '.']))
        .collect();
    out.sort();
    out
}

impl Lake {
    /// Every Delta table in the lake, by layer then name.
    pub fn tables(&self) -> Vec<TableRef> {
        let mut out = Vec::new();
        let root = self.root();
        let layers: [(Layer, &str, Option<&str>); 5] = [
            (Layer::Ingested, "stage2/Ingested", None),
            (Layer::General, "stage2/Refined", Some("general")),
            (Layer::Sensitive, "stage2/Refined", Some("sensitive")),
            (Layer::Quarantine, "stage2/Quarantine", None),
            (Layer::Stage3, "stage3", None),
        ];
        for (layer, base, area) in layers {
            let base = root.join(base);
            for source in subdirs(&base) {
                for version in subdirs(&base.join(&source)) {
                    let mut dir = base.join(&source).join(&version);
                    if let Some(a) = area {
                        dir = dir.join(a);
                    }
                    for entity in subdirs(&dir) {
                        if delta::is_table(&dir.join(&entity)) {
                            out.push(TableRef::new(layer, &source, &version, &entity));
                        }
                    }
                }
            }
        }
        out
    }

    /// Finds a table by its id (`general/clever/daily_participation`), its folder path relative
    /// to the lake, or a tail of the id (`clever/daily_participation`, `daily_participation`).
    /// A tail that several layers share means the general table (the one safe to share).
    pub fn resolve(&self, name: &str) -> Result<TableRef, LakeError> {
        let name = name.trim().trim_matches('/').replace('\\', "/");
        let all = self.tables();
        if let Some(t) = all
            .iter()
            .find(|t| t.id() == name || t.rel_path().to_string_lossy().replace('\\', "/") == name)
        {
            return Ok(t.clone());
        }
        let tail: Vec<&TableRef> = all
            .iter()
            .filter(|t| t.id().ends_with(&format!("/{name}")))
            .collect();
        let general: Vec<&&TableRef> = tail.iter().filter(|t| t.layer == Layer::General).collect();
        if let [one] = general.as_slice() {
            return Ok((**one).clone());
        }
        match tail.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(LakeError::UnknownTable(name)),
            many => Err(LakeError::AmbiguousTable {
                name,
                candidates: many.iter().map(|t| t.id()).collect::<Vec<_>>().join(", "),
            }),
        }
    }

    /// The latest state of a table.
    pub fn table_state(&self, t: &TableRef) -> Result<TableState, LakeError> {
        let dir = self.table_dir(t);
        delta::read_state(&dir)?.ok_or(LakeError::NotATable(dir))
    }
}
