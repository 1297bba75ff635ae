//! A module described by an OEA `metadata.csv` plus, per entity, a batch type and a primary key:
//! any CSV source with one folder (or one file) per entity. The SIS module is a preset of it.

use crate::formats::parse::FieldSpec;
use crate::formats::values::DayOrder;
use crate::pseudo::{Metadata, Op};

use super::{BatchType, Classified, Entity, Module, Partitioning};

/// Batch type and key of one entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityDef {
    pub name: String,
    pub batch: BatchType,
    pub key: Vec<String>,
}

/// A metadata-driven module.
pub struct MetadataModule {
    source: String,
    version: String,
    title: String,
    entities: Vec<Entity>,
}

impl MetadataModule {
    /// Builds the module; every entity of `defs` must be in the metadata, with its key columns.
    pub fn new(
        source: &str,
        version: &str,
        title: &str,
        metadata: &Metadata,
        defs: &[EntityDef],
    ) -> Result<MetadataModule, super::ModuleError> {
        let mut entities = Vec::new();
        for d in defs {
            let meta = metadata
                .entity(&d.name)
                .ok_or_else(|| super::ModuleError::NoEntity(d.name.clone()))?;
            for k in &d.key {
                match meta.op(k) {
                    None => {
                        return Err(super::ModuleError::KeyNotInMetadata {
                            entity: d.name.clone(),
                            column: k.clone(),
                        });
                    }
                    Some(Op::Mask) => {
                        return Err(super::ModuleError::KeyMasked {
                            entity: d.name.clone(),
                            column: k.clone(),
                        });
                    }
                    _ => {}
                }
            }
            let fields = meta
                .attributes
                .iter()
                .map(|a| {
                    if d.key.contains(&a.name) {
                        FieldSpec::required(&a.name, a.ty)
                    } else {
                        FieldSpec::optional(&a.name, a.ty)
                    }
                })
                .collect();
            let parts: Vec<String> = meta
                .attributes
                .iter()
                .filter(|a| a.op == Op::PartitionBy)
                .map(|a| crate::lake::schema::fix_column_name(&a.name))
                .collect();
            entities.push(Entity {
                name: meta.name.clone(),
                what: format!("{source} {} file", meta.name),
                batch: d.batch,
                fields,
                constants: Vec::new(),
                primary_key: d.key.clone(),
                metadata: meta.clone(),
                partitioning: if parts.is_empty() {
                    Partitioning::None
                } else {
                    Partitioning::Columns(parts)
                },
                day_order: DayOrder::Auto,
                headerless: false,
                layouts: Vec::new(),
            });
        }
        Ok(MetadataModule {
            source: source.into(),
            version: version.into(),
            title: title.into(),
            entities,
        })
    }
}

impl Module for MetadataModule {
    fn source(&self) -> &str {
        &self.source
    }

    fn version(&self) -> &str {
        &self.version
    }

    fn title(&self) -> &str {
        &self.title
    }

    fn entities(&self) -> &[Entity] {
        &self.entities
    }

    fn classify(&self, rel_path: &str) -> Option<Classified> {
        let parts: Vec<&str> = rel_path.split('/').filter(|p| !p.is_empty()).collect();
        let file = *parts.last()?;
        let lower = file.to_ascii_lowercase();
        let stem = crate::formats::records::FileFormat::stem(&lower)?;
        let find = |name: &str| {
            self.entities
                .iter()
                .find(|e| e.name.eq_ignore_ascii_case(name))
        };
        // A folder per entity (`students/part1.csv`), the nearest one wins ...
        if let Some(at) = parts[..parts.len() - 1]
            .iter()
            .rposition(|p| find(p).is_some())
        {
            let e = find(parts[at])?;
            return Some(Classified {
                entity: e.name.clone(),
                sub_path: parts[at + 1..].join("/"),
            });
        }
        // ... or a file per entity (`studentattendance.csv`).
        find(stem).map(|e| Classified {
            entity: e.name.clone(),
            sub_path: file.to_string(),
        })
    }

    fn constants(&self, _entity: &Entity, _sub_path: &str) -> Vec<(String, Option<String>)> {
        Vec::new()
    }
}
