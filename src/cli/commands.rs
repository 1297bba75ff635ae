//! What each subcommand does. Library calls do the work; this file only talks to the user.

use std::io::Read;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use edlake::audit;
use edlake::lake::{Lake, Layer};
use edlake::pipeline::RunReport;
use edlake::pipeline::job::{ensure_salt, lake_salt};
use edlake::preview;
use edlake::pseudo::Salt;
use edlake::secrets::{Secrets, salt_key};
use edlake::settings::Settings;

use super::ctx::{Ctx, print_json};
use super::ingest::{module_cmd, stage3};
use super::reports::{bench, gen_test_data, metrics_cmd};
use super::{Cli, Coded, Command, EXIT_BAD_INPUT, SaltAction};

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
        return gui(cli.lake.clone(), ctx.secrets.clone());
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
        Command::Ingest { source } => super::ingest::ingest_cmd(&ctx, source),
        Command::Runs { limit } => runs(&ctx, limit),
        Command::Run { sources, scheduled } => match scheduled {
            true => super::scheduled::scheduled_run(&ctx, &sources),
            false => super::ops::run_cmd(&ctx, &sources),
        },
        Command::Schedule { action } => super::schedule::schedule_cmd(&ctx, action),
        Command::Status { stale_after } => super::ops::status_cmd(&ctx, stale_after),
        Command::Audit { verify } => audit_cmd(&ctx, verify),
        Command::Access { group, private } => super::access::access_cmd(&ctx, group, private),
        Command::Program { action } => super::program::program_cmd(&ctx, action),
        Command::Roster { action } => super::roster::roster_cmd(&ctx, action),
        Command::Identity { action } => super::roster::identity_cmd(&ctx, action),
        Command::Module { action } => module_cmd(&ctx, action),
        Command::Source { action } => super::sources::source_cmd(&ctx, action),
        Command::Metrics(args) => {
            metrics_cmd(&ctx, args.name.as_deref(), &args.filter(), args.format)
        }
        Command::Schools(args) => super::sites::schools_cmd(&ctx, args),
        Command::Stage3 { present_codes } => {
            let lake = ctx.lake()?;
            if let Some(codes) = present_codes {
                let codes = edlake::derive::attendance::PresentCodes::new(codes)
                    .map_err(|e| Coded(EXIT_BAD_INPUT, e.to_string()))?;
                codes.save(&lake)?;
                println!("Present codes: {}", codes.codes.join(", "));
            }
            stage3(&ctx, &lake, &super::cancel_on_ctrl_c())?;
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
            all_sources,
            measure,
        } => bench(&ctx, students, days, dir, keep, all_sources, measure),
    }
}

/// The desktop app: the lake given with --lake, else the configured one, else the demo.
#[cfg(feature = "gui")]
fn gui(lake: Option<std::path::PathBuf>, secrets: Secrets) -> Result<ExitCode> {
    let remember = lake.is_none();
    edlake::ui::window::run(edlake::ui::AppOptions {
        secrets,
        lake,
        remember_lake: remember,
        ..Default::default()
    })?;
    Ok(ExitCode::SUCCESS)
}

/// A build without the desktop app says so and what to do instead.
#[cfg(not(feature = "gui"))]
fn gui(_lake: Option<std::path::PathBuf>, _secrets: Secrets) -> Result<ExitCode> {
    bail!(Coded(
        EXIT_BAD_INPUT,
        "this edlake was built without the desktop app (cargo feature `gui`); run a command \
         instead, `edlake --help` lists them"
            .into()
    ))
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
        audit::record_access(
            &lake,
            &audit::Access {
                action: "unlock-preview",
                table: &t.id(),
                detail: format!(
                    "rows {offset}..{}, columns {}, to the terminal",
                    offset + limit,
                    columns.map_or("all".to_string(), |c| c.join(","))
                ),
            },
        )?;
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
            let mut s = zeroize::Zeroizing::new(String::new());
            std::io::stdin()
                .read_to_string(&mut s)
                .context("reading the salt from standard input")?;
            let salt = Salt::from_secret(s.trim())?;
            if let Some(w) = salt.weakness() {
                eprintln!("warning: {w}");
            }
            let existing = ctx.secrets.get(&key)?;
            let has_data = lake.tables().iter().any(|t| t.layer == Layer::General);
            if existing.is_some_and(|old| old.as_str() != salt.expose()) && has_data && !replace {
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
            let salt = lake_salt(&lake, &ctx.secrets)?;
            // Recorded before it is shown: no salt leaves without an entry.
            audit::record_access(
                &lake,
                &audit::Access {
                    action: "salt-export",
                    table: "salt",
                    detail: "printed to standard output".into(),
                },
            )?;
            println!("{}", salt.expose());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn audit_cmd(ctx: &Ctx, verify_only: bool) -> Result<ExitCode> {
    let lake = ctx.lake()?;
    let entries = audit::entries(&lake)?;
    if verify_only {
        println!(
            "The audit log's {} entries are intact (each line follows the one before it).",
            entries.len()
        );
    } else if ctx.json {
        print_json(&entries)?;
    } else {
        for e in &entries {
            println!(
                "{}  {}@{}  {}  {}  {}",
                e.at.format("%Y-%m-%d %H:%M:%S"),
                e.user,
                e.host,
                e.action,
                e.table,
                e.detail
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
            edlake::pipeline::RunStatus::Skipped(_) => "skipped".to_string(),
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
        match &r.status {
            edlake::pipeline::RunStatus::Failed(m) => println!("    error: {m}"),
            edlake::pipeline::RunStatus::Skipped(m) => println!("    skipped: {m}"),
            _ => {}
        }
    }
    Ok(ExitCode::SUCCESS)
}
