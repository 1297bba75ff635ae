//! Work off the UI thread: a [`Task`] runs a closure on a worker thread, collects the pipeline's
//! progress events and ends as done or failed. The screen reads its explicit state every frame,
//! so it never blocks and never flickers between states.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::{Receiver, unbounded};

use crate::pipeline::{Cancel, Event, Progress, Stage};

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

    /// Rows per second since the stage started.
    pub fn rows_per_sec(&self) -> f64 {
        match self.started {
            Some(t) if t.elapsed().as_secs_f64() > 0.05 => {
                self.rows_done as f64 / t.elapsed().as_secs_f64()
            }
            _ => 0.0,
        }
    }

    /// Seconds left at the current pace, once there is a pace to go by.
    pub fn eta_secs(&self) -> Option<f64> {
        let f = self.fraction() as f64;
        let t = self.started?.elapsed().as_secs_f64();
        (f > 0.02 && f < 1.0 && !self.finished).then(|| t * (1.0 - f) / f)
    }
}

/// What a running job has reported so far.
#[derive(Debug, Clone, Default)]
pub struct JobProgress {
    pub stages: Vec<(Stage, StageProgress)>,
    /// The newest log lines (warnings prefixed).
    pub log: VecDeque<String>,
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
                // A job that runs several sources starts each stage again: reset it.
                *self.stage(stage) = StageProgress {
                    files,
                    bytes,
                    started: Some(Instant::now()),
                    ..Default::default()
                };
            }
            Event::Progress {
                stage,
                files_done,
                bytes_done,
                rows_done,
            } => {
                let s = self.stage(stage);
                s.files_done = files_done;
                s.bytes_done = bytes_done;
                s.rows_done = rows_done;
            }
            Event::StageFinished { stage } => self.stage(stage).finished = true,
            Event::Log(l) => self.push_log(l),
            Event::Warning(w) => self.push_log(format!("warning: {w}")),
        }
    }
}

/// The state of a background value.
pub enum TaskState<T> {
    Idle,
    Running { started: Instant },
    Done(T),
    Failed(String),
}

/// A value computed on a worker thread.
pub struct Task<T> {
    pub state: TaskState<T>,
    pub progress: JobProgress,
    cancel: Cancel,
    events: Option<Receiver<Event>>,
    result: Option<Receiver<Result<T, String>>>,
}

impl<T> Default for Task<T> {
    fn default() -> Self {
        Task {
            state: TaskState::Idle,
            progress: JobProgress::default(),
            cancel: Cancel::default(),
            events: None,
            result: None,
        }
    }
}

impl<T: Send + 'static> Task<T> {
    /// Starts `work` on a new thread; `repaint` is called whenever there is news.
    pub fn spawn(
        repaint: Arc<dyn Fn() + Send + Sync>,
        work: impl FnOnce(&Progress, &Cancel) -> Result<T, String> + Send + 'static,
    ) -> Self {
        let (etx, erx) = unbounded::<Event>();
        let (rtx, rrx) = unbounded();
        let cancel = Cancel::default();
        let c = cancel.clone();
        std::thread::spawn(move || {
            let progress = Progress::channel(etx).with_notify(repaint.clone());
            let out =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(&progress, &c)))
                    .unwrap_or_else(
                        |_| Err("the job stopped unexpectedly (internal error)".into()),
                    );
            drop(progress);
            // Every event was sent before this, so the UI sees them all once it sees the end.
            let _ = rtx.send(out);
            repaint();
        });
        Task {
            state: TaskState::Running {
                started: Instant::now(),
            },
            progress: JobProgress::default(),
            cancel,
            events: Some(erx),
            result: Some(rrx),
        }
    }

    /// Takes in whatever the worker sent; returns true when the task just finished.
    pub fn poll(&mut self) -> bool {
        let finished = self.result.as_ref().and_then(|r| r.try_recv().ok());
        if let Some(rx) = &self.events {
            while let Ok(e) = rx.try_recv() {
                self.progress.apply(e);
            }
        }
        match finished {
            Some(r) => {
                self.events = None;
                self.result = None;
                self.state = match r {
                    Ok(v) => TaskState::Done(v),
                    Err(e) => TaskState::Failed(e),
                };
                true
            }
            None => false,
        }
    }
}

/// A task that is replaced or dropped asks its worker to stop: nobody will read its result.
impl<T> Drop for Task<T> {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

impl<T> Task<T> {
    /// Asks the worker to stop at its next safe point.
    pub fn cancel(&self) {
        self.cancel.cancel();
    }

    /// Whether cancel was asked for.
    pub fn is_cancelling(&self) -> bool {
        self.cancel.is_cancelled() && self.is_running()
    }

    /// Whether the worker is still going.
    pub fn is_running(&self) -> bool {
        matches!(self.state, TaskState::Running { .. })
    }

    /// The finished value, if any.
    pub fn done(&self) -> Option<&T> {
        match &self.state {
            TaskState::Done(v) => Some(v),
            _ => None,
        }
    }
}

/// A byte count for people.
pub fn human_bytes(b: u64) -> String {
    match b {
        b if b >= 1 << 30 => format!("{:.2} GB", b as f64 / (1u64 << 30) as f64),
        b if b >= 1 << 20 => format!("{:.1} MB", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.0} KB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_reports_progress_then_done() {
        let mut t = Task::spawn(Arc::new(|| {}), |p: &Progress, _c: &Cancel| {
            p.send(Event::StageStarted {
                stage: Stage::Land,
                files: 2,
                bytes: 100,
            });
            p.send(Event::Progress {
                stage: Stage::Land,
                files_done: 1,
                bytes_done: 50,
                rows_done: 10,
            });
            p.log("half way");
            Ok(7)
        });
        for _ in 0..500 {
            if t.poll() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(t.done(), Some(&7));
        let (stage, s) = &t.progress.stages[0];
        assert_eq!(*stage, Stage::Land);
        assert!((s.fraction() - 0.5).abs() < 1e-6);
        assert_eq!(t.progress.log.back().map(String::as_str), Some("half way"));
    }

    #[test]
    fn a_panicking_job_fails_with_a_message() {
        let mut t: Task<()> =
            Task::spawn(Arc::new(|| {}), |_p: &Progress, _c: &Cancel| panic!("boom"));
        for _ in 0..500 {
            if t.poll() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(matches!(t.state, TaskState::Failed(ref m) if m.contains("unexpectedly")));
    }

    #[test]
    fn a_replaced_task_is_cancelled() {
        let (tx, rx) = crossbeam_channel::bounded::<bool>(1);
        let mut t: Task<()> = Task::spawn(Arc::new(|| {}), move |_p: &Progress, c: &Cancel| {
            let t0 = Instant::now();
            while !c.is_cancelled() && t0.elapsed().as_secs() < 30 {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            let _ = tx.send(c.is_cancelled());
            Ok(())
        });
        assert!(t.is_running());
        t = Task::default();
        assert!(!t.is_running());
        let saw_cancel = rx
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("the old worker stopped");
        assert!(saw_cancel, "the old worker was asked to stop");
    }
}
