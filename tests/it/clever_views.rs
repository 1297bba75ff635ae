//! Clever's apps used per day and each app's share of use, checked against counts taken
//! straight from the vendor's real resource-usage report (suppression included); Clever's
//! figures under a grade filter against a generated district's reports and SIS students file.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use edlake::metrics::{self, Filter};

use crate::common;
use crate::raw;

use common::text_col;
use raw::{f64_col, rows, shared};

#[test]
fn apps_per_day_and_shares_match_the_raw_report() {
    let Some(root) = shared() else { return };
    let (_dir, lake) = raw::clever_lake(&root);
    let ru = rows(&root.join("clever/resource-usage/Students/Students.csv"));
    let f = Filter {
        min_group: 1,
        ..Filter::default()
    };

    // Per day: distinct apps and accesses (the report writes some days unpadded: 2022-01-9).
    let mut per_day: BTreeMap<chrono::NaiveDate, (BTreeSet<&str>, i64)> = BTreeMap::new();
    for r in &ru {
        let d = chrono::NaiveDate::parse_from_str(&r["date"], "%Y-%m-%d").unwrap();
        let e = per_day.entry(d).or_default();
        e.0.insert(&r["resource_name"]);
        e.1 += r["num_access"].parse::<i64>().unwrap();
    }
    let m = metrics::compute(&lake, "clever-apps-daily", &f)
        .unwrap()
        .frame;
    assert_eq!(
        m,
        metrics::compute_direct(&lake, "clever-apps-daily", &f)
            .unwrap()
            .frame
    );
    let dates = m
        .column("date")
        .unwrap()
        .cast(&polars::prelude::DataType::String)
        .unwrap();
    let got: Vec<(String, f64, f64)> = dates
        .str()
        .unwrap()
        .iter()
        .zip(f64_col(&m, "apps").into_iter().zip(f64_col(&m, "accesses")))
        .map(|(d, (a, n))| (d.unwrap().to_string(), a.unwrap(), n.unwrap()))
        .collect();
    let want: Vec<(String, f64, f64)> = per_day
        .iter()
        .map(|(d, (apps, n))| (d.to_string(), apps.len() as f64, *n as f64))
        .collect();
    assert!(want.len() > 5);
    assert_eq!(got, want);

    // Shares: accesses per app over all accesses; apps fewer than k students used, together.
    let mut per_app: BTreeMap<&str, (BTreeSet<&str>, i64)> = BTreeMap::new();
    for r in &ru {
        let e = per_app.entry(&r["resource_name"]).or_default();
        e.0.insert(&r["sis_id"]);
        e.1 += r["num_access"].parse::<i64>().unwrap();
    }
    let total: i64 = per_app.values().map(|v| v.1).sum();
    let k = metrics::MIN_GROUP_FLOOR as usize;
    let mut big: Vec<(String, Option<f64>, f64)> = per_app
        .iter()
        .filter(|(_, (s, _))| s.len() >= k)
        .map(|(a, (s, n))| (a.to_string(), Some(s.len() as f64), *n as f64))
        .collect();
    big.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)));
    let small: Vec<i64> = per_app
        .values()
        .filter(|(s, _)| s.len() < k)
        .map(|v| v.1)
        .collect();
    if !small.is_empty() {
        big.push((
            format!("other apps ({})", small.len()),
            None,
            small.iter().sum::<i64>() as f64,
        ));
    }
    let out = metrics::compute(&lake, "clever-app-share", &f).unwrap();
    let direct = metrics::compute_direct(&lake, "clever-app-share", &f).unwrap();
    assert_eq!(out.frame, direct.frame);
    assert_eq!(out.notes, direct.notes);
    let m = out.frame;
    let got: Vec<(String, Option<f64>, f64)> = text_col(&m, "resource_name")
        .into_iter()
        .zip(
            f64_col(&m, "students")
                .into_iter()
                .zip(f64_col(&m, "accesses")),
        )
        .map(|(a, (s, n))| (a.unwrap(), s, n.unwrap()))
        .collect();
    assert_eq!(got, big);
    let shares = f64_col(&m, "share");
    for (s, (_, _, n)) in shares.iter().zip(&big) {
        assert!((s.unwrap() - n * 100.0 / total as f64).abs() < 1e-9);
    }
    let sum: f64 = shares.iter().flatten().sum();
    assert!((sum - 100.0).abs() < 1e-9, "{sum}");
    // Drawn as a ranking of shares that still sums to 100 %.
    let charts =
        metrics::chart::charts(&metrics::compute(&lake, "clever-app-share", &f).unwrap()).unwrap();
    let metrics::chart::ChartSpec::Ranking { items, .. } = &charts[0].1 else {
        panic!("{charts:?}")
    };
    assert!(items.len() <= metrics::chart::RANKING_TOP);
    let drawn: f64 = items.iter().map(|(_, v)| v).sum();
    assert!((drawn - 100.0).abs() < 1e-9, "{items:?}");
}

