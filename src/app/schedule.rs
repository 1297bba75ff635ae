//! The lake's daily schedule and operating settings (`_edlake/operations.json`): when the
//! sources run by themselves, how old data may get before it counts as stale, how long run logs
//! are kept. The schedule is carried out by the operating system's own scheduler (see
//! [`super::scheduler`]), so it runs with the app closed; this module says what to install.

use chrono::{Datelike, NaiveDateTime, NaiveTime, Timelike, Weekday};
use serde::{Deserialize, Serialize};

use crate::lake::{Lake, LakeError, jsonfile};

/// Why a schedule could not be set or installed.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error("`{0}` is not a time of day: write it as HH:MM, 24-hour (06:30, 18:05)")]
    BadTime(String),
    #[error(transparent)]
    Lake(#[from] LakeError),
    #[error("could not {what}: {why}")]
    System { what: String, why: String },
}

/// When the lake's sources run by themselves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    /// Local time of day, `HH:MM`.
    pub at: String,
    /// Monday to Friday only (school days), or every day.
    pub weekdays_only: bool,
    /// Only these sources (source or module names); empty: every source set up.
    #[serde(default)]
    pub sources: Vec<String>,
}

impl Schedule {
    /// A schedule at `at` (`HH:MM`), checked.
    pub fn new(at: &str, weekdays_only: bool, sources: Vec<String>) -> Result<Self, ScheduleError> {
        let s = Schedule {
            at: at.trim().to_string(),
            weekdays_only,
            sources,
        };
        s.time()?;
        Ok(s)
    }

    /// The time of day.
    pub fn time(&self) -> Result<NaiveTime, ScheduleError> {
        NaiveTime::parse_from_str(&self.at, "%H:%M")
            .map_err(|_| ScheduleError::BadTime(self.at.clone()))
    }

    /// Hour and minute.
    pub fn hour_minute(&self) -> Result<(u32, u32), ScheduleError> {
        let t = self.time()?;
        Ok((t.hour(), t.minute()))
    }

    /// Whether the schedule runs on `day`.
    pub fn runs_on(&self, day: Weekday) -> bool {
        !self.weekdays_only || !matches!(day, Weekday::Sat | Weekday::Sun)
    }

    /// The first time after `now` (local) that the schedule runs.
    pub fn next_after(&self, now: NaiveDateTime) -> Result<NaiveDateTime, ScheduleError> {
        let t = self.time()?;
        let mut day = now.date();
        for _ in 0..8 {
            let at = day.and_time(t);
            if at > now && self.runs_on(day.weekday()) {
                return Ok(at);
            }
            day = day.succ_opt().unwrap_or(day);
        }
        Ok(now.date().and_time(t))
    }

    /// In words: "every school day (Monday to Friday) at 06:30".
    pub fn describe(&self) -> String {
        let days = if self.weekdays_only {
            "every school day (Monday to Friday)"
        } else {
            "every day"
        };
        let which = if self.sources.is_empty() {
            "every source".to_string()
        } else {
            self.sources.join(", ")
        };
        format!("{which}, {days} at {}", self.at)
    }

    /// The program and arguments the scheduler starts: `edlake --lake LAKE run --scheduled`.
    pub fn command(&self, exe: &str, lake: &str) -> Vec<String> {
        let mut c = vec![
            exe.to_string(),
            "--lake".into(),
            lake.to_string(),
            "run".into(),
            "--scheduled".into(),
        ];
        if !self.sources.is_empty() {
            c.push("--sources".into());
            c.push(self.sources.join(","));
        }
        c
    }
}

/// The lake's operating settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operations {
    /// The daily schedule, if one is set.
    #[serde(default)]
    pub schedule: Option<Schedule>,
    /// School days the newest data may be behind today before it is stale.
    #[serde(default = "default_stale_after")]
    pub stale_after: u32,
    /// Days a scheduled run's log is kept in `_edlake/logs/`.
    #[serde(default = "default_keep_logs")]
    pub keep_logs_days: u32,
    /// Minutes a scheduled run waits for a busy lake before it records "skipped: busy".
    #[serde(default = "default_busy_wait")]
    pub busy_wait_minutes: u32,
}

/// School days (weekdays) a source's newest data may be behind today before it is stale, unless
/// the lake says otherwise.
pub const DEFAULT_STALE_AFTER: u32 = 2;

fn default_stale_after() -> u32 {
    DEFAULT_STALE_AFTER
}
fn default_keep_logs() -> u32 {
    30
}
fn default_busy_wait() -> u32 {
    20
}

impl Default for Operations {
    fn default() -> Self {
        Operations {
            schedule: None,
            stale_after: default_stale_after(),
            keep_logs_days: default_keep_logs(),
            busy_wait_minutes: default_busy_wait(),
        }
    }
}

impl Operations {
    fn path(lake: &Lake) -> std::path::PathBuf {
        lake.meta_dir().join("operations.json")
    }

    /// The lake's settings (the defaults when none were saved).
    pub fn load(lake: &Lake) -> Result<Operations, LakeError> {
        Ok(jsonfile::read(&Self::path(lake))?.unwrap_or_default())
    }

    /// Saves them (one atomic file).
    pub fn save(&self, lake: &Lake) -> Result<(), LakeError> {
        jsonfile::write(&Self::path(lake), self)
    }
}

/// Quotes a word for a POSIX shell line (cron runs its lines with `/bin/sh`).
pub fn sh_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@%+".contains(c))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Escapes text for XML (launchd plists, Task Scheduler tasks).
pub fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// The crontab line: `MM HH * * DAYS [VAR=value ...] command # marker`. `env` is set for the
/// run (cron starts jobs with almost no environment: the keyring needs the session's D-Bus).
pub fn crontab_line(
    s: &Schedule,
    command: &[String],
    env: &[(String, String)],
    marker: &str,
) -> Result<String, ScheduleError> {
    let (h, m) = s.hour_minute()?;
    let days = if s.weekdays_only { "1-5" } else { "*" };
    let mut words: Vec<String> = env
        .iter()
        .map(|(k, v)| format!("{k}={}", sh_quote(v)))
        .collect();
    words.extend(command.iter().map(|w| sh_quote(w)));
    Ok(format!("{m} {h} * * {days} {} # {marker}", words.join(" ")))
}

/// The systemd user units: a oneshot service and its timer (`Persistent=true`: a run missed
/// while the computer was off happens when it is next on).
pub fn systemd_units(
    s: &Schedule,
    command: &[String],
    description: &str,
) -> Result<(String, String), ScheduleError> {
    let (h, m) = s.hour_minute()?;
    let days = if s.weekdays_only { "Mon..Fri " } else { "" };
    let exec: Vec<String> = command.iter().map(|w| systemd_quote(w)).collect();
    let service = format!(
        "[Unit]\nDescription={description}\n\n[Service]\nType=oneshot\nExecStart={}\n",
        exec.join(" ")
    );
    let timer = format!(
        "[Unit]\nDescription={description} (timer)\n\n[Timer]\nOnCalendar={days}*-*-* {h:02}:{m:02}:00\nPersistent=true\n\n[Install]\nWantedBy=timers.target\n"
    );
    Ok((service, timer))
}

/// Quotes a word for a systemd `ExecStart=` line.
fn systemd_quote(s: &str) -> String {
    if !s.is_empty()
        && !s
            .chars()
            .any(|c| c.is_whitespace() || "\"'\\$%;".contains(c))
    {
        return s.to_string();
    }
    format!(
        "\"{}\"",
        s.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('%', "%%")
            .replace('$', "$$")
    )
}

#[cfg(test)]
#[path = "schedule_tests.rs"]
mod tests;
