//! The lake's audit log (`_edlake/audit.jsonl`): who read or exported restricted data or the
//! salt, what, and where it went. Each line holds the SHA-256 of the line before it, and
//! `_edlake/audit.head` the hash and count of the last one, so an edited, inserted or dropped
//! line is found by [`verify`] (run on every read of the log and by `edlake audit verify`).
//! "Who" comes from the operating system (the process's account), not from an environment
//! variable anyone can set.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::lake::{Lake, LakeError};

/// One audit entry (a line of `_edlake/audit.jsonl`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub at: chrono::DateTime<chrono::Utc>,
    /// The OS account name.
    pub user: String,
    /// The OS account id (Unix uid), when the platform has one.
    #[serde(default)]
    pub uid: Option<u32>,
    /// The Windows account's security identifier (`S-1-5-21-…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// The machine's name.
    #[serde(default)]
    pub host: String,
    pub action: String,
    pub table: String,
    /// What exactly: the filter or rows read, the file an export went to.
    #[serde(default)]
    pub detail: String,
    /// SHA-256 (hex) of the previous line's text; empty on the first line.
    #[serde(default)]
    pub prev: String,
}

/// What was recorded: the action, the table (or `salt`), and details.
#[derive(Debug, Clone, Default)]
pub struct Access<'a> {
    pub action: &'a str,
    pub table: &'a str,
    pub detail: String,
}

/// The account running this process, as the OS knows it (never from `$USER`): the name of the
/// uid on Unix; on Windows the account and SID of the process's token, as `whoami /user` reads
/// them.
pub fn current_user() -> (String, Option<u32>) {
    #[cfg(unix)]
    {
        // SAFETY: getuid cannot fail; getpwuid_r writes into the buffers given.
        let uid = unsafe { libc::getuid() };
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut buf = vec![0 as libc::c_char; 4096];
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let rc =
            unsafe { libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut result) };
        let name = if rc == 0 && !result.is_null() && !pwd.pw_name.is_null() {
            // SAFETY: pw_name points into `buf`, NUL-terminated, as getpwuid_r promises.
            unsafe { std::ffi::CStr::from_ptr(pwd.pw_name) }
                .to_string_lossy()
                .to_string()
        } else {
            format!("uid {uid}")
        };
        (name, Some(uid))
    }
    #[cfg(not(unix))]
    {
        match windows_account() {
            Some((name, _)) => (name, None),
            None => ("unknown account".into(), None),
        }
    }
}

/// The Windows account (`DOMAIN\user`) and SID of this process's token.
#[cfg(windows)]
fn windows_account() -> Option<(String, String)> {
    let o = std::process::Command::new("whoami")
        .args(["/user", "/fo", "csv", "/nh"])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&o.stdout);
    let mut cells = text.trim().split("\",\"");
    let name = cells.next()?.trim_matches('"').to_string();
    let sid = cells.next()?.trim_matches('"').to_string();
    Some((name, sid))
}

#[cfg(not(windows))]
fn windows_account() -> Option<(String, String)> {
    None
}

fn host_name() -> String {
    #[cfg(unix)]
    {
        let mut buf = [0u8; 256];
        // SAFETY: gethostname writes at most `buf.len()` bytes into `buf`.
        let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
        if rc == 0 {
            let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
            return String::from_utf8_lossy(&buf[..end]).to_string();
        }
        String::new()
    }
    #[cfg(not(unix))]
    {
        std::env::var("COMPUTERNAME").unwrap_or_default()
    }
}

fn log_path(lake: &Lake) -> PathBuf {
    lake.meta_dir().join("audit.jsonl")
}

fn head_path(lake: &Lake) -> PathBuf {
    lake.meta_dir().join("audit.head")
}

fn sha_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `_edlake/audit.head`: the last line's hash and the number of lines.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Head {
    last: String,
    lines: usize,
}

/// Appends an entry; refused (with the reason) when the log does not verify, so nothing is
/// added on top of a log that was tampered with.
pub fn record_access(lake: &Lake, access: &Access) -> Result<AuditEntry, LakeError> {
    let path = log_path(lake);
    // Appends from two processes at once must not both chain onto the same line.
    let lock_path = lake.meta_dir().join("audit.lock");
    let guard = crate::lake::lock_file(&lock_path)?;
    guard.lock().map_err(|e| LakeError::io(&lock_path, e))?;
    let lines = verified_lines(lake)?;
    let (user, uid) = current_user();
    let entry = AuditEntry {
        at: chrono::Utc::now(),
        user,
        uid,
        sid: windows_account().map(|(_, sid)| sid),
        host: host_name(),
        action: access.action.into(),
        table: access.table.into(),
        detail: access.detail.clone(),
        prev: lines.last().map(|l| sha_hex(l)).unwrap_or_default(),
    };
    let line = crate::lake::jsonfile::to_line(&path, &entry)?;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| LakeError::io(&path, e))?;
    f.write_all(format!("{line}\n").as_bytes())
        .and_then(|_| f.sync_data())
        .map_err(|e| LakeError::io(&path, e))?;
    let head = Head {
        last: sha_hex(&line),
        lines: lines.len() + 1,
    };
    crate::lake::jsonfile::write(&head_path(lake), &head)?;
    Ok(entry)
}

