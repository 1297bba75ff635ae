//! Where a serving build starts: from nothing, or — when the lake changed only by appends
//! since the last build — from that build's accumulators, reading only the new data files.
//!
//! An append keeps every file the last build read and adds days at the end of the calendar (a
//! new school day). Anything else — a file gone (delete, upsert, snapshot), another version of
//! a table read whole (roster, organizations, the identity map), other present codes or school
//! mapping, a day inside the calendar — starts afresh. Both starts give the same parts
//! (`tests/it/serving.rs` builds a lake day by day and at once).

use foldhash::{HashMap, HashMapExt};
use std::collections::{BTreeMap, HashSet};

use chrono::Datelike;
use polars::prelude::*;

use super::accum::Calendar;
use super::read::{Done, Steps, days, each_file, strs, student_key};
use super::state::Folds;
use super::{Manifest, input_versions, root};
use crate::derive::{DeriveError, table, tables};
use crate::lake::{Lake, TableRef, delta, scan};

/// What a build read: the data files of each table read file by file, and a digest of the
/// content of everything it reads whole.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub(super) struct Read {
    files: BTreeMap<String, Vec<String>>,
    whole: BTreeMap<String, String>,
}

/// What a build starts from.
pub(super) struct Start {
    pub(super) cal: Calendar,
    pub(super) folds: Folds,
    /// Each table's files already in `folds`.
    pub(super) done: Done,
    /// What the build will have read.
    pub(super) read: Read,
    /// Pseudonyms of the students already in `folds` (in memory only).
    pub(super) pseudonyms: HashMap<u64, String>,
    pub(super) incremental: bool,
    pub(super) steps: Steps,
}

/// The tables a build reads one data file at a time (the others it reads whole every time).
fn file_by_file() -> [TableRef; 4] {
    [
        tables::clever_dp(),
        tables::clever_ru(),
        tables::activity(),
        tables::attendance(),
    ]
}

/// The data files of each file-by-file table the lake has.
fn current_files(lake: &Lake) -> Result<BTreeMap<String, Vec<String>>, DeriveError> {
    let mut out = BTreeMap::new();
    for t in file_by_file() {
        if let Some(st) = delta::read_state(&lake.table_dir(&t))? {
            out.insert(t.id(), st.files.iter().map(|f| f.path.clone()).collect());
        }
    }
    Ok(out)
}

/// The content of everything a build reads whole: the tables (a digest of their rows, as a
/// daily roster snapshot is a new version of the same rows), the present codes and the school
/// mapping.
fn whole_inputs(lake: &Lake) -> Result<BTreeMap<String, String>, DeriveError> {
    use sha2::Digest;
    let mut out = BTreeMap::new();
    let whole = [
        tables::organization(),
        tables::section(),
        tables::students(),
        crate::derive::identity::map_table(),
    ];
    for t in whole {
        let dir = lake.table_dir(&t);
        let digest = match delta::read_state(&dir)? {
            Some(st) => {
                let mut df = scan::lazy(&dir, &st)?.collect()?;
                let mut csv = Vec::new();
                CsvWriter::new(&mut csv).finish(&mut df)?;
                format!("{:x}", sha2::Sha256::digest(&csv))
            }
            None => "none".into(),
        };
        out.insert(t.id(), digest);
    }
    // The other inputs are named with their content (see `input_versions`).
    let tables: Vec<String> = super::inputs().iter().map(TableRef::id).collect();
    for k in input_versions(lake)?.into_keys() {
        if !tables.contains(&k) {
            out.insert(k, String::new());
        }
    }
    Ok(out)
}

/// A build of every file.
pub(super) fn fresh(lake: &Lake) -> Result<Start, DeriveError> {
    let mut steps = Steps::new();
    let done = Done::new();
    let cal = Calendar::new(new_days(lake, &done)?);
    steps.mark("calendar");
    Ok(Start {
        folds: Folds::new(cal.words(), base_names(lake)?),
        cal,
        done,
        read: Read {
            files: current_files(lake)?,
            whole: whole_inputs(lake)?,
        },
        pseudonyms: HashMap::new(),
        incremental: false,
        steps,
    })
}

