//! The lake's audit log: who unlocked which restricted table, and when.

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
    crate::lake::jsonfile::append_line(&lake.meta_dir().join("audit.jsonl"), &entry)?;
    Ok(entry)
}

/// All audit entries, oldest first.
pub fn entries(lake: &Lake) -> Result<Vec<AuditEntry>, LakeError> {
    crate::lake::jsonfile::read_lines(&lake.meta_dir().join("audit.jsonl"))
}
