//! Source systems: entities, schemas, keys, batch types, metadata and file mappings.
//! One file per source system; the pipeline runs any [`Module`] the same way.

pub mod clever;
pub mod custom;
pub mod definition;
pub mod edx;
pub mod insights;
pub mod inspect;
pub mod overrides;
pub mod roster;
pub mod sis;

use serde::{Deserialize, Serialize};

use crate::formats::parse::FieldSpec;
use crate::formats::values::DayOrder;
use crate::pseudo::EntityMetadata;

/// Why a module could not be built from its metadata or its export's schema files.
#[derive(Debug, thiserror::Error)]
pub enum ModuleError {
    #[error(transparent)]
    Metadata(#[from] crate::pseudo::MetadataError),
    #[error(
        "{} has no schema/ folder with the export's CDM schema files ({source}); use the export \
         root (the folder holding activity/, roster/ and schema/)",
        .root.display()
    )]
    NoSchema {
        root: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {source}", .path.display())]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("{file} is not valid JSON: {source}")]
    Json {
        file: String,
        source: serde_json::Error,
    },
    #[error("the schema files define no entities")]
    NoEntities,
    #[error("the metadata has no entity `{0}`")]
    NoEntity(String),
    #[error("{entity}: key column `{column}` is not in the metadata")]
    KeyNotInMetadata { entity: String, column: String },
    #[error("{entity}: key column `{column}` is masked, so rows could not be matched")]
    KeyMasked { entity: String, column: String },
}

/// How a batch changes its table (OEA batch types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BatchType {
    /// The batch is the whole table: replace.
    Snapshot,
    /// The batch adds rows: append.
    Additive,
    /// The batch holds changed rows: upsert on the primary key.
    Delta,
    /// The batch lists keys to remove.
    Delete,
}

impl BatchType {
    /// OEA's name, used in stage1 folder names (`additive_batch_data`).
    pub fn name(self) -> &'static str {
        match self {
            BatchType::Snapshot => "snapshot",
            BatchType::Additive => "additive",
            BatchType::Delta => "delta",
            BatchType::Delete => "delete",
        }
    }
}

/// How the refined tables of an entity are partitioned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Partitioning {
    None,
    /// `year` and `month` integer columns derived from a date column.
    YearMonth {
        from: String,
    },
    /// Columns of the data (OEA `partition-by`).
    Columns(Vec<String>),
}

/// One entity of a module.
#[derive(Debug, Clone)]
pub struct Entity {
    /// Table name (`daily_participation`).
    pub name: String,
    /// What the files are, for messages (`Clever daily-participation report`).
    pub what: String,
    pub batch: BatchType,
    /// The columns the files carry.
    pub fields: Vec<FieldSpec>,
    /// Columns edlake adds from where a file sits (for example Clever's `role` subfolder).
    pub constants: Vec<String>,
    pub primary_key: Vec<String>,
    /// Pseudonymization ops (general vs lookup).
    pub metadata: EntityMetadata,
    pub partitioning: Partitioning,
    pub day_order: DayOrder,
    /// Files carry no header row: columns come in the order of `fields`, or of one of `layouts`.
    pub headerless: bool,
    /// The orders a headerless file's fields may come in (empty: the order of `fields`).
    pub layouts: Vec<crate::formats::parse::Layout>,
}

/// A raw file a module recognised in an input tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classified {
    pub entity: String,
    /// Path to keep under the entity's rundate folder (role subfolder and file name).
    pub sub_path: String,
}

/// A source system edlake knows how to ingest.
pub trait Module: Send + Sync {
    /// Source folder name in the lake (`clever`).
    fn source(&self) -> &str;
    /// Module version folder (`v1.0`).
    fn version(&self) -> &str;
    /// Human name (`Clever Participation Reports`).
    fn title(&self) -> &str;
    /// The module's entities.
    fn entities(&self) -> &[Entity];
    /// Which entity a file at `rel_path` (`/`-separated, relative to the input root) belongs to;
    /// `None` for files the module does not take.
    fn classify(&self, rel_path: &str) -> Option<Classified>;
    /// Values of the entity's constant columns for a file landed at `sub_path`.
    fn constants(&self, entity: &Entity, sub_path: &str) -> Vec<(String, Option<String>)>;

    /// Narrows a source listing before classification (for example to the latest snapshot).
    fn select_files(
        &self,
        files: Vec<crate::sources::RemoteFile>,
    ) -> Vec<crate::sources::RemoteFile> {
        files
    }

    /// Finds an entity by name.
    fn entity(&self, name: &str) -> Option<&Entity> {
        self.entities().iter().find(|e| e.name == name)
    }
}
