//! Progress bars for long runs, fed by the pipeline's events on a separate thread.

use std::collections::HashMap;
use std::thread::JoinHandle;

use edlake::pipeline::{Event, Progress, Stage};
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
            let mut bars: HashMap<Stage, (ProgressBar, std::time::Instant)> = HashMap::new();
            let mut warnings = Vec::new();
            for e in rx {
                match e {
                    Event::StageStarted {
                        stage,
                        files,
                        bytes,
                    } => {
                        let len = if stage == Stage::Land { bytes } else { files };
                        let bar = multi.add(ProgressBar::new(len));
                        bar.set_style(style(stage));
                        bar.set_prefix(stage.name());
                        bars.insert(stage, (bar, std::time::Instant::now()));
                    }
                    Event::Progress {
                        stage,
                        files_done,
                        bytes_done,
                        rows_done,
                    } => {
                        if let Some((bar, t0)) = bars.get(&stage) {
                            if stage == Stage::Land {
                                bar.set_position(bytes_done);
                            } else {
                                bar.set_position(files_done);
                                let secs = t0.elapsed().as_secs_f64().max(1e-3);
                                bar.set_message(format!(
                                    "{rows_done} rows, {:.0} rows/s",
                                    rows_done as f64 / secs
                                ));
                            }
                        }
                    }
                    Event::StageFinished { stage } => {
                        if let Some((bar, _)) = bars.get(&stage) {
                            bar.finish();
                        }
                    }
                    Event::Log(line) => say(&multi, line),
                    Event::Warning(w) => {
                        say(&multi, format!("warning: {w}"));
                        warnings.push(w);
                    }
                }
            }
            warnings
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
