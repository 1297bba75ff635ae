//! Land → ingest → refine as jobs that take a progress sender and a cancel token and return a
//! run report. The GUI, the CLI and the tests call the same functions.

pub mod ingest;
pub mod job;
pub mod land;
pub mod merge;
pub mod report;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

pub use report::{Outcome, RunReport, RunStatus};

use crate::lake::LakeError;
use crate::pseudo::PseudoError;
use crate::secrets::SecretError;

pub use crate::progress::{Cancel, Event, HOLD_AT, Progress, Stage};

/// Errors that stop a run. Row-level problems are not errors: they go to quarantine.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Lake(#[from] LakeError),
    #[error(transparent)]
    Pseudo(#[from] PseudoError),
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error("{path}: {source}", path = .path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A file that is not the format, or a line that does not read.
    #[error(transparent)]
    Format(crate::formats::FormatError),
    #[error(transparent)]
    Module(#[from] crate::modules::ModuleError),
    #[error("the input folder {} does not exist", .0.display())]
    NoInput(PathBuf),
    #[error("{0}")]
    Input(String),
    #[error(transparent)]
    Source(crate::sources::SourceError),
    #[error(
        "cancelled; the lake still holds its previous version and the next run picks up where this one stopped"
    )]
    Cancelled,
    #[error("data processing failed: {0}")]
    Polars(#[from] polars::error::PolarsError),
    #[error(
        "an internal error stopped the run (details on standard error); nothing of it was committed \
         and the next run does the work again"
    )]
    WorkerPanicked,
    #[error(
        "the disk is full ({0}). Free space on the lake's drive and run again: the lake keeps its \
         last version and the next run finishes the work"
    )]
    DiskFull(Box<PipelineError>),
    #[error(
        "the rows committed, but the derived tables were not rebuilt ({0}); the next run rebuilds them"
    )]
    Derive(String),
}

impl From<crate::formats::FormatError> for PipelineError {
    fn from(e: crate::formats::FormatError) -> Self {
        use crate::formats::FormatError as F;
        match e {
            // One variant each for I/O, data and cancel, whichever layer they come from.
            F::Io { path, source } => PipelineError::Io { path, source },
            F::Data(e) => PipelineError::Polars(e),
            F::Cancelled => PipelineError::Cancelled,
            e @ (F::WrongFormat { .. } | F::Read { .. }) => PipelineError::Format(e),
        }
    }
}

impl From<crate::progress::Cancelled> for PipelineError {
    fn from(_: crate::progress::Cancelled) -> Self {
        PipelineError::Cancelled
    }
}

impl PipelineError {
    /// Wraps an I/O error with its path.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// How this error ends a run (and so the CLI's exit code).
    pub fn outcome(&self) -> Outcome {
        use crate::sources::SourceError;
        match self {
            Self::Format(_) | Self::NoInput(_) | Self::Input(_) | Self::Module(_) => {
                Outcome::BadInput
            }
            Self::Source(SourceError::MissingFolder(_) | SourceError::UnsafeName(_)) => {
                Outcome::BadInput
            }
            Self::Cancelled => Outcome::Cancelled,
            Self::Lake(e) => Outcome::of_lake(e),
            Self::Source(_)
            | Self::Pseudo(_)
            | Self::Secret(_)
            | Self::Io { .. }
            | Self::Polars(_)
            | Self::WorkerPanicked
            | Self::DiskFull(_)
            | Self::Derive(_) => Outcome::Failed,
        }
    }

    /// The same error, said as a full disk when that is what it is (the OS's "no space left"
    /// can arrive wrapped in a Parquet or Delta message).
    pub fn explain_disk_full(self) -> Self {
        fn io_full(e: &(dyn std::error::Error + 'static)) -> bool {
            let mut cur = Some(e);
            while let Some(e) = cur {
                if let Some(io) = e.downcast_ref::<std::io::Error>()
                    && (io.kind() == std::io::ErrorKind::StorageFull
                        || io.raw_os_error() == Some(28))
                {
                    return true;
                }
                cur = e.source();
            }
            false
        }
        let text = self.to_string();
        let full = io_full(&self)
            || text.contains("No space left on device")
            || text.contains("os error 28");
        match self {
            Self::DiskFull(_) => self,
            e if full => Self::DiskFull(Box::new(e)),
            e => e,
        }
    }
}

/// Runs `f` over `items` on one worker thread per core, each taking the next item when done;
/// results come back in input order ([`ordered_map`] keeping them all).
///
/// A panic in `f` fails the whole map (the other workers take no new item): a result missing
/// for one input must never let the caller pair results with the wrong inputs, or record a file
/// whose rows were never written as done.
pub fn parallel_map<T: Sync, R: Send>(
    items: &[T],
    f: impl Fn(&T) -> R + Sync,
) -> Result<Vec<R>, PipelineError> {
    let mut out = Vec::with_capacity(items.len());
    let Ok(()) = ordered_map(items, items.len(), f, |r| {
        out.push(r);
        Ok::<(), std::convert::Infallible>(())
    })?;
    Ok(out)
}

/// Test hook: while set, processing a landed file whose origin path contains this text panics,
/// as a bug would. Only tests set it; see `tests/it/faults.rs`.
#[doc(hidden)]
pub static PANIC_ON_FILE: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// Panics when [`PANIC_ON_FILE`] names `origin` (a fault a test injects).
pub(crate) fn injected_fault(origin: &str) {
    let hit = PANIC_ON_FILE
        .lock()
        .map(|g| g.as_deref().is_some_and(|p| origin.contains(p)))
        .unwrap_or(false);
    if hit {
        panic!("injected fault while processing {origin}");
    }
}

/// What every stage of a run works with.
#[derive(Clone, Copy)]
pub struct JobCtx<'a> {
    pub lake: &'a crate::lake::Lake,
    pub module: &'a dyn crate::modules::Module,
    pub progress: &'a Progress,
    pub cancel: &'a Cancel,
    /// Files, bytes and rows ingested so far by this run, over all its entities (the totals
    /// its progress events report, so a bar shows the whole run, not the current entity).
    pub done: &'a Counters,
}

