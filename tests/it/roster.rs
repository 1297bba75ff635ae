//! Clever roster syncs (transfers, reactivations, the operations log) and identity matching
//! (match rates for a wrong and a right key; the hybrid table joins through the map). Expected
//! values are computed here from the generated CSV files, not taken from edlake.

use crate::common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use common::text_col;
use edlake::derive::identity::{self, IdSource, IdentityConfig, RosterKey};
use edlake::derive::roster;
use edlake::lake::{Lake, TableRef, delta};
use edlake::pipeline::{Cancel, Progress};
use edlake::pseudo::{Salt, hash_value};
use polars::prelude::*;

fn generate(out: &Path, students: u32) {
    edlake::generate::generate(
        out,
        &edlake::generate::GenOptions {
            students,
            days: 12,
            seed: 5,
            ..Default::default()
        },
    )
    .unwrap();
}

/// Rows of a CSV file as maps from column to value.
fn csv_rows(p: &Path) -> Vec<HashMap<String, String>> {
    let mut r = csv::Reader::from_path(p).unwrap();
    let h = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            h.iter()
                .zip(rec.iter())
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        })
        .collect()
}

fn snapshot_dirs(root: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

fn sync(lake: &Lake, dir: &Path, salt: &Salt) -> roster::SyncOutcome {
    let out = roster::sync(
        lake,
        dir,
        None,
        salt,
        &Progress::default(),
        &Cancel::default(),
    );
    assert!(out.error.is_none(), "{:?}", out.error);
    out
}

#[test]
fn roster_snapshots_mark_transfers_and_reactivations() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    generate(&data, 300);
    let (lake, _) = Lake::init(&dir.path().join("lake")).unwrap();
    let salt = Salt::from_secret("roster-salt").unwrap();
    let root = data.join("clever_roster");

    // Independent expectation from the snapshot files.
    let snaps: Vec<(String, BTreeMap<String, String>)> = snapshot_dirs(&root)
        .iter()
        .map(|d| {
            let rows = csv_rows(&d.join("students.csv"));
            let by_id = rows
                .iter()
                .map(|r| {
                    let mut cols: Vec<_> = r.iter().collect();
                    cols.sort();
                    (r["Student_id"].clone(), format!("{cols:?}"))
                })
                .collect();
            (d.file_name().unwrap().to_string_lossy().to_string(), by_id)
        })
        .collect();
    assert_eq!(snaps.len(), 3);
    let out = sync(&lake, &root, &salt);
    assert_eq!(out.entries.len(), 3);
    let mut active: BTreeSet<String> = BTreeSet::new();
    let mut gone: BTreeSet<String> = BTreeSet::new();
    let mut prev: BTreeMap<String, String> = BTreeMap::new();
    let mut expected_status: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut saw = (0, 0);
    for ((date, now), entry) in snaps.iter().zip(&out.entries) {
        assert_eq!(entry.snapshot.to_string(), *date);
        let ids: BTreeSet<String> = now.keys().cloned().collect();
        let new = ids
            .iter()
            .filter(|i| !active.contains(*i) && !gone.contains(*i))
            .count();
        let reactivated: Vec<&String> = ids.iter().filter(|i| gone.contains(*i)).collect();
        let transferred: Vec<String> = active.difference(&ids).cloned().collect();
        let updated = ids
            .iter()
            .filter(|i| active.contains(*i) && prev.get(*i) != now.get(*i))
            .count();
        let c = &entry.counts;
        assert_eq!(
            (c.new, c.updated, c.transferred, c.reactivated, c.active),
            (
                new as u64,
                updated as u64,
                transferred.len() as u64,
                reactivated.len() as u64,
                ids.len() as u64
            ),
            "snapshot {date}"
        );
        for i in &reactivated {
            expected_status.insert((*i).clone(), ("active".into(), date.clone()));
        }
        for i in &transferred {
            expected_status.insert(i.clone(), ("transferred".into(), date.clone()));
        }
        saw.0 += transferred.len();
        saw.1 += reactivated.len();
        gone.extend(transferred);
        for i in &ids {
            gone.remove(i);
        }
        active = ids;
        prev = now.clone();
    }
    assert!(
        saw.0 > 0 && saw.1 > 0,
        "the data has transfers and reactivations"
    );

    // The status table: every student ever seen, by pseudonym, with status and its date.
    let st = delta::read_table(&lake.table_dir(&identity::status_table()), None).unwrap();
    let ids = text_col(&st, "student");
    let status = text_col(&st, "status");
    let since = text_col(&st, "status_date");
    let by_pseudonym: HashMap<String, (String, String)> = ids
        .iter()
        .zip(status.iter().zip(&since))
        .map(|(i, (s, d))| (i.clone().unwrap(), (s.clone().unwrap(), d.clone().unwrap())))
        .collect();
    assert_eq!(by_pseudonym.len(), active.len() + gone.len());
    for (raw, want) in &expected_status {
        assert_eq!(
            &by_pseudonym[&hash_value(raw, &salt)],
            want,
            "student {raw}"
        );
    }
    for raw in &gone {
        assert_eq!(by_pseudonym[&hash_value(raw, &salt)].0, "transferred");
    }
    // No raw roster id in the general status table or the identity map.
    let all_raw: BTreeSet<&String> = snaps.iter().flat_map(|(_, m)| m.keys()).collect();
    for t in [identity::status_table(), identity::map_table()] {
        let df = delta::read_table(&lake.table_dir(&t), None).unwrap();
        for c in df.get_column_names() {
            for v in text_col(&df, c).into_iter().flatten() {
                assert!(!all_raw.contains(&v), "raw id {v} in {}", t.id());
            }
        }
    }

    // The operations log holds one entry per sync; a re-run syncs nothing and changes nothing.
    let log = roster::operations(&lake).unwrap();
    assert_eq!(log.len(), 3);
    let again = sync(&lake, &root, &salt);
    assert!(again.entries.is_empty());
    assert_eq!(again.skipped.len(), 3);
    assert_eq!(roster::operations(&lake).unwrap().len(), 3);
    let csv = roster::operations_csv(&log);
    assert!(csv.lines().count() > 3);
    for raw in all_raw {
        assert!(!csv.contains(raw.as_str()));
    } // A cell that reads like a formula stays text in a spreadsheet, commas and quotes intact.
    let mut odd = log.iter().find(|e| !e.rates.is_empty()).unwrap().clone();
    odd.rates[0].unmatched_examples = vec!["=HYPERLINK(\"http://x\",\"a,b\")".into()];
    let csv = roster::operations_csv(&[odd]);
    let mut r = csv::Reader::from_reader(csv.as_bytes());
    let first = r.records().next().unwrap().unwrap();
    assert_eq!(first.len(), 15);
    assert_eq!(&first[14], "'=HYPERLINK(\"http://x\",\"a,b\")");
}

