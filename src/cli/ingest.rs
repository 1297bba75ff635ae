//! `ingest`, `module` and `stage3`: running sources into the lake and reporting what happened.

use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use edlake::app::run::{JobOutcome, run_module};
use edlake::lake::Lake;
use edlake::modules::Module;
use edlake::pipeline::{RunReport, RunStatus, job};
use edlake::sources::FolderSource;

use super::ctx::{Ctx, print_json};
use super::progress::Bars;
use super::{Coded, EXIT_BAD_INPUT};

pub(super) fn print_report(r: &RunReport) {
    println!(
        "Landed {} file(s); {} skipped as already ingested.",
        r.files_landed, r.files_skipped
    );
    println!(
        "Ingested {} rows; {} quarantined.",
        r.rows_ingested, r.rows_quarantined
    );
    if !r.tables.is_empty() {
        println!("Tables:");
        let w = r.tables.iter().map(|t| t.table.len()).max().unwrap_or(0);
        for t in &r.tables {
            println!(
                "  {:<w$}  version {:<4} +{} rows",
                t.table, t.version, t.rows_written
            );
        }
    }
    for n in &r.notes {
        println!("note: {n}");
    }
    for w in &r.warnings {
        println!("warning: {w}");
    }
    if !r.issues.is_empty() {
        println!("Rows sent to quarantine (first {}):", r.issues.len());
        for i in &r.issues {
            println!("  {i}");
        }
    }
    match &r.status {
        // The reason follows as the command's error; once is enough.
        RunStatus::Failed(_) => println!("{}: {}", r.headline(), r.counts()),
        _ => println!("{}", r.summary()),
    }
}

/// `edlake ingest <module> --from DIR | --source NAME`.
pub(super) fn ingest_cmd(ctx: &Ctx, source: super::IngestSource) -> Result<ExitCode> {
    use super::IngestSource;
    let (module, input) = match source {
        IngestSource::Clever(i) => ("clever".to_string(), i),
        IngestSource::Insights(i) => ("insights".to_string(), i),
        IngestSource::Sis(i) => ("sis".to_string(), i),
        IngestSource::Edx(i) => ("edx".to_string(), i),
        IngestSource::Custom(args) => {
            use clap::Parser;
            let c = super::CustomIngest::try_parse_from(
                std::iter::once("edlake ingest".to_string()).chain(args),
            )
            .map_err(|e| Coded(EXIT_BAD_INPUT, e.to_string()))?;
            (c.name, c.input)
        }
    };
    let super::FromOrSource {
        from,
        source,
        dry_run,
    } = input;
    let code = match (from, source) {
        (Some(from), _) => {
            let lake = ctx.lake()?;
            // A module that reads its schema from the export finds it in the folder itself.
            let m = edlake::app::saved::module_named(&lake, &module, &from)
                .map_err(|e| Coded(EXIT_BAD_INPUT, e.to_string()))?;
            ingest_from(ctx, &lake, m, &FolderSource::new(&from), dry_run)?
        }
        (None, Some(name)) => ingest_saved(ctx, &module, &name, dry_run)?,
        (None, None) => bail!(Coded(
            EXIT_BAD_INPUT,
            "give --from DIR or --source NAME".into()
        )),
    };
    // The MicroMasters reports follow the edX downloads.
    if module == "edx" && !dry_run {
        super::program::rebuild(ctx, &ctx.lake()?)?;
    }
    Ok(code)
}

/// `edlake ingest <module> --source NAME`: the saved source opened as the app opens it.
fn ingest_saved(ctx: &Ctx, module: &str, name: &str, dry_run: bool) -> Result<ExitCode> {
    let lake = ctx.lake()?;
    let src = edlake::sources::saved::SavedSource::load(&lake, name)
        .map_err(edlake::app::AppError::from)?;
    if let Some(m) = src.module()
        && m != module
    {
        bail!(Coded(
            EXIT_BAD_INPUT,
            format!(
                "the source `{name}` is set up for the {m} module: run `edlake ingest {m} --source {name}`"
            )
        ));
    }
    let src = edlake::sources::saved::SavedSource {
        module: Some(module.into()),
        ..src
    };
    let opened = edlake::app::saved::open(&lake, &src, &ctx.secrets)?;
    ingest_from(ctx, &lake, opened.module, opened.source.as_ref(), dry_run)
}

