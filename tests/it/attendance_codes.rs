//! In-person attendance from `AttendanceCode` where a row has no `PresenceFlag`: OEA's SIS
//! sample with the flag blanked on every other row gives the same rates under the default
//! present code (P) as with every flag, and other codes (configured per lake) change them —
//! checked against rates counted here from the file, and the charts' numbers are rebuilt when
//! the codes change.

use crate::common;

use std::collections::{BTreeSet, HashMap};

use edlake::derive::{self, attendance::PresentCodes};
use edlake::lake::Lake;
use edlake::metrics::{self, Filter, MetricError};
use edlake::modules::sis;
use edlake::pseudo::Salt;

/// The sample's attendance with `PresenceFlag` blanked on every other row, written under
/// `dir` as a SIS batch; its rows (code, flag as written, student, day).
fn blanked_batch(root: &std::path::Path, dir: &std::path::Path) -> Vec<[String; 4]> {
    let from = root.join("sis_batches/batch1");
    let to = dir.join("batch1");
    std::fs::create_dir_all(&to).unwrap();
    for e in std::fs::read_dir(&from).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
    }
    let mut r = csv::Reader::from_path(from.join("studentattendance.csv")).unwrap();
    let headers = r.headers().unwrap().clone();
    let at = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (flag, code, student, day) = (
        at("PresenceFlag"),
        at("AttendanceCode"),
        at("student_id"),
        at("attendance_date"),
    );
    let mut w = csv::Writer::from_path(to.join("studentattendance.csv")).unwrap();
    w.write_record(&headers).unwrap();
    let mut rows = Vec::new();
    for (i, rec) in r.records().enumerate() {
        let mut rec: Vec<String> = rec.unwrap().iter().map(str::to_string).collect();
        if i % 2 == 0 {
            rec[flag].clear();
        }
        rows.push([
            rec[code].clone(),
            rec[flag].clone(),
            rec[student].clone(),
            rec[day].clone(),
        ]);
        w.write_record(&rec).unwrap();
    }
    w.flush().unwrap();
    rows
}

/// The mean over students of their share of days present, counted from the rows.
fn mean_rate(rows: &[[String; 4]], codes: &[&str]) -> f64 {
    let mut days: HashMap<&str, BTreeSet<&str>> = HashMap::new();
    let mut present: HashMap<&str, BTreeSet<&str>> = HashMap::new();
    for [code, flag, student, day] in rows {
        days.entry(student).or_default().insert(day);
        let here = match flag.as_str() {
            "" => codes.contains(&code.as_str()),
            f => f == "1",
        };
        if here {
            present.entry(student).or_default().insert(day);
        }
    }
    let rates: Vec<f64> = days
        .iter()
        .map(|(s, d)| present.get(s).map_or(0, |p| p.len()) as f64 / d.len() as f64)
        .collect();
    rates.iter().sum::<f64>() / rates.len() as f64
}

fn served_rate(lake: &Lake) -> Result<f64, MetricError> {
    let f = Filter {
        min_group: 5,
        ..Filter::default()
    };
    let df = metrics::compute(lake, "hybrid-summary", &f)?.frame;
    Ok(df
        .column("in_person_rate")
        .unwrap()
        .f64()
        .unwrap()
        .get(0)
        .unwrap())
}

#[test]
fn attendance_codes_count_where_the_flag_is_blank() {
    let Some(root) = common::shared_data("") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let rows = blanked_batch(&root, &dir.path().join("sis"));
    assert!(rows.iter().any(|r| r[1].is_empty()) && rows.iter().any(|r| r[0] == "A"));
    let (lake, _) = Lake::init(&dir.path().join("lake")).unwrap();
    let salt = Salt::generate();
    common::ingest(
        &lake,
        &sis::module().unwrap(),
        &dir.path().join("sis"),
        &salt,
    );
    derive::build_stage3(&lake).unwrap();

    // Default: P is present. The sample's codes agree with its flags, so this is also the
    // rate with every flag in place.
    let with_flags = mean_rate(&rows, &["P"]);
    assert!((served_rate(&lake).unwrap() - with_flags).abs() < 1e-12);
    let direct = metrics::compute_direct(&lake, "hybrid-summary", &Filter::default()).unwrap();
    let direct = direct
        .frame
        .column("in_person_rate")
        .unwrap()
        .f64()
        .unwrap()
        .get(0);
    assert!((direct.unwrap() - with_flags).abs() < 1e-12);

    // A district whose code for present is A (here: a deliberate misreading, to see the
    // codes take effect): the blank rows flip, the flagged ones stay.
    PresentCodes::new(vec!["a".into()])
        .unwrap()
        .save(&lake)
        .unwrap();
    assert!(
        matches!(served_rate(&lake), Err(MetricError::NotBuilt)),
        "the chart data built with other codes is not used"
    );
    derive::build_stage3(&lake).unwrap();
    let with_a = mean_rate(&rows, &["A"]);
    assert!(
        (with_a - with_flags).abs() > 0.05,
        "{with_a} vs {with_flags}"
    );
    assert!((served_rate(&lake).unwrap() - with_a).abs() < 1e-12);
}
