//! The on-disk lake: OEA layout, Delta tables, atomic commits, the lock and the catalog.

mod align;
pub mod catalog;
pub mod delta;
mod delta_log;
mod dict;
pub mod jsonfile;
pub mod layout;
mod lock;
pub mod manifest;
pub mod parquet_out;
pub mod perms;
pub mod scan;
pub mod schema;
pub mod settle;

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use layout::{Layer, TableRef};
pub use lock::{LakeLock, lock_file};

/// The process's one async runtime, started on first use: Delta commits and reads and the
/// storage-account source run their I/O on it (`block_on` from any thread). Two worker threads:
/// the work is I/O, the computing happens in rayon and polars.
pub fn runtime() -> Result<&'static tokio::runtime::Runtime, std::io::Error> {
    static RT: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    if let Some(rt) = RT.get() {
        return Ok(rt);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("edlake-io")
        .enable_all()
        .build()?;
    // Two threads may race to start it: the loser's runtime is dropped unused.
    Ok(RT.get_or_init(|| rt))
}

/// Errors from the lake itself. Each message is written for the person running edlake.
#[derive(Debug, thiserror::Error)]
pub enum LakeError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{p} is not an edlake lake (no _edlake/lake.json). Create one with `edlake --lake {p} init`.", p = .0.display())]
    NotALake(PathBuf),
    #[error("{} is not a Delta table", .0.display())]
    NotATable(PathBuf),
    #[error("the lake is busy: {0}. Wait for that run to finish, or cancel it, then try again.")]
    Busy(String),
    #[error("Delta table {table}: {message}")]
    Delta { table: String, message: String },
    #[error("Parquet file {path}: {message}", path = .path.display())]
    Parquet { path: PathBuf, message: String },
    #[error("no table named `{0}`. Run `edlake tables` to see the table names.")]
    UnknownTable(String),
    #[error("`{name}` matches several tables: {candidates}. Use the full name.")]
    AmbiguousTable { name: String, candidates: String },
    #[error("lake file {path} is damaged: {message}", path = .path.display())]
    Corrupt { path: PathBuf, message: String },
    /// A request the lake cannot carry out as given (an unknown OS group, say).
    #[error("{0}")]
    Invalid(String),
}

impl LakeError {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// `_edlake/lake.json`: identity of a lake (its salt is keyed by `id` in the OS keyring).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LakeInfo {
    pub id: String,
    pub created: chrono::DateTime<chrono::Utc>,
    pub layout: String,
    /// The OS group (a district's data team) that shares the lake; none: owner-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

/// An opened lake folder.
#[derive(Debug, Clone)]
pub struct Lake {
    root: PathBuf,
    info: LakeInfo,
    /// Files and folders whose group/other permissions were removed when the lake was opened.
    tightened: usize,
}

impl Lake {
    /// Creates the lake folders (or reopens an existing lake). Returns the lake and whether it
    /// was newly created.
    pub fn init(root: &Path) -> Result<(Lake, bool), LakeError> {
        if root.join("_edlake/lake.json").exists() {
            return Ok((Lake::open(root)?, false));
        }
        perms::from_now_on(&perms::Sharing::OwnerOnly);
        // A folder the user made beforehand keeps its mode: the lake root becomes owner-only.
        std::fs::create_dir_all(root).map_err(|e| LakeError::io(root, e))?;
        let tightened = perms::tighten(root, &perms::Sharing::OwnerOnly)?;
        for dir in [
            "_edlake/runs",
            "stage1/Transactional",
            "stage2/Ingested",
            "stage2/Refined",
            "stage3",
        ] {
            let d = root.join(dir);
            std::fs::create_dir_all(&d).map_err(|e| LakeError::io(&d, e))?;
        }
        let info = LakeInfo {
            id: uuid::Uuid::new_v4().to_string(),
            created: chrono::Utc::now(),
            layout: "oea-v0.8".into(),
            group: None,
        };
        let path = root.join("_edlake/lake.json");
        write_atomic(&path, &jsonfile::to_bytes(&path, &info)?)?;
        Ok((
            Lake {
                root: root.to_path_buf(),
                info,
                tightened,
            },
            true,
        ))
    }

