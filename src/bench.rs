//! `edlake bench`: a district year through land + ingest + refine, with the figures that matter.
//!
//! The data is generated first (untimed); the timed run then happens in a fresh process (the
//! CLI re-runs itself), so peak memory is that of a real scheduled ingest and nothing else.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

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
    let g = generate(
        &input,
        &GenOptions {
            students: opts.students,
            days: opts.days,
            participation_only: !opts.all_sources,
            ..GenOptions::default()
        },
    )?;
    Ok(Prepared {
        dir,
        temporary,
        csv_bytes: g.bytes,
        rows: g.rows,
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
    let t = Instant::now();
    let first = job::ingest(&lake, &module, &source, &salt, progress, cancel);
    let seconds = t.elapsed().as_secs_f64();
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
    let insights = dir.join("input/insights");
    if insights.is_dir() {
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
            let _ = std::fs::write("/proc/self/clear_refs", "5");
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
        // Linux: reset the peak so the figure is stage3's own (best effort).
        let _ = std::fs::write("/proc/self/clear_refs", "5");
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
        seconds,
        rows: first.report.rows_ingested,
        files: first.report.files_landed,
        bytes: first.report.bytes_read,
        peak_rss_bytes: peak,
        second_run_seconds,
        second_run_rows: second.report.rows_ingested,
    })
}

/// The roster (three snapshots, with the identity map over every source), stage3 again through
/// the map, and the edX downloads with the program reports.
fn extra_sources(
    lake: &Lake,
    dir: &Path,
    salt: &crate::pseudo::Salt,
    progress: &Progress,
    cancel: &Cancel,
    out: &mut Vec<(String, f64, u64)>,
) -> Result<(), BenchError> {
    // Each step's own peak memory (Linux: the peak is reset before it), in its label.
    let peak = |what: &str| match peak_rss() {
        Some(b) => format!("{what} (peak {:.2} GB)", b as f64 / 1e9),
        None => what.to_string(),
    };
    let reset = || {
        let _ = std::fs::write("/proc/self/clear_refs", "5");
    };
    let roster = dir.join("input/clever_roster");
    if roster.is_dir() {
        reset();
        let t = Instant::now();
        let r = crate::derive::roster::sync(lake, &roster, None, salt, progress, cancel);
        if let Some(e) = r.error {
            return Err(e.into());
        }
        let rows = r.reports.iter().map(|x| x.rows_ingested).sum();
        out.push((
            peak("roster sync, 3 snapshots"),
            t.elapsed().as_secs_f64(),
            rows,
        ));
        reset();
        let t = Instant::now();
        crate::derive::build_stage3_with(lake, progress, cancel)?;
        out.push((
            peak("stage3 through the identity map"),
            t.elapsed().as_secs_f64(),
            0,
        ));
    }
    let edx = dir.join("input/edx");
    if edx.is_dir() {
        reset();
        let t = Instant::now();
        let module = crate::modules::edx::Edx::new()?;
        let r = job::ingest(
            lake,
            &module,
            &FolderSource::new(&edx),
            salt,
            progress,
            cancel,
        );
        if let Some(e) = r.error {
            return Err(e.into());
        }
        let text = std::fs::read_to_string(edx.join("program.json"))?;
        let program: crate::derive::micromasters::ProgramDef =
            serde_json::from_str(&text).map_err(|e| BenchError::Setup(e.to_string()))?;
        crate::derive::micromasters::build(lake, &program, salt)?;
        out.push((
            peak("edx + program reports"),
            t.elapsed().as_secs_f64(),
            r.report.rows_ingested,
        ));
    }
    Ok(())
}

/// The preview's page reads on the benchmark's general table: the first page, a page in the
/// middle, the first and next page sorted by a number, then by a text column (the first page
/// and page 50), each with its own peak memory.
fn preview_timings(lake: &Lake) -> Vec<(String, f64)> {
    use crate::browse::{Browser, Query};
    let t = crate::lake::TableRef::new(
        crate::lake::Layer::General,
        "clever",
        "v1.0",
        "daily_participation",
    );
    let rows = lake
        .table_state(&t)
        .map(|s| s.rows().max(0) as usize)
        .unwrap_or(0);
    let mut b = Browser::new(t);
    let sorted = |c: &str| Query {
        sort: Some((c.into(), true)),
        ..Query::default()
    };
    let by_student = sorted("clever_user_id_pseudonym");
    let mut out = Vec::new();
    for (what, q, offset) in [
        ("first page", Query::default(), 0),
        ("page in the middle", Query::default(), rows / 2),
        ("first page sorted by num_logins", sorted("num_logins"), 0),
        ("next sorted page", sorted("num_logins"), 200),
        ("first page sorted by student (text)", by_student.clone(), 0),
        ("page 50 sorted by student", by_student, 50 * 200),
    ] {
        // Linux: reset the peak so each figure's memory is that page's own (best effort).
        let _ = std::fs::write("/proc/self/clear_refs", "5");
        let t = Instant::now();
        if b.page(lake, &q, offset, 200).is_ok() {
            let secs = t.elapsed().as_secs_f64();
            let what = match peak_rss() {
                Some(p) => format!("{what} (peak {:.2} GB)", p as f64 / 1e9),
                None => what.to_string(),
            };
            out.push((what, secs));
        }
    }
    out
}

/// Seconds and rows of every aggregate the lake's data supports, under `f`.
fn metric_timings(lake: &Lake, f: &crate::metrics::Filter) -> Vec<(String, f64, usize)> {
    let mut out = Vec::new();
    for m in crate::metrics::METRICS {
        let t = Instant::now();
        if let Ok(r) = crate::metrics::compute(lake, m.name, f) {
            out.push((
                m.name.to_string(),
                t.elapsed().as_secs_f64(),
                r.frame.height(),
            ));
        }
    }
    out
}

/// What an analyst narrowing a chart asks: the middle 21 school days of the calendar, the
/// first school, grade, app and class (each only where the aggregate takes it).
fn narrowed_filter(lake: &Lake) -> crate::metrics::Filter {
    use crate::metrics::{Filter, compute};
    let all = Filter {
        min_group: 1,
        ..Filter::default()
    };
    let first = |m: &str, c: &str| -> Option<String> {
        let out = compute(lake, m, &all).ok()?;
        let v = out
            .frame
            .column(c)
            .ok()?
            .cast(&polars::prelude::DataType::String)
            .ok()?;
        v.str().ok()?.iter().flatten().next().map(str::to_string)
    };
    let cal = crate::derive::serving::Serving::load(lake)
        .map(|s| s.calendar().to_vec())
        .unwrap_or_default();
    let mid = cal.len() / 2;
    Filter {
        from: cal.get(mid.saturating_sub(10)).copied(),
        to: cal
            .get((mid + 10).min(cal.len().saturating_sub(1)))
            .copied(),
        school: first("clever-by-school", "school")
            .or_else(|| first("attendance-vs-digital", "school")),
        grade: first("engagement-by-grade", "grade"),
        app: first("top-resources", "resource_name"),
        class: crate::metrics::classes::labels(lake)
            .ok()
            .and_then(|l| l.into_iter().next()),
        ..Filter::default()
    }
}
