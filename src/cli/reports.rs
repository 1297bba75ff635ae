//! `metrics`, `gen-test-data` and `bench`: numbers for people and for scripts.

use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use edlake::preview;

use super::ctx::{Ctx, print_json};
use super::progress::Bars;
use super::{Coded, EXIT_BAD_INPUT, EXIT_CANCELLED};

/// `edlake metrics`' arguments: which aggregate and its filters.
#[derive(Debug, clap::Args)]
pub struct MetricsArgs {
    /// Which aggregate.
    #[arg(value_parser = super::metric_names())]
    pub name: Option<String>,
    /// First day (YYYY-MM-DD).
    #[arg(long)]
    pub from: Option<chrono::NaiveDate>,
    /// Last day (YYYY-MM-DD).
    #[arg(long)]
    pub to: Option<chrono::NaiveDate>,
    /// Only this school (by name).
    #[arg(long)]
    pub school: Option<String>,
    /// Only students of this grade (the in-person and digital aggregates).
    #[arg(long)]
    pub grade: Option<String>,
    /// Only this Clever app (resource) (top-resources, top-resources-by-school,
    /// clever-app-share, clever-apps-daily).
    #[arg(long)]
    pub app: Option<String>,
    /// Only this class (section), as the charts name it: its events on the Insights
    /// aggregates, its students on the in-person and digital ones.
    #[arg(long)]
    pub class: Option<String>,
    /// Hide groups with fewer students than this, and blank counts of fewer (at least 5:
    /// smaller groups would single students out).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(5..))]
    pub min_group: u32,
    /// Attendance rate threshold for below-threshold (0-1).
    #[arg(long, default_value_t = 0.9)]
    pub threshold: f64,
    #[arg(long, value_enum, default_value_t = super::Format::Table)]
    pub format: super::Format,
}

impl MetricsArgs {
    /// The library filter the arguments describe.
    pub fn filter(&self) -> edlake::metrics::Filter {
        edlake::metrics::Filter {
            from: self.from,
            to: self.to,
            school: self.school.clone(),
            min_group: self.min_group,
            threshold: self.threshold,
            grade: self.grade.clone(),
            app: self.app.clone(),
            class: self.class.clone(),
        }
    }
}

