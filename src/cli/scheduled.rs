//! `edlake run --scheduled`: what the operating system's scheduler starts. Like `edlake run`,
//! plus what nobody at the keyboard needs: a log in `_edlake/logs/`, a bounded wait for a busy
//! lake (then "skipped: busy" in the run history), and every reason it could not run recorded
//! in the history, so Home and `edlake status` show it.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Result;
use edlake::app::runlog::RunLog;
use edlake::app::saved::run_configured;
use edlake::app::schedule::Operations;
use edlake::lake::{Lake, LakeError};
use edlake::pipeline::{Outcome, RunReport, RunStatus};

use super::ctx::Ctx;

/// How often a scheduled run looks again at a busy lake.
const BUSY_POLL: Duration = Duration::from_secs(10);

/// Records a scheduled run that did not happen, in the history and the log, and says so on the
/// desktop.
fn record(lake: &Lake, log: &mut RunLog, status: RunStatus) -> Result<()> {
    let mut report = RunReport::start("run");
    let line = report_line(&status);
    log.line(&line);
    notify(lake, log, &line);
    report.status = status;
    report.save(lake)?;
    Ok(())
}

/// A desktop notification that the scheduled run of `lake` did not go well (best effort: where
/// no notification service runs, the log says so).
fn notify(lake: &Lake, log: &mut RunLog, what: &str) {
    let body = format!("{what}\nLake: {}", lake.root().display());
    if let Err(e) = edlake::app::notify::desktop("edlake: the scheduled run did not finish", &body)
    {
        log.line(&e.to_string());
    }
}

fn report_line(status: &RunStatus) -> String {
    match status {
        RunStatus::Failed(m) => format!("failed: {m}"),
        RunStatus::Skipped(m) => format!("skipped: {m}"),
        RunStatus::Cancelled => "cancelled".into(),
        RunStatus::Succeeded => "done".into(),
    }
}

/// The scheduled run of `lake`'s sources (all, or those named).
pub(super) fn scheduled_run(ctx: &Ctx, sources: &[String]) -> Result<ExitCode> {
    let lake = &ctx.lake()?;
    let ops = Operations::load(lake)?;
    let mut log = RunLog::start(lake, ops.keep_logs_days)?;
    log.line(&format!(
        "scheduled run of {} (edlake {})",
        if sources.is_empty() {
            "every source".to_string()
        } else {
            sources.join(", ")
        },
        env!("CARGO_PKG_VERSION")
    ));
    // Wait for a run that holds the lake (someone's click, a long backfill), up to the limit.
    let deadline = Instant::now() + Duration::from_secs(u64::from(ops.busy_wait_minutes) * 60);
    let _lock = loop {
        match lake.lock("scheduled run") {
            Ok(l) => break l,
            Err(LakeError::Busy(who)) if Instant::now() < deadline => {
                log.line(&format!("the lake is busy ({who}); waiting"));
                std::thread::sleep(BUSY_POLL);
            }
            Err(LakeError::Busy(who)) => {
                let why = format!(
                    "the lake was busy for {} minute(s): {who}",
                    ops.busy_wait_minutes
                );
                record(lake, &mut log, RunStatus::Skipped(why.clone()))?;
                eprintln!("edlake: scheduled run skipped: {why}");
                return Ok(ExitCode::from(Outcome::Busy.code()));
            }
            Err(e) => return Err(e.into()),
        }
    };
    // No one can type a salt in: only the keyring can answer.
    let salt = match ctx.salt(lake) {
        Ok(s) => s,
        Err(e) => {
            let why = format!(
                "the lake's salt could not be read from the OS keyring (is the login keyring \
                 unlocked?): {e:#}"
            );
            record(lake, &mut log, RunStatus::Failed(why.clone()))?;
            anyhow::bail!(why);
        }
    };
    let cancel = super::cancel_on_ctrl_c();
    let t = Instant::now();
    let bars = super::progress::Bars::start(true);
    let only = (!sources.is_empty()).then_some(sources);
    let outs = run_configured(lake, only, &ctx.secrets, &salt, bars.progress(), &cancel);
    bars.finish();
    let outs = match outs {
        Ok(o) => o,
        Err(e) => {
            record(lake, &mut log, RunStatus::Failed(e.to_string()))?;
            return Err(e.into());
        }
    };
    let failed: Vec<String> = outs
        .iter()
        .filter_map(|o| o.error.as_ref().map(|e| format!("{}: {e}", o.report.job)))
        .collect();
    if !failed.is_empty() {
        notify(lake, &mut log, &failed.join("; "));
    }
    for o in &outs {
        log.line(&o.report.summary());
        for w in &o.report.warnings {
            log.line(&format!("  warning: {w}"));
        }
        if let Some(e) = &o.error {
            log.line(&format!("  error: {e}"));
        }
        if let Some(Err(e)) = &o.stage3 {
            log.line(&format!("  the derived tables were not rebuilt: {e}"));
        }
    }
    log.line(&format!("finished in {:.1} s", t.elapsed().as_secs_f64()));
    super::ops::finish_all(ctx, outs, t)
}
