//! Hybrid engagement and the aggregates behind the charts, checked against values computed here
//! independently from the raw CSV files.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use edlake::derive;
use edlake::lake::{Lake, delta};
use edlake::metrics::{self, Filter};
use edlake::modules::clever::Clever;
use edlake::modules::insights::Insights;
use edlake::modules::sis;
use edlake::pseudo::{Salt, hash_value};
use polars::prelude::*;

mod common;

use common::ingest;
use common::text_col as str_col;

fn shared() -> Option<PathBuf> {
    common::shared_data("")
}

fn rows(path: &Path) -> Vec<HashMap<String, String>> {
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
fn shared_lake(root: &Path, dir: &Path, salt: &Salt) -> Lake {
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

fn f64_col(df: &DataFrame, c: &str) -> Vec<Option<f64>> {
    df.column(c)
        .unwrap()
        .cast(&DataType::Float64)
        .unwrap()
        .f64()
        .unwrap()
        .iter()
        .collect()
}

#[test]
fn hybrid_engagement_matches_an_independent_computation() {
    let Some(root) = shared() else { return };
    let dir = tempfile::tempdir().unwrap();
    let salt = Salt::from_secret("district-salt").unwrap();
    let lake = shared_lake(&root, dir.path(), &salt);

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
    struct Rates {
        school: String,
        in_person: f64,
        clever: f64,
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
                hash_value(s, &salt),
                Rates {
                    school,
                    in_person: p / n,
                    clever: a / n,
                },
            )
        })
        .collect();

    // The stage3 hybrid table, student by student (joined on pseudonyms only).
    let built = derive::build_stage3(&lake).unwrap();
    assert_eq!(built.hybrid_students, Some(expected.len() as u64));
    let hybrid = delta::read_table(&lake.table_dir(&derive::hybrid_table()), None).unwrap();
    let students = str_col(&hybrid, "student");
    let schools = str_col(&hybrid, "school");
    let inp = f64_col(&hybrid, "in_person_rate");
    let clv = f64_col(&hybrid, "digital_rate_clever");
    for i in 0..hybrid.height() {
        let e = &expected[students[i].as_deref().unwrap()];
        assert_eq!(schools[i].as_deref(), Some(e.school.as_str()));
        assert!((inp[i].unwrap() - e.in_person).abs() < 1e-12);
        assert!((clv[i].unwrap() - e.clever).abs() < 1e-12);
    }
    // No raw id reaches the stage3 table.
    assert!(students.iter().flatten().all(|s| !days.contains_key(s)));

    // Per school (the scatter): students and mean rates.
    let mut by_school: BTreeMap<String, (usize, f64, f64)> = BTreeMap::new();
    for r in expected.values() {
        let e = by_school.entry(r.school.clone()).or_default();
        e.0 += 1;
        e.1 += r.in_person;
        e.2 += r.clever;
    }
    let f = Filter {
        min_group: 1,
        ..Filter::default()
    };
    let m = metrics::compute(&lake, "attendance-vs-digital", &f)
        .unwrap()
        .frame;
    let floor = metrics::MIN_GROUP_FLOOR as usize;
    assert_eq!(
        m.height(),
        by_school.values().filter(|s| s.0 >= floor).count()
    );
    let names = str_col(&m, "school");
    let counts = f64_col(&m, "students");
    let inp = f64_col(&m, "in_person_rate");
    let clv = f64_col(&m, "digital_rate_clever");
    for i in 0..m.height() {
        let (n, sp, sc) = by_school[names[i].as_deref().unwrap()];
        assert_eq!(counts[i], Some(n as f64));
        assert!((inp[i].unwrap() - sp / n as f64).abs() < 1e-9);
        assert!((clv[i].unwrap() - sc / n as f64).abs() < 1e-9);
    }

    // Attendance over time: per day, of the students recorded, the shares present and with
    // Clever activity.
    let m = metrics::compute(&lake, "attendance-over-time", &f)
        .unwrap()
        .frame;
    let mut per_day: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    for (s, d) in &days {
        for day in d {
            let e = per_day.entry(day.clone()).or_default();
            e.0 += 1;
            e.1 += usize::from(present.get(s).is_some_and(|p| p.contains(day)));
            e.2 += usize::from(active.get(s).is_some_and(|a| a.contains(day)));
        }
    }
    let shown: Vec<_> = per_day.iter().filter(|(_, c)| c.0 >= floor).collect();
    assert_eq!(m.height(), shown.len());
    let dates = str_col(&m, "date");
    let (inp, clv) = (
        f64_col(&m, "in_person_rate"),
        f64_col(&m, "digital_rate_clever"),
    );
    for i in 0..m.height() {
        let (n, p, a) = per_day[dates[i].as_deref().unwrap()];
        assert!((inp[i].unwrap() - p as f64 / n as f64).abs() < 1e-12);
        assert!((clv[i].unwrap() - a as f64 / n as f64).abs() < 1e-12);
    }

    // The school × grade matrix: these SIS samples have no grades, so one cell per school
    // ("grade not recorded") with the school's students and mean rate.
    let m = metrics::compute(&lake, "school-by-grade", &f)
        .unwrap()
        .frame;
    assert_eq!(
        m.height(),
        by_school.values().filter(|s| s.0 >= floor).count()
    );
    let names = str_col(&m, "school");
    let grades = str_col(&m, "grade");
    let counts = f64_col(&m, "students");
    let inp = f64_col(&m, "in_person_rate");
    for i in 0..m.height() {
        let (n, sp, _) = by_school[names[i].as_deref().unwrap()];
        assert_eq!(grades[i], None);
        assert_eq!(counts[i], Some(n as f64));
        assert!((inp[i].unwrap() - sp / n as f64).abs() < 1e-9);
    }

    // The cards: students, schools, average rates, students at or above 90 %.
    let m = metrics::compute(&lake, "hybrid-summary", &f).unwrap().frame;
    assert_eq!(m.height(), 1);
    let n = expected.len() as f64;
    let schools: BTreeSet<&str> = expected.values().map(|r| r.school.as_str()).collect();
    let mean = |v: &dyn Fn(&Rates) -> f64| expected.values().map(v).sum::<f64>() / n;
    let above = expected.values().filter(|r| r.in_person >= 0.9).count();
    assert_eq!(f64_col(&m, "students")[0], Some(n));
    assert_eq!(f64_col(&m, "schools")[0], Some(schools.len() as f64));
    assert!((f64_col(&m, "in_person_rate")[0].unwrap() - mean(&|r| r.in_person)).abs() < 1e-9);
    assert!((f64_col(&m, "digital_rate_clever")[0].unwrap() - mean(&|r| r.clever)).abs() < 1e-9);
    let shown = f64_col(&m, "at_or_above_target")[0];
    if small_part(above, expected.len()) {
        assert_eq!(shown, None);
    } else {
        assert_eq!(shown, Some(above as f64));
    }

    // Below threshold: counts per school.
    let m = metrics::compute(
        &lake,
        "below-threshold",
        &Filter {
            min_group: 1,
            threshold: 0.9,
            ..Filter::default()
        },
    )
    .unwrap()
    .frame;
    let names = str_col(&m, "school");
    let below = f64_col(&m, "below_threshold");
    let small = |n: usize| n > 0 && n < metrics::MIN_GROUP_FLOOR as usize;
    for i in 0..m.height() {
        let school = names[i].as_deref().unwrap();
        let want = expected
            .values()
            .filter(|r| r.school == school && r.in_person < 0.9)
            .count();
        // A count of 1 to 4, or one that leaves 1 to 4 students, would single them out.
        if small(want) || small(by_school[school].0 - want) {
            assert_eq!(below[i], None, "{school}");
        } else {
            assert_eq!(below[i], Some(want as f64), "{school}");
        }
    }
}

