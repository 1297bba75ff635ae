//! Clever roster syncs: each snapshot is ingested like any snapshot entity, then the roster's
//! student status table is brought up to date (a student missing from the new snapshot is
//! `transferred` with the snapshot's date, never deleted; one who reappears is `active` again),
//! the identity map is rebuilt, and the sync is written to the operations log.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use chrono::NaiveDate;
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::derive::identity::{self, IdentityConfig, MatchRate};
use crate::derive::text_values;
use crate::lake::{Lake, LakeError, Layer, TableRef};
use crate::modules::roster;
use crate::pipeline::job::{self, RunOutcome};
use crate::pipeline::{Cancel, PipelineError, Progress, RunReport};
use crate::pseudo::{Salt, hash_value};
use crate::sources::{FolderSource, RemoteFile, Source, SourceError};

/// What one sync changed on the roster.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncCounts {
    /// On the roster for the first time.
    pub new: u64,
    /// Still on the roster with changed details (school, grade, name, contacts, …).
    pub updated: u64,
    /// Active before, missing from this snapshot.
    pub transferred: u64,
    /// Transferred before, back in this snapshot.
    pub reactivated: u64,
    pub unchanged: u64,
    /// Active students after the sync.
    pub active: u64,
}

/// One line of the operations log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncEntry {
    pub at: chrono::DateTime<chrono::Utc>,
    /// The snapshot's date (its folder name, or the date given for the sync).
    pub snapshot: NaiveDate,
    /// The snapshot's folder under the synced folder (empty for the folder itself).
    pub folder: String,
    pub run_id: String,
    pub counts: SyncCounts,
    /// Match rates of the identity map after the sync (unmatched examples are pseudonyms).
    pub rates: Vec<MatchRate>,
}

/// What a sync did.
#[derive(Debug, Default)]
pub struct SyncOutcome {
    pub entries: Vec<SyncEntry>,
    pub reports: Vec<RunReport>,
    /// Snapshots left alone (already synced, or older than the last sync), with why.
    pub skipped: Vec<String>,
    pub error: Option<PipelineError>,
}

/// The roster snapshots in `dir`: the folder itself when it holds a students file, else its
/// dated subfolders (`2024-09-03`, `2024-09-03T06-00-00`) that do, oldest first.
pub fn snapshots(dir: &Path) -> Result<Vec<(Option<NaiveDate>, String)>, PipelineError> {
    let has_students = |d: &Path| {
        std::fs::read_dir(d)
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| {
                let name = e.file_name().to_string_lossy().to_ascii_lowercase();
                crate::formats::records::FileFormat::stem(&name) == Some("students")
            })
    };
    if has_students(dir) {
        return Ok(vec![(None, String::new())]);
    }
    let entries = std::fs::read_dir(dir).map_err(|e| PipelineError::io(dir, e))?;
    let mut out = Vec::new();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let date = name
            .get(..10)
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
        if let Some(d) = date
            && e.path().is_dir()
            && has_students(&e.path())
        {
            out.push((Some(d), name));
        }
    }
    out.sort();
    if out.is_empty() {
        return Err(PipelineError::Input(format!(
            "found no Clever roster in {}: expected students.csv (with schools, teachers, sections and \
             enrollments) in it, or in dated subfolders such as 2024-09-03/",
            dir.display()
        )));
    }
    Ok(out)
}

/// The files of one subfolder of a folder source, keeping their paths (so each snapshot's
/// files are distinct in the landing manifest).
struct Subfolder<'a> {
    inner: &'a FolderSource,
    prefix: &'a str,
}

impl Source for Subfolder<'_> {
    fn origin(&self) -> String {
        self.inner.origin()
    }
    fn list(&self) -> Result<Vec<RemoteFile>, SourceError> {
        let mut v = self.inner.list()?;
        if !self.prefix.is_empty() {
            v.retain(|f| f.path.starts_with(&format!("{}/", self.prefix)));
        }
        Ok(v)
    }
    fn fetch(&self, file: &RemoteFile, out: &mut dyn Write) -> Result<u64, SourceError> {
        self.inner.fetch(file, out)
    }
}

