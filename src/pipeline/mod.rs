//! Land → ingest → refine as jobs that take a progress sender and a cancel token and return a
//! run report. The GUI, the CLI and the tests call the same functions.

mod builder;
pub mod dayorder;
pub mod ingest;
pub mod job;
pub mod land;
pub mod merge;
pub mod parse;
pub mod records;
pub mod report;
pub mod roster;
pub mod run;
pub mod values;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

pub use report::{RunReport, RunStatus};

use crate::lake::LakeError;
use crate::pseudo::PseudoError;
use crate::secrets::SecretError;

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
    #[error("{file} is not a {what}: {detail}")]
    WrongFormat {
        file: String,
        what: String,
        detail: String,
    },
    #[error("{file}, line {line}: {message}")]
    Read {
        file: String,
        line: u64,
        message: String,
    },
    #[error("the input folder {} does not exist", .0.display())]
    NoInput(PathBuf),
    #[error("{0}")]
    Input(String),
    #[error(
        "cancelled; the lake still holds its previous version and the next run picks up where this one stopped"
    )]
    Cancelled,
    #[error("data processing failed: {0}")]
    Polars(#[from] polars::error::PolarsError),
}

impl PipelineError {
    /// Wraps an I/O error with its path.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// Whether the user's input (files, folders, arguments) is at fault rather than the system.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            Self::WrongFormat { .. } | Self::Read { .. } | Self::NoInput(_) | Self::Input(_)
        )
    }
}

/// Runs `f` over `items` on one worker thread per core, each taking the next item when done;
/// results come back in input order. Plain threads rather than the global rayon pool: polars
/// runs its own pool inside `f`, and a rayon worker waiting on it would start more items,
/// holding many files in memory at once.
pub fn parallel_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(1, items.len().max(1));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut out: Vec<(usize, R)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::SeqCst);
                        let Some(item) = items.get(i) else { break };
                        mine.push((i, f(item)));
                    }
                    mine
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, r)| r).collect()
}

/// What every stage of a run works with.
#[derive(Clone, Copy)]
pub struct JobCtx<'a> {
    pub lake: &'a crate::lake::Lake,
    pub module: &'a dyn crate::modules::Module,
    pub progress: &'a Progress,
    pub cancel: &'a Cancel,
}

/// A cancel token shared between the caller and the job.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    /// Asks the job to stop at its next safe point.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether cancel was asked for.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// Returns `Err(Cancelled)` once cancel was asked for.
    pub fn check(&self) -> Result<(), PipelineError> {
        if self.is_cancelled() {
            Err(PipelineError::Cancelled)
        } else {
            Ok(())
        }
    }
}

/// The stages of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    Land,
    Ingest,
    Refine,
}

impl Stage {
    /// Display name.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Land => "land",
            Stage::Ingest => "ingest",
            Stage::Refine => "refine",
        }
    }
}

/// What a running job reports as it goes.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A stage starts with this much work.
    StageStarted {
        stage: Stage,
        files: u64,
        bytes: u64,
    },
    /// Work done so far in a stage (cumulative).
    Progress {
        stage: Stage,
        files_done: u64,
        bytes_done: u64,
        rows_done: u64,
    },
    /// A stage finished.
    StageFinished { stage: Stage },
    /// A line for the run log (never holds raw student data).
    Log(String),
    /// Something the user should look at; the run goes on.
    Warning(String),
}

/// Where a job sends its events; sending never blocks and never fails the job.
#[derive(Clone, Default)]
pub struct Progress {
    tx: Option<crossbeam_channel::Sender<Event>>,
    notify: Option<Arc<dyn Fn() + Send + Sync>>,
}

impl Progress {
    /// Sends events into a channel.
    pub fn channel(tx: crossbeam_channel::Sender<Event>) -> Self {
        Self {
            tx: Some(tx),
            notify: None,
        }
    }

    /// Also calls `notify` after each event (the GUI asks for a repaint there).
    pub fn with_notify(mut self, notify: Arc<dyn Fn() + Send + Sync>) -> Self {
        self.notify = Some(notify);
        self
    }

    /// Sends an event.
    pub fn send(&self, e: Event) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(e);
        }
        if let Some(n) = &self.notify {
            n();
        }
    }

    /// Sends a log line.
    pub fn log(&self, s: impl Into<String>) {
        self.send(Event::Log(s.into()));
    }
}