/// Appends an entry with no details (an unlock in the app, an export without a file name).
pub fn record(lake: &Lake, action: &str, table: &str) -> Result<AuditEntry, LakeError> {
    record_access(
        lake,
        &Access {
            action,
            table,
            detail: String::new(),
        },
    )
}

/// All audit entries, oldest first, after checking the chain.
pub fn entries(lake: &Lake) -> Result<Vec<AuditEntry>, LakeError> {
    verified_lines(lake)?
        .iter()
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| corrupt(&log_path(lake), i + 1, &e.to_string()))
        })
        .collect()
}

/// Checks the whole chain; returns the number of entries.
pub fn verify(lake: &Lake) -> Result<usize, LakeError> {
    Ok(verified_lines(lake)?.len())
}

fn corrupt(path: &Path, line: usize, why: &str) -> LakeError {
    LakeError::Corrupt {
        path: path.to_path_buf(),
        message: format!(
            "line {line} {why}: the audit log was changed outside edlake (keep this copy for \
             your records; `edlake audit verify` checks it)"
        ),
    }
}

/// The log's lines, each checked against the hash the next one holds and the last against
/// `audit.head`.
fn verified_lines(lake: &Lake) -> Result<Vec<String>, LakeError> {
    let path = log_path(lake);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(LakeError::io(&path, e)),
    };
    let lines: Vec<String> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    let mut prev = String::new();
    // Lines written before the chain existed (no `prev` field) may open the log.
    let mut legacy = true;
    for (i, l) in lines.iter().enumerate() {
        let v: serde_json::Value =
            serde_json::from_str(l).map_err(|_| corrupt(&path, i + 1, "is not an entry"))?;
        match v.get("prev").and_then(|p| p.as_str()) {
            None if legacy => {}
            None => return Err(corrupt(&path, i + 1, "has no link to the line before it")),
            Some(p) => {
                legacy = false;
                if p != prev {
                    return Err(corrupt(
                        &path,
                        i + 1,
                        "does not follow the line before it (a line was edited, added or removed)",
                    ));
                }
            }
        }
        prev = sha_hex(l);
    }
    let head: Option<Head> = crate::lake::jsonfile::read(&head_path(lake))?;
    match head {
        Some(h) if h.lines != lines.len() || h.last != prev => Err(corrupt(
            &path,
            lines.len(),
            &format!(
                "is not the last entry edlake wrote ({} lines now, {} written)",
                lines.len(),
                h.lines
            ),
        )),
        None if !legacy => Err(corrupt(&path, lines.len(), "has lost its head record")),
        _ => Ok(lines),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chain_finds_an_edited_an_inserted_and_a_dropped_line() {
        let dir = tempfile::tempdir().unwrap();
        let (lake, _) = Lake::init(dir.path()).unwrap();
        for t in ["a", "b", "c"] {
            record(&lake, "unlock", t).unwrap();
        }
        assert_eq!(verify(&lake).unwrap(), 3);
        let e = entries(&lake).unwrap();
        assert_eq!(e[1].table, "b");
        assert!(!e[1].user.is_empty() && e[1].uid.is_some());
        let path = lake.meta_dir().join("audit.jsonl");
        let good = std::fs::read_to_string(&path).unwrap();

        // Someone else's name on line 2.
        let user = &e[1].user;
        std::fs::write(
            &path,
            good.replacen(
                &format!("\"user\":\"{user}\""),
                "\"user\":\"principal_smith\"",
                2,
            ),
        )
        .unwrap();
        let err = verify(&lake).unwrap_err().to_string();
        assert!(
            err.contains("audit.jsonl") && err.contains("changed outside edlake"),
            "{err}"
        );
        // The last line dropped.
        let two: String = good.lines().take(2).map(|l| format!("{l}\n")).collect();
        std::fs::write(&path, two).unwrap();
        assert!(verify(&lake).is_err());
        // Nothing is appended to a log that does not verify.
        assert!(record(&lake, "unlock", "d").is_err());
        std::fs::write(&path, &good).unwrap();
        assert_eq!(verify(&lake).unwrap(), 3);
    }

    #[test]
    fn the_user_comes_from_the_os_not_the_environment() {
        // SAFETY: this test's process changes its own environment; nothing reads USER at once.
        unsafe { std::env::set_var("USER", "principal_smith") };
        let (name, _) = current_user();
        assert_ne!(name, "principal_smith");
    }
}