pub(super) fn metrics_cmd(
    ctx: &Ctx,
    name: Option<&str>,
    f: &edlake::metrics::Filter,
    format: super::Format,
) -> Result<ExitCode> {
    let Some(name) = name else {
        for m in edlake::metrics::METRICS {
            println!("{:<22} {}", m.name, m.about);
        }
        return Ok(ExitCode::SUCCESS);
    };
    let lake = ctx.lake()?;
    let t = std::time::Instant::now();
    let out = match edlake::metrics::compute(&lake, name, f) {
        Ok(o) => o,
        Err(
            e @ edlake::metrics::MetricError::Derive(edlake::derive::DeriveError::Missing {
                ..
            }),
        ) => {
            bail!(Coded(EXIT_BAD_INPUT, e.to_string()))
        }
        Err(e) => return Err(e.into()),
    };
    let format = if ctx.json {
        super::Format::Json
    } else {
        format
    };
    match format {
        super::Format::Json => print_json(&serde_json::json!({
            "metric": out.name, "rows": preview::to_json_rows(&out.frame), "notes": out.notes,
        }))?,
        super::Format::Csv => {
            let mut df = preview::formula_safe(&out.frame)?;
            use polars::prelude::SerWriter;
            polars::prelude::CsvWriter::new(std::io::stdout())
                .finish(&mut df)
                .context("writing CSV")?;
            for n in &out.notes {
                eprintln!("note: {n}");
            }
        }
        super::Format::Table => {
            print!("{}", preview::to_text_table(&out.frame, 40));
            for n in &out.notes {
                println!("note: {n}");
            }
            println!(
                "({} rows, {:.0} ms)",
                out.frame.height(),
                t.elapsed().as_secs_f64() * 1000.0
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn gen_test_data(
    ctx: &Ctx,
    out: &std::path::Path,
    students: u32,
    days: u32,
    seed: u64,
) -> Result<ExitCode> {
    let opts = edlake::generate::GenOptions {
        students,
        days,
        seed,
        ..Default::default()
    };
    let s = edlake::generate::generate(out, &opts)?;
    if ctx.json {
        print_json(&serde_json::json!({"files": s.files, "bytes": s.bytes, "rows": s.rows}))?;
    } else {
        println!(
            "Wrote {} files ({:.1} MB, {} rows) for {students} students over {days} school days into {}",
            s.files,
            s.bytes as f64 / 1e6,
            s.rows,
            out.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn bench(
    ctx: &Ctx,
    students: u32,
    days: u32,
    dir: Option<std::path::PathBuf>,
    keep: bool,
    all_sources: bool,
    measure: Option<std::path::PathBuf>,
) -> Result<ExitCode> {
    use edlake::bench;
    if let Some(dir) = measure {
        let bars = Bars::start(ctx.json);
        let m = bench::measure(&dir, bars.progress(), &super::cancel_on_ctrl_c());
        bars.finish();
        print_json(&m?)?;
        return Ok(ExitCode::SUCCESS);
    }
    let opts = bench::BenchOptions {
        students,
        days,
        dir,
        all_sources,
    };
    // Ctrl-C while the data is generated: the generator finishes its file, then the work
    // folder goes and the command exits 130.
    let cancel = super::cancel_on_ctrl_c();
    let bars = Bars::start(ctx.json);
    let prepared = bench::prepare(&opts, bars.progress());
    bars.finish();
    let p = prepared?;
    if cancel.is_cancelled() {
        p.discard(keep);
        bail!(Coded(EXIT_CANCELLED, "the benchmark was cancelled".into()));
    }
    // The timed run gets a process of its own, so its peak memory is only its own. Ctrl-C
    // reaches it too (the terminal signals the whole process group): it stops at a safe point
    // and exits 130, which this process reports.
    let mut args = vec!["bench", "--measure"];
    if ctx.json {
        args.insert(0, "--json");
    }
    let out = std::process::Command::new(std::env::current_exe()?)
        .args(args)
        .arg(&p.dir)
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("starting the timed run")?;
    p.discard(keep);
    // Ctrl-C reaches the timed run too; if it came before the run could set its own handler,
    // the signal ended it. Either way the benchmark was cancelled.
    if out.status.code() == Some(130) || cancel.is_cancelled() {
        bail!(Coded(EXIT_CANCELLED, "the benchmark was cancelled".into()));
    }
    if !out.status.success() {
        bail!("the timed run failed");
    }
    let m: bench::Measured =
        serde_json::from_slice(&out.stdout).context("reading the timed run's figures")?;
    let rows_per_second = m.rows as f64 / m.seconds;
    let mb_per_second = m.bytes as f64 / 1e6 / m.seconds;
    if ctx.json {
        print_json(&serde_json::json!({
            "students": students, "days": days, "rows": m.rows, "files": m.files, "csv_bytes": m.bytes,
            "generate_seconds": p.generate_seconds, "seconds": m.seconds, "rows_per_second": rows_per_second,
            "mb_per_second": mb_per_second, "peak_rss_bytes": m.peak_rss_bytes,
            "second_run_seconds": m.second_run_seconds, "second_run_rows": m.second_run_rows,
            "metrics": m.metrics, "preview": m.preview, "other_sources": m.other_sources,
            "stage3_seconds": m.stage3_seconds, "stage3_peak_rss_bytes": m.stage3_peak_rss_bytes,
            "derive_seconds": m.derive_seconds, "derive_peak_rss_bytes": m.derive_peak_rss_bytes,
            "cpu_seconds": m.cpu_seconds, "derive_cpu_seconds": m.derive_cpu_seconds,
            "next_day": m.next_day, "kept": keep.then_some(&p.dir),
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    println!("edlake bench: {students} students x {days} school days");
    println!(
        "  input               {} files, {:.2} GB CSV, {} rows (generated in {:.1} s, not timed)",
        m.files,
        m.bytes as f64 / 1e9,
        m.rows,
        p.generate_seconds
    );
    println!("  land+ingest+refine  {:.2} s wall", m.seconds);
    if let Some((user, system)) = m.cpu_seconds {
        println!("  its CPU time        {user:.1} s user, {system:.1} s system");
    }
    println!("  throughput          {rows_per_second:.0} rows/s, {mb_per_second:.0} MB/s");
    match m.peak_rss_bytes {
        Some(b) => println!("  peak RSS            {:.2} GB", b as f64 / 1e9),
        None => println!("  peak RSS            not reported by this OS"),
    }
    println!(
        "  second run          {:.2} s, {} new rows (incremental no-op)",
        m.second_run_seconds, m.second_run_rows
    );
    if let Some((user, system)) = m.derive_cpu_seconds {
        println!("  stage3 + serving    CPU {user:.1} s user, {system:.1} s system");
    }
    for (name, secs, rows) in &m.other_sources {
        println!("  {name:<49} {secs:.2} s ({rows} rows)");
    }
    if let (Some(s), Some(b)) = (m.stage3_seconds, m.stage3_peak_rss_bytes) {
        println!(
            "  stage3 + chart data {s:.2} s, peak RSS {:.2} GB",
            b as f64 / 1e9
        );
    }
    print_aggregates(&m);
    print_targets(&m);
    if keep {
        println!("  kept                {}", p.dir.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// The benchmark's figures beside those issue #18 started from, and its targets.
fn print_targets(m: &edlake::bench::Measured) {
    println!("  against issue #18's starting figures and targets:");
    println!("  {:<44} {:<44} {:<10} target", "step", "now", "before");
    for [step, now, before, target] in edlake::bench::against_targets(m) {
        println!("  {step:<44} {now:<44} {before:<10} {target}");
    }
}

/// Each aggregate's and preview page's time on the benchmark lake.
fn print_aggregates(m: &edlake::bench::Measured) {
    for (name, secs, rows) in &m.metrics {
        let narrowed = m.narrowed.1.iter().find(|(n, _, _)| n == name);
        let also = narrowed.map_or(String::new(), |(_, s, r)| {
            format!(" · narrowed {:.0} ms ({r} rows)", s * 1000.0)
        });
        println!(
            "  metric {name:<24} {:.0} ms ({rows} rows){also}",
            secs * 1000.0
        );
    }
    if !m.narrowed.0.is_empty() {
        println!("  narrowed = {}", m.narrowed.0);
    }
    for (what, secs) in &m.preview {
        println!("  preview {what:<32} {:.0} ms", secs * 1000.0);
    }
}
