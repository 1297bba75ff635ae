//! Hybrid engagement and the aggregates behind the charts, checked against values computed here
//! independently from the raw CSV files.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use edlake::derive;
use edlake::lake::{Lake, delta};
use edlake::metrics::{self, Filter};
use edlake::modules::clever::Clever;
use edlake::modules::sis;
use edlake::pseudo::Salt;

use crate::common;
use crate::raw;

use common::ingest;
use common::text_col as str_col;
use raw::{f64_col, rows, shared, shared_lake};

#[test]
fn hybrid_engagement_matches_an_independent_computation() {
    let Some(root) = shared() else { return };
    let dir = tempfile::tempdir().unwrap();
    let salt = Salt::from_secret("district-salt").unwrap();
    let lake = shared_lake(&root, dir.path(), &salt);

    let raw::Hybrid {
        days,
        present: _,
        active: _,
        expected,
    } = raw::hybrid(&root, &salt);
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
    let (lake, out, salt) = raw::generated_insights(dir.path());
    let export = out.join("insights");
    let raw::Weekly {
        want,
        want_students,
        want_days,
        ..
    } = raw::weekly(&export);
    assert!(
        want.keys().any(|(_, g)| g == "Reflect"),
        "the generated export has Reflect activity"
    );
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
    clever_event_ids_name_the_day_and_student(&lake);
}

/// Clever events are identified by their day (`YYYYMMDD`), the resource for resource usage, and
/// the first 16 hex digits of the student's pseudonym; no two events share an id.
fn clever_event_ids_name_the_day_and_student(lake: &Lake) {
    let da = delta::read_table(&lake.table_dir(&derive::digital_activity_table()), None).unwrap();
    let ids = str_col(&da, "event_id");
    let (types, actors) = (str_col(&da, "event_type"), str_col(&da, "actor_id"));
    let objects = str_col(&da, "object_id");
    // Timestamps print as `2025-11-03 00:00:00 UTC`.
    let days: Vec<String> = str_col(&da, "event_time")
        .into_iter()
        .map(|t| t.unwrap()[..10].replace('-', ""))
        .collect();
    let mut checked = 0;
    for i in 0..da.height() {
        let actor = actors[i].as_deref().unwrap();
        let want = match types[i].as_deref() {
            Some("daily_participation") => format!("clever-dp-{}-{}", days[i], &actor[..16]),
            Some("resource_usage") => format!(
                "clever-ru-{}-{}-{}",
                days[i],
                objects[i].as_deref().unwrap(),
                &actor[..16]
            ),
            _ => continue,
        };
        assert_eq!(ids[i].as_deref(), Some(want.as_str()), "event {i}");
        checked += 1;
    }
    assert!(checked > 1000, "{checked} Clever events");
    let unique: std::collections::HashSet<_> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "event ids are unique");
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
