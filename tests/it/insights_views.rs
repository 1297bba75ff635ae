//! The Insights views beyond the weekly chart — signals per day by activity type, Teams use by
//! school, the schools and classes cards — checked against counts taken here straight from a
//! generated export's headerless activity files and the Clever reports (the student-to-school
//! map), suppression included.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use edlake::lake::Lake;
use edlake::metrics::{self, Filter};

use crate::common;
use crate::raw;

use common::text_col;
use raw::{f64_col, rows};

/// One student event of the export: day, activity type, student, class.
struct Event {
    day: String,
    group: &'static str,
    student: String,
    class: String,
}

fn events(export: &Path) -> Vec<Event> {
    let mut out = Vec::new();
    for rec in raw::activity_records(export) {
        assert_eq!(&rec[9], "Student");
        let group = raw::activity_type(&rec[7], &rec[0]);
        out.push(Event {
            day: rec[1][..10].to_string(),
            group,
            student: rec[8].to_string(),
            class: rec[5].to_string(),
        });
    }
    out
}

/// Each student's schools, from the Clever daily participation reports.
fn schools_of(clever: &Path) -> HashMap<String, BTreeSet<String>> {
    let mut out: HashMap<String, BTreeSet<String>> = HashMap::new();
    for f in common::files_under(&clever.join("daily-participation")) {
        for r in rows(&f) {
            out.entry(r["sis_id"].clone())
                .or_default()
                .insert(r["school_name"].clone());
        }
    }
    out
}

fn setup(dir: &Path) -> (Lake, Vec<Event>, HashMap<String, BTreeSet<String>>) {
    let (lake, out, _) = raw::generated_lake(dir, (90, 10, 17), true);
    (
        lake,
        events(&out.join("insights")),
        schools_of(&out.join("clever")),
    )
}

fn floor() -> usize {
    metrics::MIN_GROUP_FLOOR as usize
}

fn ints(df: &polars::prelude::DataFrame, c: &str) -> Vec<Option<i64>> {
    f64_col(df, c)
        .into_iter()
        .map(|v| v.map(|v| v as i64))
        .collect()
}

#[test]
fn signals_per_day_and_cards_match_the_export() {
    let dir = tempfile::tempdir().unwrap();
    let (lake, events, map) = setup(dir.path());
    let f = Filter {
        min_group: 1,
        ..Filter::default()
    };
    // Per (day, type): signals and distinct students; groups of 1 to k-1 students hidden.
    let mut want: BTreeMap<(String, String), (BTreeSet<&str>, i64)> = BTreeMap::new();
    for e in &events {
        let w = want
            .entry((e.day.clone(), e.group.to_string()))
            .or_default();
        w.0.insert(&e.student);
        w.1 += 1;
    }
    let want: Vec<(String, String, i64, i64)> = want
        .into_iter()
        .filter(|(_, (s, _))| s.len() >= floor())
        .map(|((d, g), (s, n))| (d, g, s.len() as i64, n))
        .collect();
    let m = metrics::compute(&lake, "insights-daily", &f).unwrap().frame;
    let dates = m
        .column("date")
        .unwrap()
        .cast(&polars::prelude::DataType::String)
        .unwrap();
    let got: Vec<(String, String, i64, i64)> = dates
        .str()
        .unwrap()
        .iter()
        .zip(text_col(&m, "group"))
        .zip(ints(&m, "students").into_iter().zip(ints(&m, "events")))
        .map(|((d, g), (s, n))| (d.unwrap().into(), g.unwrap(), s.unwrap(), n.unwrap()))
        .collect();
    assert!(want.len() > 20, "{}", want.len());
    assert!(want.iter().any(|w| w.1 == "Reflect"));
    assert_eq!(got, want);

    // The cards: classes named by the events, schools of the active students.
    let m = metrics::compute(&lake, "insights-summary", &f)
        .unwrap()
        .frame;
    let classes: BTreeSet<&str> = events
        .iter()
        .filter(|e| !e.class.is_empty())
        .map(|e| e.class.as_str())
        .collect();
    let schools: BTreeSet<&String> = events
        .iter()
        .flat_map(|e| map.get(&e.student).into_iter().flatten())
        .collect();
    assert!(classes.len() > 3 && schools.len() >= 2);
    assert_eq!(ints(&m, "classes")[0], Some(classes.len() as i64));
    assert_eq!(ints(&m, "schools")[0], Some(schools.len() as i64));
    // Under a school filter: that school's students' classes, and one school.
    let school = schools.iter().next().unwrap().to_string();
    let one = Filter {
        school: Some(school.clone()),
        ..f.clone()
    };
    let m = metrics::compute(&lake, "insights-summary", &one)
        .unwrap()
        .frame;
    let at = |s: &str| map.get(s).is_some_and(|x| x.contains(&school));
    let classes: BTreeSet<&str> = events
        .iter()
        .filter(|e| !e.class.is_empty() && at(&e.student))
        .map(|e| e.class.as_str())
        .collect();
    assert_eq!(ints(&m, "classes")[0], Some(classes.len() as i64));
    assert_eq!(ints(&m, "schools")[0], Some(1));
}

