//! The charts' serving data answers every aggregate exactly as the direct queries over the
//! general tables do (those are checked against raw files in tests/it/engagement.rs), under date
//! ranges that cut weeks, school filters and empty ranges; it is ignored once stale; and the
//! stage3 digital activity table is rebuilt incrementally.

use chrono::NaiveDate;
use edlake::derive::{self, serving::Serving};
use edlake::lake::{Lake, delta};
use edlake::metrics::{self, Filter};
use edlake::modules::clever::Clever;
use edlake::modules::insights::Insights;
use edlake::modules::sis;
use edlake::pseudo::Salt;
use polars::prelude::*;

use crate::common;
use common::served::{assert_same, check_all, generate, ingest_all};
use common::{files_under, ingest};

/// The first row's `students` as text (as `of` gives a group's).
fn first_students(df: &DataFrame) -> Vec<Option<String>> {
    let n = df
        .column("students")
        .unwrap()
        .cast(&DataType::String)
        .unwrap();
    vec![n.str().unwrap().get(0).map(str::to_string)]
}

fn dates(lake: &Lake) -> Vec<NaiveDate> {
    let s = Serving::load(lake).expect("an up-to-date serving build");
    s.calendar().to_vec()
}

fn school(lake: &Lake) -> String {
    let out = metrics::compute_direct(lake, "clever-by-school", &Filter::default()).unwrap();
    let c = out.frame.column("school").unwrap().str().unwrap().clone();
    c.get(1).unwrap().to_string()
}

/// The students of the rows of `df` whose column `c` reads `v`, as text.
fn students_of(df: &DataFrame, c: &str, v: &str) -> Vec<Option<String>> {
    let key = df.column(c).unwrap().cast(&DataType::String).unwrap();
    let n = df
        .column("students")
        .unwrap()
        .cast(&DataType::String)
        .unwrap();
    key.str()
        .unwrap()
        .iter()
        .zip(n.str().unwrap().iter())
        .filter(|(k, _)| *k == Some(v))
        .map(|(_, n)| n.map(str::to_string))
        .collect()
}

/// A grade and an app: served equals direct, alone and with dates and a school; returns the
/// grade and app checked.
fn grade_and_app_rows_agree(
    lake: &Lake,
    base: &Filter,
    s: &str,
    cal: &[NaiveDate],
) -> (String, String) {
    let mid = |i: usize| Some(cal[i]);
    let first = |m: &str, c: &str| {
        let out = metrics::compute_direct(lake, m, base).unwrap().frame;
        let v = out.column(c).unwrap().cast(&DataType::String).unwrap();
        v.str().unwrap().get(0).unwrap().to_string()
    };
    let (grade, app) = (
        first("engagement-by-grade", "grade"),
        first("top-resources", "resource_name"),
    );
    let narrowed = vec![
        Filter {
            grade: Some(grade.clone()),
            ..base.clone()
        },
        Filter {
            app: Some(app.clone()),
            ..base.clone()
        },
        Filter {
            grade: Some(grade.clone()),
            app: Some(app.clone()),
            school: Some(s.to_string()),
            from: mid(2),
            to: mid(15),
            ..base.clone()
        },
        Filter {
            grade: Some("no such grade".into()),
            app: Some("No Such App".into()),
            ..base.clone()
        },
    ];
    assert!(check_all(lake, &narrowed) > 20);
    // The grade's students are the grade's row of the unfiltered grade bars; the app's row of
    // the ranking is the one row under the app filter.
    let by_grade = metrics::compute(lake, "engagement-by-grade", base)
        .unwrap()
        .frame;
    let one_grade = Filter {
        grade: Some(grade.clone()),
        ..base.clone()
    };
    let summary = metrics::compute(lake, "hybrid-summary", &one_grade)
        .unwrap()
        .frame;
    assert_eq!(
        first_students(&summary),
        students_of(&by_grade, "grade", &grade)
    );
    let ranking = metrics::compute(lake, "top-resources", base).unwrap().frame;
    let one_app = Filter {
        app: Some(app.clone()),
        ..base.clone()
    };
    let only = metrics::compute(lake, "top-resources", &one_app)
        .unwrap()
        .frame;
    assert_eq!(only.height(), 1);
    assert_eq!(
        students_of(&only, "resource_name", &app),
        students_of(&ranking, "resource_name", &app)
    );
    (grade, app)
}

