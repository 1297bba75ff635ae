//! The lake-wide write lock: an OS file lock on `_edlake/lock`, with `lock.info` saying who
//! holds it.

use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{Lake, LakeError};

/// How long a lock that only a just-started child process still holds is waited for (see
/// [`Lake::lock`]); starting a program takes milliseconds.
const CHILD_GRACE: Duration = Duration::from_secs(2);

thread_local! {
    /// Lake roots whose write lock this thread holds.
    static HELD: std::cell::RefCell<Vec<PathBuf>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Lake roots whose write lock some thread of this process holds.
static PROCESS_HELD: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn held_by_process(root: &Path) -> bool {
    PROCESS_HELD
        .lock()
        .map(|h| h.iter().any(|p| p == root))
        // A thread panicked while it held the registry: say "held", the safe answer.
        .unwrap_or(true)
}

impl Lake {
    /// Takes the lake-wide write lock; a second writer gets [`LakeError::Busy`] at once. Every
    /// write to the lake happens under it. A thread that already holds it gets a nested guard:
    /// a writer that calls another (a roster sync rebuilding stage3) keeps the lock throughout,
    /// with no gap another run could write in.
    ///
    /// A program started by another thread (opening a folder, the scheduler's `crontab`) gets
    /// a copy of every open file until it has started, the lock file included, and so keeps
    /// a lock this process has just released for a few milliseconds. When no thread here holds
    /// the lock and `lock.info` names this process, the lock is waited for (up to
    /// [`CHILD_GRACE`]) instead of refusing a run the lake is in fact free for.
    pub fn lock(&self, what: &str) -> Result<LakeLock, LakeError> {
        if HELD.with(|h| h.borrow().contains(&self.root)) {
            return Ok(LakeLock {
                _file: None,
                root: None,
            });
        }
        let path = self.meta_dir().join("lock");
        let info_path = self.meta_dir().join("lock.info");
        let file = lock_file(&path)?;
        let started = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) => {
                    let holder = std::fs::read_to_string(&info_path)
                        .unwrap_or_else(|_| "another edlake run holds the lock".into());
                    let ours = format!("(process {})", std::process::id());
                    let child_copy = holder.contains(&ours) && !held_by_process(&self.root);
                    if !child_copy || started.elapsed() > CHILD_GRACE {
                        return Err(LakeError::Busy(holder.trim().to_string()));
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(TryLockError::Error(e)) => return Err(LakeError::io(&path, e)),
            }
        }
        let info = format!(
            "`{what}` (process {}) started at {}",
            std::process::id(),
            chrono::Local::now().format("%Y-%m-%d %H:%M:%S")
        );
        // Best effort: the lock itself is the file lock, this only explains who holds it.
        let _ = std::fs::write(info_path, info);
        HELD.with(|h| h.borrow_mut().push(self.root.clone()));
        if let Ok(mut h) = PROCESS_HELD.lock() {
            h.push(self.root.clone());
        }
        Ok(LakeLock {
            _file: Some(file),
            root: Some(self.root.clone()),
        })
    }
}

/// Opens (creating it and its folder) a file that serves as a lock; the caller takes the lock.
pub fn lock_file(path: &Path) -> Result<File, LakeError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| LakeError::io(dir, e))?;
    }
    File::options()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| LakeError::io(path, e))
}

/// Held while a run writes to the lake; released on drop (also when the process dies).
#[derive(Debug)]
pub struct LakeLock {
    /// `None` for a nested guard: the outer one holds the file lock.
    _file: Option<File>,
    root: Option<PathBuf>,
}

impl Drop for LakeLock {
    fn drop(&mut self) {
        if let Some(root) = self.root.take() {
            HELD.with(|h| h.borrow_mut().retain(|p| p != &root));
            // Out of the registry before the file closes: a thread that then finds the file
            // still locked knows no thread here holds it.
            if let Ok(mut h) = PROCESS_HELD.lock()
                && let Some(i) = h.iter().position(|p| p == &root)
            {
                h.swap_remove(i);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_is_idempotent_and_lock_is_exclusive() {
        let dir = tempfile::tempdir().unwrap();
        let (lake, created) = Lake::init(dir.path()).unwrap();
        assert!(created);
        let (again, created) = Lake::init(dir.path()).unwrap();
        assert!(!created);
        assert_eq!(lake.info().id, again.info().id);
        let held = lake.lock("test run").unwrap();
        // Another thread (as another process) is refused; this one nests.
        let err = std::thread::scope(|s| s.spawn(|| again.lock("second").map(|_| ())).join())
            .unwrap()
            .unwrap_err()
            .to_string();
        assert!(err.contains("busy") && err.contains("test run"), "{err}");
        assert!(lake.lock("nested").is_ok());
        drop(held);
        assert!(again.lock("third").is_ok());
    }

    #[test]
    fn a_lock_left_only_in_a_starting_child_is_waited_for() {
        let dir = tempfile::tempdir().unwrap();
        let (lake, _) = Lake::init(dir.path()).unwrap();
        let held = lake.lock("roster sync").unwrap();
        // What a child process started by another thread holds until it has started: a copy
        // of the open lock file, which keeps the file lock after this process releases it.
        let child_copy = held._file.as_ref().unwrap().try_clone().unwrap();
        drop(held);
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            drop(child_copy);
        });
        let started = Instant::now();
        let again = lake.lock("rebuild stage3");
        assert!(again.is_ok(), "{:?}", again.err());
        assert!(started.elapsed() >= Duration::from_millis(250));
        t.join().unwrap();
        drop(again);
        // Another process's lock is still refused at once.
        std::fs::write(lake.meta_dir().join("lock.info"), "`x` (process 1) started").unwrap();
        let other = lock_file(&lake.meta_dir().join("lock")).unwrap();
        other.try_lock().unwrap();
        let started = Instant::now();
        let err = lake.lock("y").unwrap_err().to_string();
        assert!(err.contains("process 1"), "{err}");
        assert!(started.elapsed() < Duration::from_millis(250));
    }
}