#[test]
fn teams_use_by_school_matches_the_export() {
    let dir = tempfile::tempdir().unwrap();
    let (lake, events, map) = setup(dir.path());
    // Per school: students active in Insights, those with Teams visits, their Teams events.
    let mut want: BTreeMap<String, (BTreeSet<&str>, BTreeSet<&str>, i64)> = BTreeMap::new();
    for e in &events {
        for school in map.get(&e.student).into_iter().flatten() {
            let w = want.entry(school.clone()).or_default();
            w.0.insert(&e.student);
            if e.group == "Teams visits" {
                w.1.insert(&e.student);
                w.2 += 1;
            }
        }
    }
    let k = floor() as i64;
    let small = |n: i64| n > 0 && n < k;
    let want: Vec<(String, i64, Option<i64>, i64)> = want
        .into_iter()
        .filter(|(_, (s, _, _))| !small(s.len() as i64))
        .map(|(school, (s, t, n))| {
            let (s, t) = (s.len() as i64, t.len() as i64);
            (school, s, (!small(t) && !small(s - t)).then_some(t), n)
        })
        .collect();
    let f = Filter {
        min_group: 1,
        ..Filter::default()
    };
    let m = metrics::compute(&lake, "teams-by-school", &f)
        .unwrap()
        .frame;
    let got: Vec<(String, i64, Option<i64>, i64)> = text_col(&m, "school")
        .into_iter()
        .zip(ints(&m, "students"))
        .zip(
            ints(&m, "teams_students")
                .into_iter()
                .zip(ints(&m, "teams_events")),
        )
        .map(|((s, n), (t, e))| (s.unwrap(), n.unwrap(), t, e.unwrap()))
        .collect();
    assert!(want.len() >= 2 && want.iter().all(|w| w.3 > 0), "{want:?}");
    assert_eq!(got, want);
    let drawn =
        metrics::chart::charts(&metrics::compute(&lake, "teams-by-school", &f).unwrap()).unwrap();
    assert_eq!(drawn.len(), 1, "one chart: {drawn:?}");
}