    /// Opens an existing lake. Everything this process writes from then on is owner-only, and a
    /// lake other accounts can reach into (made by an older edlake, or copied) is tightened to
    /// owner-only first; [`Lake::tightened`] says how many entries that changed.
    pub fn open(root: &Path) -> Result<Lake, LakeError> {
        // Owner-only until the lake's settings say otherwise.
        perms::from_now_on(&perms::Sharing::OwnerOnly);
        let p = root.join("_edlake/lake.json");
        let bytes = match std::fs::read(&p) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(LakeError::NotALake(root.to_path_buf()));
            }
            Err(e) => return Err(LakeError::io(&p, e)),
        };
        let info: LakeInfo = serde_json::from_slice(&bytes).map_err(|e| LakeError::Corrupt {
            path: p.clone(),
            message: e.to_string(),
        })?;
        // A group that no longer exists shares nothing: owner-only then.
        let sharing =
            perms::Sharing::of(info.group.as_deref()).unwrap_or(perms::Sharing::OwnerOnly);
        perms::from_now_on(&sharing);
        let tightened = if perms::open_to_others(root, &sharing) {
            perms::tighten(root, &sharing)?
        } else {
            0
        };
        Ok(Lake {
            root: root.to_path_buf(),
            info,
            tightened,
        })
    }

    /// How many files and folders other accounts could read until this lake was opened (their
    /// group and other permissions are removed now).
    pub fn tightened(&self) -> usize {
        self.tightened
    }

    /// Shares the lake with the members of the OS group `group` (read and write), or with
    /// nobody (`None`): saved in the lake's settings and applied to every file and folder now.
    /// Returns how many entries changed.
    pub fn set_group(&mut self, group: Option<&str>) -> Result<usize, LakeError> {
        let sharing = perms::Sharing::of(group)?;
        let _lock = self.lock("change who shares the lake")?;
        let mut info = self.info.clone();
        info.group = group.map(str::to_string);
        perms::from_now_on(&sharing);
        let path = self.root.join("_edlake/lake.json");
        write_atomic(&path, &jsonfile::to_bytes(&path, &info)?)?;
        self.info = info;
        perms::tighten(&self.root, &sharing)
    }

    /// The lake folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The lake's identity.
    pub fn info(&self) -> &LakeInfo {
        &self.info
    }

    /// Absolute folder of a table.
    pub fn table_dir(&self, t: &TableRef) -> PathBuf {
        self.root.join(t.rel_path())
    }

    /// edlake's own bookkeeping folder.
    pub fn meta_dir(&self) -> PathBuf {
        self.root.join("_edlake")
    }

    /// Marks the derived tables (stage3, chart serving data) as out of date. A run writes it
    /// before it changes source tables and a finished rebuild removes it, so a run killed in
    /// between leaves it and the next run rebuilds them even when it brings no new rows.
    pub fn mark_derived_stale(&self) -> Result<(), LakeError> {
        write_atomic(&self.meta_dir().join("derived.stale"), b"")
    }

    /// Whether the derived tables are out of date (see [`Lake::mark_derived_stale`]).
    pub fn derived_stale(&self) -> bool {
        self.meta_dir().join("derived.stale").exists()
    }

    /// Records that the derived tables are up to date.
    pub fn clear_derived_stale(&self) -> Result<(), LakeError> {
        let p = self.meta_dir().join("derived.stale");
        match std::fs::remove_file(&p) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(LakeError::io(&p, e)),
            _ => Ok(()),
        }
    }
}

/// Writes a file so that readers see either the old or the new content, never a mix.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), LakeError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| LakeError::io(dir, e))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file"),
        uuid::Uuid::new_v4()
    ));
    let mut f = File::create(&tmp).map_err(|e| LakeError::io(&tmp, e))?;
    f.write_all(bytes).map_err(|e| LakeError::io(&tmp, e))?;
    f.sync_all().map_err(|e| LakeError::io(&tmp, e))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(|e| LakeError::io(path, e))
}

/// Creates `path` and writes it with `write` through a 1 MiB buffer — a Parquet writer writes
/// page by page, and unbuffered every page header and page is a system call of its own — then
/// flushes it, so a write that fails (a full disk) is an error, never a file cut short, and hands
/// it to be [`settle`]d before its table's next commit.
pub fn write_buffered<T>(
    path: &Path,
    cache: settle::Cache,
    write: impl FnOnce(&mut std::io::BufWriter<File>) -> polars::prelude::PolarsResult<T>,
) -> Result<T, LakeError> {
    let f = File::create(path).map_err(|e| LakeError::io(path, e))?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
    let out = write(&mut w).map_err(|e| LakeError::Parquet {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let f = w
        .into_inner()
        .map_err(|e| LakeError::io(path, e.into_error()))?;
    settle::later(path, f, cache);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_non_lake_says_how_to_create() {
        let dir = tempfile::tempdir().unwrap();
        let err = Lake::open(dir.path()).unwrap_err().to_string();
        assert!(err.contains("init"), "{err}");
    }
}