/// A class: its events on the Insights charts, its students on the hybrid ones; served equals
/// direct alone, with a school and dates, with a grade, and for an unknown class.
fn class_filters_agree(lake: &Lake, base: &Filter, s: &str, cal: &[NaiveDate], grade: &str) {
    let mid = |i: usize| Some(cal[i]);
    let classes = metrics::classes::labels(lake).unwrap();
    assert!(classes.len() >= 4, "{classes:?}");
    assert!(
        classes.iter().all(|c| c.starts_with("Homeroom ")),
        "{classes:?}"
    );
    let class = classes[0].clone();
    let narrowed = vec![
        Filter {
            class: Some(class.to_string()),
            ..base.clone()
        },
        Filter {
            class: Some(class.to_string()),
            school: Some(s.to_string()),
            from: mid(2),
            to: mid(15),
            ..base.clone()
        },
        Filter {
            class: Some(class.to_string()),
            grade: Some(grade.to_string()),
            ..base.clone()
        },
        Filter {
            class: Some("No Such Class".into()),
            ..base.clone()
        },
    ];
    assert!(check_all(lake, &narrowed) > 20);
    let one_class = Filter {
        class: Some(class.to_string()),
        ..base.clone()
    };
    // The class's row of the per-class chart is the one row under its filter, and its
    // students are the hybrid cards' students under the filter.
    let by_class = metrics::compute(lake, "class-engagement", base)
        .unwrap()
        .frame;
    assert!(by_class.height() >= 4, "{by_class}");
    let only = metrics::compute(lake, "class-engagement", &one_class)
        .unwrap()
        .frame;
    assert_eq!(only.height(), 1);
    assert_eq!(
        students_of(&only, "class", &class),
        students_of(&by_class, "class", &class)
    );
    let cards = metrics::compute(lake, "hybrid-summary", &one_class)
        .unwrap()
        .frame;
    assert_eq!(
        first_students(&cards),
        students_of(&by_class, "class", &class)
    );
    let insights = metrics::compute(lake, "insights-summary", &one_class)
        .unwrap()
        .frame;
    assert_eq!(
        insights.column("classes").unwrap().i64().unwrap().get(0),
        Some(1)
    );
}

#[test]
fn served_aggregates_equal_the_direct_queries_under_every_filter() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("gen");
    generate(&input, 24);
    let (lake, _) = Lake::init(&dir.path().join("lake")).unwrap();
    let salt = Salt::generate();
    ingest_all(&lake, &input, &salt);
    let r = derive::build_stage3(&lake).unwrap();
    let serving = r.serving.expect("serving data built");
    assert!(serving.parts >= 10, "{serving:?}");
    assert_no_pseudonyms_in_serving(&lake);

    let cal = dates(&lake);
    assert!(cal.len() >= 20);
    let s = school(&lake);
    let base = Filter {
        min_group: 1,
        ..Filter::default()
    };
    // A Wednesday-to-Tuesday range cuts weeks at both ends.
    let mid = |i: usize| Some(cal[i]);
    let filters = vec![
        base.clone(),
        Filter::default(),
        Filter {
            from: mid(3),
            to: mid(13),
            ..base.clone()
        },
        Filter {
            school: Some(s.clone()),
            ..base.clone()
        },
        Filter {
            school: Some(s.clone()),
            from: mid(5),
            to: mid(9),
            threshold: 0.95,
            ..base.clone()
        },
        Filter {
            school: Some("No Such School".into()),
            ..base.clone()
        },
        Filter {
            from: NaiveDate::from_ymd_opt(1999, 1, 1),
            to: NaiveDate::from_ymd_opt(1999, 2, 1),
            ..base.clone()
        },
    ];
    let compared = check_all(&lake, &filters);
    assert!(compared > 300, "only {compared} rows compared");

    let (grade, app) = grade_and_app_rows_agree(&lake, &base, &s, &cal);
    class_filters_agree(&lake, &base, &s, &cal, &grade);
    // A chart that does not take the filter ignores it.
    let weekly = |f: &Filter| metrics::compute(&lake, "insights-weekly", f).unwrap().frame;
    assert_eq!(
        weekly(&Filter {
            grade: Some(grade.clone()),
            app: Some(app),
            ..base.clone()
        }),
        weekly(&base)
    );
}

/// The serving files hold what the charts need and no pseudonym (#13: they were documented as
/// holding none, yet carried one per student).
fn assert_no_pseudonyms_in_serving(lake: &Lake) {
    let files: Vec<_> = files_under(&lake.meta_dir().join("serving"))
        .into_iter()
        .filter(|f| f.extension().is_some_and(|e| e == "parquet"))
        .collect();
    assert!(!files.is_empty());
    let hex64 = |v: &str| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit());
    for f in files {
        let df = ParquetReader::new(std::fs::File::open(&f).unwrap())
            .finish()
            .unwrap();
        assert!(df.column("student").is_err(), "{}", f.display());
        for c in df.columns() {
            if let Ok(s) = c.str() {
                assert!(
                    !s.iter().flatten().any(hex64),
                    "{}: column {} holds pseudonyms",
                    f.display(),
                    c.name()
                );
            }
        }
    }
}