/// A build of the files new since the last build, when the lake changed only by appends;
/// `students` is the table whose `student` column holds the pseudonyms of the students the
/// last build served (the stage3 hybrid table).
pub(super) fn from_last_build(
    lake: &Lake,
    students: &TableRef,
) -> Result<Option<Start>, DeriveError> {
    let Some(last) = std::fs::read_to_string(root(lake).join("current.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<Manifest>(&t).ok())
        .filter(|m| m.format == super::FORMAT)
    else {
        return Ok(None);
    };
    let Some(before) = &last.resume else {
        return Ok(None);
    };
    let whole = whole_inputs(lake)?;
    if whole != before.whole {
        return Ok(None);
    }
    let files = current_files(lake)?;
    // The same tables, each still holding every file read before.
    if !files.keys().eq(before.files.keys()) {
        return Ok(None);
    }
    let mut done = Done::new();
    for (t, before) in &before.files {
        let now: HashSet<&String> = files.get(t).into_iter().flatten().collect();
        if !before.iter().all(|p| now.contains(p)) {
            return Ok(None);
        }
        done.insert(t.clone(), before.iter().cloned().collect());
    }
    let mut steps = Steps::new();
    let mut days: Vec<i32> = (last.calendar.iter())
        .map(|d| d.num_days_from_ce() - 719_163)
        .collect();
    let old = days.clone();
    for d in new_days(lake, &done)? {
        if old.binary_search(&d).is_ok() {
            continue;
        }
        // A day inside the calendar would renumber the days after it.
        if old.last().is_some_and(|l| d < *l) {
            return Ok(None);
        }
        days.push(d);
    }
    let cal = Calendar::new(days);
    // A state that does not read back (a crash while it was written) is rebuilt from scratch.
    let Ok(folds) = Folds::load(&root(lake).join(&last.build).join("state"), cal.words()) else {
        return Ok(None);
    };
    let pseudonyms = served_pseudonyms(lake, students)?;
    steps.mark("calendar and the last build's state");
    Ok(Some(Start {
        cal,
        folds,
        done,
        read: Read { files, whole },
        pseudonyms,
        incremental: true,
        steps,
    }))
}

/// The pseudonyms of table `t`'s `student` column by student number.
fn served_pseudonyms(lake: &Lake, t: &TableRef) -> Result<HashMap<u64, String>, DeriveError> {
    let dir = lake.table_dir(t);
    let Some(st) = delta::read_state(&dir)? else {
        return Ok(HashMap::new());
    };
    let df = scan::lazy(&dir, &st)?
        .select([col("student"), student_key("student")])
        .collect()?;
    let (p, sid) = (df.column("student")?.str()?, df.column("sid")?.u64()?);
    Ok(p.iter()
        .zip(sid.iter())
        .filter_map(|(p, s)| Some((s?, p?.to_string())))
        .collect())
}

/// The days of the input files not in `done` (each table's files read so far): every date a
/// distinct-student count may need, sorted.
fn new_days(lake: &Lake, done: &Done) -> Result<Vec<i32>, DeriveError> {
    let mut all_days = Vec::new();
    let dates = |lf: LazyFrame, e: Expr| -> Result<Vec<i32>, DeriveError> {
        let df = lf
            .select([e.cast(DataType::Date).alias("day")])
            .unique(None, UniqueKeepStrategy::Any)
            .collect()?;
        Ok(days(&df, "day")?.iter().flatten().collect())
    };
    let inputs = [
        (tables::clever_dp(), col("date")),
        (tables::clever_ru(), col("date")),
        (tables::activity(), col("StartTime").dt().date()),
        (tables::attendance(), col("attendance_date")),
    ];
    for (t, e) in inputs {
        each_file(
            lake,
            &t,
            done,
            |lf| dates(lf, e.clone()),
            |d| {
                all_days.extend(d);
                Ok(())
            },
        )?;
    }
    all_days.sort_unstable();
    all_days.dedup();
    Ok(all_days)
}

/// School names by id before any Clever file is read: the district's own names of SIS ids
/// first, then Insights' Organization names.
fn base_names(lake: &Lake) -> Result<HashMap<String, String>, DeriveError> {
    let mut names: HashMap<String, String> = HashMap::new();
    for (id, name) in crate::derive::sites::SiteMap::load(lake)?.sis_names() {
        names.insert(id.into(), name.into());
    }
    if let Some(o) = table(lake, &tables::organization())? {
        let df = o.select([col("Id"), col("Name")]).collect()?;
        for (id, name) in strs(&df, "Id")?.iter().zip(strs(&df, "Name")?.iter()) {
            if let (Some(id), Some(name)) = (id, name) {
                names.entry(id.into()).or_insert_with(|| name.into());
            }
        }
    }
    Ok(names)
}
