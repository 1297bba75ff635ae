//! Settling written lake files: each data file is made durable (fsync) by a background thread
//! while its writer goes on to the next file, and a Delta commit first waits until every file
//! under its table has settled.
//!
//! Durable before the commit, because the commit names the files: after a power cut the log must
//! never point at data the disk never got, and a disk that fills up while the kernel writes the
//! file back says so at the fsync — the commit then fails naming the file instead of committing
//! it. Files nobody reads again soon (Ingested, stage3, lookups; landed copies once ingested)
//! then leave the page cache, so a run's gigabytes do not push the rest of the computer's cached
//! files out of memory, and the next files written reuse their pages (on a virtual machine that
//! hands freed memory back to its host, writing into fresh pages took four times as long).
//! General tables stay cached: stage3, the charts and the preview read them next.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, LazyLock, Mutex, MutexGuard};

use super::LakeError;

/// Files written but not yet settled that a writer may run ahead of the background thread:
/// beyond this, writing waits (dirty pages stay bounded when the disk is the slower side).
const QUEUE: usize = 16;

/// Whether a settled file's pages stay in the OS cache.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Cache {
    /// Read again soon (general tables).
    Keep,
    /// Not read again soon: let go.
    Drop,
}

/// Files being settled, and the failures not yet reported to a commit.
#[derive(Default)]
struct State {
    pending: Vec<PathBuf>,
    failed: Vec<(PathBuf, std::io::Error)>,
}

struct Settler {
    queue: Option<crossbeam_channel::Sender<(PathBuf, File, Cache)>>,
    state: Mutex<State>,
    changed: Condvar,
}

static SETTLER: LazyLock<Settler> = LazyLock::new(|| {
    let (tx, rx) = crossbeam_channel::bounded::<(PathBuf, File, Cache)>(QUEUE);
    let spawned = std::thread::Builder::new()
        .name("edlake-settle".into())
        .spawn(move || {
            for (path, file, cache) in rx {
                let result = settle(&file, cache);
                drop(file);
                SETTLER.finish(&path, result);
            }
        });
    Settler {
        // Without the thread (the system refused one) files are settled by their writers.
        queue: spawned.ok().map(|_| tx),
        state: Mutex::new(State::default()),
        changed: Condvar::new(),
    }
});

impl Settler {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent whatever panicked while holding it (plain pushes and
        // removals), so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn finish(&self, path: &Path, result: std::io::Result<()>) {
        let mut st = self.lock();
        if let Some(i) = st.pending.iter().position(|p| p == path) {
            st.pending.swap_remove(i);
        }
        if let Err(e) = result {
            st.failed.push((path.to_path_buf(), e));
        }
        drop(st);
        self.changed.notify_all();
    }
}

/// Hands a just-written lake file (at `path`) to the background thread to settle.
pub fn later(path: &Path, file: File, cache: Cache) {
    let s = &*SETTLER;
    s.lock().pending.push(path.to_path_buf());
    let unsent = match &s.queue {
        Some(tx) => (tx.send((path.to_path_buf(), file, cache)).err()).map(|e| e.into_inner().1),
        None => Some(file),
    };
    if let Some(file) = unsent {
        s.finish(path, settle(&file, cache));
    }
}

/// Waits until every file handed over under `dir` has settled; the first failure among them is
/// the error (with its file's path), so nothing that failed is committed.
pub fn wait_for(dir: &Path) -> Result<(), LakeError> {
    let s = &*SETTLER;
    let mut st = s.lock();
    while st.pending.iter().any(|p| p.starts_with(dir)) {
        st = s.changed.wait(st).unwrap_or_else(|p| p.into_inner());
    }
    let (mine, others): (Vec<_>, Vec<_>) = std::mem::take(&mut st.failed)
        .into_iter()
        .partition(|(p, _)| p.starts_with(dir));
    st.failed = others;
    match mine.into_iter().next() {
        Some((path, e)) => Err(LakeError::io(&path, e)),
        None => Ok(()),
    }
}

/// Makes a written file durable; with [`Cache::Drop`], then advises the OS that its pages need
/// not stay cached.
pub fn settle(f: &File, cache: Cache) -> std::io::Result<()> {
    f.sync_data()?;
    if cache == Cache::Drop {
        let_go(f);
    }
    Ok(())
}

/// Advises the OS that the cached pages of `f` (read or written, and durable) are not needed
/// again soon, so the next files written reuse them: on a VM that hands freed memory back to
/// its host, pages reused at once are several times cheaper to fill than fresh ones. Advice
/// only — pages not yet written back stay, and elsewhere than on Linux it does nothing.
#[cfg_attr(not(target_os = "linux"), allow(unused_variables))]
pub fn let_go(f: &File) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: the descriptor stays open for the whole call, which only advises the kernel
        // about cached pages and never touches this process's memory.
        let rc = unsafe { libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
        // A refusal changes nothing that matters: the pages simply stay cached.
        let _ = rc;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_waits_for_its_files_and_reports_their_failures() {
        let dir = tempfile::tempdir().unwrap();
        let table = dir.path().join("t");
        std::fs::create_dir_all(table.join("year=2025")).unwrap();
        let mut paths = Vec::new();
        for i in 0..40 {
            let p = table.join(format!("year=2025/f{i}.parquet"));
            std::fs::write(&p, vec![7u8; 1 << 16]).unwrap();
            later(&p, File::open(&p).unwrap(), Cache::Drop);
            paths.push(p);
        }
        wait_for(&table).unwrap();
        let st = SETTLER.lock();
        assert!(!st.pending.iter().any(|p| p.starts_with(&table)));
        drop(st);
        // A failure is kept for the table it belongs to, and reported once.
        let other = dir.path().join("other");
        SETTLER.lock().pending.push(table.join("late.parquet"));
        SETTLER.finish(
            &table.join("late.parquet"),
            Err(std::io::Error::other("disk full")),
        );
        assert!(
            wait_for(&other).is_ok(),
            "another table's failure is not ours"
        );
        let e = wait_for(&table).unwrap_err().to_string();
        assert!(e.contains("late.parquet") && e.contains("disk full"), "{e}");
        assert!(wait_for(&table).is_ok(), "reported once");
        for p in paths {
            assert_eq!(std::fs::read(p).unwrap().len(), 1 << 16);
        }
    }
}
