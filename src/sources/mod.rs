//! Where raw files come from (a local folder, an SFTP server, saved source definitions): list and
//! fetch only, no entity logic.

pub mod azure;
pub mod folder;
pub mod saved;
pub mod sftp;

use std::io::Write;
use std::path::PathBuf;

pub use folder::FolderSource;

/// A file a source offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteFile {
    /// Path relative to the source root, `/`-separated.
    pub path: String,
    pub size: u64,
    /// Modification time, seconds since the epoch.
    pub mtime: i64,
}

/// Errors reaching or reading a source.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("the folder {} does not exist", .0.display())]
    MissingFolder(PathBuf),
    #[error("{path}: {source}", path = .path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "refused the file name `{0}`: it contains `..`, a control character or another unsafe part"
    )]
    UnsafeName(String),
    #[error(
        "{path} changed while it was being copied (expected {expected} bytes, got {got}); it will be fetched again next run"
    )]
    SizeMismatch {
        path: String,
        expected: u64,
        got: u64,
    },
    /// A remote source's own message (already fit to show).
    #[error("{0}")]
    Remote(String),
}

impl RemoteFile {
    /// Writes one downloaded chunk of this file to `out`, naming the file if that fails.
    pub fn write_chunk(&self, out: &mut dyn Write, bytes: &[u8]) -> Result<(), SourceError> {
        out.write_all(bytes).map_err(|e| SourceError::Io {
            path: PathBuf::from(&self.path),
            source: e,
        })
    }

    /// `Ok(got)` when the whole file arrived as listed; a size mismatch otherwise (the file
    /// changed or the transfer was cut), so it is never landed half-written.
    pub fn check_size(&self, got: u64) -> Result<u64, SourceError> {
        if got == self.size {
            Ok(got)
        } else {
            Err(SourceError::SizeMismatch {
                path: self.path.clone(),
                expected: self.size,
                got,
            })
        }
    }
}

/// A place raw files come from.
pub trait Source: Send + Sync {
    /// Stable identity for the manifest (`folder:/srv/clever`).
    fn origin(&self) -> String;
    /// Every file under the source root.
    fn list(&self) -> Result<Vec<RemoteFile>, SourceError>;
    /// Streams one file's bytes into `out`; returns the number of bytes.
    fn fetch(&self, file: &RemoteFile, out: &mut dyn Write) -> Result<u64, SourceError>;
    /// Where the file is on this machine, when the source is a local folder: landing then has
    /// the operating system copy it, which on a filesystem that clones blocks (XFS, btrfs)
    /// writes no bytes. `None` (remote sources) streams the file through [`Source::fetch`].
    fn local_path(&self, _file: &RemoteFile) -> Option<std::path::PathBuf> {
        None
    }
}

/// Rejects names that could escape the landing folder or confuse a terminal.
pub fn check_name(path: &str) -> Result<(), SourceError> {
    let bad = path.is_empty()
        || path.starts_with('/')
        || path.contains('\\')
        || path
            .split('/')
            .any(|p| p.is_empty() || p == "." || p == "..")
        || path.chars().any(|c| c.is_control())
        || path.contains(':');
    if bad {
        Err(SourceError::UnsafeName(path.escape_debug().to_string()))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_names_are_refused() {
        assert!(check_name("daily-participation/Students/a.csv").is_ok());
        for bad in [
            "../x.csv",
            "a/../../b",
            "/etc/passwd",
            "a\u{1b}[2J.csv",
            "a//b",
            "c:x",
            "a\\b",
        ] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}