/// Runs (or dry-runs) a module from any source: the app's job, with progress bars and Ctrl-C.
pub(super) fn ingest_from(
    ctx: &Ctx,
    lake: &Lake,
    module: Box<dyn Module>,
    source: &dyn edlake::sources::Source,
    dry_run: bool,
) -> Result<ExitCode> {
    if dry_run {
        // The district's pseudonymization changes (setup's review step) apply to every run.
        let module = edlake::modules::overrides::apply(lake, module)?;
        let plan = job::dry_run(lake, module.as_ref(), source)?;
        if ctx.json {
            let fetch: Vec<_> = plan
                .fetch
                .iter()
                .map(|p| serde_json::json!({"path": p.file.path, "size": p.file.size, "entity": p.entity}))
                .collect();
            print_json(
                &serde_json::json!({"fetch": fetch, "unchanged": plan.unchanged.len(), "ignored": plan.ignored}),
            )?;
        } else {
            let bytes: u64 = plan.fetch.iter().map(|p| p.file.size).sum();
            println!(
                "Would fetch {} file(s) ({:.1} MB); {} unchanged since the last run; {} ignored.",
                plan.fetch.len(),
                bytes as f64 / 1e6,
                plan.unchanged.len(),
                plan.ignored.len()
            );
            for p in &plan.fetch {
                println!("  {}  ({} bytes) -> {}", p.file.path, p.file.size, p.entity);
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let salt = ctx.salt(lake)?;
    // A busy lake is refused before any progress is drawn.
    drop(lake.lock(&format!("ingest {}", module.source()))?);
    let cancel = super::cancel_on_ctrl_c();
    let t = std::time::Instant::now();
    let bars = Bars::start(ctx.json);
    let outcome = run_module(lake, module, source, &salt, bars.progress(), &cancel);
    bars.finish();
    finish_run(ctx, outcome, t)
}

/// Prints a job's report and its stage3 rebuild; the exit code from its outcome.
pub(super) fn finish_run(
    ctx: &Ctx,
    outcome: JobOutcome,
    started: std::time::Instant,
) -> Result<ExitCode> {
    if ctx.json {
        print_json(&outcome.report)?;
    } else {
        print_report(&outcome.report);
    }
    if let Some(e) = outcome.error {
        return Err(e.into());
    }
    match outcome.stage3 {
        Some(Ok(r)) => print_stage3(ctx, &r, started),
        Some(Err(e)) => {
            return Err(anyhow::Error::new(e).context("rebuilding the stage3 engagement tables"));
        }
        None => {}
    }
    Ok(ExitCode::from(outcome.report.outcome().code()))
}

pub(super) fn module_cmd(ctx: &Ctx, action: super::ModuleAction) -> Result<ExitCode> {
    use edlake::modules::definition::ModuleDef;
    let lake = ctx.lake()?;
    let bad = |e: String| Coded(EXIT_BAD_INPUT, e);
    match action {
        super::ModuleAction::Add {
            name,
            metadata,
            batches,
            keys,
            replace,
        } => module_add(ctx, &lake, &name, &metadata, &batches, &keys, replace)?,
        super::ModuleAction::List => {
            let all = ModuleDef::list(&lake)?;
            if ctx.json {
                print_json(
                    &all.iter()
                        .map(|d| serde_json::json!({"name": d.name, "entities": d.entities}))
                        .collect::<Vec<_>>(),
                )?;
            } else if all.is_empty() {
                println!(
                    "No custom modules. Define one with `edlake module add NAME --metadata FILE`."
                );
            } else {
                for d in &all {
                    println!(
                        "{}  ({} entities, added {})",
                        d.name,
                        d.entities.len(),
                        d.created.format("%Y-%m-%d")
                    );
                }
            }
        }
        super::ModuleAction::Check { metadata, from } => {
            return module_check(ctx, &metadata, &from);
        }
        super::ModuleAction::Remove { name } => {
            ModuleDef::remove(&lake, &name).map_err(|e| bad(e.to_string()))?;
            println!("Module `{name}` removed; its tables stay in the lake.");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `edlake module add`.
fn module_add(
    ctx: &Ctx,
    lake: &Lake,
    name: &str,
    metadata: &std::path::Path,
    batches: &[String],
    keys: &[String],
    replace: bool,
) -> Result<()> {
    use edlake::modules::definition::{ModuleDef, parse_batch, split_assignment};
    let bad = |e: String| Coded(EXIT_BAD_INPUT, e);
    let text = std::fs::read_to_string(metadata)
        .map_err(|e| bad(format!("cannot read {}: {e}", metadata.display())))?;
    let batches = batches
        .iter()
        .map(|b| {
            let (e, t) = split_assignment(b)?;
            Ok((e, parse_batch(&t)?))
        })
        .collect::<Result<Vec<_>, edlake::modules::definition::DefError>>()
        .map_err(|e| bad(e.to_string()))?;
    let keys = keys
        .iter()
        .map(|k| split_assignment(k))
        .collect::<Result<Vec<_>, edlake::modules::definition::DefError>>()
        .map_err(|e| bad(e.to_string()))?;
    if !replace && ModuleDef::load(lake, name).is_ok() {
        bail!(bad(format!(
            "a module named `{name}` exists; add --replace to redefine it"
        )));
    }
    let def = ModuleDef::new(
        name,
        &text,
        &metadata.display().to_string(),
        &batches,
        &keys,
    )
    .map_err(|e| bad(e.to_string()))?;
    def.save(lake)?;
    if ctx.json {
        print_json(&def.entities)?;
    } else {
        println!(
            "Module `{name}` saved with {} entities:",
            def.entities.len()
        );
        for e in &def.entities {
            println!(
                "  {:<28} {:<9} key: {}",
                e.name,
                e.batch.name(),
                if e.key.is_empty() {
                    "-".to_string()
                } else {
                    e.key.join(" + ")
                }
            );
        }
        println!(
            "Ingest with: edlake ingest {name} --from DIR   (DIR holds a subfolder or file per entity)"
        );
    }
    Ok(())
}

/// `edlake module check`: exit 3 when a file disagrees with the metadata.
fn module_check(ctx: &Ctx, metadata: &std::path::Path, from: &std::path::Path) -> Result<ExitCode> {
    let bad = |e: String| Coded(EXIT_BAD_INPUT, e);
    let m = edlake::pseudo::Metadata::from_file(metadata).map_err(|e| bad(e.to_string()))?;
    let previews = edlake::modules::inspect::preview(&m, from, 0);
    if ctx.json {
        let v: Vec<_> = previews
            .iter()
            .map(|p| {
                serde_json::json!({
                    "entity": p.entity, "files": p.files, "error": p.error,
                    "columns": p.columns.iter().map(|c| serde_json::json!({
                        "name": c.name,
                        "metadata": c.metadata.map(|t| t.name()),
                        "inferred": c.inferred.map(|t| t.name()),
                        "issue": c.issue,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        print_json(&v)?;
    } else {
        for p in &previews {
            println!(
                "{} ({} file(s)){}",
                p.entity,
                p.files,
                p.error
                    .as_ref()
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default()
            );
            for c in &p.columns {
                println!(
                    "  {:<28} metadata {:<9} data {:<9} {}",
                    c.name,
                    c.metadata.map(|t| t.name()).unwrap_or("-"),
                    c.inferred.map(|t| t.name()).unwrap_or("-"),
                    c.issue.as_deref().unwrap_or("ok")
                );
            }
        }
    }
    if previews
        .iter()
        .any(|p| p.mismatches() > 0 || p.error.is_some())
    {
        return Ok(ExitCode::from(super::EXIT_PARTIAL));
    }
    Ok(ExitCode::SUCCESS)
}

/// Rebuilds the stage3 tables with a progress bar; `cancel` is the command's Ctrl-C token (a
/// process has one Ctrl-C handler).
pub(super) fn stage3(ctx: &Ctx, lake: &Lake, cancel: &edlake::pipeline::Cancel) -> Result<()> {
    let t = std::time::Instant::now();
    let bars = Bars::start(ctx.json);
    let r = edlake::derive::build_stage3_with(lake, bars.progress(), cancel);
    bars.finish();
    let r = r.context("rebuilding the stage3 engagement tables")?;
    print_stage3(ctx, &r, t);
    Ok(())
}

/// The stage3 rebuild's figures (nothing in --json mode, whose report says it all).
pub(super) fn print_stage3(ctx: &Ctx, r: &edlake::derive::Stage3Report, t: std::time::Instant) {
    if !ctx.json {
        if let Some(n) = r.digital_activity_rows {
            println!("stage3: digital_activity rebuilt with {n} events");
        }
        if let Some(n) = r.hybrid_students {
            println!("stage3: hybrid_engagement rebuilt for {n} students");
        }
        let steps: Vec<String> = r
            .steps
            .iter()
            .map(|(what, s)| format!("{what} {s:.2} s"))
            .collect();
        // `t` is when the command started: for an ingest, before its files were landed.
        let all = t.elapsed().as_secs_f64();
        let whole = if all - r.seconds > 0.05 {
            format!("; {all:.2} s in all since the run started")
        } else {
            String::new()
        };
        println!(
            "stage3 took {:.2} s ({}){whole}",
            r.seconds,
            steps.join(", ")
        );
        if let Some(s) = &r.serving {
            let parts: Vec<String> = s
                .steps
                .iter()
                .map(|(p, secs, mb)| match mb {
                    Some(mb) => format!("{p} {secs:.2} s (peak {mb} MB)"),
                    None => format!("{p} {secs:.2} s"),
                })
                .collect();
            println!("  chart serving data: {}", parts.join(", "));
        }
    }
}
