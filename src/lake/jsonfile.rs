//! edlake's own small files in `_edlake/`: JSON documents (saved definitions and settings of a
//! lake) and JSON-lines logs (audit, roster operations, identity builds).

use std::io::Write;
use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{LakeError, write_atomic};

/// Reads a JSON document; `None` when the file does not exist.
pub fn read<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, LakeError> {
    match std::fs::read(path) {
        Ok(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|e| LakeError::Corrupt {
                path: path.to_path_buf(),
                message: e.to_string(),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(LakeError::io(path, e)),
    }
}

/// Writes a JSON document atomically (pretty, so people can read it).
pub fn write<T: Serialize>(path: &Path, value: &T) -> Result<(), LakeError> {
    let bytes = serde_json::to_vec_pretty(value).unwrap_or_default();
    write_atomic(path, &bytes)
}

/// Every entry of a JSON-lines log, oldest first (none when the log does not exist). A line cut
/// short by a crash is skipped.
pub fn read_lines<T: DeserializeOwned>(path: &Path) -> Result<Vec<T>, LakeError> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(s
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(LakeError::io(path, e)),
    }
}

/// Appends one entry to a JSON-lines log.
pub fn append_line<T: Serialize>(path: &Path, value: &T) -> Result<(), LakeError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| LakeError::io(dir, e))?;
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| LakeError::io(path, e))?;
    let line = serde_json::to_string(value).unwrap_or_default();
    writeln!(f, "{line}").map_err(|e| LakeError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_and_logs_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let doc = dir.path().join("a/b.json");
        assert_eq!(read::<Vec<u32>>(&doc).unwrap(), None);
        write(&doc, &vec![1u32, 2]).unwrap();
        assert_eq!(read::<Vec<u32>>(&doc).unwrap(), Some(vec![1, 2]));
        let log = dir.path().join("c/log.jsonl");
        assert!(read_lines::<u32>(&log).unwrap().is_empty());
        append_line(&log, &7u32).unwrap();
        append_line(&log, &8u32).unwrap();
        std::fs::write(&log, std::fs::read_to_string(&log).unwrap() + "{\"cut").unwrap();
        assert_eq!(read_lines::<u32>(&log).unwrap(), vec![7, 8]);
        std::fs::write(&doc, "not json").unwrap();
        assert!(read::<Vec<u32>>(&doc).is_err());
    }
}
