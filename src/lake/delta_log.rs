//! What a Delta transaction log says without opening the table: whether a folder holds one.

use std::path::Path;

/// Whether a folder holds a Delta table: a `_delta_log` with a commit (without one, the first
/// commit never landed — a crash while creating it — and the next write creates the table).
pub fn is_table(path: &Path) -> bool {
    let commit = |n: &str| {
        n.strip_suffix(".json")
            .or_else(|| n.strip_suffix(".checkpoint.parquet"))
            .is_some_and(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
    };
    std::fs::read_dir(path.join("_delta_log")).is_ok_and(|rd| {
        rd.flatten()
            .any(|e| commit(&e.file_name().to_string_lossy()))
    })
}
