//! Independent computations from the raw vendor files (and the generated ones) that the
//! engagement tests compare the lake's aggregates with.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use edlake::derive;
use edlake::lake::Lake;
use edlake::modules::clever::Clever;
use edlake::modules::insights::Insights;
use edlake::modules::sis;
use edlake::pseudo::{Salt, hash_value};
use polars::prelude::*;

use crate::common::{self, ingest};

pub fn shared() -> Option<PathBuf> {
    common::shared_data("")
}

pub fn rows(path: &Path) -> Vec<HashMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let headers: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
    r.records()
        .map(|rec| {
            headers
                .iter()
                .cloned()
                .zip(rec.unwrap().iter().map(str::to_string))
                .collect()
        })
        .collect()
}

/// Loads the shared Clever, Insights and SIS samples into one lake.
pub fn shared_lake(root: &Path, dir: &Path, salt: &Salt) -> Lake {
    let (lake, _) = Lake::init(dir).unwrap();
    ingest(&lake, &Clever::default(), &root.join("clever"), salt);
    let insights = root.join("insights/k12_test_data");
    ingest(
        &lake,
        &Insights::from_export(&insights).unwrap(),
        &insights,
        salt,
    );
    ingest(
        &lake,
        &sis::module().unwrap(),
        &root.join("sis_batches"),
        salt,
    );
    lake
}

pub fn f64_col(df: &DataFrame, c: &str) -> Vec<Option<f64>> {
    df.column(c)
        .unwrap()
        .cast(&DataType::Float64)
        .unwrap()
        .f64()
        .unwrap()
        .iter()
        .collect()
}

/// A student's rates as the raw files give them.
pub struct Rates {
    pub school: String,
    pub in_person: f64,
    pub clever: f64,
}

/// The SIS and Clever samples, per student: days recorded, days present, Clever active days,
/// and the rates keyed by pseudonym.
pub struct Hybrid {
    pub days: HashMap<String, BTreeSet<String>>,
    pub present: HashMap<String, BTreeSet<String>>,
    pub active: HashMap<String, BTreeSet<String>>,
    pub expected: HashMap<String, Rates>,
}

/// [`Hybrid`] from the shared samples under `root`, pseudonyms under `salt`.
pub fn hybrid(root: &Path, salt: &Salt) -> Hybrid {
    // Independent: in-person and Clever digital rates per student, from the raw files.
    let att = rows(&root.join("sis_batches/batch1/studentattendance.csv"));
    let dp = rows(&root.join("clever/daily-participation/Students/Students.csv"));
    let mut days: HashMap<String, BTreeSet<String>> = HashMap::new();
    let mut present: HashMap<String, BTreeSet<String>> = HashMap::new();
    let mut school_of: HashMap<String, String> = HashMap::new();
    for r in &att {
        let s = r["student_id"].clone();
        days.entry(s.clone())
            .or_default()
            .insert(r["attendance_date"].clone());
        if r["PresenceFlag"] == "1" {
            present
                .entry(s.clone())
                .or_default()
                .insert(r["attendance_date"].clone());
        }
        school_of.entry(s).or_insert_with(|| r["school_id"].clone());
    }
    let mut school_name: HashMap<String, String> = HashMap::new();
    let mut active: HashMap<String, BTreeSet<String>> = HashMap::new();
    for r in &dp {
        school_name.insert(r["clever_school_id"].clone(), r["school_name"].clone());
        if r["active"] == "True" {
            active
                .entry(r["sis_id"].clone())
                .or_default()
                .insert(r["date"].clone());
        }
    }
    let expected: HashMap<String, Rates> = days
        .iter()
        .map(|(s, d)| {
            let n = d.len() as f64;
            let p = present.get(s).map_or(0, |x| x.len()) as f64;
            let a = active.get(s).map_or(0, |x| x.intersection(d).count()) as f64;
            let school = school_name
                .get(&school_of[s])
                .cloned()
                .unwrap_or_else(|| school_of[s].clone());
            (
                hash_value(s, salt),
                Rates {
                    school,
                    in_person: p / n,
                    clever: a / n,
                },
            )
        })
        .collect();
    Hybrid {
        days,
        present,
        active,
        expected,
    }
}

/// Per (week, activity type) events and students, days with activity per week and the apps,
/// counted from a generated Insights export's headerless activity files.
pub struct Weekly {
    pub want: BTreeMap<(String, String), usize>,
    pub want_students: BTreeMap<(String, String), BTreeSet<String>>,
    pub want_days: BTreeMap<String, BTreeSet<chrono::NaiveDate>>,
    pub apps_seen: BTreeSet<String>,
}