/// Running totals of a run's ingest, shared by its entities' worker threads.
#[derive(Debug, Default)]
pub struct Counters {
    pub files: std::sync::atomic::AtomicU64,
    pub bytes: std::sync::atomic::AtomicU64,
    pub rows: std::sync::atomic::AtomicU64,
}

/// Runs `f` over `items` on one worker thread per core and hands each result to `sink` on the
/// calling thread, in item order, as soon as it and all before it are done — while the workers
/// already read the next items (at most `ahead` past the one being handed over, so memory stays
/// a few results). Reading and folding overlap instead of taking turns. `Ok(Err(e))` when
/// `sink` fails; a panic in `f` fails the whole map. Either way the workers take no new item.
///
/// Plain threads rather than the global rayon pool: polars runs its own pool inside `f`, and a
/// rayon worker waiting on it would start more items, holding many files in memory at once.
pub fn ordered_map<T: Sync, R: Send, E>(
    items: &[T],
    ahead: usize,
    f: impl Fn(&T) -> R + Sync,
    mut sink: impl FnMut(R) -> Result<(), E>,
) -> Result<Result<(), E>, PipelineError> {
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(1, items.len().max(1));
    let ahead = ahead.max(1);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let handed = std::sync::atomic::AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let (tx, rx) = std::sync::mpsc::channel::<(usize, std::thread::Result<R>)>();
    std::thread::scope(|s| {
        for _ in 0..workers {
            let (tx, next, handed, stop, f) = (tx.clone(), &next, &handed, &stop, &f);
            s.spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(item) = items.get(i) else { break };
                    // The item being handed over never waits here (it is below the bound).
                    while i >= handed.load(Ordering::SeqCst).saturating_add(ahead)
                        && !stop.load(Ordering::SeqCst)
                    {
                        std::thread::sleep(std::time::Duration::from_millis(1));
                    }
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(item)));
                    if r.is_err() {
                        // The map fails: the other workers take no new item.
                        stop.store(true, Ordering::SeqCst);
                    }
                    if tx.send((i, r)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        // Stops the workers however this ends, a panic in `sink` included (they would
        // otherwise wait for it forever, and the scope for them).
        let _stop = StopOnDrop(&stop);
        let mut waiting = std::collections::BTreeMap::new();
        let mut out = Ok(Ok(()));
        for want in 0..items.len() {
            let r = loop {
                if let Some(r) = waiting.remove(&want) {
                    break Some(r);
                }
                match rx.recv() {
                    Ok((i, r)) => {
                        waiting.insert(i, r);
                    }
                    // Every worker is gone with this item missing: one of them panicked.
                    Err(_) => break None,
                }
            };
            match r.map(|r| r.map(&mut sink)) {
                Some(Ok(Ok(()))) => handed.store(want + 1, Ordering::SeqCst),
                Some(Ok(Err(e))) => {
                    out = Ok(Err(e));
                    break;
                }
                Some(Err(_)) | None => {
                    out = Err(PipelineError::WorkerPanicked);
                    break;
                }
            }
        }
        out
    })
}

/// Sets its flag when dropped, also while unwinding.
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Results reach the sink in item order though later items finish first; a sink error and
    /// a panicking worker each end the map, and the workers never run far ahead of the sink.
    #[test]
    fn ordered_map_hands_over_in_order_and_stops_on_errors() {
        let items: Vec<u64> = (0..40).collect();
        let started = std::sync::atomic::AtomicUsize::new(0);
        let slow_first = |i: &u64| {
            started.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(std::time::Duration::from_millis(if i.is_multiple_of(5) {
                8
            } else {
                1
            }));
            i * 10
        };
        let mut seen = Vec::new();
        let r: Result<Result<(), ()>, _> = ordered_map(&items, 3, slow_first, |v| {
            // Items started so far: those handed over and at most `ahead` more.
            let handed = seen.len();
            assert!(started.load(Ordering::SeqCst) <= handed + 3, "ran ahead");
            seen.push(v);
            Ok(())
        });
        assert!(matches!(r, Ok(Ok(()))));
        assert_eq!(seen, items.iter().map(|i| i * 10).collect::<Vec<_>>());

        let mut n = 0;
        let r = ordered_map(
            &items,
            2,
            |i| *i,
            |v| {
                n += 1;
                if v == 7 { Err("stop at 7") } else { Ok(()) }
            },
        );
        assert!(matches!(r, Ok(Err("stop at 7"))));
        assert_eq!(n, 8);

        let r: Result<Result<(), ()>, _> = ordered_map(
            &items,
            2,
            |i| {
                assert!(*i != 5, "worker panics on item 5");
                *i
            },
            |_| Ok(()),
        );
        assert!(matches!(r, Err(PipelineError::WorkerPanicked)));

        // A panic in the sink reaches the caller; the workers waiting for it stop.
        let sink_panics = std::panic::catch_unwind(|| {
            ordered_map(
                &items,
                2,
                |i| *i,
                |v| -> Result<(), ()> {
                    assert!(v != 3, "the sink panics on item 3");
                    Ok(())
                },
            )
        });
        assert!(sink_panics.is_err());
    }
}
