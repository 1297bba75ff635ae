//! The benchmark's timings after the Clever year: the other sources, the preview pages and
//! every aggregate.

use std::path::Path;
use std::time::Instant;

use super::{BenchError, peak_rss};
use crate::lake::Lake;
use crate::pipeline::job;
use crate::pipeline::{Cancel, Progress};
use crate::sources::FolderSource;

/// The roster (three snapshots, with the identity map over every source), stage3 again through
/// the map, and the edX downloads with the program reports.
pub(super) fn extra_sources(
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
    let reset = super::day::reset_peak;
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
pub(super) fn preview_timings(lake: &Lake) -> Vec<(String, f64)> {
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
        super::day::reset_peak();
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
pub(super) fn metric_timings(lake: &Lake, f: &crate::metrics::Filter) -> Vec<(String, f64, usize)> {
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
pub(super) fn narrowed_filter(lake: &Lake) -> crate::metrics::Filter {
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
