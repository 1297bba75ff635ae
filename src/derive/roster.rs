//! Clever roster syncs: each snapshot is ingested like any snapshot entity, then the roster's
//! student status table is brought up to date (a student missing from the new snapshot is
//! `transferred` with the snapshot's date, never deleted; one who reappears is `active` again),
//! the identity map is rebuilt, and the sync is written to the operations log.

use std::io::Write;
use std::path::Path;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::people_status::RosterRoles;
pub use super::roster_status::SyncCounts;
use super::roster_status::update_status;
use crate::derive::identity::{self, IdentityConfig, MatchRate};
use crate::lake::{Lake, LakeError};
use crate::modules::roster;
use crate::pipeline::job::{self, RunOutcome};
use crate::pipeline::{Cancel, PipelineError, Progress, RunReport};
use crate::pseudo::Salt;
use crate::sources::{FolderSource, RemoteFile, Source, SourceError};

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
    /// The same counts for the other roles synced (`teachers`, `staff`).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub roles: std::collections::BTreeMap<String, SyncCounts>,
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

/// Whether a file name is a roster's students file (`students.csv`, `Students.json`…).
fn is_students(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    crate::formats::records::FileFormat::stem(&name) == Some("students")
}

/// The roster snapshots in `dir`: the folder itself when it holds a students file, else its
/// dated subfolders (`2024-09-03`, `2024-09-03T06-00-00`) that do, oldest first.
pub fn snapshots(dir: &Path) -> Result<Vec<(Option<NaiveDate>, String)>, PipelineError> {
    let files = FolderSource::new(dir).list().map_err(PipelineError::from)?;
    snapshots_in(&files, &dir.display().to_string())
}

/// The roster snapshots among a source's files (see [`snapshots`]); `origin` names the source
/// in the error when there is none.
pub fn snapshots_in(
    files: &[RemoteFile],
    origin: &str,
) -> Result<Vec<(Option<NaiveDate>, String)>, PipelineError> {
    if files
        .iter()
        .any(|f| !f.path.contains('/') && is_students(&f.path))
    {
        return Ok(vec![(None, String::new())]);
    }
    let mut out: Vec<(Option<NaiveDate>, String)> = Vec::new();
    for f in files {
        let Some((folder, name)) = f.path.split_once('/') else {
            continue;
        };
        let date = folder
            .get(..10)
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
        if let Some(d) = date
            && !name.contains('/')
            && is_students(name)
            && !out.iter().any(|(_, p)| p == folder)
        {
            out.push((Some(d), folder.to_string()));
        }
    }
    out.sort();
    if out.is_empty() {
        return Err(PipelineError::Input(format!(
            "found no Clever roster in {origin}: expected students.csv (with schools, teachers, \
             sections and enrollments) in it, or in dated subfolders such as 2024-09-03/"
        )));
    }
    Ok(out)
}

/// The files of one snapshot folder of a source, keeping their paths (so each snapshot's files
/// are distinct in the landing manifest). The source is listed once for every snapshot.
struct Subfolder<'a> {
    inner: &'a dyn Source,
    files: Vec<RemoteFile>,
}

impl<'a> Subfolder<'a> {
    /// The snapshot under `prefix`, without the files of roles the district does not sync.
    fn new(inner: &'a dyn Source, all: &[RemoteFile], prefix: &str, roles: &RosterRoles) -> Self {
        let files = all
            .iter()
            .filter(|f| {
                if prefix.is_empty() {
                    !f.path.contains('/')
                } else {
                    f.path.starts_with(&format!("{prefix}/"))
                }
            })
            .filter(|f| {
                let name = f.path.rsplit('/').next().unwrap_or("").to_ascii_lowercase();
                crate::formats::records::FileFormat::stem(&name).is_none_or(|e| roles.takes(e))
            })
            .cloned()
            .collect();
        Subfolder { inner, files }
    }
}

impl Source for Subfolder<'_> {
    fn origin(&self) -> String {
        self.inner.origin()
    }
    fn list(&self) -> Result<Vec<RemoteFile>, SourceError> {
        Ok(self.files.clone())
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
    sync_from(lake, &FolderSource::new(dir), date, salt, progress, cancel)
}

/// Syncs every roster snapshot of `source` not synced yet — a folder, or Clever's Secure Sync
/// drop on its SFTP server. Files already landed are not fetched again.
pub fn sync_from(
    lake: &Lake,
    source: &dyn Source,
    date: Option<NaiveDate>,
    salt: &Salt,
    progress: &Progress,
    cancel: &Cancel,
) -> SyncOutcome {
    let mut out = SyncOutcome::default();
    // One lock for the whole sync: each snapshot's ingest, the status table, the identity map.
    let mut run = || -> Result<(), PipelineError> {
        let _lock = lake.lock("roster sync")?;
        let module = roster::module()?;
        let files = source.list().map_err(PipelineError::from)?;
        let roles = RosterRoles::load(lake)?;
        let mut last = operations(lake)?.last().map(|e| e.snapshot);
        // The sources do not change during a sync: their ids are read once, at the first snapshot.
        let mut known: Option<identity::SourceIds> = None;
        for (d, prefix) in snapshots_in(&files, &source.origin())? {
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
            let snapshot = Subfolder::new(source, &files, &prefix, &roles);
            let RunOutcome { report, error } =
                job::ingest(lake, &module, &snapshot, salt, progress, cancel);
            let run_id = report.run_id.clone();
            out.reports.push(report);
            if let Some(e) = error {
                return Err(e);
            }
            let counts = update_status(lake, when, salt)?;
            let mut by_role = std::collections::BTreeMap::new();
            for role in roles.chosen() {
                if let Some(c) = super::people_status::update(lake, role, when, salt)? {
                    by_role.insert(role.entity.to_string(), c);
                }
            }
            let ids = match &known {
                Some(k) => k.clone(),
                None => identity::SourceIds::read(lake)
                    .map_err(|e| PipelineError::Input(e.to_string()))?,
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
                roles: by_role,
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
            for (role, c) in &entry.roles {
                progress.log(format!(
                    "roster {when}, {role}: {} new, {} transferred, {} reactivated, {} active",
                    c.new, c.transferred, c.reactivated, c.active
                ));
            }
            known = Some(ids);
            crate::lake::jsonfile::append_line(&log_path(lake), &entry)?;
            out.entries.push(entry);
            last = Some(when);
        }
        Ok(())
    };
    if let Err(e) = run() {
        out.error = Some(e);
    }
    out
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
