//! The district's changes to a module's pseudonymization (set in setup's review step or loaded
//! from its own metadata.csv), saved in the lake (`_edlake/metadata/<source>.json`) and applied
//! to the module at every run. Two rules keep the lake consistent and private: a column the
//! module hashes or masks can never become `no-op` (raw ids stay out of general tables), and
//! ops are fixed once a source has data (a change would alter the general tables' columns).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Classified, Entity, Module};
use crate::lake::{Lake, LakeError, Layer, TableRef};
use crate::pseudo::{Metadata, Op};
use crate::sources::RemoteFile;

/// Column ops by entity, then column.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overrides(pub BTreeMap<String, BTreeMap<String, Op>>);

/// Why an op cannot be set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OverrideError {
    #[error(
        "{entity}.{column} holds identifiers the module protects: it can be hashed or masked, not kept as is"
    )]
    WouldExpose { entity: String, column: String },
    #[error(
        "{0} already has data; its pseudonymization is fixed (a change would alter its general tables)"
    )]
    HasData(String),
    #[error("{entity} has no column {column}")]
    NoColumn { entity: String, column: String },
}

/// The ops a column may take, given what the module does with it.
pub fn allowed(module_op: Op) -> &'static [Op] {
    match module_op {
        Op::Hash | Op::HashNoLookup | Op::Mask => &[Op::Hash, Op::HashNoLookup, Op::Mask],
        Op::PartitionBy => &[Op::PartitionBy],
        Op::NoOp => &[Op::NoOp, Op::Hash, Op::HashNoLookup, Op::Mask],
    }
}

impl Overrides {
    fn path(lake: &Lake, source: &str) -> std::path::PathBuf {
        lake.meta_dir()
            .join("metadata")
            .join(format!("{source}.json"))
    }

    /// The saved overrides of a source (none when never set). A file that does not read is an
    /// error naming it: silently falling back to the module's defaults would undo the
    /// district's choices (a masked column published as is).
    pub fn load(lake: &Lake, source: &str) -> Result<Overrides, LakeError> {
        Ok(crate::lake::jsonfile::read(&Self::path(lake, source))?.unwrap_or_default())
    }

    /// Saves them.
    pub fn save(&self, lake: &Lake, source: &str) -> Result<(), LakeError> {
        let _lock = lake.lock("save the pseudonymization review")?;
        crate::lake::jsonfile::write(&Self::path(lake, source), self)
    }

    /// Sets one column's op after checking it against the module's own op.
    pub fn set(
        &mut self,
        module: &dyn Module,
        entity: &str,
        column: &str,
        op: Op,
    ) -> Result<(), OverrideError> {
        let base = module
            .entity(entity)
            .and_then(|e| e.metadata.op(column))
            .ok_or_else(|| OverrideError::NoColumn {
                entity: entity.into(),
                column: column.into(),
            })?;
        if !allowed(base).contains(&op) {
            return Err(OverrideError::WouldExpose {
                entity: entity.into(),
                column: column.into(),
            });
        }
        let cols = self.0.entry(entity.into()).or_default();
        if op == base {
            cols.remove(column);
        } else {
            cols.insert(column.into(), op);
        }
        Ok(())
    }

    /// Takes the ops a district metadata.csv gives for this module's columns; returns how many
    /// were applied and the ones refused.
    pub fn merge_metadata(
        &mut self,
        module: &dyn Module,
        md: &Metadata,
    ) -> (usize, Vec<OverrideError>) {
        let mut applied = 0;
        let mut refused = Vec::new();
        for e in &md.entities {
            let Some(ent) = module
                .entities()
                .iter()
                .find(|x| x.name.eq_ignore_ascii_case(&e.name))
            else {
                continue;
            };
            for a in &e.attributes {
                if ent.metadata.op(&a.name).is_none() {
                    continue;
                }
                match self.set(module, &ent.name, &a.name, a.op) {
                    Ok(()) => applied += 1,
                    Err(err) => refused.push(err),
                }
            }
        }
        (applied, refused)
    }
}

/// Whether a source already has tables in the lake (its ops are then fixed).
pub fn has_data(lake: &Lake, module: &dyn Module) -> bool {
    module.entities().iter().any(|e| {
        let t = TableRef::new(Layer::General, module.source(), module.version(), &e.name);
        crate::lake::delta::is_table(&lake.table_dir(&t))
    })
}

enum Inner<'a> {
    Owned(Box<dyn Module>),
    Borrowed(&'a dyn Module),
}

/// A module with the district's overrides applied.
struct Overridden<'a> {
    inner: Inner<'a>,
    entities: Vec<Entity>,
}

impl Overridden<'_> {
    fn inner(&self) -> &dyn Module {
        match &self.inner {
            Inner::Owned(m) => m.as_ref(),
            Inner::Borrowed(m) => *m,
        }
    }
}

impl Module for Overridden<'_> {
    fn source(&self) -> &str {
        self.inner().source()
    }
    fn version(&self) -> &str {
        self.inner().version()
    }
    fn title(&self) -> &str {
        self.inner().title()
    }
    fn entities(&self) -> &[Entity] {
        &self.entities
    }
    fn classify(&self, rel_path: &str) -> Option<Classified> {
        self.inner().classify(rel_path)
    }
    fn constants(&self, entity: &Entity, sub_path: &str) -> Vec<(String, Option<String>)> {
        self.inner().constants(entity, sub_path)
    }
    fn select_files(&self, files: Vec<RemoteFile>) -> Vec<RemoteFile> {
        self.inner().select_files(files)
    }
}

fn overridden_entities(lake: &Lake, module: &dyn Module) -> Result<Vec<Entity>, LakeError> {
    let o = Overrides::load(lake, module.source())?;
    let mut entities = module.entities().to_vec();
    for e in &mut entities {
        if let Some(cols) = o.0.get(&e.name) {
            for a in &mut e.metadata.attributes {
                if let Some(op) = cols.get(&a.name)
                    && allowed(
                        module
                            .entity(&e.name)
                            .and_then(|x| x.metadata.op(&a.name))
                            .unwrap_or(a.op),
                    )
                    .contains(op)
                {
                    a.op = *op;
                }
            }
        }
    }
    Ok(entities)
}

/// The module as this lake runs it: with its saved overrides, if any.
pub fn apply(lake: &Lake, module: Box<dyn Module>) -> Result<Box<dyn Module>, LakeError> {
    let o = Overrides::load(lake, module.source())?;
    if o.0.values().all(|c| c.is_empty()) {
        return Ok(module);
    }
    let entities = overridden_entities(lake, module.as_ref())?;
    Ok(Box::new(Overridden {
        inner: Inner::Owned(module),
        entities,
    }))
}

/// Like [`apply`] for a borrowed module.
pub fn apply_ref<'a>(
    lake: &Lake,
    module: &'a dyn Module,
) -> Result<Box<dyn Module + 'a>, LakeError> {
    let entities = overridden_entities(lake, module)?;
    Ok(Box::new(Overridden {
        inner: Inner::Borrowed(module),
        entities,
    }))
}
