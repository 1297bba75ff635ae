//! How current the lake is, per configured source: its last run and last successful run, the
//! newest day of data it holds and how many school days behind today that is, and what needs
//! someone's attention (a failed last run, data older than the lake's limit, no run yet). The
//! CLI's `edlake status` and the app's Home read the same facts.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Utc, Weekday};
use serde::Serialize;

use super::AppError;
use super::run::SourceKind;
use super::schedule::Operations;
use crate::lake::Lake;
use crate::pipeline::{PipelineError, RunReport, RunStatus};
use crate::sources::saved::SavedSource;

/// What needs attention about a source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Problem {
    /// The last run failed, with its reason.
    Failed { reason: String },
    /// The last (scheduled) run did not happen, with why.
    Skipped { reason: String },
    /// The newest data is this many school days behind today.
    Stale { school_days: u32 },
    /// The source is set up but has never run.
    NeverRun,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Failed { reason } => write!(f, "the last run failed: {reason}"),
            Problem::Skipped { reason } => write!(f, "the last run was skipped: {reason}"),
            Problem::Stale { school_days } => {
                write!(
                    f,
                    "the newest data is {} old",
                    school_days_text(*school_days)
                )
            }
            Problem::NeverRun => f.write_str("it has not run yet"),
        }
    }
}

/// "1 school day", "3 school days".
pub fn school_days_text(n: u32) -> String {
    if n == 1 {
        "1 school day".to_string()
    } else {
        format!("{n} school days")
    }
}

/// One configured source's state.
#[derive(Debug, Clone, Serialize)]
pub struct SourceStatus {
    /// The saved source's name (`edlake source list`).
    pub name: String,
    /// The module that reads it.
    pub module: String,
    /// When its last run started, and how it ended.
    pub last_run: Option<DateTime<Utc>>,
    pub last_status: Option<String>,
    /// When its last successful run started.
    pub last_success: Option<DateTime<Utc>>,
    /// The newest school day the lake has data for from this source (sources with dated
    /// activity: Clever, Insights, SIS attendance).
    pub newest_day: Option<NaiveDate>,
    /// School days (weekdays) between that day and today, both left out.
    pub school_days_behind: Option<u32>,
    /// What needs attention, if anything.
    pub problems: Vec<Problem>,
}

/// Every configured source's state, as of `today`.
#[derive(Debug, Clone, Serialize)]
pub struct LakeStatus {
    pub today: NaiveDate,
    pub stale_after: u32,
    /// The next scheduled run (local time), when a schedule is set.
    pub next_run: Option<NaiveDateTime>,
    pub sources: Vec<SourceStatus>,
}

impl LakeStatus {
    /// Whether nothing needs attention.
    pub fn healthy(&self) -> bool {
        self.sources.iter().all(|s| s.problems.is_empty())
    }
}

/// The lake's state as of `now` (local time) under its operating settings: data more than
/// `ops.stale_after` school days old is stale.
pub fn status(lake: &Lake, now: NaiveDateTime, ops: &Operations) -> Result<LakeStatus, AppError> {
    let today = now.date();
    let stale_after = ops.stale_after;
    let setup = SavedSource::setup(lake)?;
    let history = RunReport::history(lake).map_err(PipelineError::from)?;
    // Without chart data yet (nothing ingested) no source has days.
    let coverage = crate::metrics::gaps::coverage(lake).unwrap_or_default();
    let mut sources = Vec::new();
    for saved in super::saved::run_order(&setup) {
        let module = saved.module().unwrap_or("?").to_string();
        let jobs = job_names(saved, &module);
        let runs: Vec<&RunReport> = history.iter().filter(|r| jobs.contains(&r.job)).collect();
        let last = runs.iter().max_by_key(|r| r.started);
        let last_success = runs
            .iter()
            .filter(|r| r.status == RunStatus::Succeeded)
            .map(|r| r.started)
            .max();
        let newest_day = SourceKind::named(&module)
            .and_then(|k| {
                coverage
                    .sources
                    .iter()
                    .find(|s| s.source == k.coverage_name())
            })
            .and_then(|s| s.days.iter().next_back().copied());
        let school_days_behind = newest_day.map(|d| weekdays_between(d, today));
        let mut problems = Vec::new();
        match last.map(|r| &r.status) {
            None => problems.push(Problem::NeverRun),
            Some(RunStatus::Failed(reason)) => problems.push(Problem::Failed {
                reason: reason.clone(),
            }),
            Some(RunStatus::Skipped(reason)) => problems.push(Problem::Skipped {
                reason: reason.clone(),
            }),
            Some(_) => {}
        }
        if let Some(n) = school_days_behind
            && n > stale_after
        {
            problems.push(Problem::Stale { school_days: n });
        }
        sources.push(SourceStatus {
            name: saved.name.clone(),
            module,
            last_run: last.map(|r| r.started),
            last_status: last.map(|r| status_words(&r.status)),
            last_success,
            newest_day,
            school_days_behind,
            problems,
        });
    }
    let next_run = ops.schedule.as_ref().and_then(|s| s.next_after(now).ok());
    Ok(LakeStatus {
        today,
        stale_after,
        next_run,
        sources,
    })
}

/// The run-history job names a source's runs go by: its module's tables' source folder (what
/// the pipeline records), its own name (what a run that could not open it records), and `run`
/// (an `edlake run` that could not start, e.g. without the salt, stopped every source).
fn job_names(saved: &SavedSource, module: &str) -> Vec<String> {
    let folder = match (SourceKind::named(module), module) {
        (Some(k), _) => k.lake_source(),
        (None, "roster") => crate::modules::roster::SOURCE,
        (None, other) => other,
    };
    vec![
        format!("ingest {folder}"),
        format!("ingest {}", saved.name),
        "run".into(),
    ]
}

/// How a run ended, in a word or two.
fn status_words(s: &RunStatus) -> String {
    match s {
        RunStatus::Succeeded => "done".into(),
        RunStatus::Cancelled => "cancelled".into(),
        RunStatus::Failed(m) => format!("failed: {m}"),
        RunStatus::Skipped(m) => format!("skipped: {m}"),
    }
}

/// Weekdays strictly between `newest` and `today`: the school days with no data yet (holidays
/// count, as nobody's calendar is known here).
pub fn weekdays_between(newest: NaiveDate, today: NaiveDate) -> u32 {
    newest
        .iter_days()
        .skip(1)
        .take_while(|d| *d < today)
        .filter(|d| !matches!(d.weekday(), Weekday::Sat | Weekday::Sun))
        .count() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, day).expect("date")
    }

    #[test]
    fn school_days_behind_skip_weekends_and_both_ends() {
        // Friday 2026-11-27 to Monday 2026-11-30: nothing missing.
        assert_eq!(weekdays_between(d(11, 27), d(11, 30)), 0);
        // Yesterday's data today: nothing missing.
        assert_eq!(weekdays_between(d(11, 30), d(12, 1)), 0);
        // Wednesday's data on the next Monday: Thursday and Friday missing.
        assert_eq!(weekdays_between(d(11, 25), d(11, 30)), 2);
        // Data newer than today (a clock behind): nothing missing.
        assert_eq!(weekdays_between(d(12, 2), d(12, 1)), 0);
    }
}