/// Each section's label as the charts show it, by its SIS id, from the generated roster's
/// headerless Section and Organization files: the name, and the school where names repeat.
fn class_labels(export: &Path) -> HashMap<String, String> {
    let roster = std::fs::read_dir(export.join("roster"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let records = |entity: &str| -> Vec<csv::StringRecord> {
        let p = roster
            .join(entity)
            .join(format!("{}.csv", entity.to_lowercase()));
        let mut r = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_path(p)
            .unwrap();
        r.records().map(|x| x.unwrap()).collect()
    };
    let orgs: HashMap<String, String> = records("Organization")
        .iter()
        .map(|o| (o[0].to_string(), o[4].to_string()))
        .collect();
    let sections = records("Section");
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for s in &sections {
        *seen.entry(&s[4]).or_default() += 1;
    }
    sections
        .iter()
        .map(|s| {
            let label = if seen[&s[4]] > 1 {
                format!("{} · {}", &s[4], orgs[&s[5]])
            } else {
                s[4].to_string()
            };
            (s[1].to_string(), label)
        })
        .collect()
}

/// Each student's in-person rate from the generated SIS attendance files (PresenceFlag 1).
fn in_person(sis: &Path) -> HashMap<String, f64> {
    let mut days: HashMap<String, (u32, u32)> = HashMap::new();
    for f in common::files_under(&sis.join("studentattendance")) {
        for r in rows(&f) {
            let d = days.entry(r["student_id"].clone()).or_default();
            d.0 += 1;
            d.1 += u32::from(r["PresenceFlag"] == "1");
        }
    }
    days.into_iter()
        .map(|(s, (n, p))| (s, f64::from(p) / f64::from(n)))
        .collect()
}

#[test]
fn a_class_is_its_events_on_insights_charts_and_its_students_on_the_hybrid_ones() {
    let dir = tempfile::tempdir().unwrap();
    let (lake, out) = raw::generated_hybrid(dir.path(), (120, 8, 23));
    let export = out.join("insights");
    let labels = class_labels(&export);
    let rate = in_person(&out.join("sis"));
    // Per class: its students, and its events.
    let mut want: BTreeMap<String, (BTreeSet<String>, i64)> = BTreeMap::new();
    for rec in raw::activity_records(&export) {
        let w = want.entry(labels[&rec[4]].clone()).or_default();
        w.0.insert(rec[8].to_string());
        w.1 += 1;
    }
    assert!(want.len() >= 8, "{:?}", want.keys());
    assert!(want.keys().any(|k| k.contains(" · ")));
    let f = Filter {
        min_group: 1,
        ..Filter::default()
    };
    // The chart of the classes: students (k or more) and their mean in-person rate.
    let m = metrics::compute(&lake, "class-engagement", &f)
        .unwrap()
        .frame;
    let got: Vec<(String, i64, f64)> = text_col(&m, "class")
        .into_iter()
        .zip(ints(&m, "students"))
        .zip(f64_col(&m, "in_person_rate"))
        .map(|((c, n), r)| (c.unwrap(), n.unwrap(), r.unwrap()))
        .collect();
    let expect: Vec<(String, i64, f64)> = want
        .iter()
        .filter(|(_, (s, _))| s.len() >= floor())
        .map(|(c, (s, _))| {
            let mean = s.iter().map(|x| rate[x]).sum::<f64>() / s.len() as f64;
            (c.clone(), s.len() as i64, mean)
        })
        .collect();
    assert_eq!(got.len(), expect.len(), "{got:?}\n{expect:?}");
    for (g, e) in got.iter().zip(&expect) {
        assert_eq!((&g.0, g.1), (&e.0, e.1));
        assert!((g.2 - e.2).abs() < 1e-12, "{g:?} vs {e:?}");
    }
    // One class on the Insights cards: its students and events, one class.
    let (class, (students, events)) = want.iter().next().unwrap();
    let one = Filter {
        class: Some(class.clone()),
        ..f.clone()
    };
    let m = metrics::compute(&lake, "insights-summary", &one)
        .unwrap()
        .frame;
    assert_eq!(ints(&m, "students")[0], Some(students.len() as i64));
    assert_eq!(ints(&m, "events")[0], Some(*events));
    assert_eq!(ints(&m, "classes")[0], Some(1));
    // And on the hybrid cards: the class's students.
    let m = metrics::compute(&lake, "hybrid-summary", &one)
        .unwrap()
        .frame;
    assert_eq!(ints(&m, "students")[0], Some(students.len() as i64));
}