/// A lake with a generated Insights export ingested (and its derived tables), the generated
/// files (Clever, SIS and Insights folders) and the lake's salt.
pub fn generated_insights(dir: &Path) -> (Lake, PathBuf, Salt) {
    generated_lake(dir, (60, 8, 5), false)
}

/// [`generated_insights`] for (students, days, seed), with the Clever reports ingested too
/// when `clever` (their student-to-school map).
pub fn generated_lake(dir: &Path, opts: (u32, u32, u64), clever: bool) -> (Lake, PathBuf, Salt) {
    let sources: &[&str] = if clever { &["clever"] } else { &[] };
    generated_with(dir, opts, sources)
}

/// [`generated_lake`] with the SIS files (attendance, students) and the Clever reports too.
pub fn generated_hybrid(dir: &Path, opts: (u32, u32, u64)) -> (Lake, PathBuf) {
    let (lake, out, _) = generated_with(dir, opts, &["sis", "clever"]);
    (lake, out)
}

/// A generated district for (students, days, seed): its Insights export and the named
/// `sources` ("clever", "sis") ingested, the derived tables built.
fn generated_with(
    dir: &Path,
    (students, days, seed): (u32, u32, u64),
    sources: &[&str],
) -> (Lake, PathBuf, Salt) {
    let out = dir.join("gen");
    let opts = edlake::generate::GenOptions {
        students,
        days,
        seed,
        ..Default::default()
    };
    edlake::generate::generate(&out, &opts).unwrap();
    let (lake, _) = Lake::init(&dir.join("lake")).unwrap();
    let salt = Salt::generate();
    let export = out.join("insights");
    ingest(
        &lake,
        &Insights::from_export(&export).unwrap(),
        &export,
        &salt,
    );
    for s in sources {
        match *s {
            "sis" => ingest(&lake, &sis::module().unwrap(), &out.join("sis"), &salt),
            "clever" => ingest(&lake, &Clever::default(), &out.join("clever"), &salt),
            other => panic!("no such generated source: {other}"),
        }
    }
    derive::build_stage3(&lake).unwrap();
    (lake, out, salt)
}

/// Every record of a generated export's headerless activity files, in folder order.
pub fn activity_records(export: &Path) -> Vec<csv::StringRecord> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(export.join("activity")).unwrap() {
        let p = e.unwrap().path().join("ApplicationUsage.csv");
        let mut r = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_path(&p)
            .unwrap();
        out.extend(r.records().map(|rec| rec.unwrap()));
    }
    out
}

/// A lake with the shared Clever sample ingested and its derived tables (the folder holds it).
pub fn clever_lake(root: &Path) -> (tempfile::TempDir, Lake) {
    let dir = tempfile::tempdir().unwrap();
    let (lake, _) = Lake::init(dir.path()).unwrap();
    ingest(
        &lake,
        &Clever::default(),
        &root.join("clever"),
        &Salt::generate(),
    );
    derive::build_stage3(&lake).unwrap();
    (dir, lake)
}

/// The activity type of an Insights signal (app name, signal type), as OEA's report groups them.
pub fn activity_type(app: &str, signal: &str) -> &'static str {
    match () {
        _ if app == "Assignments" => "Assignments",
        _ if app == "OneNote" => "OneNote",
        _ if app.starts_with("Reading") => "Reading Progress",
        _ if app.starts_with("Reflect") => "Reflect",
        _ if signal.starts_with("File") => "File activity",
        _ if app.starts_with("Teams") => "Teams visits",
        _ => "Other",
    }
}

/// [`Weekly`] from `export`.
pub fn weekly(export: &Path) -> Weekly {
    // Independent count of events, distinct students per (week, group) and days with activity
    // per week from the headerless activity files.
    let mut want: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut want_students: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    let mut want_days: BTreeMap<String, BTreeSet<chrono::NaiveDate>> = BTreeMap::new();
    let mut apps_seen: BTreeSet<String> = BTreeSet::new();
    for rec in activity_records(export) {
        let day = chrono::NaiveDate::parse_from_str(&rec[1][..10], "%Y-%m-%d").unwrap();
        let week = day
            - chrono::Duration::days(chrono::Datelike::weekday(&day).num_days_from_monday() as i64);
        let (app, signal) = (&rec[7], &rec[0]);
        let group = activity_type(app, signal);
        *want
            .entry((week.to_string(), group.to_string()))
            .or_default() += 1;
        want_students
            .entry((week.to_string(), group.to_string()))
            .or_default()
            .insert(rec[8].to_string());
        want_days.entry(week.to_string()).or_default().insert(day);
        apps_seen.insert(app.to_string());
    }
    Weekly {
        want,
        want_students,
        want_days,
        apps_seen,
    }
}
