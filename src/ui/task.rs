//! Work off the UI thread: a [`Task`] runs a closure on a worker thread, collects the pipeline's
//! progress events and ends as done or failed. The screen reads its explicit state every frame,
//! so it never blocks and never flickers between states.

use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::{Receiver, unbounded};

use crate::pipeline::{Cancel, Event, Progress, Stage};

pub use crate::progress::{JobProgress, StageProgress};

/// The state of a background value.
#[derive(Default)]
pub enum TaskState<T> {
    #[default]
    Idle,
    Running {
        started: Instant,
    },
    Done(T),
    Failed(String),
}

/// A value computed on a worker thread.
pub struct Task<T> {
    pub state: TaskState<T>,
    pub progress: JobProgress,
    cancel: Cancel,
    events: Option<Receiver<Event>>,
    result: Option<Receiver<anyhow::Result<T>>>,
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
        work: impl FnOnce(&Progress, &Cancel) -> anyhow::Result<T> + Send + 'static,
    ) -> Self {
        let (etx, erx) = unbounded::<Event>();
        let (rtx, rrx) = unbounded();
        let cancel = Cancel::default();
        let c = cancel.clone();
        std::thread::spawn(move || {
            let progress = Progress::channel(etx).with_notify(repaint.clone());
            let out =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(&progress, &c)))
                    .unwrap_or_else(|_| {
                        Err(anyhow::anyhow!(
                            "the job stopped unexpectedly (internal error)"
                        ))
                    });
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
                    Err(e) => TaskState::Failed(e.to_string()),
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

/// A bar per stage with the whole job's figures: files (or steps), MB, rows, rows/s and the time
/// left; after the job they stay at its final figures.
pub fn stage_bars(ui: &mut egui::Ui, progress: &JobProgress) {
    for (stage, s) in &progress.stages {
        let mut text = if *stage == Stage::Derive {
            format!("{}: {}/{} steps", stage.name(), s.files_done, s.files)
        } else if *stage == Stage::Land {
            // Landing copies files: it has no rows to count.
            format!(
                "{}: {}/{} {} · {} / {}",
                stage.name(),
                s.files_done,
                s.files,
                stage.unit(),
                human_bytes(s.bytes_done),
                human_bytes(s.bytes)
            )
        } else {
            format!(
                "{}: {}/{} {} · {} / {} · {} rows",
                stage.name(),
                s.files_done,
                s.files,
                stage.unit(),
                human_bytes(s.bytes_done),
                human_bytes(s.bytes),
                s.rows_done
            )
        };
        let rate = s.rows_per_sec();
        if rate > 0.0 {
            text.push_str(&format!(" · {:.0} rows/s", rate));
        }
        if let Some(eta) = s.eta_secs() {
            text.push_str(&format!(" · about {:.0} s left", eta.ceil()));
        }
        ui.add(egui::ProgressBar::new(s.fraction()).text(text));
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
    use crate::pipeline::Stage;

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
