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
    write_atomic(path, &to_bytes(path, value)?)
}

/// `value` as pretty JSON for the file at `path`. edlake's records always serialize; were one
/// ever not to, the error names the file and the file is left as it was — never replaced by an
/// empty one.
pub fn to_bytes<T: Serialize>(path: &Path, value: &T) -> Result<Vec<u8>, LakeError> {
    serde_json::to_vec_pretty(value).map_err(|e| unwritable(path, e))
}

/// `value` as one line of JSON for the log at `path` (without the line end); see [`to_bytes`].
pub fn to_line<T: Serialize>(path: &Path, value: &T) -> Result<String, LakeError> {
    serde_json::to_string(value).map_err(|e| unwritable(path, e))
}

fn unwritable(path: &Path, e: serde_json::Error) -> LakeError {
    LakeError::Invalid(format!("{} could not be written: {e}", path.display()))
}

/// Every entry of a JSON-lines log, oldest first (none when the log does not exist). Only a last
/// line cut short by a crash (no line end) is passed over; any other line that does not read is
/// an error naming the file and line: a log is evidence, and a dropped entry must not go unseen.
pub fn read_lines<T: DeserializeOwned>(path: &Path) -> Result<Vec<T>, LakeError> {
    let s = match std::fs::read_to_string(path) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(LakeError::io(path, e)),
    };
    let torn_tail = !s.is_empty() && !s.ends_with('\n');
    let count = s.lines().count();
    let mut out = Vec::with_capacity(count);
    for (i, l) in s.lines().enumerate() {
        if l.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(l) {
            Ok(v) => out.push(v),
            Err(_) if torn_tail && i + 1 == count => {}
            Err(e) => {
                return Err(LakeError::Corrupt {
                    path: path.to_path_buf(),
                    message: format!("line {} is not a valid entry ({e})", i + 1),
                });
            }
        }
    }
    Ok(out)
}

/// Appends one entry to a JSON-lines log and waits until it is on disk. A line cut short by an
/// earlier crash is closed first, so it cannot swallow this entry.
pub fn append_line<T: Serialize>(path: &Path, value: &T) -> Result<(), LakeError> {
    use std::io::{Read, Seek, SeekFrom};
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| LakeError::io(dir, e))?;
    }
    let io = |e| LakeError::io(path, e);
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        .open(path)
        .map_err(io)?;
    let mut line = to_line(path, value)?;
    line.push('\n');
    let len = f.metadata().map_err(io)?.len();
    if len > 0 {
        let mut last = [0u8; 1];
        f.seek(SeekFrom::Start(len - 1)).map_err(io)?;
        f.read_exact(&mut last).map_err(io)?;
        if last[0] != b'\n' {
            line.insert(0, '\n');
        }
    }
    f.write_all(line.as_bytes()).map_err(io)?;
    f.sync_data().map_err(io)
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
        // The next entry closes the torn line: the log stays readable, the torn line is an error.
        append_line(&log, &9u32).unwrap();
        let err = read_lines::<u32>(&log).unwrap_err().to_string();
        assert!(err.contains("line 3") && err.contains("log.jsonl"), "{err}");
        std::fs::write(&doc, "not json").unwrap();
        assert!(read::<Vec<u32>>(&doc).is_err());
    }
}