fn log_path(lake: &Lake) -> std::path::PathBuf {
    lake.meta_dir().join("roster").join("operations.jsonl")
}

/// The operations log, oldest first.
pub fn operations(lake: &Lake) -> Result<Vec<SyncEntry>, LakeError> {
    crate::lake::jsonfile::read_lines(&log_path(lake))
}

/// Syncs every roster snapshot in `dir` not synced yet. `date` dates a snapshot that is not in
/// a dated folder (default today).
pub fn sync(
    lake: &Lake,
    dir: &Path,
    date: Option<NaiveDate>,
    salt: &Salt,
    progress: &Progress,
    cancel: &Cancel,
) -> SyncOutcome {
    let mut out = SyncOutcome::default();
    // One lock for the whole sync: each snapshot's ingest, the status table, the identity map.
    let result = lake
        .lock("roster sync")
        .map_err(PipelineError::from)
        .and_then(|_lock| sync_all(lake, dir, date, salt, progress, cancel, &mut out));
    if let Err(e) = result {
        out.error = Some(e);
    }
    out
}

fn sync_all(
    lake: &Lake,
    dir: &Path,
    date: Option<NaiveDate>,
    salt: &Salt,
    progress: &Progress,
    cancel: &Cancel,
    out: &mut SyncOutcome,
) -> Result<(), PipelineError> {
    let module = roster::module()?;
    let folder = FolderSource::new(dir);
    let mut last = operations(lake)?.last().map(|e| e.snapshot);
    // The sources do not change during a sync: their ids are read once, at the first snapshot.
    let mut known: Option<identity::SourceIds> = None;
    for (d, prefix) in snapshots(dir)? {
        let when = d
            .or(date)
            .unwrap_or_else(|| chrono::Local::now().date_naive());
        if let Some(l) = last {
            // A dated folder already synced is not synced again (re-runs change nothing); an
            // older snapshot would turn current students into transfers, so it is refused.
            if when < l || (d.is_some() && when == l) {
                out.skipped.push(format!(
                    "{}: snapshot of {when} skipped, the roster is already synced to {l}",
                    if prefix.is_empty() { "." } else { &prefix }
                ));
                continue;
            }
        }
        cancel.check()?;
        progress.log(format!("roster snapshot of {when}"));
        let source = Subfolder {
            inner: &folder,
            prefix: &prefix,
        };
        let RunOutcome { report, error } =
            job::ingest(lake, &module, &source, salt, progress, cancel);
        let run_id = report.run_id.clone();
        out.reports.push(report);
        if let Some(e) = error {
            return Err(e);
        }
        let counts = update_status(lake, when, salt)?;
        let ids = match &known {
            Some(k) => k.clone(),
            None => {
                identity::SourceIds::read(lake).map_err(|e| PipelineError::Input(e.to_string()))?
            }
        };
        let rates = identity::rebuild_with(lake, &IdentityConfig::load(lake)?, &ids)
            .map_err(|e| PipelineError::Input(e.to_string()))?
            .map(|b| b.rates)
            .unwrap_or_default();
        let entry = SyncEntry {
            at: chrono::Utc::now(),
            snapshot: when,
            folder: prefix.clone(),
            run_id,
            counts,
            rates,
        };
        progress.log(format!(
            "roster {when}: {} new, {} updated, {} transferred, {} reactivated, {} active",
            entry.counts.new,
            entry.counts.updated,
            entry.counts.transferred,
            entry.counts.reactivated,
            entry.counts.active
        ));
        known = Some(ids);
        crate::lake::jsonfile::append_line(&log_path(lake), &entry)?;
        out.entries.push(entry);
        last = Some(when);
    }
    Ok(())
}

/// A student's row in the status table.
struct Status {
    student_number: Option<String>,
    state_id: Option<String>,
    school: Option<String>,
    grade: Option<String>,
    status: String,
    since: NaiveDate,
    first_seen: NaiveDate,
    last_seen: NaiveDate,
    fingerprint: String,
}

fn dates(df: &DataFrame, c: &str) -> PolarsResult<Vec<Option<NaiveDate>>> {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    Ok(df
        .column(c)?
        .date()?
        .physical()
        .iter()
        .map(|d| d.map(|d| epoch + chrono::Days::new(d as u64)))
        .collect())
}

