//! Saved definitions of custom modules (any CSV source described by an OEA `metadata.csv`),
//! kept in the lake (`_edlake/modules/<name>.json`) so runs repeat the same way.

use serde::{Deserialize, Serialize};

use super::BatchType;
use super::custom::{EntityDef, MetadataModule};
use crate::lake::{Lake, LakeError, jsonfile};
use crate::pseudo::Metadata;

/// Names the built-in modules use; custom modules may not take them.
pub const RESERVED: [&str; 9] = [
    "clever",
    "clever_roster",
    "identity",
    "edx",
    "insights",
    "ms_insights",
    "sis",
    "contoso_sis",
    "engagement",
];

/// One entity's batch type and key, as saved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedEntity {
    pub name: String,
    pub batch: BatchType,
    #[serde(default)]
    pub key: Vec<String>,
}

/// A saved custom module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleDef {
    pub name: String,
    pub version: String,
    /// The metadata.csv text (copied, so the module works even if the original file moves).
    pub metadata: String,
    pub entities: Vec<SavedEntity>,
    pub created: chrono::DateTime<chrono::Utc>,
}

/// Why a module definition is not acceptable.
#[derive(Debug, thiserror::Error)]
pub enum DefError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Metadata(#[from] crate::pseudo::MetadataError),
    #[error(transparent)]
    Lake(#[from] LakeError),
    #[error(transparent)]
    Module(#[from] super::ModuleError),
    #[error("no custom module named `{0}`. `edlake module list` shows the modules of this lake.")]
    Unknown(String),
}

fn check_name(name: &str) -> Result<(), DefError> {
    let ok = !name.is_empty()
        && name.len() <= 40
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.starts_with(|c: char| c.is_ascii_lowercase());
    if !ok {
        return Err(DefError::Invalid(format!(
            "`{name}` is not a usable module name: use lowercase letters, digits and `_`, starting with a letter"
        )));
    }
    if RESERVED.contains(&name) {
        return Err(DefError::Invalid(format!(
            "`{name}` is a built-in module's name; pick another"
        )));
    }
    Ok(())
}

impl ModuleDef {
    /// Builds and validates a definition. Entities without a batch type are snapshots; delta and
    /// delete entities need a key.
    pub fn new(
        name: &str,
        metadata_text: &str,
        metadata_file: &str,
        batches: &[(String, BatchType)],
        keys: &[(String, String)],
    ) -> Result<ModuleDef, DefError> {
        check_name(name)?;
        let metadata = Metadata::parse(metadata_text, metadata_file)?;
        if metadata.entities.is_empty() {
            return Err(DefError::Invalid(format!(
                "{metadata_file} defines no entities"
            )));
        }
        for e in batches
            .iter()
            .map(|(e, _)| e)
            .chain(keys.iter().map(|(e, _)| e))
        {
            if metadata.entity(e).is_none() {
                return Err(DefError::Invalid(format!(
                    "{metadata_file} has no entity `{e}`; its entities are: {}",
                    metadata
                        .entities
                        .iter()
                        .map(|x| x.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
        let entities = metadata
            .entities
            .iter()
            .map(|m| {
                let batch = batches
                    .iter()
                    .rev()
                    .find(|(e, _)| e.eq_ignore_ascii_case(&m.name))
                    .map(|(_, b)| *b)
                    .unwrap_or(BatchType::Snapshot);
                let key: Vec<String> = keys
                    .iter()
                    .filter(|(e, _)| e.eq_ignore_ascii_case(&m.name))
                    .map(|(_, k)| k.clone())
                    .collect();
                SavedEntity {
                    name: m.name.clone(),
                    batch,
                    key,
                }
            })
            .collect();
        let def = ModuleDef {
            name: name.into(),
            version: "v1.0".into(),
            metadata: metadata_text.into(),
            entities,
            created: chrono::Utc::now(),
        };
        def.module()?;
        Ok(def)
    }

    /// The runnable module.
    pub fn module(&self) -> Result<MetadataModule, DefError> {
        let metadata = Metadata::parse(&self.metadata, &format!("{}'s metadata", self.name))?;
        for e in &self.entities {
            if matches!(e.batch, BatchType::Delta | BatchType::Delete) && e.key.is_empty() {
                return Err(DefError::Invalid(format!(
                    "{} is a {} entity, so it needs a key: add --key {}=COLUMN",
                    e.name,
                    e.batch.name(),
                    e.name
                )));
            }
        }
        let defs: Vec<EntityDef> = self
            .entities
            .iter()
            .map(|e| EntityDef {
                name: e.name.clone(),
                batch: e.batch,
                key: e.key.clone(),
            })
            .collect();
        MetadataModule::new(&self.name, &self.version, &self.name, &metadata, &defs)
            .map_err(DefError::from)
    }

    fn path(lake: &Lake, name: &str) -> std::path::PathBuf {
        lake.meta_dir().join("modules").join(format!("{name}.json"))
    }

    /// Saves the definition in the lake.
    pub fn save(&self, lake: &Lake) -> Result<(), DefError> {
        let _lock = lake.lock("save a module definition")?;
        Ok(jsonfile::write(&Self::path(lake, &self.name), self)?)
    }

    /// Loads a saved definition.
    pub fn load(lake: &Lake, name: &str) -> Result<ModuleDef, DefError> {
        jsonfile::read(&Self::path(lake, name))?.ok_or_else(|| DefError::Unknown(name.into()))
    }

    /// Every saved definition, by name.
    pub fn list(lake: &Lake) -> Result<Vec<ModuleDef>, DefError> {
        let dir = lake.meta_dir().join("modules");
        let mut out = Vec::new();
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if let Some(n) = name.strip_suffix(".json") {
                out.push(Self::load(lake, n)?);
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Removes a saved definition (the module's tables stay).
    pub fn remove(lake: &Lake, name: &str) -> Result<(), DefError> {
        let _lock = lake.lock("remove a module definition")?;
        let p = Self::path(lake, name);
        match std::fs::remove_file(&p) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(DefError::Unknown(name.into()))
            }
            Err(e) => Err(LakeError::io(&p, e).into()),
        }
    }
}

/// Parses `ENTITY=VALUE`.
pub fn split_assignment(s: &str) -> Result<(String, String), DefError> {
    match s.split_once('=') {
        Some((e, v)) if !e.trim().is_empty() && !v.trim().is_empty() => {
            Ok((e.trim().into(), v.trim().into()))
        }
        _ => Err(DefError::Invalid(format!(
            "expected ENTITY=VALUE, got `{s}`"
        ))),
    }
}

/// Parses a batch type name.
pub fn parse_batch(s: &str) -> Result<BatchType, DefError> {
    match s.to_ascii_lowercase().as_str() {
        "snapshot" => Ok(BatchType::Snapshot),
        "additive" => Ok(BatchType::Additive),
        "delta" => Ok(BatchType::Delta),
        "delete" => Ok(BatchType::Delete),
        other => Err(DefError::Invalid(format!(
            "unknown batch type `{other}` (use snapshot, additive, delta or delete)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const META: &str = "Entity Name,Attribute Name,Attribute Data Type,Pseudonymization\nstudents,,,\n,SIS ID,string,hash\n,Name,string,mask\nmarks,,,\n,id,string,no-op\n";

    #[test]
    fn validates_names_entities_and_keys() {
        let ok = ModuleDef::new(
            "district_sis",
            META,
            "m.csv",
            &[("students".into(), BatchType::Delta)],
            &[("students".into(), "SIS ID".into())],
        )
        .unwrap();
        assert_eq!(ok.entities[0].batch, BatchType::Delta);
        assert_eq!(ok.entities[1].batch, BatchType::Snapshot);
        let no_key = ModuleDef::new(
            "x",
            META,
            "m.csv",
            &[("students".into(), BatchType::Delta)],
            &[],
        )
        .unwrap_err();
        assert!(
            no_key.to_string().contains("--key students=COLUMN"),
            "{no_key}"
        );
        let masked = ModuleDef::new(
            "x",
            META,
            "m.csv",
            &[("students".into(), BatchType::Delta)],
            &[("students".into(), "Name".into())],
        )
        .unwrap_err();
        assert!(masked.to_string().contains("masked"), "{masked}");
        assert!(ModuleDef::new("clever", META, "m.csv", &[], &[]).is_err());
        assert!(ModuleDef::new("Bad Name", META, "m.csv", &[], &[]).is_err());
        assert!(
            ModuleDef::new(
                "x",
                META,
                "m.csv",
                &[("nope".into(), BatchType::Delta)],
                &[]
            )
            .unwrap_err()
            .to_string()
            .contains("no entity `nope`")
        );
    }
}
