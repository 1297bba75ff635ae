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

pub(crate) fn generate(out: &Path, students: u32) {
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
pub(crate) fn csv_rows(p: &Path) -> Vec<HashMap<String, String>> {
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

pub(crate) fn snapshot_dirs(root: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

pub(crate) fn sync(lake: &Lake, dir: &Path, salt: &Salt) -> roster::SyncOutcome {
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

    operations_log_is_kept_without_raw_ids(&lake, &root, &salt, &all_raw);
}

/// The operations log holds one entry per sync, without a raw id, and its CSV export keeps a
/// formula-like cell as text; a re-run syncs nothing and changes nothing.
fn operations_log_is_kept_without_raw_ids(
    lake: &Lake,
    root: &Path,
    salt: &Salt,
    all_raw: &BTreeSet<&String>,
) {
    // The operations log holds one entry per sync; a re-run syncs nothing and changes nothing.
    let log = roster::operations(lake).unwrap();
    assert_eq!(log.len(), 3);
    let again = sync(lake, root, salt);
    assert!(again.entries.is_empty());
    assert_eq!(again.skipped.len(), 3);
    assert_eq!(roster::operations(lake).unwrap().len(), 3);
    let csv = roster::operations_csv(&log);
    assert!(csv.lines().count() > 3);
    for raw in all_raw {
        assert!(!csv.contains(raw.as_str()));
    }
    // A cell that reads like a formula stays text in a spreadsheet, commas and quotes intact.
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

/// The stage3 hybrid engagement table.
fn hybrid(lake: &Lake) -> DataFrame {
    let t = TableRef::new(
        edlake::lake::Layer::Stage3,
        "engagement",
        "v1.0",
        "hybrid_engagement",
    );
    delta::read_table(&lake.table_dir(&t), None).unwrap()
}

/// How many hybrid rows have Clever activity (a positive Clever digital rate).
fn clever_rates(df: &DataFrame) -> usize {
    df.column("digital_rate_clever")
        .unwrap()
        .f64()
        .unwrap()
        .iter()
        .flatten()
        .filter(|v| *v > 0.0)
        .count()
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
