//! What each subcommand does. Library calls do the work; this file only talks to the user.

use std::io::{IsTerminal, Read};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use edlake::audit;
use edlake::lake::{Lake, Layer};
use edlake::modules::clever::Clever;
use edlake::pipeline::job::{self, ensure_salt, lake_salt};
use edlake::pipeline::{Cancel, RunReport};
use edlake::preview;
use edlake::pseudo::Salt;
use edlake::secrets::{Secrets, salt_key};
use edlake::settings::Settings;
use edlake::sources::FolderSource;

use super::progress::Bars;
use super::{Cli, Coded, Command, EXIT_BAD_INPUT, EXIT_PARTIAL, IngestSource, SaltAction};

fn print_json(v: &impl serde::Serialize) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

struct Ctx {
    lake_path: std::path::PathBuf,
    json: bool,
    secrets: Secrets,
}

impl Ctx {
    fn lake(&self) -> Result<Lake> {
        Ok(Lake::open(&self.lake_path)?)
    }

    /// The salt: from the keyring, or with --session-secrets from standard input.
    fn salt(&self, lake: &Lake) -> Result<Salt> {
        if self.secrets.is_session_only() {
            let mut s = String::new();
            if std::io::stdin().is_terminal() {
                eprintln!("Enter the lake's salt (it is kept in memory for this run only):");
            }
            std::io::stdin()
                .read_line(&mut s)
                .context("reading the salt from standard input")?;
            return Ok(Salt::from_secret(s.trim())?);
        }
        Ok(lake_salt(lake, &self.secrets)?)
    }
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<ExitCode> {
    let settings = Settings::load();
    let ctx = Ctx {
        lake_path: cli
            .lake
            .clone()
            .unwrap_or_else(|| settings.lake_or_default()),
        json: cli.json,
        secrets: if cli.session_secrets {
            Secrets::session_only()
        } else {
            Secrets::os()
        },
    };
    let Some(command) = cli.command else {
        return gui(&ctx);
    };
    match command {
        Command::Init => init(&ctx, settings),
        Command::Tables => tables(&ctx),
        Command::Preview {
            table,
            limit,
            offset,
            columns,
            unlock,
        } => preview_cmd(&ctx, &table, offset, limit, columns.as_deref(), unlock),
        Command::Salt { action } => salt_cmd(&ctx, action),
        Command::Ingest { source } => match source {
            IngestSource::Clever { from, dry_run } => {
                ingest_module(&ctx, &Clever::default(), &from, dry_run)
            }
            IngestSource::Insights { from, dry_run } => {
                let module = edlake::modules::insights::Insights::from_export(&from)
                    .map_err(|e| Coded(EXIT_BAD_INPUT, e))?;
                ingest_module(&ctx, &module, &from, dry_run)
            }
            IngestSource::Custom(args) => {
                use clap::Parser;
                let c = super::CustomIngest::try_parse_from(
                    std::iter::once("edlake ingest".to_string()).chain(args),
                )
                .map_err(|e| Coded(EXIT_BAD_INPUT, e.to_string()))?;
                let lake = ctx.lake()?;
                let def = edlake::modules::definition::ModuleDef::load(&lake, &c.name)
                    .map_err(|e| Coded(EXIT_BAD_INPUT, e.to_string()))?;
                let module = def
                    .module()
                    .map_err(|e| Coded(EXIT_BAD_INPUT, e.to_string()))?;
                ingest_module(&ctx, &module, &c.from, c.dry_run)
            }
            IngestSource::Sis { from, dry_run } => {
                let module = edlake::modules::sis::module().map_err(anyhow::Error::msg)?;
                ingest_module(&ctx, &module, &from, dry_run)
            }
        },
        Command::Runs { limit } => runs(&ctx, limit),
        Command::Module { action } => module_cmd(&ctx, action),
        Command::Metrics {
            name,
            from,
            to,
            school,
            min_group,
            threshold,
            format,
        } => {
            let f = edlake::metrics::Filter {
                from,
                to,
                school,
                min_group,
                threshold,
            };
            metrics_cmd(&ctx, name.as_deref(), &f, format)
        }
        Command::Stage3 => {
            let lake = ctx.lake()?;
            stage3(&ctx, &lake)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::GenTestData {
            out,
            students,
            days,
            seed,
        } => gen_test_data(&ctx, &out, students, days, seed),
        Command::Bench {
            students,
            days,
            dir,
            keep,
            measure,
        } => bench(&ctx, students, days, dir, keep, measure),
    }
}

fn gui(_ctx: &Ctx) -> Result<ExitCode> {
    use clap::CommandFactory;
    eprintln!(
        "The desktop app is not part of this build yet; here is what the command line can do.\n"
    );
    super::Cli::command().print_help()?;
    Ok(ExitCode::SUCCESS)
}

fn init(ctx: &Ctx, mut settings: Settings) -> Result<ExitCode> {
    if ctx.secrets.is_session_only() {
        bail!(Coded(
            EXIT_BAD_INPUT,
            "`init` keeps the new salt in the OS keyring and cannot with --session-secrets. \
             Create the lake where a keyring is available, or bring your own salt on each run \
             (`--session-secrets` reads it from standard input)."
                .into()
        ));
    }
    let (lake, created) = Lake::init(&ctx.lake_path)
        .with_context(|| format!("creating the lake at {}", ctx.lake_path.display()))?;
    let has_data = lake.tables().iter().any(|t| t.layer == Layer::General);
    let key = salt_key(&lake.info().id);
    let salt_created = if has_data && ctx.secrets.get(&key)?.is_none() {
        bail!(
            "the lake at {} holds pseudonymized data but this machine's keyring has no salt for it. \
             Import the lake's salt with `edlake salt import` so new pseudonyms match the old ones.",
            lake.root().display()
        );
    } else {
        ensure_salt(&lake, &ctx.secrets)?
    };
    if settings.lake.is_none() {
        settings.lake = Some(std::path::absolute(lake.root())?);
        if let Err(e) = settings.save() {
            eprintln!("warning: could not remember this lake as the default: {e}");
        }
    }
    if ctx.json {
        print_json(&serde_json::json!({
            "lake": lake.root(), "id": lake.info().id, "created": created, "salt_created": salt_created,
        }))?;
    } else {
        println!(
            "{} lake at {}",
            if created { "Created" } else { "Found existing" },
            lake.root().display()
        );
        if salt_created {
            println!(
                "A new salt was generated and stored in the OS keyring (it never leaves it unless you run `edlake salt export --print`)."
            );
        } else {
            println!("Its salt is in the OS keyring.");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn tables(ctx: &Ctx) -> Result<ExitCode> {
    let lake = ctx.lake()?;
    let mut rows = Vec::new();
    for t in lake.tables() {
        let st = lake.table_state(&t)?;
        let updated = st
            .modified_ms
            .and_then(chrono::DateTime::from_timestamp_millis)
            .map(|d| {
                d.with_timezone(&chrono::Local)
                    .format("%Y-%m-%d %H:%M")
                    .to_string()
            })
            .unwrap_or_default();
        rows.push(serde_json::json!({
            "table": t.id(), "layer": t.layer.name(), "source": t.source, "module_version": t.version,
            "entity": t.entity, "path": t.rel_path(), "rows": st.rows(), "columns": st.schema.columns.len(),
            "version": st.version, "updated": updated, "restricted": t.layer.is_restricted(),
        }));
    }
    if ctx.json {
        print_json(&rows)?;
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        println!(
            "The lake at {} has no tables yet. Ingest data with `edlake ingest`.",
            lake.root().display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let w = rows
        .iter()
        .map(|r| r["table"].as_str().unwrap_or_default().len())
        .max()
        .unwrap_or(5);
    println!(
        "{:<w$}  {:>10}  {:>7}  {:>7}  UPDATED",
        "TABLE", "ROWS", "COLUMNS", "VERSION"
    );
    for r in &rows {
        println!(
            "{:<w$}  {:>10}  {:>7}  {:>7}  {}{}",
            r["table"].as_str().unwrap_or_default(),
            r["rows"].as_i64().unwrap_or_default(),
            r["columns"].as_i64().unwrap_or_default(),
            r["version"].as_i64().unwrap_or_default(),
            r["updated"].as_str().unwrap_or_default(),
            if r["restricted"] == true {
                "  (restricted)"
            } else {
                ""
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn preview_cmd(
    ctx: &Ctx,
    table: &str,
    offset: usize,
    limit: usize,
    columns: Option<&[String]>,
    unlock: bool,
) -> Result<ExitCode> {
    let lake = ctx.lake()?;
    let t = lake.resolve(table)?;
    if t.layer.is_restricted() {
        if !unlock {
            bail!(Coded(
                EXIT_BAD_INPUT,
                format!(
                    "{} is restricted: it holds raw student data. Add --unlock to view it; \
                     the access is recorded in the lake's audit log.",
                    t.id()
                )
            ));
        }
        audit::record(&lake, "unlock-preview", &t.id())?;
        eprintln!("Unlocked {} (recorded in the audit log).", t.id());
    }
    let df = preview::preview(&lake, &t, offset, limit, columns)?;
    if ctx.json {
        print_json(&preview::to_json_rows(&df))?;
    } else {
        print!("{}", preview::to_text_table(&df, 64));
        let total = lake.table_state(&t)?.rows();
        println!("({} of {} rows from {})", df.height(), total, t.id());
    }
    Ok(ExitCode::SUCCESS)
}

fn salt_cmd(ctx: &Ctx, action: SaltAction) -> Result<ExitCode> {
    let lake = ctx.lake()?;
    let key = salt_key(&lake.info().id);
    match action {
        SaltAction::Import { replace } => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .context("reading the salt from standard input")?;
            let salt = Salt::from_secret(s.trim())?;
            let existing = ctx.secrets.get(&key)?;
            let has_data = lake.tables().iter().any(|t| t.layer == Layer::General);
            if existing.is_some_and(|old| old != salt.expose()) && has_data && !replace {
                bail!(Coded(
                    EXIT_BAD_INPUT,
                    "this lake already holds data pseudonymized with a different salt; importing would \
                     make old and new pseudonyms disagree. Re-run with --replace only if you will rebuild the lake."
                        .into()
                ));
            }
            ctx.secrets.set(&key, salt.expose())?;
            if !ctx.json {
                println!(
                    "Salt imported into the OS keyring; pseudonyms now match any OEA lake that uses the same salt."
                );
            }
        }
        SaltAction::Export { print } => {
            if !print {
                bail!(Coded(
                    EXIT_BAD_INPUT,
                    "the salt is a secret: anyone holding it and a student id can compute that student's pseudonym. \
                     Add --print to write it to standard output."
                        .into()
                ));
            }
            println!("{}", lake_salt(&lake, &ctx.secrets)?.expose());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_report(r: &RunReport) {
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
            println!(
                "  {}, line {}{}: {}",
                i.file,
                i.line,
                i.column
                    .as_ref()
                    .map(|c| format!(", column {c}"))
                    .unwrap_or_default(),
                i.reason
            );
        }
    }
    println!("{}", r.summary());
}

fn ingest_module(
    ctx: &Ctx,
    module: &dyn edlake::modules::Module,
    from: &std::path::Path,
    dry_run: bool,
) -> Result<ExitCode> {
    let lake = ctx.lake()?;
    let source = FolderSource::new(from);
    if dry_run {
        let plan = job::dry_run(&lake, module, &source)?;
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
    let salt = ctx.salt(&lake)?;
    let cancel = Cancel::default();
    let c = cancel.clone();
    let _ = ctrlc::set_handler(move || {
        eprintln!("\nCancelling at the next safe point…");
        c.cancel();
    });
    let bars = Bars::start(ctx.json);
    let outcome = job::ingest(&lake, module, &source, &salt, bars.progress(), &cancel);
    bars.finish();
    if ctx.json {
        print_json(&outcome.report)?;
    } else {
        print_report(&outcome.report);
    }
    if let Some(e) = outcome.error {
        return Err(e.into());
    }
    if outcome.report.rows_ingested > 0 {
        stage3(ctx, &lake)?;
    }
    let rejected = outcome
        .report
        .warnings
        .iter()
        .any(|w| w.starts_with("rejected:"));
    if outcome.report.rows_quarantined > 0 || rejected {
        return Ok(ExitCode::from(EXIT_PARTIAL));
    }
    Ok(ExitCode::SUCCESS)
}

fn module_cmd(ctx: &Ctx, action: super::ModuleAction) -> Result<ExitCode> {
    use edlake::modules::definition::{ModuleDef, parse_batch, split_assignment};
    let lake = ctx.lake()?;
    let bad = |e: String| Coded(EXIT_BAD_INPUT, e);
    match action {
        super::ModuleAction::Add {
            name,
            metadata,
            batches,
            keys,
            replace,
        } => {
            let text = std::fs::read_to_string(&metadata)
                .map_err(|e| bad(format!("cannot read {}: {e}", metadata.display())))?;
            let batches = batches
                .iter()
                .map(|b| {
                    let (e, t) = split_assignment(b)?;
                    Ok((e, parse_batch(&t)?))
                })
                .collect::<Result<Vec<_>, String>>()
                .map_err(bad)?;
            let keys = keys
                .iter()
                .map(|k| split_assignment(k))
                .collect::<Result<Vec<_>, String>>()
                .map_err(bad)?;
            if !replace && ModuleDef::load(&lake, &name).is_ok() {
                bail!(bad(format!(
                    "a module named `{name}` exists; add --replace to redefine it"
                )));
            }
            let def = ModuleDef::new(
                &name,
                &text,
                &metadata.display().to_string(),
                &batches,
                &keys,
            )
            .map_err(|e| bad(e.to_string()))?;
            def.save(&lake)?;
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
        }
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
        super::ModuleAction::Remove { name } => {
            ModuleDef::remove(&lake, &name).map_err(|e| bad(e.to_string()))?;
            println!("Module `{name}` removed; its tables stay in the lake.");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn stage3(ctx: &Ctx, lake: &Lake) -> Result<()> {
    let t = std::time::Instant::now();
    let r = edlake::metrics::engagement::build_stage3(lake)
        .context("rebuilding the stage3 engagement tables")?;
    if !ctx.json {
        if let Some(n) = r.digital_activity_rows {
            println!("stage3: digital_activity rebuilt with {n} events");
        }
        if let Some(n) = r.hybrid_students {
            println!("stage3: hybrid_engagement rebuilt for {n} students");
        }
        if r.digital_activity_rows.is_some() || r.hybrid_students.is_some() {
            println!("stage3 took {:.2} s", t.elapsed().as_secs_f64());
        }
    }
    Ok(())
}

fn metrics_cmd(
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
        Err(e @ edlake::metrics::MetricError::Missing { .. }) => {
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
            let mut df = out.frame.clone();
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

fn runs(ctx: &Ctx, limit: Option<usize>) -> Result<ExitCode> {
    let lake = ctx.lake()?;
    let mut all = RunReport::history(&lake)?;
    if let Some(l) = limit {
        let skip = all.len().saturating_sub(l);
        all.drain(..skip);
    }
    if ctx.json {
        print_json(&all)?;
        return Ok(ExitCode::SUCCESS);
    }
    if all.is_empty() {
        println!("No runs yet.");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<24}  {:<19}  {:<14}  {:<10}  {:>8}  {:>6}  {:>7}  {:>10}  {:>11}",
        "RUN", "STARTED", "JOB", "STATUS", "SECONDS", "LANDED", "SKIPPED", "ROWS", "QUARANTINED"
    );
    for r in &all {
        let status = match &r.status {
            edlake::pipeline::RunStatus::Succeeded => "ok".to_string(),
            edlake::pipeline::RunStatus::Cancelled => "cancelled".to_string(),
            edlake::pipeline::RunStatus::Failed(_) => "failed".to_string(),
        };
        println!(
            "{:<24}  {:<19}  {:<14}  {:<10}  {:>8.1}  {:>6}  {:>7}  {:>10}  {:>11}",
            r.run_id,
            r.started
                .with_timezone(&chrono::Local)
                .format("%Y-%m-%d %H:%M:%S"),
            r.job,
            status,
            r.seconds,
            r.files_landed,
            r.files_skipped,
            r.rows_ingested,
            r.rows_quarantined
        );
        if let edlake::pipeline::RunStatus::Failed(m) = &r.status {
            println!("    error: {m}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn gen_test_data(
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

fn bench(
    ctx: &Ctx,
    students: u32,
    days: u32,
    dir: Option<std::path::PathBuf>,
    keep: bool,
    measure: Option<std::path::PathBuf>,
) -> Result<ExitCode> {
    use edlake::bench;
    if let Some(dir) = measure {
        let bars = Bars::start(ctx.json);
        let m = bench::measure(&dir, bars.progress(), &Cancel::default());
        bars.finish();
        print_json(&m?)?;
        return Ok(ExitCode::SUCCESS);
    }
    let opts = bench::BenchOptions {
        students,
        days,
        dir,
    };
    let bars = Bars::start(ctx.json);
    let prepared = bench::prepare(&opts, bars.progress());
    bars.finish();
    let p = prepared?;
    // The timed run gets a process of its own, so its peak memory is only its own.
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
    if !p.temporary && !keep {
        let _ = std::fs::remove_dir_all(p.dir.join("lake"));
    }
    if p.temporary && !keep {
        let _ = std::fs::remove_dir_all(&p.dir);
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
            "metrics": m.metrics,
            "kept": keep.then_some(&p.dir),
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
    println!("  throughput          {rows_per_second:.0} rows/s, {mb_per_second:.0} MB/s");
    match m.peak_rss_bytes {
        Some(b) => println!("  peak RSS            {:.2} GB", b as f64 / 1e9),
        None => println!("  peak RSS            not reported by this OS"),
    }
    println!(
        "  second run          {:.2} s, {} new rows (incremental no-op)",
        m.second_run_seconds, m.second_run_rows
    );
    for (name, secs, rows) in &m.metrics {
        println!("  metric {name:<22} {:.0} ms ({rows} rows)", secs * 1000.0);
    }
    if keep {
        println!("  kept                {}", p.dir.display());
    }
    Ok(ExitCode::SUCCESS)
}