#[test]
fn shared_test_data_serves_the_same_aggregates() {
    let Some(root) = common::shared_data("") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (lake, _) = Lake::init(dir.path()).unwrap();
    let salt = Salt::generate();
    ingest(&lake, &Clever::default(), &root.join("clever"), &salt);
    let export = root.join("insights/k12_test_data");
    ingest(
        &lake,
        &Insights::from_export(&export).unwrap(),
        &export,
        &salt,
    );
    ingest(
        &lake,
        &sis::module().unwrap(),
        &root.join("sis_batches"),
        &salt,
    );
    derive::build_stage3(&lake).unwrap();
    let cal = dates(&lake);
    let filters = vec![
        Filter::default(),
        Filter {
            min_group: 1,
            ..Filter::default()
        },
        Filter {
            min_group: 1,
            from: cal.get(cal.len() / 3).copied(),
            to: cal.get(2 * cal.len() / 3).copied(),
            ..Filter::default()
        },
        Filter {
            min_group: 1,
            school: Some(school(&lake)),
            ..Filter::default()
        },
    ];
    assert!(check_all(&lake, &filters) > 0);
}

#[test]
fn stale_serving_data_is_ignored_and_stage3_rebuilds_incrementally() {
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first");
    let more = dir.path().join("more");
    generate(&first, 6);
    generate(&more, 9);
    let (lake, _) = Lake::init(&dir.path().join("lake")).unwrap();
    let salt = Salt::generate();
    ingest_all(&lake, &first, &salt);
    derive::build_stage3(&lake).unwrap();
    let da = lake.table_dir(&derive::digital_activity_table());
    let v1 = delta::read_state(&da).unwrap().unwrap();

    // Nothing new: stage3 commits nothing to the digital activity table.
    derive::build_stage3(&lake).unwrap();
    assert_eq!(delta::read_state(&da).unwrap().unwrap().version, v1.version);

    // Three more school days of Clever data: the serving build is stale until stage3 runs.
    ingest(&lake, &Clever::default(), &more.join("clever"), &salt);
    assert!(Serving::load(&lake).is_none(), "stale build was trusted");
    // A stale build is not answered from, and there is no second engine to fall back to: the
    // error says how the charts get their data back.
    let stale = metrics::compute(&lake, "daily-active", &Filter::default());
    assert!(
        matches!(stale, Err(metrics::MetricError::NotBuilt)),
        "{:?}",
        stale.map(|o| o.frame)
    );
    let out = metrics::compute_direct(&lake, "daily-active", &Filter::default()).unwrap();
    derive::build_stage3(&lake).unwrap();
    let days = dates(&lake);
    let served = metrics::compute(&lake, "daily-active", &Filter::default()).unwrap();
    assert_same("after rebuild", &served.frame, &out.frame);
    assert!(
        days.len() >= 9,
        "the new days are in the calendar: {days:?}"
    );

    // Only the new input files were mapped; old files kept, replaced ones vacuumed.
    let v2 = delta::read_state(&da).unwrap().unwrap();
    assert_eq!(v2.version, v1.version + 1);
    let kept = v1.files.iter().filter(|f| v2.files.contains(f)).count();
    assert!(kept > 0, "every file was rewritten");
    let inputs: i64 = [
        metrics_table(&lake, "clever", "daily_participation"),
        metrics_table(&lake, "clever", "resource_usage"),
        metrics_table(&lake, "ms_insights", "activity"),
    ]
    .iter()
    .sum();
    assert_eq!(v2.rows(), inputs, "events = rows of the source tables");
    let on_disk = files_under(&da)
        .iter()
        .filter(|p| p.extension().is_some_and(|x| x == "parquet"))
        .count();
    assert_eq!(
        on_disk,
        v2.files.len(),
        "old derived files were not vacuumed"
    );
}

fn metrics_table(lake: &Lake, source: &str, entity: &str) -> i64 {
    let version = if source == "clever" { "v1.0" } else { "v0.2" };
    let t = edlake::lake::TableRef::new(edlake::lake::Layer::General, source, version, entity);
    lake.table_state(&t).unwrap().rows()
}
