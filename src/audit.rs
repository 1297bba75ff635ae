//! The lake's audit log: who unlocked which restricted table, and when.

use std::io::Write;

use serde::{Deserialize, Serialize};

use crate::lake::{Lake, LakeError};

/// One audit entry (a line of `_edlake/audit.jsonl`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub at: chrono::DateTime<chrono::Utc>,
    pub user: String,
    pub action: String,
    pub table: String,
}

/// The name of the person at the keyboard, as the OS knows them.
pub fn current_user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".into())
}

/// Appends an entry to the lake's audit log.
pub fn record(lake: &Lake, action: &str, table: &str) -> Result<AuditEntry, LakeError> {
    let entry = AuditEntry {
        at: chrono::Utc::now(),
        user: current_user(),
        action: action.into(),
        table: table.into(),
    };
    let path = lake.meta_dir().join("audit.jsonl");
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| LakeError::io(&path, e))?;
    let line = serde_json::to_string(&entry).unwrap_or_default();
    writeln!(f, "{line}").map_err(|e| LakeError::io(&path, e))?;
    Ok(entry)
}

/// All audit entries, oldest first.
pub fn entries(lake: &Lake) -> Result<Vec<AuditEntry>, LakeError> {
    let path = lake.meta_dir().join("audit.jsonl");
    match std::fs::read_to_string(&path) {
        Ok(s) => Ok(s
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(LakeError::io(&path, e)),
    }
}
