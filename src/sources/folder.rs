//! A local folder as a source (a synced share, a download folder, test data).

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{RemoteFile, Source, SourceError, check_name};

/// Files under a local folder.
#[derive(Debug, Clone)]
pub struct FolderSource {
    root: PathBuf,
}

impl FolderSource {
    /// A folder source rooted at `root`.
    pub fn new(root: &Path) -> Self {
        Self {
            root: std::path::absolute(root).unwrap_or_else(|_| root.to_path_buf()),
        }
    }
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<RemoteFile>) -> Result<(), SourceError> {
    let io = |e| SourceError::Io {
        path: dir.to_path_buf(),
        source: e,
    };
    let mut entries: Vec<_> = std::fs::read_dir(dir).map_err(io)?.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().to_string();
        if name.starts_with('.') {
            continue; // hidden files and partial downloads of sync tools
        }
        let p = e.path();
        let meta = std::fs::metadata(&p).map_err(|err| SourceError::Io {
            path: p.clone(),
            source: err,
        })?;
        if meta.is_dir() {
            walk(root, &p, out)?;
        } else if meta.is_file() {
            let rel = p
                .strip_prefix(root)
                .unwrap_or(&p)
                .components()
                .map(|c| c.as_os_str().to_string_lossy().to_string())
                .collect::<Vec<_>>()
                .join("/");
            let mtime = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0);
            out.push(RemoteFile {
                path: rel,
                size: meta.len(),
                mtime,
            });
        }
    }
    Ok(())
}

impl Source for FolderSource {
    fn origin(&self) -> String {
        format!("folder:{}", self.root.display())
    }

    fn list(&self) -> Result<Vec<RemoteFile>, SourceError> {
        if !self.root.is_dir() {
            return Err(SourceError::MissingFolder(self.root.clone()));
        }
        let mut out = Vec::new();
        walk(&self.root, &self.root, &mut out)?;
        Ok(out)
    }

    fn fetch(&self, file: &RemoteFile, out: &mut dyn Write) -> Result<u64, SourceError> {
        check_name(&file.path)?;
        let p = self.root.join(&file.path);
        let mut f = std::fs::File::open(&p).map_err(|e| SourceError::Io {
            path: p.clone(),
            source: e,
        })?;
        std::io::copy(&mut f, out).map_err(|e| SourceError::Io { path: p, source: e })
    }

    fn local_path(&self, file: &RemoteFile) -> Option<PathBuf> {
        check_name(&file.path).ok()?;
        Some(self.root.join(&file.path))
    }
}
