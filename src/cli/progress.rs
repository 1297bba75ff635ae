//! Progress bars for long runs, fed by the pipeline's events on a separate thread.

use std::collections::HashMap;
use std::thread::JoinHandle;

use edlake::pipeline::{Event, Progress, Stage};
use edlake::progress::JobProgress;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Shows bars on stderr while a job runs; `finish` waits for the last events.
pub struct Bars {
    progress: Progress,
    handle: Option<JoinHandle<Vec<String>>>,
}

fn style(stage: Stage) -> ProgressStyle {
    let unit = if stage == Stage::Land {
        "{bytes}/{total_bytes}".to_string()
    } else {
        format!("{{pos}}/{{len}} {}, {{msg}}", stage.unit())
    };
    ProgressStyle::with_template(&format!(
        "{{prefix:>7}} [{{bar:30}}] {unit} {{elapsed_precise}} eta {{eta}}"
    ))
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ")
}

impl Bars {
    /// Starts the event thread. With `quiet` (JSON output) nothing is drawn.
    pub fn start(quiet: bool) -> Bars {
        let (tx, rx) = crossbeam_channel::unbounded::<Event>();
        let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
        let handle = std::thread::spawn(move || {
            let say = |multi: &MultiProgress, line: String| {
                if quiet {
                } else if tty {
                    let _ = multi.println(line);
                } else {
                    eprintln!("{line}");
                }
            };
            let multi = MultiProgress::with_draw_target(if quiet {
                ProgressDrawTarget::hidden()
            } else {
                ProgressDrawTarget::stderr()
            });
            let mut job = JobProgress::default();
            let mut bars: HashMap<Stage, ProgressBar> = HashMap::new();
            for e in rx {
                let (stage, started, finished) = match &e {
                    Event::StageStarted { stage, .. } => (Some(*stage), true, false),
                    Event::Progress { stage, .. } => (Some(*stage), false, false),
                    Event::StageFinished { stage } => (Some(*stage), false, true),
                    Event::Log(line) => {
                        say(&multi, line.clone());
                        (None, false, false)
                    }
                    Event::Warning(w) => {
                        say(&multi, format!("warning: {w}"));
                        (None, false, false)
                    }
                };
                job.apply(e);
                let Some((stage, s)) = stage.and_then(|st| Some((st, job.get(st)?))) else {
                    continue;
                };
                let land = stage == Stage::Land;
                if started {
                    let bar = multi.add(ProgressBar::new(if land { s.bytes } else { s.files }));
                    bar.set_style(style(stage));
                    bar.set_prefix(stage.name());
                    bars.insert(stage, bar);
                }
                if let Some(bar) = bars.get(&stage) {
                    if land {
                        bar.set_position(s.bytes_done);
                    } else {
                        bar.set_position(s.files_done);
                        bar.set_message(format!(
                            "{} rows, {:.0} rows/s",
                            s.rows_done,
                            s.rows_per_sec()
                        ));
                    }
                    if finished {
                        bar.finish();
                    }
                }
            }
            job.warnings
        });
        Bars {
            progress: Progress::channel(tx),
            handle: Some(handle),
        }
    }

    /// The sender to give the job.
    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    /// Closes the channel and waits for the bars to finish drawing.
    pub fn finish(mut self) {
        self.progress = Progress::default();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
