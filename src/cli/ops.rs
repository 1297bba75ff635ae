//! Daily operations: `edlake run` (every configured source as one job, what a schedule runs)
//! and `edlake status` (how current each source is, for IT's monitoring).

use std::process::ExitCode;

use anyhow::Result;
use edlake::app::run::JobOutcome;
use edlake::app::saved::run_configured;
use edlake::app::schedule::Operations;
use edlake::app::status::status;
use edlake::pipeline::Outcome;

use super::ctx::{Ctx, print_json};
use super::ingest::{print_report, print_stage3};
use super::progress::Bars;

/// Exit code of `status`: a source needs attention (stale, failed, never run).
pub const EXIT_ATTENTION: u8 = 5;

/// `edlake run [--sources a,b]` (with `--scheduled`, see [`super::scheduled`]).
pub(super) fn run_cmd(ctx: &Ctx, sources: &[String]) -> Result<ExitCode> {
    let lake = ctx.lake()?;
    // Without the salt nothing can run: the reason goes into the run history too, so a
    // scheduled run with a locked keyring is seen failed, not missing.
    let salt = match ctx.salt(&lake) {
        Ok(s) => s,
        Err(e) => {
            let reason = format!("the lake's salt could not be read: {e:#}");
            let mut report = edlake::pipeline::RunReport::start("run");
            report.status = edlake::pipeline::RunStatus::Failed(reason.clone());
            report.save(&lake)?;
            anyhow::bail!(reason);
        }
    };
    let cancel = super::cancel_on_ctrl_c();
    let t = std::time::Instant::now();
    let bars = Bars::start(ctx.json);
    let only = (!sources.is_empty()).then_some(sources);
    let outs = run_configured(&lake, only, &ctx.secrets, &salt, bars.progress(), &cancel);
    bars.finish();
    finish_all(ctx, outs?, t)
}

/// Prints every source's report and the rebuild; exits with the worst outcome.
pub(super) fn finish_all(
    ctx: &Ctx,
    outs: Vec<JobOutcome>,
    t: std::time::Instant,
) -> Result<ExitCode> {
    if ctx.json {
        let reports: Vec<_> = outs.iter().map(|o| &o.report).collect();
        print_json(&reports)?;
    } else {
        for o in &outs {
            print_report(&o.report);
        }
    }
    let mut worst = Outcome::Done;
    let mut error = None;
    for o in outs {
        let outcome = match &o.error {
            Some(e) => e.outcome(),
            None => o.report.outcome(),
        };
        if outcome.code() > worst.code() {
            worst = outcome;
        }
        if let Some(Ok(r)) = &o.stage3 {
            print_stage3(ctx, r, t);
        }
        if let Some(Err(e)) = o.stage3 {
            error.get_or_insert(anyhow::Error::new(e).context("rebuilding the derived tables"));
        }
        if let Some(e) = o.error {
            error.get_or_insert(e.into());
        }
    }
    match error {
        Some(e) => Err(e),
        None => Ok(ExitCode::from(worst.code())),
    }
}

/// `edlake status [--stale-after N]`.
pub(super) fn status_cmd(ctx: &Ctx, stale_after: Option<u32>) -> Result<ExitCode> {
    let lake = ctx.lake()?;
    let mut ops = Operations::load(&lake)?;
    ops.stale_after = stale_after.unwrap_or(ops.stale_after);
    let st = status(&lake, chrono::Local::now().naive_local(), &ops)?;
    if ctx.json {
        print_json(&st)?;
    } else if st.sources.is_empty() {
        println!("No source is set up in this lake yet.");
    } else {
        match st.next_run {
            Some(t) => println!("Next scheduled run: {}", t.format("%a %Y-%m-%d %H:%M")),
            None => println!("No schedule (see `edlake schedule set`)."),
        }
        println!(
            "{:<12}  {:<9}  {:<16}  {:<16}  {:<10}  {:>6}  ATTENTION",
            "SOURCE", "MODULE", "LAST RUN", "LAST SUCCESS", "NEWEST DAY", "BEHIND"
        );
        let when = |t: Option<chrono::DateTime<chrono::Utc>>| {
            t.map(|t| {
                t.with_timezone(&chrono::Local)
                    .format("%Y-%m-%d %H:%M")
                    .to_string()
            })
            .unwrap_or_else(|| "never".into())
        };
        for s in &st.sources {
            let problems: Vec<String> = s.problems.iter().map(|p| p.to_string()).collect();
            println!(
                "{:<12}  {:<9}  {:<16}  {:<16}  {:<10}  {:>6}  {}",
                s.name,
                s.module,
                when(s.last_run),
                when(s.last_success),
                s.newest_day
                    .map(|d| d.to_string())
                    .unwrap_or_else(|| "-".into()),
                s.school_days_behind
                    .map(|n| n.to_string())
                    .unwrap_or_else(|| "-".into()),
                if problems.is_empty() {
                    "ok".to_string()
                } else {
                    problems.join("; ")
                }
            );
        }
    }
    Ok(if st.healthy() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_ATTENTION)
    })
}
