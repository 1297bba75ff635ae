//! Derived data kept up to date day by day — each build after a new school day reads only that
//! day's files — equals the derived data built at once from every day; and a lake with Clever
//! daily participation alone serves what the direct queries answer.

use std::collections::BTreeMap;

use edlake::derive::{self, serving::Serving};
use edlake::lake::{Lake, TableRef, delta};
use edlake::metrics::Filter;
use edlake::modules::clever::Clever;
use edlake::pseudo::Salt;
use polars::prelude::*;

use crate::common;
use common::served::{assert_same, check_all, generate, ingest_all};

/// `df` with its rows sorted by every column (part rows come in hash order).
fn sorted(df: DataFrame) -> DataFrame {
    let by: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|c| c.to_string())
        .collect();
    df.sort(by, SortMultipleOptions::default()).unwrap()
}

/// Every part of the lake's current serving build.
fn parts(lake: &Lake) -> BTreeMap<String, DataFrame> {
    let s = Serving::load(lake).expect("an up-to-date serving build");
    s.part_names()
        .into_iter()
        .map(|n| {
            let df = s.part(&n).unwrap().unwrap();
            (n, sorted(df))
        })
        .collect()
}

fn table(lake: &Lake, t: &TableRef) -> DataFrame {
    sorted(delta::read_table(&lake.table_dir(t), None).unwrap())
}

#[test]
fn derived_data_built_day_by_day_equals_the_data_built_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let salt = Salt::generate();
    let all = dir.path().join("days-9");
    generate(&all, 9);
    let (at_once, _) = Lake::init(&dir.path().join("at-once")).unwrap();
    ingest_all(&at_once, &all, &salt);
    let r = derive::build_stage3(&at_once).unwrap();
    assert!(
        !r.serving.unwrap().incremental,
        "a first build reads everything"
    );

    let (daily, _) = Lake::init(&dir.path().join("daily")).unwrap();
    let mut incremental = Vec::new();
    for days in 6..=9 {
        let input = dir.path().join(format!("days-{days}"));
        if days < 9 {
            generate(&input, days);
        }
        ingest_all(&daily, &input, &salt);
        let r = derive::build_stage3(&daily).unwrap();
        incremental.push(r.serving.unwrap().incremental);
    }
    // Day 7 on: each build read only the new day's Clever, Insights and attendance files (the
    // daily roster snapshot is a new version of the same rows).
    assert_eq!(incremental, [false, true, true, true]);

    let (a, b) = (parts(&at_once), parts(&daily));
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "parts"
    );
    assert!(a.len() >= 15, "{:?}", a.keys());
    for (name, df) in &a {
        assert!(df.height() > 0, "{name} is empty");
        assert_same(name, &b[name], df);
    }
    let calendar = |l: &Lake| Serving::load(l).unwrap().calendar().to_vec();
    assert_eq!(calendar(&daily), calendar(&at_once));
    for t in [derive::hybrid_table(), derive::digital_activity_table()] {
        assert_same(&t.id(), &table(&daily, &t), &table(&at_once, &t));
    }
    // And the charts answer the same, from the served data as from the general tables.
    let compared = check_all(&daily, &[Filter::default()]);
    assert!(compared > 100, "only {compared} rows compared");
}

#[test]
fn a_lake_with_daily_participation_alone_serves_what_the_direct_queries_answer() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("gen");
    generate(&input, 12);
    // Only the daily participation reports: no resource usage, Insights or attendance dates.
    let clever = input.join("clever");
    std::fs::remove_dir_all(clever.join("resource-usage")).unwrap();
    let (lake, _) = Lake::init(&dir.path().join("lake")).unwrap();
    common::ingest(&lake, &Clever::default(), &clever, &Salt::generate());
    derive::build_stage3(&lake).unwrap();
    let cal = Serving::load(&lake).unwrap().calendar().to_vec();
    assert_eq!(cal.len(), 12, "{cal:?}");
    let base = Filter {
        min_group: 1,
        ..Filter::default()
    };
    let filters = [
        base.clone(),
        Filter {
            from: Some(cal[3]),
            to: Some(cal[8]),
            ..base.clone()
        },
    ];
    let compared = check_all(&lake, &filters);
    assert!(compared > 20, "only {compared} rows compared");
}
