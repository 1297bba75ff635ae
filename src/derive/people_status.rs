//! Status tables for the roster's teachers and staff, kept like the students' one: everyone ever
//! seen stays (by pseudonym), someone missing from a new snapshot is `transferred` with its date,
//! someone back is `active` again. Which roles a sync takes is the district's choice
//! ([`RosterRoles`]); students are always synced, as identity matching needs them.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::roster_status::{Described, SyncCounts};
use crate::derive::{date_values, text_values};
use crate::lake::{Lake, LakeError, Layer, TableRef, jsonfile};
use crate::modules::roster;
use crate::pipeline::PipelineError;
use crate::pseudo::{Salt, hash_value};

/// A roster role besides students: its entity, id column and status table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Role {
    pub entity: &'static str,
    pub id: &'static str,
    pub table: &'static str,
}

/// Teachers (`teachers.csv`).
pub const TEACHERS: Role = Role {
    entity: "teachers",
    id: "Teacher_id",
    table: "teacher_status",
};

/// Other staff (`staff.csv`: administrators, counsellors, aides).
pub const STAFF: Role = Role {
    entity: "staff",
    id: "Staff_id",
    table: "staff_status",
};

/// The roles a roster sync takes besides students (default: all).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RosterRoles {
    pub teachers: bool,
    pub staff: bool,
}

impl Default for RosterRoles {
    fn default() -> Self {
        RosterRoles {
            teachers: true,
            staff: true,
        }
    }
}

impl RosterRoles {
    fn path(lake: &Lake) -> std::path::PathBuf {
        lake.meta_dir().join("roster").join("roles.json")
    }

    /// The lake's choice (all roles when none was saved).
    pub fn load(lake: &Lake) -> Result<RosterRoles, LakeError> {
        Ok(jsonfile::read(&Self::path(lake))?.unwrap_or_default())
    }

    /// Saves the choice.
    pub fn save(&self, lake: &Lake) -> Result<(), LakeError> {
        jsonfile::write(&Self::path(lake), self)
    }

    /// The roles chosen.
    pub fn chosen(&self) -> Vec<Role> {
        let mut v = Vec::new();
        if self.teachers {
            v.push(TEACHERS);
        }
        if self.staff {
            v.push(STAFF);
        }
        v
    }

    /// Whether a roster file (its entity) is synced.
    pub fn takes(&self, entity: &str) -> bool {
        match entity {
            "teachers" => self.teachers,
            "staff" => self.staff,
            _ => true,
        }
    }
}

/// The status table of a role.
pub fn status_table(role: Role) -> TableRef {
    TableRef::new(Layer::General, roster::SOURCE, roster::VERSION, role.table)
}

/// One person's row.
struct Person {
    school: Option<String>,
    status: String,
    since: NaiveDate,
    first_seen: NaiveDate,
    last_seen: NaiveDate,
    fingerprint: String,
}

/// Brings `role`'s status table up to date with its newest snapshot; `None` when the roster has
/// never had a file for the role.
pub fn update(
    lake: &Lake,
    role: Role,
    date: NaiveDate,
    salt: &Salt,
) -> Result<Option<SyncCounts>, PipelineError> {
    let ing = TableRef::new(
        Layer::Ingested,
        roster::SOURCE,
        roster::VERSION,
        role.entity,
    );
    let dir = lake.table_dir(&ing);
    if crate::lake::delta::read_state(&dir)?.is_none() {
        return Ok(None);
    }
    let current = crate::lake::delta::read_table(&dir, None)?;
    let table = status_table(role);
    let prev = read(lake, &table)?;
    let (next, counts) = compare(&current, role, prev, date, salt)?;
    crate::derive::stage3::replace(lake, &table, frame(&next)?)
        .map_err(|e| PipelineError::Input(e.to_string()))?;
    Ok(Some(counts))
}

