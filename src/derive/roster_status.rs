//! The roster's student status table: each sync's students snapshot compared with the table
//! (new, unchanged, updated, reactivated; students no longer listed marked `transferred` with
//! the snapshot's date, never deleted).

use std::collections::HashMap;

use chrono::NaiveDate;
use polars::prelude::*;

use crate::derive::identity;
use crate::derive::{date_values, text_values};
use crate::lake::{Lake, Layer, TableRef};
use crate::modules::roster;
use crate::pipeline::PipelineError;
use crate::pseudo::{Salt, hash_value};
use serde::{Deserialize, Serialize};

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

/// A roster snapshot's columns as text, without edlake's own (`rundate`, so a re-landing is not
/// an update); shared by the students' and the other roles' status tables.
pub(super) struct Described {
    names: Vec<String>,
    pub(super) values: Vec<Vec<Option<String>>>,
}

impl Described {
    pub(super) fn of(df: &DataFrame) -> PolarsResult<Described> {
        let names: Vec<String> = df
            .get_column_names()
            .iter()
            .map(|c| c.to_string())
            .filter(|c| c != "rundate")
            .collect();
        let values = names
            .iter()
            .map(|c| text_values(df, c))
            .collect::<PolarsResult<_>>()?;
        Ok(Described { names, values })
    }

    /// The position of a column.
    pub(super) fn col(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|c| c == name)
    }

    /// A row's fingerprint: any change of any detail changes it.
    pub(super) fn fingerprint(&self, row: usize, salt: &Salt) -> String {
        let joined: Vec<String> = self
            .values
            .iter()
            .map(|c| c[row].clone().unwrap_or_default())
            .collect();
        hash_value(&joined.join("\u{1f}"), salt)
    }
}

/// Compares the current students snapshot with the status table and writes the new status.
pub(super) fn update_status(
    lake: &Lake,
    date: NaiveDate,
    salt: &Salt,
) -> Result<SyncCounts, PipelineError> {
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
            date_values(&df, "status_date")?,
            date_values(&df, "first_seen")?,
            date_values(&df, "last_seen")?,
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
    let d = Described::of(current)?;

    let pseud = |v: &Option<String>| v.as_deref().map(|v| hash_value(v, salt));
    let mut counts = SyncCounts::default();
    let mut seen = std::collections::HashSet::new();
    let mut next: HashMap<String, Status> = HashMap::new();
    for row in 0..current.height() {
        let get = |name: &str| d.col(name).and_then(|c| d.values[c][row].clone());
        let Some(id) = pseud(&get("Student_id")) else {
            continue;
        };
        if !seen.insert(id.clone()) {
            continue;
        }
        let fingerprint = d.fingerprint(row, salt);
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
