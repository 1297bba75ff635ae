//! Site mapping on the vendors' real files: an SIS that identifies schools by its own ids and a
//! Clever export that spells one school two ways become one named row per real school in every
//! chart, from the serving data and from the direct queries alike.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use edlake::derive::sites::{SiteMap, SiteSource};
use edlake::derive::{self, sites};
use edlake::lake::Lake;
use edlake::metrics::{self, Filter};
use edlake::modules::clever::Clever;
use edlake::modules::insights::Insights;
use edlake::modules::sis;
use edlake::pseudo::Salt;
use polars::prelude::{DataFrame, DataType};

use crate::common;
use crate::raw;

use common::{cli, ingest, text_col};
use raw::{rows, shared};

/// Writes `rows` (with `headers`) as a CSV file.
fn write_csv(path: &Path, headers: &[String], rows: &[HashMap<String, String>]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut w = csv::Writer::from_path(path).unwrap();
    w.write_record(headers).unwrap();
    for r in rows {
        w.write_record(headers.iter().map(|h| r[h].as_str()))
            .unwrap();
    }
    w.flush().unwrap();
}

fn headers(path: &Path) -> Vec<String> {
    let mut r = csv::Reader::from_path(path).unwrap();
    r.headers().unwrap().iter().map(str::to_string).collect()
}

/// Students per school of a metric with `school` and `students` columns.
fn students_by_school(lake: &Lake, name: &str, direct: bool) -> BTreeMap<String, i64> {
    let f = Filter {
        min_group: 1,
        ..Filter::default()
    };
    let out = match direct {
        true => metrics::compute_direct(lake, name, &f),
        false => metrics::compute(lake, name, &f),
    };
    let df = out.unwrap().frame;
    text_col(&df, "school")
        .into_iter()
        .zip(int_col(&df, "students"))
        .map(|(s, n)| (s.unwrap(), n.unwrap()))
        .collect()
}

/// A new lake with the real Insights roster (its Organizations name the schools).
fn insights_lake(root: &Path) -> (tempfile::TempDir, Lake, Salt) {
    let dir = tempfile::tempdir().unwrap();
    let salt = Salt::from_secret("district-salt").unwrap();
    let (lake, _) = Lake::init(&dir.path().join("lake")).unwrap();
    let insights = root.join("insights/k12_test_data");
    ingest(
        &lake,
        &Insights::from_export(&insights).unwrap(),
        &insights,
        &salt,
    );
    (dir, lake, salt)
}