/// The status table as it stands (empty before the first sync).
fn read(lake: &Lake, t: &TableRef) -> Result<HashMap<String, Person>, PipelineError> {
    let mut out = HashMap::new();
    let dir = lake.table_dir(t);
    if crate::lake::delta::read_state(&dir)?.is_none() {
        return Ok(out);
    }
    let df = crate::lake::delta::read_table(&dir, None)?;
    let (ids, school, status, fp) = (
        text_values(&df, "person")?,
        text_values(&df, "school_id")?,
        text_values(&df, "status")?,
        text_values(&df, "fingerprint")?,
    );
    let (since, first, last) = (
        date_values(&df, "status_date")?,
        date_values(&df, "first_seen")?,
        date_values(&df, "last_seen")?,
    );
    for i in 0..df.height() {
        let (Some(id), Some(since), Some(first), Some(last)) =
            (ids[i].clone(), since[i], first[i], last[i])
        else {
            continue;
        };
        out.insert(
            id,
            Person {
                school: school[i].clone(),
                status: status[i].clone().unwrap_or_default(),
                since,
                first_seen: first,
                last_seen: last,
                fingerprint: fp[i].clone().unwrap_or_default(),
            },
        );
    }
    Ok(out)
}

/// Each person of the snapshot against their previous status; those no longer listed are
/// marked transferred.
fn compare(
    current: &DataFrame,
    role: Role,
    mut prev: HashMap<String, Person>,
    date: NaiveDate,
    salt: &Salt,
) -> Result<(HashMap<String, Person>, SyncCounts), PipelineError> {
    let d = Described::of(current)?;
    let col = |name: &str| d.col(name);
    let (Some(id_col), school_col) = (col(role.id), col("School_id")) else {
        return Err(PipelineError::Input(format!(
            "the roster's {} file has no {} column",
            role.entity, role.id
        )));
    };
    let mut counts = SyncCounts::default();
    let mut seen = HashSet::new();
    let mut next = HashMap::new();
    for row in 0..current.height() {
        let Some(id) = d.values[id_col][row]
            .as_deref()
            .map(|v| hash_value(v, salt))
        else {
            continue;
        };
        if !seen.insert(id.clone()) {
            continue;
        }
        let mut p = Person {
            school: school_col.and_then(|c| d.values[c][row].clone()),
            status: "active".into(),
            since: date,
            first_seen: date,
            last_seen: date,
            fingerprint: d.fingerprint(row, salt),
        };
        match prev.remove(&id) {
            None => counts.new += 1,
            Some(old) => {
                p.first_seen = old.first_seen;
                if old.status != "active" {
                    counts.reactivated += 1;
                } else {
                    p.since = old.since;
                    if old.fingerprint == p.fingerprint {
                        counts.unchanged += 1;
                    } else {
                        counts.updated += 1;
                    }
                }
            }
        }
        counts.active += 1;
        next.insert(id, p);
    }
    for (id, mut old) in prev {
        if old.status == "active" {
            old.status = "transferred".into();
            old.since = date;
            counts.transferred += 1;
        }
        next.insert(id, old);
    }
    Ok((next, counts))
}

/// The status table's rows, ordered by pseudonym.
fn frame(next: &HashMap<String, Person>) -> PolarsResult<DataFrame> {
    let mut ids: Vec<&String> = next.keys().collect();
    ids.sort();
    let rows: Vec<&Person> = ids.iter().map(|i| &next[*i]).collect();
    let date = |name: &str, f: &dyn Fn(&Person) -> NaiveDate| -> PolarsResult<Column> {
        Column::new(name.into(), rows.iter().map(|p| f(p)).collect::<Vec<_>>())
            .cast(&DataType::Date)
    };
    let text = |name: &str, f: &dyn Fn(&Person) -> Option<String>| {
        Column::new(name.into(), rows.iter().map(|p| f(p)).collect::<Vec<_>>())
    };
    DataFrame::new(
        rows.len(),
        vec![
            Column::new(
                "person".into(),
                ids.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            ),
            text("school_id", &|p| p.school.clone()),
            text("status", &|p| Some(p.status.clone())),
            date("status_date", &|p| p.since)?,
            date("first_seen", &|p| p.first_seen)?,
            date("last_seen", &|p| p.last_seen)?,
            text("fingerprint", &|p| Some(p.fingerprint.clone())),
        ],
    )
}
