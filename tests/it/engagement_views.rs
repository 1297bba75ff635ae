//! The reports' cards and views (Clever, Insights and hybrid cards, attendance over time, the
//! school × grade matrix) checked against values computed here from the raw files.

use std::collections::{BTreeMap, BTreeSet};

use edlake::derive;
use edlake::lake::Lake;
use edlake::metrics::{self, Filter};
use edlake::modules::clever::Clever;
use edlake::pseudo::Salt;

use crate::common;
use crate::raw;

use common::ingest;
use common::text_col as str_col;
use raw::{f64_col, rows, shared, shared_lake};

/// Whether a part of a group (or the rest of it) is small enough to be blanked.
fn small_part(part: usize, group: usize) -> bool {
    let small = |n: usize| n > 0 && n < metrics::MIN_GROUP_FLOOR as usize;
    small(part) || small(group - part)
}

#[test]
fn hybrid_cards_matrix_and_days_match_the_raw_files() {
    let Some(root) = shared() else { return };
    let dir = tempfile::tempdir().unwrap();
    let salt = Salt::from_secret("district-salt").unwrap();
    let lake = shared_lake(&root, dir.path(), &salt);
    derive::build_stage3(&lake).unwrap();
    let raw::Hybrid {
        days,
        present,
        active,
        expected,
    } = raw::hybrid(&root, &salt);
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
    let floor = metrics::MIN_GROUP_FLOOR as usize;
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
    let mean = |v: &dyn Fn(&raw::Rates) -> f64| expected.values().map(v).sum::<f64>() / n;
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
}

#[test]
fn clever_cards_match_the_raw_reports() {
    let Some(root) = shared() else { return };
    let dir = tempfile::tempdir().unwrap();
    let salt = Salt::generate();
    let (lake, _) = Lake::init(dir.path()).unwrap();
    ingest(&lake, &Clever::default(), &root.join("clever"), &salt);
    derive::build_stage3(&lake).unwrap();
    let dp = rows(&root.join("clever/daily-participation/Students/Students.csv"));
    let small = |n: usize| n > 0 && n < metrics::MIN_GROUP_FLOOR as usize;
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
}

#[test]
fn insights_cards_match_the_generated_activity() {
    let dir = tempfile::tempdir().unwrap();
    let (lake, out, _) = raw::generated_insights(dir.path());
    let export = out.join("insights");
    let raw::Weekly {
        want,
        want_students,
        want_days,
        apps_seen,
    } = raw::weekly(&export);
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
}

#[test]
fn top_five_resources_per_school_match_the_raw_report() {
    let Some(root) = shared() else { return };
    let (_dir, lake) = raw::clever_lake(&root);
    // Distinct students per (school, resource), from the raw file.
    let ru = rows(&root.join("clever/resource-usage/Students/Students.csv"));
    let mut by: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for r in &ru {
        by.entry(r["school_name"].clone())
            .or_default()
            .entry(r["resource_name"].clone())
            .or_default()
            .insert(r["sis_id"].clone());
    }
    let k = metrics::MIN_GROUP_FLOOR as usize;
    let mut want: Vec<(String, String, usize)> = Vec::new();
    for (school, res) in &by {
        // Most students first, ties by name; resources used by 1 to k-1 students hidden.
        let mut list: Vec<(String, usize)> = res
            .iter()
            .map(|(n, s)| (n.clone(), s.len()))
            .filter(|(_, n)| *n == 0 || *n >= k)
            .collect();
        list.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        want.extend(
            list.into_iter()
                .take(5)
                .map(|(n, c)| (school.clone(), n, c)),
        );
    }
    let f = Filter {
        min_group: 1,
        ..Filter::default()
    };
    let m = metrics::compute(&lake, "top-resources-by-school", &f)
        .unwrap()
        .frame;
    let (schools, names) = (str_col(&m, "school"), str_col(&m, "resource_name"));
    let students = f64_col(&m, "students");
    let got: Vec<(String, String, usize)> = (0..m.height())
        .map(|i| {
            (
                schools[i].clone().unwrap(),
                names[i].clone().unwrap(),
                students[i].unwrap() as usize,
            )
        })
        .collect();
    assert_eq!(got, want);
    assert!(
        by.len() > 1 && got.len() > 5,
        "more than one school's top 5"
    );
}
