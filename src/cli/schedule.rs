//! `edlake schedule set|show|remove`: the lake's daily run, kept in the lake and installed into
//! the operating system's scheduler (systemd user timer or cron, launchd, Task Scheduler).

use std::process::ExitCode;

use anyhow::{Context, Result};
use edlake::app::schedule::{Operations, Schedule};
use edlake::app::scheduler::{Backend, install, is_installed, uninstall};

use clap::Subcommand;

use super::ctx::{Ctx, print_json};

/// `edlake schedule` actions.
#[derive(Debug, Subcommand)]
pub enum ScheduleAction {
    /// Run the lake's sources every day (or every school day) at a time.
    Set {
        /// Local time of day, HH:MM (24-hour).
        #[arg(long, value_name = "HH:MM")]
        daily: String,
        /// Monday to Friday only.
        #[arg(long)]
        weekdays: bool,
        /// Only these sources, comma-separated (default: every source set up).
        #[arg(long, value_delimiter = ',')]
        sources: Vec<String>,
        /// School days the newest data may be behind before it is stale (default 2).
        #[arg(long)]
        stale_after: Option<u32>,
        /// Days to keep each scheduled run's log in _edlake/logs/ (default 30).
        #[arg(long, value_name = "DAYS")]
        keep_logs: Option<u32>,
        /// Minutes a scheduled run waits for a busy lake before it is skipped (default 20).
        #[arg(long, value_name = "MINUTES")]
        busy_wait: Option<u32>,
    },
    /// The schedule, its next run and whether the OS scheduler has it.
    Show,
    /// Remove the schedule from the lake and the OS scheduler.
    Remove,
}

pub(super) fn schedule_cmd(ctx: &Ctx, action: ScheduleAction) -> Result<ExitCode> {
    let lake = ctx.lake()?;
    let mut ops = Operations::load(&lake)?;
    match action {
        ScheduleAction::Set {
            daily,
            weekdays,
            sources,
            stale_after,
            keep_logs,
            busy_wait,
        } => {
            let s = Schedule::new(&daily, weekdays, sources)
                .map_err(|e| super::Coded(super::EXIT_BAD_INPUT, e.to_string()))?;
            let exe = std::env::current_exe().context("finding this program's path")?;
            let into = install(&lake, &s, &exe)?;
            ops.schedule = Some(s.clone());
            ops.stale_after = stale_after.unwrap_or(ops.stale_after);
            ops.keep_logs_days = keep_logs.unwrap_or(ops.keep_logs_days);
            ops.busy_wait_minutes = busy_wait.unwrap_or(ops.busy_wait_minutes);
            if let Err(e) = ops.save(&lake) {
                // Not half set: the scheduler's entry goes with the setting that failed.
                let _ = uninstall(&lake);
                return Err(e.into());
            }
            println!("Scheduled: {} (installed in {into}).", s.describe());
            println!("Next run: {}.", next(&s));
            println!(
                "A scheduled run reads the salt from the OS keyring: your login keyring must be \
                 unlocked then (see the README, \"Running every day\")."
            );
        }
        ScheduleAction::Show => {
            let installed = ops.schedule.is_some() && is_installed(&lake)?;
            if ctx.json {
                print_json(&serde_json::json!({
                    "schedule": ops.schedule,
                    "installed": installed,
                    "scheduler": Backend::detect().name(),
                    "next_run": ops.schedule.as_ref().map(next),
                    "stale_after": ops.stale_after,
                    "keep_logs_days": ops.keep_logs_days,
                    "busy_wait_minutes": ops.busy_wait_minutes,
                }))?;
            } else {
                match &ops.schedule {
                    None => println!("No schedule: the sources run when someone runs them."),
                    Some(s) => {
                        println!("{}", s.describe());
                        println!("Next run: {}", next(s));
                        if !installed {
                            println!(
                                "warning: it is not in {} (run `edlake schedule set` again)",
                                Backend::detect().name()
                            );
                        }
                    }
                }
                println!(
                    "Stale after {} school day(s); logs kept {} day(s); a busy lake is waited for \
                     {} minute(s).",
                    ops.stale_after, ops.keep_logs_days, ops.busy_wait_minutes
                );
            }
        }
        ScheduleAction::Remove => {
            let was = uninstall(&lake)?;
            ops.schedule = None;
            ops.save(&lake)?;
            println!(
                "{}",
                if was {
                    "Schedule removed."
                } else {
                    "There was no schedule to remove."
                }
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The next run, local time.
fn next(s: &Schedule) -> String {
    s.next_after(chrono::Local::now().naive_local())
        .map(|t| t.format("%a %Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|e| e.to_string())
}