/// Compares the current students snapshot with the status table and writes the new status.
fn update_status(lake: &Lake, date: NaiveDate, salt: &Salt) -> Result<SyncCounts, PipelineError> {
    let ing = TableRef::new(Layer::Ingested, roster::SOURCE, roster::VERSION, "students");
    let current = crate::lake::delta::read_table(&lake.table_dir(&ing), None)?;
    let status_t = identity::status_table();
    let prev = read_status(lake, &status_t, date)?;
    let (next, counts) = compare(&current, prev, date, salt)?;
    let df = status_frame(&next)?;
    crate::derive::stage3::replace(lake, &status_t, df)
        .map_err(|e| PipelineError::Input(e.to_string()))?;
    Ok(counts)
}

/// The status table as it stands, by student pseudonym (empty before the first sync).
fn read_status(
    lake: &Lake,
    status_t: &TableRef,
    date: NaiveDate,
) -> Result<HashMap<String, Status>, PipelineError> {
    let mut prev: HashMap<String, Status> = HashMap::new();
    let st_dir = lake.table_dir(status_t);
    if crate::lake::delta::read_state(&st_dir)?.is_some() {
        let df = crate::lake::delta::read_table(&st_dir, None)?;
        let (ids, num, state, school, grade, status, fp) = (
            text_values(&df, "student")?,
            text_values(&df, "student_number")?,
            text_values(&df, "state_id")?,
            text_values(&df, "school_id")?,
            text_values(&df, "grade")?,
            text_values(&df, "status")?,
            text_values(&df, "fingerprint")?,
        );
        let (since, first, lastd) = (
            dates(&df, "status_date")?,
            dates(&df, "first_seen")?,
            dates(&df, "last_seen")?,
        );
        for i in 0..df.height() {
            let Some(id) = ids[i].clone() else { continue };
            prev.insert(
                id,
                Status {
                    student_number: num[i].clone(),
                    state_id: state[i].clone(),
                    school: school[i].clone(),
                    grade: grade[i].clone(),
                    status: status[i].clone().unwrap_or_default(),
                    since: since[i].unwrap_or(date),
                    first_seen: first[i].unwrap_or(date),
                    last_seen: lastd[i].unwrap_or(date),
                    fingerprint: fp[i].clone().unwrap_or_default(),
                },
            );
        }
    }
    Ok(prev)
}

/// Each student of the `current` snapshot against their previous status: new, unchanged,
/// updated, reactivated; those no longer listed are marked transferred.
fn compare(
    current: &DataFrame,
    mut prev: HashMap<String, Status>,
    date: NaiveDate,
    salt: &Salt,
) -> Result<(HashMap<String, Status>, SyncCounts), PipelineError> {
    // The columns that describe a student (edlake's own columns left out, so a re-landing is
    // not an update).
    let described: Vec<String> = current
        .get_column_names()
        .iter()
        .map(|c| c.to_string())
        .filter(|c| c != "rundate")
        .collect();
    let values: Vec<Vec<Option<String>>> = described
        .iter()
        .map(|c| text_values(current, c))
        .collect::<PolarsResult<_>>()?;
    let col_of = |name: &str| described.iter().position(|c| c == name);
    let pseud = |v: &Option<String>| v.as_deref().map(|v| hash_value(v, salt));
    let mut counts = SyncCounts::default();
    let mut seen = std::collections::HashSet::new();
    let mut next: HashMap<String, Status> = HashMap::new();
    for row in 0..current.height() {
        let get = |name: &str| col_of(name).and_then(|c| values[c][row].clone());
        let Some(id) = pseud(&get("Student_id")) else {
            continue;
        };
        if !seen.insert(id.clone()) {
            continue;
        }
        let joined: Vec<String> = values
            .iter()
            .map(|c| c[row].clone().unwrap_or_default())
            .collect();
        let fingerprint = hash_value(&joined.join("\u{1f}"), salt);
        let mut s = Status {
            student_number: pseud(&get("Student_number")),
            state_id: pseud(&get("State_id")),
            school: get("School_id"),
            grade: get("Grade"),
            status: "active".into(),
            since: date,
            first_seen: date,
            last_seen: date,
            fingerprint,
        };
        match prev.remove(&id) {
            None => counts.new += 1,
            Some(p) => {
                s.first_seen = p.first_seen;
                if p.status == "active" {
                    s.since = p.since;
                    if p.fingerprint == s.fingerprint {
                        counts.unchanged += 1;
                    } else {
                        counts.updated += 1;
                    }
                } else {
                    counts.reactivated += 1;
                }
            }
        }
        counts.active += 1;
        next.insert(id, s);
    }
    for (id, mut p) in prev {
        if p.status == "active" {
            p.status = "transferred".into();
            p.since = date;
            counts.transferred += 1;
        }
        next.insert(id, p);
    }
    Ok((next, counts))
}

