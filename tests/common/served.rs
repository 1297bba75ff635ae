//! Comparing served aggregates and serving parts.

use std::path::Path;

use edlake::lake::Lake;
use edlake::metrics::{self, Filter, METRICS};
use edlake::modules::clever::Clever;
use edlake::modules::insights::Insights;
use edlake::modules::sis;
use edlake::pseudo::Salt;
use polars::prelude::*;

use super::ingest;

/// Asserts two frames hold the same rows (floats to 1e-9: summation order may differ).
pub fn assert_same(what: &str, a: &DataFrame, b: &DataFrame) {
    assert_eq!(
        a.get_column_names(),
        b.get_column_names(),
        "{what}: columns"
    );
    assert_eq!(a.height(), b.height(), "{what}: rows\n{a}\n{b}");
    for c in a.columns() {
        let d = b.column(c.name()).unwrap();
        assert_eq!(c.dtype(), d.dtype(), "{what}: type of {}", c.name());
        if c.dtype().is_float() {
            let x = c.cast(&DataType::Float64).unwrap();
            let y = d.cast(&DataType::Float64).unwrap();
            for (p, q) in x.f64().unwrap().iter().zip(y.f64().unwrap().iter()) {
                match (p, q) {
                    (Some(p), Some(q)) => assert!((p - q).abs() < 1e-9, "{what}: {p} vs {q}"),
                    (p, q) => assert_eq!(p, q, "{what}: {}", c.name()),
                }
            }
        } else {
            let x = c.cast(&DataType::String).unwrap();
            let y = d.cast(&DataType::String).unwrap();
            let x: Vec<Option<&str>> = x.str().unwrap().iter().collect();
            let y: Vec<Option<&str>> = y.str().unwrap().iter().collect();
            assert_eq!(x, y, "{what}: column {}", c.name());
        }
    }
}

/// Every metric under every filter: served, and equal to the direct query (the oracle).
pub fn check_all(lake: &Lake, filters: &[Filter]) -> usize {
    let mut compared = 0;
    for m in METRICS {
        for f in filters {
            let what = format!("{} {:?}", m.name, f);
            let direct = metrics::compute_direct(lake, m.name, f);
            let served = metrics::compute(lake, m.name, f);
            match (direct, served) {
                (Ok(d), Ok(s)) => {
                    assert_same(&what, &s.frame, &d.frame);
                    assert_eq!(s.notes, d.notes, "{what}: notes");
                    compared += s.frame.height();
                }
                (Err(d), Err(s)) => assert_eq!(d.to_string(), s.to_string()),
                (d, s) => panic!("{what}: direct {:?} vs served {:?}", d.err(), s.err()),
            }
        }
    }
    compared
}

/// A generated district of 240 students over `days` school days (the same seed every time:
/// the first days are the same files whatever `days` is).
pub fn generate(out: &Path, days: u32) {
    edlake::generate::generate(
        out,
        &edlake::generate::GenOptions {
            students: 240,
            days,
            seed: 11,
            ..Default::default()
        },
    )
    .unwrap();
}

/// Ingests the generated Clever, Insights and SIS data.
pub fn ingest_all(lake: &Lake, input: &Path, salt: &Salt) {
    ingest(lake, &Clever::default(), &input.join("clever"), salt);
    let export = input.join("insights");
    ingest(
        lake,
        &Insights::from_export(&export).unwrap(),
        &export,
        salt,
    );
    ingest(lake, &sis::module().unwrap(), &input.join("sis"), salt);
}