/// Each Insights Organization's id → (ExternalId, name), read from the export's roster file.
fn external_ids(insights: &Path) -> HashMap<String, (String, String)> {
    let org_file = std::fs::read_dir(insights.join("roster"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path()
        .join("Organization");
    let org_csv = std::fs::read_dir(&org_file)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut external = HashMap::new();
    for line in std::fs::read_to_string(&org_csv).unwrap().lines() {
        let f: Vec<&str> = line.split(',').collect();
        external.insert(f[0].into(), (f[1].into(), f[4].into()));
    }
    external
}

/// The school filter takes the school's name: served and direct figures agree and hold only
/// that school.
fn school_filter_takes_the_name(lake: &Lake) {
    let f = Filter {
        school: Some("Mitchell High".into()),
        min_group: 1,
        ..Filter::default()
    };
    let one = metrics::compute(lake, "below-threshold", &f).unwrap().frame;
    assert_eq!(
        one,
        metrics::compute_direct(lake, "below-threshold", &f)
            .unwrap()
            .frame
    );
    assert!(
        text_col(&one, "school")
            .iter()
            .all(|s| s.as_deref() == Some("Mitchell High"))
    );
}

#[test]
fn sis_school_ids_take_the_names_of_the_insights_schools_with_those_external_ids() {
    let Some(root) = shared() else { return };
    let (dir, lake, salt) = insights_lake(&root);
    let insights = root.join("insights/k12_test_data");
    // The SIS identifies schools by the district's own ids, which SDS carries to Insights as
    // each Organization's ExternalId; the raw attendance rows, with those ids.
    let external = external_ids(&insights);
    let att_path = root.join("sis_batches/batch1/studentattendance.csv");
    let mut att = rows(&att_path);
    for r in &mut att {
        let id = external[&r["school_id"]].0.clone();
        r.insert("school_id".into(), id);
    }
    let sis_dir = dir.path().join("sis/batch1");
    write_csv(
        &sis_dir.join("studentattendance.csv"),
        &headers(&att_path),
        &att,
    );
    ingest(
        &lake,
        &sis::module().unwrap(),
        &dir.path().join("sis"),
        &salt,
    );
    derive::build_stage3(&lake).unwrap();

    // Before: the charts can only show the ids, and the page says so and suggests names.
    let found = sites::discover(&lake).unwrap();
    let sis_rows: Vec<_> = found
        .iter()
        .filter(|r| r.source == SiteSource::Sis)
        .collect();
    assert_eq!(sis_rows.len(), 5, "{found:?}");
    for r in &sis_rows {
        let (_, name) = external.values().find(|(ext, _)| *ext == r.key).unwrap();
        assert!(r.unnamed && !r.mapped, "{r:?}");
        assert_eq!(r.shown, r.key);
        assert_eq!(r.suggestion.as_deref(), Some(name.as_str()), "{r:?}");
    }
    let before = students_by_school(&lake, "attendance-vs-digital", false);
    assert_eq!(
        before,
        students_by_school(&lake, "attendance-vs-digital", true)
    );
    assert!(before.keys().all(|s| s.starts_with("555")), "{before:?}");

    // The command lists them the same way.
    let listed = cli::run(lake.root(), &["schools"]);
    let text = cli::said(&listed);
    assert!(listed.status.success(), "{text}");
    assert!(
        text.contains("(no name: charts show the id)") && text.contains("suggested: Mitchell High"),
        "{text}"
    );
    // A malformed name is refused with the bad-input code, nothing saved.
    let bad = cli::run(lake.root(), &["schools", "--set", "sis-55535"]);
    assert_eq!(bad.status.code(), Some(2), "{}", cli::said(&bad));
    assert_eq!(SiteMap::load(&lake).unwrap(), SiteMap::default());

    // Accept the suggestions (the command saves and rebuilds the chart data): the same
    // students, now under the schools' names.
    let accepted = cli::run(lake.root(), &["schools", "--accept-suggestions"]);
    assert!(accepted.status.success(), "{}", cli::said(&accepted));
    let map = SiteMap::load(&lake).unwrap();
    assert_eq!(map.sites.len(), 5, "{map:?}");
    for r in &found {
        assert_eq!(map.get(r.source, &r.key), r.suggestion.as_deref());
    }
    map.save(&lake).unwrap();
    // A changed mapping makes the chart data stale until it is rebuilt.
    let mut other = map.clone();
    other.set(SiteSource::Sis, "55535", "Mitchell High School");
    other.save(&lake).unwrap();
    assert!(metrics::compute(&lake, "attendance-vs-digital", &Filter::default()).is_err());
    map.save(&lake).unwrap();
    derive::build_stage3(&lake).unwrap();
    let after = students_by_school(&lake, "attendance-vs-digital", false);
    assert_eq!(
        after,
        students_by_school(&lake, "attendance-vs-digital", true)
    );
    let want: BTreeMap<String, i64> = before
        .iter()
        .map(|(id, n)| {
            let (_, name) = external.values().find(|(ext, _)| ext == id).unwrap();
            (name.clone(), *n)
        })
        .collect();
    assert_eq!(after, want);
    assert!(
        sites::discover(&lake)
            .unwrap()
            .iter()
            .all(|r| !r.unnamed && r.suggestion.is_none())
    );
    school_filter_takes_the_name(&lake);
}

#[test]
fn a_school_spelt_two_ways_in_clever_becomes_one_row_under_the_insights_name() {
    let Some(root) = shared() else { return };
    let (dir, lake, salt) = insights_lake(&root);
    // Half of Mitchell High's days spelt as another export spells it.
    let dp_path = root.join("clever/daily-participation/Students/Students.csv");
    let original = rows(&dp_path);
    let mut dp = original.clone();
    for r in &mut dp {
        if r["school_name"] == "Mitchell High" && r["date"].as_str() >= "2022-01-15" {
            r.insert("school_name".into(), "MITCHELL H.S.".into());
        }
    }
    let clever = dir
        .path()
        .join("clever/daily-participation/Students/Students.csv");
    write_csv(&clever, &headers(&dp_path), &dp);
    ingest(&lake, &Clever::default(), &dir.path().join("clever"), &salt);
    derive::build_stage3(&lake).unwrap();

    let found = sites::discover(&lake).unwrap();
    let odd = found
        .iter()
        .find(|r| r.source == SiteSource::Clever && r.key == "MITCHELL H.S.")
        .unwrap();
    assert_eq!(odd.suggestion.as_deref(), Some("Mitchell High"));
    let same = found
        .iter()
        .find(|r| r.source == SiteSource::Clever && r.key == "Mitchell High")
        .unwrap();
    assert_eq!(same.suggestion, None, "already the Insights name");
    let schools = |lake: &Lake| {
        let f = Filter::default();
        let df = metrics::compute(lake, "clever-summary", &f).unwrap().frame;
        int_col(&df, "schools")[0]
    };
    assert_eq!(schools(&lake), Some(6));

    let mut map = SiteMap::load(&lake).unwrap();
    map.set(SiteSource::Clever, "MITCHELL H.S.", "Mitchell High");
    map.save(&lake).unwrap();
    derive::build_stage3(&lake).unwrap();
    assert_eq!(schools(&lake), Some(5));
    // Per day, Mitchell High's active students and logins as the original file counts them.
    let f = Filter {
        school: Some("Mitchell High".into()),
        min_group: 1,
        ..Filter::default()
    };
    let df = metrics::compute(&lake, "daily-active", &f).unwrap().frame;
    assert_eq!(
        df,
        metrics::compute_direct(&lake, "daily-active", &f)
            .unwrap()
            .frame
    );
    let mut want: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for r in original
        .iter()
        .filter(|r| r["school_name"] == "Mitchell High")
    {
        let e = want.entry(r["date"].clone()).or_default();
        e.0 += i64::from(r["active"] == "True");
        e.1 += r["num_logins"].parse::<i64>().unwrap();
    }
    let dates = df.column("date").unwrap().cast(&DataType::String).unwrap();
    let got: BTreeMap<String, (i64, i64)> = dates
        .str()
        .unwrap()
        .iter()
        .zip(int_col(&df, "active_students"))
        .zip(int_col(&df, "logins"))
        .map(|((d, a), l)| (d.unwrap().to_string(), (a.unwrap(), l.unwrap())))
        .collect();
    assert_eq!(got, want);
    assert!(
        text_col(&df, "school")
            .iter()
            .all(|s| s.as_deref() == Some("Mitchell High"))
    );
    // A drill-through names both spellings: the browser shows the school's rows under either.
    let pair = |v: &str| ("school_name".to_string(), v.to_string());
    let q = edlake::browse::Query {
        exact: vec![pair("MITCHELL H.S."), pair("Mitchell High")],
        ..Default::default()
    };
    let mut b = edlake::browse::Browser::new(derive::tables::clever_dp());
    let rows = b.view(&lake, &q).unwrap();
    let want_rows = original
        .iter()
        .filter(|r| r["school_name"] == "Mitchell High")
        .count();
    assert_eq!(rows.height(), want_rows);
}

fn int_col(df: &DataFrame, c: &str) -> Vec<Option<i64>> {
    df.column(c)
        .unwrap()
        .cast(&DataType::Int64)
        .unwrap()
        .i64()
        .unwrap()
        .iter()
        .collect()
}