#[test]
fn clever_aggregates_match_the_raw_reports_and_small_groups_are_hidden() {
    let Some(root) = shared() else { return };
    let dir = tempfile::tempdir().unwrap();
    let salt = Salt::generate();
    let (lake, _) = Lake::init(dir.path()).unwrap();
    ingest(&lake, &Clever::default(), &root.join("clever"), &salt);
    derive::build_stage3(&lake).unwrap();
    let dp = rows(&root.join("clever/daily-participation/Students/Students.csv"));
    // daily-active: active students and logins per (date, school).
    // (students, active students, logins) per (date, school).
    let mut want: BTreeMap<(String, String), (usize, BTreeSet<String>, i64)> = BTreeMap::new();
    for r in &dp {
        let e = want
            .entry((r["date"].clone(), r["school_name"].clone()))
            .or_default();
        e.0 += 1;
        if r["active"] == "True" {
            e.1.insert(r["sis_id"].clone());
        }
        e.2 += r["num_logins"].parse::<i64>().unwrap();
    }
    // The smallest minimum there is: groups of fewer than 5 students are hidden, and a count
    // of active students is blank when it, or the inactive rest, is 1 to 4.
    let k = metrics::MIN_GROUP_FLOOR as usize;
    let small = |n: usize| n > 0 && n < k;
    let f = Filter {
        min_group: 1,
        ..Filter::default()
    };
    let m = metrics::compute(&lake, "daily-active", &f).unwrap().frame;
    let shown: Vec<_> = want.iter().filter(|(_, w)| !small(w.0)).collect();
    assert_eq!(m.height(), shown.len());
    let dates = str_col(&m, "date");
    let schools = str_col(&m, "school");
    let act = f64_col(&m, "active_students");
    let logins = f64_col(&m, "logins");
    let mut blanked = 0;
    for i in 0..m.height() {
        let w = &want[&(dates[i].clone().unwrap(), schools[i].clone().unwrap())];
        let active = w.1.len();
        if small(active) || small(w.0 - active) {
            assert_eq!(act[i], None);
            blanked += 1;
        } else {
            assert_eq!(act[i], Some(active as f64));
        }
        assert_eq!(logins[i], Some(w.2 as f64));
    }
    println!(
        "daily-active: {} shown, {blanked} active counts blank",
        m.height()
    );
    // clever-summary (the cards): distinct active students, school days, schools, logins;
    // for the whole district and for each school.
    let all_schools: BTreeSet<String> = dp.iter().map(|r| r["school_name"].clone()).collect();
    for school in std::iter::once(None).chain(all_schools.iter().map(Some)) {
        let mine: Vec<_> = dp
            .iter()
            .filter(|r| school.is_none_or(|s| &r["school_name"] == s))
            .collect();
        let active: BTreeSet<&str> = mine
            .iter()
            .filter(|r| r["active"] == "True")
            .map(|r| r["sis_id"].as_str())
            .collect();
        let days: BTreeSet<&str> = mine.iter().map(|r| r["date"].as_str()).collect();
        let names: BTreeSet<&str> = mine.iter().map(|r| r["school_name"].as_str()).collect();
        let logins: i64 = mine
            .iter()
            .map(|r| r["num_logins"].parse::<i64>().unwrap())
            .sum();
        let f = Filter {
            min_group: 1,
            school: school.cloned(),
            ..Filter::default()
        };
        let m = metrics::compute(&lake, "clever-summary", &f).unwrap().frame;
        if small(active.len()) {
            assert_eq!(
                m.height(),
                0,
                "{school:?}: {} active students",
                active.len()
            );
            continue;
        }
        assert_eq!(m.height(), 1);
        assert_eq!(
            f64_col(&m, "students")[0],
            Some(active.len() as f64),
            "{school:?}"
        );
        assert_eq!(f64_col(&m, "school_days")[0], Some(days.len() as f64));
        assert_eq!(f64_col(&m, "schools")[0], Some(names.len() as f64));
        assert_eq!(f64_col(&m, "logins")[0], Some(logins as f64));
    }
    // top-resources: distinct students per resource.
    let ru = rows(&root.join("clever/resource-usage/Students/Students.csv"));
    let mut per: HashMap<String, BTreeSet<String>> = HashMap::new();
    for r in &ru {
        per.entry(r["resource_name"].clone())
            .or_default()
            .insert(r["sis_id"].clone());
    }
    let m = metrics::compute(&lake, "top-resources", &f).unwrap().frame;
    let names = str_col(&m, "resource_name");
    let students = f64_col(&m, "students");
    assert_eq!(m.height(), per.values().filter(|s| !small(s.len())).count());
    for i in 0..m.height() {
        assert_eq!(
            students[i],
            Some(per[names[i].as_deref().unwrap()].len() as f64)
        );
    }
    assert!(
        students.windows(2).all(|w| w[0] >= w[1]),
        "sorted by students"
    );
    // Suppression: groups smaller than the minimum are hidden, and the output says so.
    let biggest = *per
        .values()
        .map(|s| s.len())
        .collect::<Vec<_>>()
        .iter()
        .max()
        .unwrap();
    let out = metrics::compute(
        &lake,
        "top-resources",
        &Filter {
            min_group: biggest as u32 + 1,
            ..Filter::default()
        },
    )
    .unwrap();
    assert_eq!(out.frame.height(), 0);
    assert!(
        out.notes.iter().any(|n| n.contains("hidden")),
        "{:?}",
        out.notes
    );
}

