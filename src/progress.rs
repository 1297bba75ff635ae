//! How a running job reports and is stopped: the [`Progress`] events it sends (stages, counts,
//! log lines) and the [`Cancel`] token it checks at safe points. Every layer that runs long
//! work (file readers, the pipeline, the derived tables, the app) uses these, so they sit low.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// A job stopped because cancel was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cancelled")]
pub struct Cancelled;

/// Test hook: while it names a lake root and a stage, a job on that lake stops at the start of
/// that stage until it is cancelled, so a test can cancel at a known point. Only tests set it;
/// see `tests/gui/runs.rs`.
#[doc(hidden)]
pub static HOLD_AT: std::sync::Mutex<Option<(std::path::PathBuf, Stage)>> =
    std::sync::Mutex::new(None);

/// Waits while [`HOLD_AT`] holds `stage` on this lake (at most a minute), then checks `cancel`.
pub(crate) fn hold_point(
    lake: &crate::lake::Lake,
    stage: Stage,
    cancel: &Cancel,
) -> Result<(), Cancelled> {
    let held = || {
        HOLD_AT
            .lock()
            .map(|g| {
                g.as_ref()
                    .is_some_and(|(l, s)| l == lake.root() && *s == stage)
            })
            .unwrap_or(false)
    };
    let until = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while held() && !cancel.is_cancelled() && std::time::Instant::now() < until {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    cancel.check()
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
    pub fn check(&self) -> Result<(), Cancelled> {
        if self.is_cancelled() {
            Err(Cancelled)
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
    /// The stage3 tables and chart data rebuilt from the general tables.
    Derive,
}

impl Stage {
    /// Display name.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Land => "land",
            Stage::Ingest => "ingest",
            Stage::Refine => "refine",
            Stage::Derive => "derive",
        }
    }

    /// What the stage counts in its progress (`Land` counts bytes as well).
    pub fn unit(self) -> &'static str {
        match self {
            Stage::Derive => "steps",
            _ => "files",
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

/// Peak resident set size of this process, in bytes (Linux: VmHWM), for the progress log and
/// the benchmark.
pub fn peak_rss() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// CPU time this process has used so far — user, then system — in seconds (Unix), for the
/// benchmark: on a shared virtual machine the wall clock of one run varies by far more than the
/// work done, and system time shows memory being touched for the first time.
pub fn cpu_seconds() -> Option<(f64, f64)> {
    #[cfg(unix)]
    {
        let mut ru = std::mem::MaybeUninit::<libc::rusage>::zeroed();
        // SAFETY: getrusage writes one `rusage` through the pointer, which points at space for
        // exactly one.
        if unsafe { libc::getrusage(libc::RUSAGE_SELF, ru.as_mut_ptr()) } != 0 {
            return None;
        }
        // SAFETY: all-zero bytes are a valid `rusage` (integers only), and getrusage filled it.
        let ru = unsafe { ru.assume_init() };
        let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
        Some((secs(ru.ru_utime), secs(ru.ru_stime)))
    }
    #[cfg(not(unix))]
    None
}

/// CPU time used since `start` (a [`cpu_seconds`] reading): user, then system.
pub fn cpu_since(start: Option<(f64, f64)>) -> Option<(f64, f64)> {
    let ((u0, s0), (u1, s1)) = (start?, cpu_seconds()?);
    Some((u1 - u0, s1 - s0))
}

/// Progress of one stage of a job.
#[derive(Debug, Clone, Default)]
pub struct StageProgress {
    pub files: u64,
    pub bytes: u64,
    pub files_done: u64,
    pub bytes_done: u64,
    pub rows_done: u64,
    pub started: Option<Instant>,
    pub finished: bool,
    /// When the stage last finished: rates are measured up to here, so they stop changing.
    pub ended: Option<Instant>,
    /// What earlier parts of the job (earlier sources of a "Run all") did in this stage; the
    /// current part's progress events count from zero and are added to it.
    base: (u64, u64, u64),
}

impl StageProgress {
    /// Fraction done (by bytes when known, else by files).
    pub fn fraction(&self) -> f32 {
        if self.finished {
            return 1.0;
        }
        if self.bytes > 0 {
            (self.bytes_done as f64 / self.bytes as f64).min(1.0) as f32
        } else if self.files > 0 {
            (self.files_done as f64 / self.files as f64).min(1.0) as f32
        } else {
            0.0
        }
    }

    /// Seconds the stage has run (until it finished, once it has).
    pub fn seconds(&self) -> f64 {
        match (self.started, self.ended) {
            (Some(s), Some(e)) if self.finished => e.duration_since(s).as_secs_f64(),
            (Some(s), _) => s.elapsed().as_secs_f64(),
            _ => 0.0,
        }
    }

    /// Rows per second over the stage (frozen at its final figure once it finished).
    pub fn rows_per_sec(&self) -> f64 {
        let t = self.seconds();
        if t > 0.05 {
            self.rows_done as f64 / t
        } else {
            0.0
        }
    }

    /// Seconds left at the current pace, once there is a pace to go by.
    pub fn eta_secs(&self) -> Option<f64> {
        let f = self.fraction() as f64;
        let t = self.started?.elapsed().as_secs_f64();
        (f > 0.02 && f < 1.0 && !self.finished).then(|| t * (1.0 - f) / f)
    }
}

/// What a running job has reported so far: the one fold of its events, which the app's
/// progress bars and the CLI's both draw from.
#[derive(Debug, Clone, Default)]
pub struct JobProgress {
    pub stages: Vec<(Stage, StageProgress)>,
    /// The newest log lines (warnings prefixed).
    pub log: VecDeque<String>,
    /// Every warning, in order.
    pub warnings: Vec<String>,
}

const LOG_LINES: usize = 400;

impl JobProgress {
    fn stage(&mut self, s: Stage) -> &mut StageProgress {
        if let Some(i) = self.stages.iter().position(|(x, _)| *x == s) {
            return &mut self.stages[i].1;
        }
        self.stages.push((s, StageProgress::default()));
        let last = self.stages.len() - 1;
        &mut self.stages[last].1
    }

    /// A stage's progress, once it started.
    pub fn get(&self, s: Stage) -> Option<&StageProgress> {
        self.stages.iter().find(|(x, _)| *x == s).map(|(_, p)| p)
    }

    fn push_log(&mut self, line: String) {
        if self.log.len() == LOG_LINES {
            self.log.pop_front();
        }
        self.log.push_back(line);
    }

    /// Folds one event in.
    pub fn apply(&mut self, e: Event) {
        match e {
            Event::StageStarted {
                stage,
                files,
                bytes,
            } => {
                // A job that runs several sources starts each stage again: its bar goes on
                // from what the earlier sources did, so the end shows the whole job's totals.
                let s = self.stage(stage);
                *s = StageProgress {
                    files: s.files + files,
                    bytes: s.bytes + bytes,
                    files_done: s.files_done,
                    bytes_done: s.bytes_done,
                    rows_done: s.rows_done,
                    started: s.started.or(Some(Instant::now())),
                    finished: false,
                    ended: None,
                    base: (s.files_done, s.bytes_done, s.rows_done),
                };
            }
            Event::Progress {
                stage,
                files_done,
                bytes_done,
                rows_done,
            } => {
                let s = self.stage(stage);
                s.files_done = s.base.0 + files_done;
                s.bytes_done = s.base.1 + bytes_done;
                s.rows_done = s.base.2 + rows_done;
            }
            Event::StageFinished { stage } => {
                let s = self.stage(stage);
                s.finished = true;
                s.ended = Some(Instant::now());
            }
            Event::Log(l) => self.push_log(l),
            Event::Warning(w) => {
                self.push_log(format!("warning: {w}"));
                self.warnings.push(w);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn cpu_time_counts_this_process_working() {
        let start = cpu_seconds();
        assert!(start.is_some());
        // Spin until 50 ms of CPU have been counted; a reading that does not move never gets
        // there, and the wall-clock bound only keeps a broken counter from hanging the test.
        let wall = std::time::Instant::now();
        let mut x = 0u64;
        let used = loop {
            for i in 0..100_000u64 {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
            }
            let (user, system) = cpu_since(start).unwrap();
            assert!(user >= 0.0 && system >= 0.0);
            if user + system >= 0.05 || wall.elapsed().as_secs() > 30 {
                break user + system;
            }
        };
        assert!(used >= 0.05, "CPU time stayed at {used} s");
    }

    fn progress(stage: Stage, files: u64, rows: u64) -> Event {
        Event::Progress {
            stage,
            files_done: files,
            bytes_done: files * 10,
            rows_done: rows,
        }
    }

    #[test]
    fn a_job_of_several_sources_shows_its_totals_and_freezes_at_the_end() {
        let mut p = JobProgress::default();
        let start = |files| Event::StageStarted {
            stage: Stage::Ingest,
            files,
            bytes: files * 10,
        };
        p.apply(start(3));
        p.apply(progress(Stage::Ingest, 3, 300));
        p.apply(Event::StageFinished {
            stage: Stage::Ingest,
        });
        // The second source counts from zero again; the bar goes on from the first.
        p.apply(start(2));
        p.apply(progress(Stage::Ingest, 1, 50));
        let s = p.get(Stage::Ingest).expect("stage");
        assert_eq!((s.files_done, s.files, s.rows_done), (4, 5, 350));
        assert!(!s.finished && s.fraction() < 1.0);
        p.apply(progress(Stage::Ingest, 2, 120));
        p.apply(Event::StageFinished {
            stage: Stage::Ingest,
        });
        let s = p.get(Stage::Ingest).expect("stage").clone();
        assert_eq!((s.files_done, s.files, s.rows_done), (5, 5, 420));
        assert_eq!(s.bytes_done, s.bytes);
        let rate = s.rows_per_sec();
        std::thread::sleep(std::time::Duration::from_millis(80));
        assert_eq!(s.rows_per_sec(), rate, "the final rate stays");
        assert_eq!(s.eta_secs(), None);
    }
}
