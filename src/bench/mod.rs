//! `edlake bench`: a district year through land + ingest + refine, with the figures that matter.
//!
//! The data is generated first (untimed); the timed run then happens in a fresh process (the
//! CLI re-runs itself), so peak memory is that of a real scheduled ingest and nothing else.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

mod day;
mod timings;

use day::reset_peak;
pub use day::{NextDay, against_targets};
use timings::{extra_sources, metric_timings, narrowed_filter, preview_timings};

use crate::generate::{GenOptions, generate};
use crate::lake::Lake;
use crate::modules::clever::Clever;
use crate::pipeline::job;
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
    /// Also Insights and SIS data, stage3 and every aggregate.
    pub all_sources: bool,
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions {
            students: 75_000,
            days: 180,
            dir: None,
            all_sources: false,
        }
    }
}

/// The generated input of a benchmark.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub dir: PathBuf,
    /// Whether `dir` is a temporary folder to remove afterwards.
    pub temporary: bool,
    pub csv_bytes: u64,
    pub rows: u64,
    pub generate_seconds: f64,
}

/// Figures of the timed run (measured in its own process).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Measured {
    /// Land + ingest + refine, wall clock.
    pub seconds: f64,
    pub rows: u64,
    pub files: u64,
    pub bytes: u64,
    /// Peak resident memory of the process (bytes), where the OS reports it.
    pub peak_rss_bytes: Option<u64>,
    /// CPU seconds of land + ingest + refine (user, system), where the OS reports them.
    #[serde(default)]
    pub cpu_seconds: Option<(f64, f64)>,
    /// A second run over the same files (should find nothing to do).
    pub second_run_seconds: f64,
    pub second_run_rows: u64,
    /// Seconds each aggregate took on the benchmark lake (those its data supports).
    #[serde(default)]
    pub metrics: Vec<(String, f64, usize)>,
    /// The same aggregates narrowed as an analyst narrows a chart ([`narrowed_filter`]):
    /// the filter in words, then (name, seconds, rows).
    #[serde(default)]
    pub narrowed: (String, Vec<(String, f64, usize)>),
    /// Seconds for the app's preview pages on the benchmark table (what, seconds).
    #[serde(default)]
    pub preview: Vec<(String, f64)>,
    /// Insights and SIS ingests (what, seconds, rows), with `--all-sources`.
    #[serde(default)]
    pub other_sources: Vec<(String, f64, u64)>,
    /// Rebuilding stage3 and the chart serving data after all sources.
    #[serde(default)]
    pub stage3_seconds: Option<f64>,
    #[serde(default)]
    pub stage3_peak_rss_bytes: Option<u64>,
    /// Stage3 and the chart serving data after the Clever year (the rest of what
    /// `edlake ingest clever` does), and its own peak memory.
    #[serde(default)]
    pub derive_seconds: Option<f64>,
    #[serde(default)]
    pub derive_peak_rss_bytes: Option<u64>,
    #[serde(default)]
    pub derive_cpu_seconds: Option<(f64, f64)>,
    /// One more school day on the year's lake.
    #[serde(default)]
    pub next_day: Option<NextDay>,
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
    #[error(transparent)]
    Metric(#[from] crate::metrics::MetricError),
    #[error(transparent)]
    Derive(#[from] crate::derive::DeriveError),
    #[error("{0}")]
    Setup(String),
    #[error(transparent)]
    Module(#[from] crate::modules::ModuleError),
    #[error("cannot create a work folder: {0}")]
    Io(#[from] std::io::Error),
}

pub use crate::progress::peak_rss;
use crate::progress::{cpu_seconds, cpu_since};

/// Generates the district year under `<dir>/input` (untimed).
pub fn prepare(opts: &BenchOptions, progress: &Progress) -> Result<Prepared, BenchError> {
    let (dir, temporary) = match &opts.dir {
        Some(d) => (d.clone(), false),
        None => (
            std::env::temp_dir().join(format!("edlake-bench-{}", uuid::Uuid::new_v4().simple())),
            true,
        ),
    };
    let input = dir.join("input");
    let _ = std::fs::remove_dir_all(&input);
    std::fs::create_dir_all(&dir)?;
    progress.log(format!(
        "generating {} students x {} days into {}",
        opts.students,
        opts.days,
        input.display()
    ));
    let t = Instant::now();
    // One day more than the year: its Clever files wait aside, the next school day.
    let g = generate(
        &input,
        &GenOptions {
            students: opts.students,
            days: opts.days + 1,
            participation_only: !opts.all_sources,
            ..GenOptions::default()
        },
    )?;
    let (bytes, rows) = day::hold_out_last_day(&dir)?;
    day::settle_input(&dir)?;
    Ok(Prepared {
        dir,
        temporary,
        csv_bytes: g.bytes.saturating_sub(bytes),
        rows: g.rows.saturating_sub(rows),
        generate_seconds: t.elapsed().as_secs_f64(),
    })
}

impl Prepared {
    /// Removes what the run made, unless `keep`: the whole folder when it was temporary, else
    /// only the benchmark lake.
    pub fn discard(&self, keep: bool) {
        if keep {
            return;
        }
        let _ = if self.temporary {
            std::fs::remove_dir_all(&self.dir)
        } else {
            std::fs::remove_dir_all(self.dir.join("lake"))
        };
    }
}

/// The timed part: a fresh lake, a full land + ingest + refine of `<dir>/input`, then a second
/// run over the same files. Call it in a fresh process for a meaningful peak memory figure.
pub fn measure(dir: &Path, progress: &Progress, cancel: &Cancel) -> Result<Measured, BenchError> {
    let lake_dir = dir.join("lake");
    let _ = std::fs::remove_dir_all(&lake_dir);
    let (lake, _) = Lake::init(&lake_dir)?;
    // The benchmark lake is thrown away: its salt never needs to outlive the process.
    let salt = Salt::generate();
    let module = Clever::default();
    let source = FolderSource::new(&dir.join("input/clever"));
    let (t, cpu) = (Instant::now(), cpu_seconds());
    let first = job::ingest(&lake, &module, &source, &salt, progress, cancel);
    let seconds = t.elapsed().as_secs_f64();
    let ingest_cpu = cpu_since(cpu);
    let peak = peak_rss();
    if let Some(e) = first.error {
        return Err(e.into());
    }
    let t = Instant::now();
    let second = job::ingest(&lake, &module, &source, &salt, progress, cancel);
    let second_run_seconds = t.elapsed().as_secs_f64();
    if let Some(e) = second.error {
        return Err(e.into());
    }
    let mut other_sources = Vec::new();
    let (mut stage3_seconds, mut stage3_peak_rss_bytes) = (None, None);
    let (mut derive_seconds, mut derive_peak_rss_bytes, mut next_day) = (None, None, None);
    let mut derive_cpu_seconds = None;
    let insights = dir.join("input/insights");
    if !insights.is_dir() {
        // The rest of `edlake ingest clever`: stage3 and the serving data; then a school day.
        reset_peak();
        let (t, cpu) = (Instant::now(), cpu_seconds());
        crate::derive::build_stage3_with(&lake, progress, cancel)?;
        derive_seconds = Some(t.elapsed().as_secs_f64());
        derive_cpu_seconds = cpu_since(cpu);
        derive_peak_rss_bytes = peak_rss();
        next_day = day::next_day(&lake, dir, &salt, progress, cancel)?;
    } else {
        use crate::modules::{Module, insights::Insights, sis};
        let modules: Vec<(&str, Box<dyn Module>, PathBuf)> = vec![
            (
                "insights",
                Box::new(Insights::from_export(&insights)?),
                insights.clone(),
            ),
            ("sis", Box::new(sis::module()?), dir.join("input/sis")),
        ];
        for (name, module, from) in modules {
            reset_peak();
            let t = Instant::now();
            let out = job::ingest(
                &lake,
                module.as_ref(),
                &FolderSource::new(&from),
                &salt,
                progress,
                cancel,
            );
            if let Some(e) = out.error {
                return Err(e.into());
            }
            other_sources.push((
                match peak_rss() {
                    Some(b) => format!("ingest {name} (peak {:.2} GB)", b as f64 / 1e9),
                    None => format!("ingest {name}"),
                },
                t.elapsed().as_secs_f64(),
                out.report.rows_ingested,
            ));
        }
        reset_peak();
        let t = Instant::now();
        crate::derive::build_stage3_with(&lake, progress, cancel)?;
        stage3_seconds = Some(t.elapsed().as_secs_f64());
        stage3_peak_rss_bytes = peak_rss();
        extra_sources(&lake, dir, &salt, progress, cancel, &mut other_sources)?;
    }
    let metrics = metric_timings(&lake, &crate::metrics::Filter::default());
    let narrow = narrowed_filter(&lake);
    let narrowed = (format!("{narrow:?}"), metric_timings(&lake, &narrow));
    let preview = preview_timings(&lake);
    Ok(Measured {
        metrics,
        narrowed,
        preview,
        other_sources,
        stage3_seconds,
        stage3_peak_rss_bytes,
        derive_seconds,
        derive_peak_rss_bytes,
        derive_cpu_seconds,
        next_day,
        seconds,
        rows: first.report.rows_ingested,
        files: first.report.files_landed,
        bytes: first.report.bytes_read,
        peak_rss_bytes: peak,
        cpu_seconds: ingest_cpu,
        second_run_seconds,
        second_run_rows: second.report.rows_ingested,
    })
}
