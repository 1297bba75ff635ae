//! The landing manifest: which raw files were landed and ingested, so re-runs change nothing.

use serde::{Deserialize, Serialize};

use super::{Lake, LakeError};

/// One raw file landed in stage1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LandedFile {
    /// Module/source system (`clever`).
    pub source: String,
    /// Entity the file belongs to (`daily_participation`).
    pub entity: String,
    /// Where it came from (`folder:/srv/clever` or a configured source name).
    pub origin: String,
    /// Path inside the origin, `/`-separated.
    pub origin_path: String,
    pub size: u64,
    /// Modification time at the origin, seconds since the epoch.
    pub mtime: i64,
    /// SHA-256 of the content, lowercase hex.
    pub sha256: String,
    /// Path of the landed copy relative to the lake root.
    pub stage1_path: String,
    /// Path below the rundate folder (role subfolder and original file name).
    pub sub_path: String,
    pub rundate: String,
    /// Set once the batch is committed to stage2 (Ingested and Refined).
    pub ingested: bool,
}

impl LandedFile {
    /// The id recorded in Delta `txn` actions for this batch.
    pub fn batch_id(&self) -> String {
        format!("edlake-{}-{}", self.entity, &self.sha256)
    }
}

/// All landed files of a lake.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Manifest {
    pub landed: Vec<LandedFile>,
}

impl Manifest {
    fn path(lake: &Lake) -> std::path::PathBuf {
        lake.meta_dir().join("manifest.json")
    }

    /// Loads the manifest (empty for a new lake).
    pub fn load(lake: &Lake) -> Result<Manifest, LakeError> {
        let p = Self::path(lake);
        match std::fs::read(&p) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| LakeError::Corrupt {
                path: p,
                message: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Manifest::default()),
            Err(e) => Err(LakeError::io(&p, e)),
        }
    }

    /// Saves the manifest atomically.
    pub fn save(&self, lake: &Lake) -> Result<(), LakeError> {
        super::jsonfile::write(&Self::path(lake), self)
    }

    /// A file already seen at this origin with the same size and mtime (skipped without hashing).
    pub fn seen_unchanged(&self, origin: &str, origin_path: &str, size: u64, mtime: i64) -> bool {
        self.landed.iter().any(|f| {
            f.origin == origin && f.origin_path == origin_path && f.size == size && f.mtime == mtime
        })
    }

    /// A file with this content was already landed for this entity.
    pub fn has_content(&self, source: &str, entity: &str, sha256: &str) -> bool {
        self.landed
            .iter()
            .any(|f| f.source == source && f.entity == entity && f.sha256 == sha256)
    }
}
