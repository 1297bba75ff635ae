//! `edlake bench`: a district year through land + ingest + refine, with the figures that matter.

use std::path::PathBuf;
use std::time::Instant;

use crate::generate::{GenOptions, generate};
use crate::lake::Lake;
use crate::modules::clever::Clever;
use crate::pipeline::job::{self, RunOutcome};
use crate::pipeline::{Cancel, Progress};
use crate::pseudo::Salt;
use crate::sources::FolderSource;

/// Benchmark settings.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub students: u32,
    pub days: u32,
    /// Work folder (a fresh temporary folder when `None`).
    pub dir: Option<PathBuf>,
    /// Keep the generated input and lake.
    pub keep: bool,
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions {
            students: 75_000,
            days: 180,
            dir: None,
            keep: false,
        }
    }
}

/// Measured figures.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BenchResult {
    pub students: u32,
    pub days: u32,
    pub rows: u64,
    pub csv_bytes: u64,
    pub files: u64,
    pub generate_seconds: f64,
    /// Land + ingest + refine, wall clock.
    pub seconds: f64,
    pub rows_per_second: f64,
    pub mb_per_second: f64,
    /// Peak resident memory during the timed run (bytes), where the OS reports it.
    pub peak_rss_bytes: Option<u64>,
    pub second_run_seconds: f64,
    pub second_run_rows: u64,
    pub workdir: Option<PathBuf>,
}

/// Peak resident set size of this process, in bytes (Linux: VmHWM).
pub fn peak_rss() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Resets the peak so that it covers only what follows (Linux; a no-op elsewhere).
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Errors of the benchmark harness.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error(transparent)]
    Gen(#[from] crate::generate::GenError),
    #[error(transparent)]
    Lake(#[from] crate::lake::LakeError),
    #[error(transparent)]
    Pipeline(#[from] crate::pipeline::PipelineError),
    #[error("cannot create a work folder: {0}")]
    Io(#[from] std::io::Error),
}

/// Generates the data (untimed), then times a full ingest and a second, no-op run.
pub fn run(
    opts: &BenchOptions,
    progress: &Progress,
    cancel: &Cancel,
) -> Result<BenchResult, BenchError> {
    let temp;
    let dir = match &opts.dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            d.clone()
        }
        None => {
            temp = std::env::temp_dir()
                .join(format!("edlake-bench-{}", uuid::Uuid::new_v4().simple()));
            std::fs::create_dir_all(&temp)?;
            temp.clone()
        }
    };
    let input = dir.join("input");
    let lake_dir = dir.join("lake");
    let _ = std::fs::remove_dir_all(&lake_dir);
    let t = Instant::now();
    progress.log(format!(
        "generating {} students x {} days into {}",
        opts.students,
        opts.days,
        input.display()
    ));
    generate(
        &input,
        &GenOptions {
            students: opts.students,
            days: opts.days,
            participation_only: true,
            ..GenOptions::default()
        },
    )?;
    let generate_seconds = t.elapsed().as_secs_f64();
    let (lake, _) = Lake::init(&lake_dir)?;
    // The benchmark lake is thrown away: its salt never needs to outlive the process.
    let salt = Salt::generate();
    let module = Clever::default();
    let source = FolderSource::new(&input.join("clever"));
    reset_peak_rss();
    let t = Instant::now();
    let RunOutcome { report, error } =
        job::ingest(&lake, &module, &source, &salt, progress, cancel);
    let seconds = t.elapsed().as_secs_f64();
    let peak = peak_rss();
    if let Some(e) = error {
        return Err(e.into());
    }
    let t = Instant::now();
    let second = job::ingest(&lake, &module, &source, &salt, progress, cancel);
    let second_run_seconds = t.elapsed().as_secs_f64();
    if let Some(e) = second.error {
        return Err(e.into());
    }
    let rows = report.rows_ingested;
    let result = BenchResult {
        students: opts.students,
        days: opts.days,
        rows,
        csv_bytes: report.bytes_read,
        files: report.files_landed,
        generate_seconds,
        seconds,
        rows_per_second: rows as f64 / seconds,
        mb_per_second: report.bytes_read as f64 / 1e6 / seconds,
        peak_rss_bytes: peak,
        second_run_seconds,
        second_run_rows: second.report.rows_ingested,
        workdir: opts.keep.then(|| dir.clone()),
    };
    if !opts.keep {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(result)
}