#[test]
fn a_grade_narrows_the_clever_figures_to_its_students() {
    let dir = tempfile::tempdir().unwrap();
    let (lake, out) = raw::generated_hybrid(dir.path(), (150, 8, 31));
    // Each student's grade from the SIS students file (SIS ID = Clever sis_id).
    let mut grade_of: HashMap<String, String> = HashMap::new();
    for f in common::files_under(&out.join("sis/students")) {
        for r in rows(&f) {
            grade_of.insert(r["SIS ID"].clone(), r["Grade"].clone());
        }
    }
    // The grade of the first student of the file.
    let grade = rows(&common::files_under(&out.join("sis/students"))[0])[0]["Grade"].clone();
    let of_grade =
        |r: &std::collections::HashMap<String, String>| grade_of.get(&r["sis_id"]) == Some(&grade);
    let students = |sub: &str| -> Vec<std::collections::HashMap<String, String>> {
        common::files_under(&out.join("clever").join(sub).join("Students"))
            .iter()
            .flat_map(|f| rows(f))
            .filter(|r| of_grade(r))
            .collect()
    };
    let f = Filter {
        min_group: 1,
        grade: Some(grade.clone()),
        ..Filter::default()
    };
    // The cards: the grade's active students and their logins.
    let dp = students("daily-participation");
    let active: BTreeSet<&str> = dp
        .iter()
        .filter(|r| r["active"] == "True")
        .map(|r| r["sis_id"].as_str())
        .collect();
    let logins: i64 = dp
        .iter()
        .map(|r| r["num_logins"].parse::<i64>().unwrap())
        .sum();
    assert!(
        active.len() >= 10 && active.len() < grade_of.len() / 3,
        "{}",
        active.len()
    );
    let m = metrics::compute(&lake, "clever-summary", &f).unwrap().frame;
    assert_eq!(f64_col(&m, "students")[0], Some(active.len() as f64));
    assert_eq!(f64_col(&m, "logins")[0], Some(logins as f64));
    // The resources the grade's students used: distinct students and accesses each.
    let mut want: BTreeMap<String, (BTreeSet<String>, i64)> = BTreeMap::new();
    for r in students("resource-usage") {
        let e = want.entry(r["resource_name"].clone()).or_default();
        e.0.insert(r["sis_id"].clone());
        e.1 += r["num_access"].parse::<i64>().unwrap();
    }
    let floor = metrics::MIN_GROUP_FLOOR as usize;
    let mut want: Vec<(String, f64, f64)> = want
        .into_iter()
        .filter(|(_, (s, _))| s.len() >= floor)
        .map(|(k, (s, n))| (k, s.len() as f64, n as f64))
        .collect();
    want.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let m = metrics::compute(&lake, "top-resources", &f).unwrap().frame;
    let got: Vec<(String, f64, f64)> = text_col(&m, "resource_name")
        .into_iter()
        .zip(f64_col(&m, "students"))
        .zip(f64_col(&m, "accesses"))
        .map(|((k, s), n)| (k.unwrap(), s.unwrap(), n.unwrap()))
        .collect();
    assert!(want.len() >= 3, "{want:?}");
    assert_eq!(got, want);
}