/// Rewrites the SIS attendance so the SIS's student ids are the roster's student numbers (as
/// in a district whose SIS exports its own numbering).
fn sis_on_student_numbers(data: &Path) -> HashMap<String, String> {
    let students = csv_rows(&data.join("sis/students/students.csv"));
    let number: HashMap<String, String> = students
        .iter()
        .map(|r| (r["SIS ID"].clone(), r["Student Number"].clone()))
        .collect();
    for f in common::files_under(&data.join("sis/studentattendance")) {
        let mut r = csv::Reader::from_path(&f).unwrap();
        let h = r.headers().unwrap().clone();
        let idx = h.iter().position(|c| c == "student_id").unwrap();
        let rows: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
        let mut w = csv::Writer::from_path(&f).unwrap();
        w.write_record(&h).unwrap();
        for rec in rows {
            let fields: Vec<String> = rec
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    if i == idx {
                        number[v].clone()
                    } else {
                        v.to_string()
                    }
                })
                .collect();
            w.write_record(&fields).unwrap();
        }
    }
    // The student list would still link on SIS ID; leave it out so attendance is all the SIS has.
    std::fs::remove_dir_all(data.join("sis/students")).unwrap();
    number
}

/// A lake under `dir` with the generated Clever reports and SIS files of `data` ingested, its
/// Clever roster snapshots synced and the derived tables built.
fn clever_sis_roster_lake(dir: &Path, data: &Path, salt: &Salt) -> Lake {
    let (lake, _) = Lake::init(&dir.join("lake")).unwrap();
    common::ingest(
        &lake,
        &edlake::modules::clever::Clever::default(),
        &data.join("clever"),
        salt,
    );
    let sis = edlake::modules::sis::module().unwrap();
    common::ingest(&lake, &sis, &data.join("sis"), salt);
    sync(&lake, &data.join("clever_roster"), salt);
    edlake::derive::build_stage3(&lake).unwrap();
    lake
}