#[test]
fn insights_weekly_groups_match_the_generated_activity() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("gen");
    edlake::generate::generate(
        &out,
        &edlake::generate::GenOptions {
            students: 60,
            days: 8,
            seed: 5,
            ..Default::default()
        },
    )
    .unwrap();
    let (lake, _) = Lake::init(&dir.path().join("lake")).unwrap();
    let salt = Salt::generate();
    let export = out.join("insights");
    ingest(
        &lake,
        &Insights::from_export(&export).unwrap(),
        &export,
        &salt,
    );
    derive::build_stage3(&lake).unwrap();
    // Independent count of events, distinct students per (week, group) and days with activity
    // per week from the headerless activity files.
    let mut want: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut want_students: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    let mut want_days: BTreeMap<String, BTreeSet<chrono::NaiveDate>> = BTreeMap::new();
    let mut apps_seen: BTreeSet<String> = BTreeSet::new();
    for e in std::fs::read_dir(export.join("activity")).unwrap() {
        let p = e.unwrap().path().join("ApplicationUsage.csv");
        let mut r = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_path(&p)
            .unwrap();
        for rec in r.records() {
            let rec = rec.unwrap();
            let day = chrono::NaiveDate::parse_from_str(&rec[1][..10], "%Y-%m-%d").unwrap();
            let week = day
                - chrono::Duration::days(
                    chrono::Datelike::weekday(&day).num_days_from_monday() as i64
                );
            let (app, signal) = (&rec[7], &rec[0]);
            let group = match () {
                _ if app == "Assignments" => "Assignments",
                _ if app == "OneNote" => "OneNote",
                _ if app.starts_with("Reading") => "Reading Progress",
                _ if app.starts_with("Reflect") => "Reflect",
                _ if signal.starts_with("File") => "File activity",
                _ if app.starts_with("Teams") => "Teams visits",
                _ => "Other",
            };
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
    }
    assert!(
        want.keys().any(|(_, g)| g == "Reflect"),
        "the generated export has Reflect activity"
    );
    // The cards, counted from the same files.
    let all_students: BTreeSet<&String> = want_students.values().flatten().collect();
    let m = metrics::compute(
        &lake,
        "insights-summary",
        &Filter {
            min_group: 1,
            ..Filter::default()
        },
    )
    .unwrap()
    .frame;
    assert_eq!(f64_col(&m, "students")[0], Some(all_students.len() as f64));
    let all_days: BTreeSet<&chrono::NaiveDate> = want_days.values().flatten().collect();
    assert_eq!(f64_col(&m, "days")[0], Some(all_days.len() as f64));
    assert_eq!(
        f64_col(&m, "events")[0],
        Some(want.values().sum::<usize>() as f64)
    );
    assert_eq!(f64_col(&m, "apps")[0], Some(apps_seen.len() as f64));
    let m = metrics::compute(
        &lake,
        "insights-weekly",
        &Filter {
            min_group: 1,
            ..Filter::default()
        },
    )
    .unwrap()
    .frame;
    let weeks = str_col(&m, "week");
    let groups = str_col(&m, "group");
    let events = f64_col(&m, "events");
    let students = f64_col(&m, "students");
    let days = f64_col(&m, "days");
    let key = |i: usize| (weeks[i].clone().unwrap(), groups[i].clone().unwrap());
    let got: BTreeMap<(String, String), usize> = (0..m.height())
        .map(|i| (key(i), events[i].unwrap() as usize))
        .collect();
    assert_eq!(got, want);
    let got: BTreeMap<(String, String), usize> = (0..m.height())
        .map(|i| (key(i), students[i].unwrap() as usize))
        .collect();
    let want: BTreeMap<(String, String), usize> = want_students
        .iter()
        .map(|(k, v)| (k.clone(), v.len()))
        .collect();
    assert_eq!(got, want);
    for i in 0..m.height() {
        assert_eq!(
            days[i].unwrap() as usize,
            want_days[&weeks[i].clone().unwrap()].len(),
            "days with activity in the week of {}",
            weeks[i].clone().unwrap()
        );
    }

    // With Clever and SIS too, the stage3 tables hold every source's rows.
    ingest(&lake, &Clever::default(), &out.join("clever"), &salt);
    ingest(&lake, &sis::module().unwrap(), &out.join("sis"), &salt);
    let built = derive::build_stage3(&lake).unwrap();
    let rows = |e: &str| {
        lake.table_state(&edlake::lake::TableRef::new(
            edlake::lake::Layer::General,
            if e == "activity" {
                "ms_insights"
            } else {
                "clever"
            },
            if e == "activity" { "v0.2" } else { "v1.0" },
            e,
        ))
        .unwrap()
        .rows() as u64
    };
    let total = rows("daily_participation") + rows("resource_usage") + rows("activity");
    assert_eq!(built.digital_activity_rows, Some(total));
    assert_eq!(built.hybrid_students, Some(60));
}

#[test]
fn a_minimum_group_below_the_floor_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    Lake::init(&lake).unwrap();
    for n in ["1", "4"] {
        let o = common::cli::run(&lake, &["metrics", "below-threshold", "--min-group", n]);
        assert_eq!(o.status.code(), Some(2), "{}", common::cli::said(&o));
        assert!(
            common::cli::said(&o).contains("5.."),
            "{}",
            common::cli::said(&o)
        );
    }
}

/// Whether a part of a group (or the rest of it) is small enough to be blanked.
fn small_part(part: usize, group: usize) -> bool {
    let small = |n: usize| n > 0 && n < metrics::MIN_GROUP_FLOOR as usize;
    small(part) || small(group - part)
}
