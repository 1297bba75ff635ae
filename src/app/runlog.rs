//! A scheduled run's log: `_edlake/logs/run-YYYYMMDD-HHMMSSmmm.log`, one per run, kept for the
//! lake's `keep_logs_days` (older ones are removed when a new one starts). It holds what the run
//! did — reports' summaries, warnings, errors — never a student's value (run reports hold none).

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::lake::{Lake, LakeError};

/// An open run log.
pub struct RunLog {
    path: PathBuf,
    file: std::fs::File,
}

impl RunLog {
    /// Starts a new log in the lake, removing logs older than `keep_days`.
    pub fn start(lake: &Lake, keep_days: u32) -> Result<RunLog, LakeError> {
        let dir = logs_dir(lake);
        std::fs::create_dir_all(&dir).map_err(|e| LakeError::io(&dir, e))?;
        prune(&dir, keep_days)?;
        // Named by the time to the millisecond, so names sort as the runs started.
        let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S%3f").to_string();
        let mut path = dir.join(format!("run-{stamp}.log"));
        let mut n = 1;
        while path.exists() {
            n += 1;
            path = dir.join(format!("run-{stamp}-{n}.log"));
        }
        let file = std::fs::OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(&path)
            .map_err(|e| LakeError::io(&path, e))?;
        Ok(RunLog { path, file })
    }

    /// Adds a timestamped line (and flushes it, so a crash keeps what came before).
    pub fn line(&mut self, text: &str) {
        let stamp = chrono::Local::now().format("%Y-%m-%d %H:%M:%S");
        // Best effort: a log that cannot be written must not stop the run it describes.
        let _ = writeln!(self.file, "{stamp}  {text}");
        let _ = self.file.flush();
    }

    /// Where the log is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The lake's run logs folder.
pub fn logs_dir(lake: &Lake) -> PathBuf {
    lake.meta_dir().join("logs")
}

/// The run logs, newest first.
pub fn list(lake: &Lake) -> Vec<PathBuf> {
    let mut logs: Vec<PathBuf> = std::fs::read_dir(logs_dir(lake))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| is_log(p))
        .collect();
    logs.sort();
    logs.reverse();
    logs
}

fn is_log(p: &Path) -> bool {
    p.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with("run-") && n.ends_with(".log"))
}

/// Removes run logs last written more than `keep_days` days ago.
fn prune(dir: &Path, keep_days: u32) -> Result<(), LakeError> {
    let keep = std::time::Duration::from_secs(u64::from(keep_days) * 86_400);
    let now = std::time::SystemTime::now();
    for e in std::fs::read_dir(dir)
        .map_err(|e| LakeError::io(dir, e))?
        .flatten()
    {
        let p = e.path();
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| now.duration_since(t).ok())
            .is_some_and(|age| age > keep);
        if is_log(&p) && old {
            std::fs::remove_file(&p).map_err(|e| LakeError::io(&p, e))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_are_kept_for_their_days_and_listed_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let (lake, _) = Lake::init(dir.path()).unwrap();
        let mut a = RunLog::start(&lake, 30).unwrap();
        a.line("first");
        std::thread::sleep(std::time::Duration::from_millis(5));
        let b = RunLog::start(&lake, 30).unwrap();
        assert_ne!(a.path(), b.path());
        assert_eq!(
            list(&lake),
            vec![b.path().to_path_buf(), a.path().to_path_buf()]
        );
        assert!(
            std::fs::read_to_string(a.path())
                .unwrap()
                .contains("  first\n")
        );
        // A log last written 40 days ago goes when the next run starts.
        let old = logs_dir(&lake).join("run-20200101-000000000.log");
        std::fs::write(&old, "old").unwrap();
        let past = std::time::SystemTime::now() - std::time::Duration::from_secs(40 * 86_400);
        std::fs::File::options()
            .write(true)
            .open(&old)
            .unwrap()
            .set_modified(past)
            .unwrap();
        let _c = RunLog::start(&lake, 30).unwrap();
        assert!(!old.exists());
        assert_eq!(list(&lake).len(), 3);
    }
}