#[test]
fn match_rates_show_a_wrong_key_and_the_right_key_joins_sources() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    generate(&data, 200);
    let number = sis_on_student_numbers(&data);
    // Two roster students share a student number in the last snapshot: ambiguous, not matched.
    let last = snapshot_dirs(&data.join("clever_roster")).pop().unwrap();
    let text = std::fs::read_to_string(last.join("students.csv")).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let header: Vec<&str> = lines[0].split(',').collect();
    let num_col = header.iter().position(|c| *c == "Student_number").unwrap();
    let dup_from: Vec<String> = lines[1].split(',').map(str::to_string).collect();
    let mut second: Vec<String> = lines[2].split(',').map(str::to_string).collect();
    second[num_col] = dup_from[num_col].clone();
    lines[2] = second.join(",");
    std::fs::write(last.join("students.csv"), lines.join("\n") + "\n").unwrap();

    let lake = clever_sis_roster_lake(dir.path(), &data, &Salt::from_secret("ids").unwrap());

    // Independent: the SIS ids are student numbers, so linking them as sis_id matches none.
    let sis_ids: BTreeSet<String> = number.values().cloned().collect();
    let rate = |b: &identity::IdentityBuild, s: &str| {
        b.rates.iter().find(|r| r.source == s).cloned().unwrap()
    };
    let wrong = identity::history(&lake).unwrap().pop().unwrap();
    let r = rate(&wrong, "sis");
    assert_eq!(
        (r.key.as_str(), r.ids, r.matched),
        ("sis_id", sis_ids.len() as u64, 0)
    );
    assert_eq!(r.unmatched, sis_ids.len() as u64);
    assert!(
        r.unmatched_examples
            .iter()
            .all(|e| e.len() == 64 && !sis_ids.contains(e))
    );
    let hybrid = |lake: &Lake| {
        let t = TableRef::new(
            edlake::lake::Layer::Stage3,
            "engagement",
            "v1.0",
            "hybrid_engagement",
        );
        delta::read_table(&lake.table_dir(&t), None).unwrap()
    };
    let clever_rates = |df: &DataFrame| {
        df.column("digital_rate_clever")
            .unwrap()
            .f64()
            .unwrap()
            .iter()
            .flatten()
            .filter(|v| *v > 0.0)
            .count()
    };
    assert_eq!(
        clever_rates(&hybrid(&lake)),
        0,
        "wrong key: no student joins Clever"
    );

    // The right key: every SIS number on the roster matches, except the duplicated one.
    let mut config = IdentityConfig::load(&lake).unwrap();
    config.set(IdSource::Sis, RosterKey::StudentNumber);
    config.save(&lake).unwrap();
    let right = identity::rebuild(&lake, &config).unwrap().unwrap();
    // Each roster student's latest number (transferred students keep their last one); a
    // number held by two students is ambiguous.
    let mut latest: BTreeMap<String, String> = BTreeMap::new();
    for d in snapshot_dirs(&data.join("clever_roster")) {
        for r in csv_rows(&d.join("students.csv")) {
            latest.insert(r["Student_id"].clone(), r["Student_number"].clone());
        }
    }
    let mut holders: HashMap<String, usize> = HashMap::new();
    for n in latest.values() {
        *holders.entry(n.clone()).or_default() += 1;
    }
    let r = rate(&right, "sis");
    let dup = dup_from[num_col].clone();
    let expect_matched = sis_ids
        .iter()
        .filter(|i| holders.get(*i) == Some(&1))
        .count();
    let expect_ambiguous = sis_ids
        .iter()
        .filter(|i| holders.get(*i) > Some(&1))
        .count();
    assert_eq!(holders[&dup], 2);
    assert_eq!(r.ambiguous, expect_ambiguous as u64);
    assert_eq!(r.key, "student_number");
    assert_eq!(r.matched, expect_matched as u64);
    assert_eq!(r.ids, r.matched + r.unmatched + r.ambiguous);
    assert!(r.matched > 150, "{r:?}");
    // The history keeps before and after.
    let h = identity::history(&lake).unwrap();
    assert_eq!(h[h.len() - 2].config.sis, RosterKey::SisId);
    assert_eq!(h[h.len() - 1].config.sis, RosterKey::StudentNumber);

    // The hybrid table now joins SIS attendance to Clever through the roster, as the direct
    // query over the general tables does.
    edlake::derive::build_stage3(&lake).unwrap();
    let joined = clever_rates(&hybrid(&lake));
    assert!(joined > 100, "{joined}");
    let f = edlake::metrics::Filter::default();
    let served = edlake::metrics::compute(&lake, "attendance-vs-digital", &f).unwrap();
    let direct = edlake::metrics::compute_direct(&lake, "attendance-vs-digital", &f).unwrap();
    assert_eq!(served.frame.height(), direct.frame.height());
    let a = served
        .frame
        .column("digital_rate_clever")
        .unwrap()
        .f64()
        .unwrap()
        .clone();
    let b = direct
        .frame
        .column("digital_rate_clever")
        .unwrap()
        .f64()
        .unwrap()
        .clone();
    for (x, y) in a.iter().zip(b.iter()) {
        assert!((x.unwrap() - y.unwrap()).abs() < 1e-9);
        assert!(x.unwrap() > 0.0);
    }
}

#[test]
fn clever_figures_under_a_grade_take_the_sis_grade_through_the_roster() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    generate(&data, 200);
    let lake = clever_sis_roster_lake(dir.path(), &data, &Salt::from_secret("grades").unwrap());
    // Sources are read through the roster's identity map: each Clever student's grade is the
    // SIS grade of the same roster student, served as the direct queries count it.
    for grade in ["6", "9"] {
        let f = edlake::metrics::Filter {
            grade: Some(grade.into()),
            min_group: 1,
            ..Default::default()
        };
        for m in [
            "clever-summary",
            "top-resources",
            "clever-by-school",
            "clever-apps-daily",
        ] {
            let served = edlake::metrics::compute(&lake, m, &f).unwrap().frame;
            let direct = edlake::metrics::compute_direct(&lake, m, &f).unwrap().frame;
            let all = edlake::metrics::compute(&lake, m, &Default::default())
                .unwrap()
                .frame;
            assert!(served.height() > 0, "{m} grade {grade}");
            assert_eq!(served, direct, "{m} grade {grade}");
            assert_ne!(served, all, "{m} grade {grade}");
        }
    }
}

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
