//! Roster roles and the Insights identity path: Insights actors link to the roster through
//! AadUserPersonMapping, never on blank ids; teachers and staff get transfers like students,
//! and a district can leave a role out.

use crate::common;
use crate::roster::{csv_rows, generate, snapshot_dirs, sync};

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use common::text_col;
use edlake::derive::identity::{self, IdSource, IdentityConfig, RosterKey};
use edlake::lake::{Lake, TableRef, delta};
use edlake::pseudo::{Salt, hash_value};
use polars::prelude::*;

#[test]
fn insights_links_through_person_identifiers_and_never_on_blank_ids() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    generate(&data, 200);
    let (lake, _) = Lake::init(&dir.path().join("lake")).unwrap();
    let salt = Salt::from_secret("insights-ids").unwrap();
    let insights =
        edlake::modules::insights::Insights::from_export(&data.join("insights")).unwrap();
    common::ingest(&lake, &insights, &data.join("insights"), &salt);
    sync(&lake, &data.join("clever_roster"), &salt);

    // Independent: student actors of the activity files (headerless; ActorId is column 9,
    // ActorRole column 10) and each roster student's latest state id.
    let mut actors = BTreeSet::new();
    for f in common::files_under(&data.join("insights/activity")) {
        let mut r = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_path(&f)
            .unwrap();
        for rec in r.records() {
            let rec = rec.unwrap();
            if &rec[9] == "Student" {
                actors.insert(rec[8].to_string());
            }
        }
    }
    let mut state: BTreeMap<String, String> = BTreeMap::new();
    for d in snapshot_dirs(&data.join("clever_roster")) {
        for r in csv_rows(&d.join("students.csv")) {
            state.insert(r["Student_id"].clone(), r["State_id"].clone());
        }
    }
    let blank = actors
        .iter()
        .filter(|a| state.get(*a).is_none_or(|s| s.is_empty()))
        .count();
    assert!(
        blank > 0,
        "some active students have no state id on the roster"
    );

    let mut config = IdentityConfig::load(&lake).unwrap();
    config.set(IdSource::Insights, RosterKey::StateId);
    // The activity's own ids are not state ids: nothing matches.
    let wrong = identity::rebuild(&lake, &config).unwrap().unwrap();
    let r = wrong.rates.iter().find(|r| r.source == "insights").unwrap();
    assert_eq!((r.ids, r.matched), (actors.len() as u64, 0));
    // Through AadUserPersonMapping → PersonIdentifier: every actor whose roster state id is
    // not blank; the blank ones stay unmatched (School Data Sync has their state id, the roster
    // does not, and a blank never matches).
    config.insights_id = identity::InsightsId::PersonIdentifier;
    let right = identity::rebuild(&lake, &config).unwrap().unwrap();
    let r = right.rates.iter().find(|r| r.source == "insights").unwrap();
    assert_eq!(r.key, "state_id via person_identifier");
    assert_eq!(r.matched, (actors.len() - blank) as u64);
    assert_eq!((r.unmatched, r.ambiguous), (blank as u64, 0));
    // The map sends each matched actor to its roster student's pseudonym.
    let map = delta::read_table(&lake.table_dir(&identity::map_table()), None).unwrap();
    let (src, from, to) = (
        text_col(&map, "source"),
        text_col(&map, "source_pseudonym"),
        text_col(&map, "person_pseudonym"),
    );
    let mut checked = 0;
    for i in 0..map.height() {
        if src[i].as_deref() == Some("insights") && to[i].is_some() {
            assert_eq!(
                from[i], to[i],
                "an actor id is the roster Student_id in this data"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, actors.len() - blank);
    // Student ids of AadUser are the roster's student numbers.
    config.set(IdSource::Insights, RosterKey::StudentNumber);
    config.insights_id = identity::InsightsId::AadStudentId;
    let via_student = identity::rebuild(&lake, &config).unwrap().unwrap();
    let r = via_student
        .rates
        .iter()
        .find(|r| r.source == "insights")
        .unwrap();
    assert_eq!(r.matched, actors.len() as u64);
}

/// Writes a roster snapshot folder: the bundled first snapshot's students and schools, and the
/// given teachers and staff (ids only matter here).
fn snapshot(root: &Path, day: &str, teachers: &[&str], staff: &[&str]) {
    let bundled = Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data/clever_roster/2025-08-25");
    let dir = root.join(day);
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["students.csv", "schools.csv"] {
        std::fs::copy(bundled.join(f), dir.join(f)).unwrap();
    }
    let mut t = String::from(
        "School_id,Teacher_id,Teacher_number,State_teacher_id,Last_name,Middle_name,First_name,Teacher_email,Title,Username,Password\n",
    );
    for id in teachers {
        t.push_str(&format!(
            "sch1,{id},{id}n,ST{id},Doe,,Jo,{id}@district.example,Teacher,{id},\n"
        ));
    }
    std::fs::write(dir.join("teachers.csv"), t).unwrap();
    let mut s = String::from(
        "School_id,Staff_id,Staff_email,First_name,Last_name,Department,Title,Username,Password,Role\n",
    );
    for id in staff {
        s.push_str(&format!(
            "sch1,{id},{id}@district.example,Al,Roe,Office,Counsellor,{id},,staff\n"
        ));
    }
    std::fs::write(dir.join("staff.csv"), s).unwrap();
}

/// A role's status table: pseudonym → (status, status date).
fn role_status(lake: &Lake, table: &str) -> BTreeMap<String, (String, String)> {
    let t = TableRef::new(edlake::lake::Layer::General, "clever_roster", "v1.0", table);
    let df = delta::read_table(&lake.table_dir(&t), None).unwrap();
    let ids = text_col(&df, "person");
    let status = text_col(&df, "status");
    let since = df
        .column("status_date")
        .unwrap()
        .cast(&DataType::String)
        .unwrap();
    let since: Vec<Option<String>> = since
        .str()
        .unwrap()
        .iter()
        .map(|v| v.map(str::to_string))
        .collect();
    ids.into_iter()
        .zip(status)
        .zip(since)
        .map(|((i, s), d)| (i.unwrap(), (s.unwrap(), d.unwrap())))
        .collect()
}

#[test]
fn teachers_and_staff_get_transfers_too_and_a_role_can_be_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("roster");
    snapshot(&root, "2025-09-01", &["T1", "T2"], &["S1"]);
    snapshot(&root, "2025-09-08", &["T2", "T3"], &["S2"]);
    let salt = Salt::from_secret("roster-roles-salt").unwrap();
    let (lake, _) = Lake::init(&dir.path().join("lake")).unwrap();
    let out = sync(&lake, &root, &salt);
    assert_eq!(out.entries.len(), 2);
    let t = &out.entries[1].roles["teachers"];
    assert_eq!((t.new, t.transferred, t.unchanged, t.active), (1, 1, 1, 2));
    let s = &out.entries[1].roles["staff"];
    assert_eq!((s.new, s.transferred, s.active), (1, 1, 1));

    let p = |id: &str| hash_value(id, &salt);
    let teachers = role_status(&lake, "teacher_status");
    let expect = |st: &str, d: &str| (st.to_string(), d.to_string());
    assert_eq!(teachers.len(), 3);
    assert_eq!(teachers[&p("T1")], expect("transferred", "2025-09-08"));
    assert_eq!(teachers[&p("T2")], expect("active", "2025-09-01"));
    assert_eq!(teachers[&p("T3")], expect("active", "2025-09-08"));
    let staff = role_status(&lake, "staff_status");
    assert_eq!(staff[&p("S1")], expect("transferred", "2025-09-08"));
    assert_eq!(staff[&p("S2")], expect("active", "2025-09-08"));
    // Only pseudonyms: no raw id is in the table.
    assert!(!teachers.keys().any(|k| k.starts_with('T')));

    // A district that does not sync staff: staff.csv is neither landed nor tracked.
    let (lake2, _) = Lake::init(&dir.path().join("lake2")).unwrap();
    edlake::derive::people_status::RosterRoles {
        teachers: true,
        staff: false,
    }
    .save(&lake2)
    .unwrap();
    let out = sync(&lake2, &root, &salt);
    assert!(out.entries.iter().all(|e| !e.roles.contains_key("staff")));
    assert!(out.entries[1].roles.contains_key("teachers"));
    assert!(!lake2.tables().iter().any(|t| t.entity.starts_with("staff")));
}
