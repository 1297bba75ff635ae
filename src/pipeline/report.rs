//! Run reports: what a run did, kept in the lake's run history.

use serde::{Deserialize, Serialize};

use crate::lake::{Lake, LakeError};

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "status", content = "message")]
pub enum RunStatus {
    Succeeded,
    Cancelled,
    Failed(String),
    /// Not run at all (a scheduled run that found the lake busy), with why.
    Skipped(String),
}

/// How a run ended, as a script sees it: the CLI's exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything was done.
    Done,
    /// The run failed (a fault of the system: disk, network, a bug); the lake keeps its last
    /// version.
    Failed,
    /// The input is at fault: arguments, a missing folder, a file that is not the format.
    BadInput,
    /// Done, but rows were quarantined or files refused or rejected.
    Partial,
    /// Another run holds the lake.
    Busy,
    /// Cancelled by the user.
    Cancelled,
}

impl Outcome {
    /// The process exit code (0, 1, 2, 3, 4, 130).
    pub fn code(self) -> u8 {
        match self {
            Outcome::Done => 0,
            Outcome::Failed => 1,
            Outcome::BadInput => 2,
            Outcome::Partial => 3,
            Outcome::Busy => 4,
            Outcome::Cancelled => 130,
        }
    }

    /// How an error of the lake layer ends a run.
    pub fn of_lake(e: &LakeError) -> Outcome {
        match e {
            LakeError::Busy(_) => Outcome::Busy,
            LakeError::NotALake(_)
            | LakeError::UnknownTable(_)
            | LakeError::AmbiguousTable { .. }
            | LakeError::Invalid(_) => Outcome::BadInput,
            _ => Outcome::Failed,
        }
    }
}

/// A problem row, as listed in a report (the row itself is in the quarantine table).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowIssue {
    pub file: String,
    pub line: u64,
    pub column: Option<String>,
    pub reason: String,
}

/// `file, line 12, column 3 (Date): Date is not a date` (the reason never holds the value).
impl std::fmt::Display for RowIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}, line {}", self.file, self.line)?;
        if let Some(c) = &self.column {
            write!(f, ", column {c}")?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// The change a run made to one table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableChange {
    pub table: String,
    pub version: i64,
    pub rows_written: u64,
}

/// What one run did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    pub run_id: String,
    /// What was run (`ingest clever`).
    pub job: String,
    pub started: chrono::DateTime<chrono::Utc>,
    pub seconds: f64,
    pub status: RunStatus,
    pub files_landed: u64,
    pub files_skipped: u64,
    pub rows_ingested: u64,
    pub rows_quarantined: u64,
    pub bytes_read: u64,
    /// Files refused by name or rejected as not the expected format (each named in `warnings`).
    #[serde(default)]
    pub files_rejected: u64,
    pub tables: Vec<TableChange>,
    pub warnings: Vec<String>,
    /// How inputs were read (date order decisions and the like).
    #[serde(default)]
    pub notes: Vec<String>,
    /// The first problem rows (all of them are in the quarantine tables).
    pub issues: Vec<RowIssue>,
}

impl RunReport {
    /// A report for a run that starts now.
    pub fn start(job: &str) -> Self {
        let started = chrono::Utc::now();
        Self {
            run_id: format!(
                "{}-{}",
                started.format("%Y%m%dT%H%M%S"),
                &uuid::Uuid::new_v4().simple().to_string()[..6]
            ),
            job: job.into(),
            started,
            seconds: 0.0,
            status: RunStatus::Succeeded,
            files_landed: 0,
            files_skipped: 0,
            rows_ingested: 0,
            rows_quarantined: 0,
            bytes_read: 0,
            files_rejected: 0,
            tables: Vec::new(),
            warnings: Vec::new(),
            notes: Vec::new(),
            issues: Vec::new(),
        }
    }

    /// Saves the report into the lake's run history.
    pub fn save(&self, lake: &Lake) -> Result<(), LakeError> {
        let path = lake
            .meta_dir()
            .join("runs")
            .join(format!("{}.json", self.run_id));
        crate::lake::jsonfile::write(&path, self)
    }

    /// All saved reports, oldest first.
    pub fn history(lake: &Lake) -> Result<Vec<RunReport>, LakeError> {
        let dir = lake.meta_dir().join("runs");
        let mut out = Vec::new();
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(LakeError::io(&dir, e)),
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "json") {
                let bytes = std::fs::read(&p).map_err(|err| LakeError::io(&p, err))?;
                if let Ok(r) = serde_json::from_slice::<RunReport>(&bytes) {
                    out.push(r);
                }
            }
        }
        out.sort_by_key(|r| r.started);
        Ok(out)
    }

    /// How the run ended: a finished run with quarantined rows or refused files is partial.
    pub fn outcome(&self) -> Outcome {
        match self.status {
            RunStatus::Succeeded if self.rows_quarantined > 0 || self.files_rejected > 0 => {
                Outcome::Partial
            }
            RunStatus::Succeeded => Outcome::Done,
            RunStatus::Cancelled => Outcome::Cancelled,
            RunStatus::Failed(_) => Outcome::Failed,
            RunStatus::Skipped(_) => Outcome::Busy,
        }
    }

    /// One-line summary for logs and toasts. A failure's or skip's reason comes last: it can be
    /// long (a path, what to do next), and in the middle it read as part of the counts.
    pub fn summary(&self) -> String {
        match &self.status {
            RunStatus::Failed(m) | RunStatus::Skipped(m) => {
                format!("{} ({}): {m}", self.headline(), self.counts())
            }
            RunStatus::Succeeded | RunStatus::Cancelled => {
                format!("{}: {}", self.headline(), self.counts())
            }
        }
    }

    /// How the run ended and how long it took (`ingest sis failed in 21.0 s`).
    pub fn headline(&self) -> String {
        let word = match &self.status {
            RunStatus::Succeeded => "finished",
            RunStatus::Cancelled => "cancelled",
            RunStatus::Failed(_) => "failed",
            RunStatus::Skipped(_) => "skipped",
        };
        format!("{} {word} in {:.1} s", self.job, self.seconds)
    }

    /// What the run moved: files landed and skipped, rows ingested and quarantined.
    pub fn counts(&self) -> String {
        format!(
            "{} file(s) landed, {} skipped as already ingested, {} rows ingested, {} quarantined",
            self.files_landed, self.files_skipped, self.rows_ingested, self.rows_quarantined
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_reads_counts_first_and_its_reason_last() {
        let mut r = RunReport::start("ingest sis");
        r.seconds = 21.04;
        r.files_landed = 182;
        r.status = RunStatus::Failed("the disk is full. Free space and run again".into());
        assert_eq!(
            r.summary(),
            "ingest sis failed in 21.0 s (182 file(s) landed, 0 skipped as already ingested, \
             0 rows ingested, 0 quarantined): the disk is full. Free space and run again"
        );
        r.status = RunStatus::Succeeded;
        assert_eq!(
            r.summary(),
            "ingest sis finished in 21.0 s: 182 file(s) landed, 0 skipped as already ingested, \
             0 rows ingested, 0 quarantined"
        );
    }
}