/// The status table's rows, ordered by student pseudonym.
fn status_frame(next: &HashMap<String, Status>) -> PolarsResult<DataFrame> {
    let mut ids: Vec<&String> = next.keys().collect();
    ids.sort();
    let rows: Vec<&Status> = ids.iter().map(|i| &next[*i]).collect();
    let date_col = |name: &str, f: &dyn Fn(&Status) -> NaiveDate| -> PolarsResult<Column> {
        Column::new(name.into(), rows.iter().map(|s| f(s)).collect::<Vec<_>>())
            .cast(&DataType::Date)
    };
    DataFrame::new(
        rows.len(),
        vec![
            Column::new(
                "student".into(),
                ids.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            ),
            Column::new(
                "student_number".into(),
                rows.iter()
                    .map(|s| s.student_number.clone())
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "state_id".into(),
                rows.iter().map(|s| s.state_id.clone()).collect::<Vec<_>>(),
            ),
            Column::new(
                "school_id".into(),
                rows.iter().map(|s| s.school.clone()).collect::<Vec<_>>(),
            ),
            Column::new(
                "grade".into(),
                rows.iter().map(|s| s.grade.clone()).collect::<Vec<_>>(),
            ),
            Column::new(
                "status".into(),
                rows.iter().map(|s| s.status.as_str()).collect::<Vec<_>>(),
            ),
            date_col("status_date", &|s| s.since)?,
            date_col("first_seen", &|s| s.first_seen)?,
            date_col("last_seen", &|s| s.last_seen)?,
            Column::new(
                "fingerprint".into(),
                rows.iter()
                    .map(|s| s.fingerprint.as_str())
                    .collect::<Vec<_>>(),
            ),
        ],
    )
}

/// The operations log as CSV (one row per sync and source), for download.
pub fn operations_csv(entries: &[SyncEntry]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut row = |cells: Vec<String>| {
        // Snapshot folder names come from whoever filled the folder: no cell may run as a
        // spreadsheet formula.
        let cells: Vec<String> = cells
            .iter()
            .map(|c| crate::preview::safe_cell(c).into_owned())
            .collect();
        // Writing into memory cannot fail.
        let _ = w.write_record(&cells);
    };
    row([
        "synced_at",
        "snapshot",
        "new",
        "updated",
        "transferred",
        "reactivated",
        "unchanged",
        "active",
        "source",
        "key",
        "ids",
        "matched",
        "unmatched",
        "ambiguous",
        "unmatched_examples",
    ]
    .map(str::to_string)
    .to_vec());
    for e in entries {
        let c = &e.counts;
        let head = vec![
            e.at.format("%Y-%m-%d %H:%M:%S").to_string(),
            e.snapshot.to_string(),
            c.new.to_string(),
            c.updated.to_string(),
            c.transferred.to_string(),
            c.reactivated.to_string(),
            c.unchanged.to_string(),
            c.active.to_string(),
        ];
        if e.rates.is_empty() {
            let mut r = head.clone();
            r.extend(std::iter::repeat_n(String::new(), 7));
            row(r);
        }
        for r in &e.rates {
            let mut cells = head.clone();
            cells.extend([
                r.source.clone(),
                r.key.clone(),
                r.ids.to_string(),
                r.matched.to_string(),
                r.unmatched.to_string(),
                r.ambiguous.to_string(),
                r.unmatched_examples.join(" "),
            ]);
            row(cells);
        }
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}
