//! The SIS module on the OEA Contoso samples: day 1 then day 2.

use crate::common;

use std::path::PathBuf;

use edlake::lake::{Lake, Layer, TableRef, delta};
use edlake::pipeline::job;
use edlake::pipeline::{Cancel, Progress};
use edlake::pseudo::{Salt, hash_value};
use edlake::sources::FolderSource;

fn shared(p: &str) -> Option<PathBuf> {
    common::shared_data(p)
}

fn t(layer: Layer, e: &str) -> TableRef {
    TableRef::new(layer, "contoso_sis", "v0.1", e)
}

#[test]
fn contoso_day1_then_day2_upserts_appends_and_replaces() {
    let Some(root) = shared("contoso_sis") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (lake, _) = Lake::init(dir.path()).unwrap();
    let salt = Salt::from_secret("s").unwrap();
    let module = edlake::modules::sis::module().unwrap();
    for day in ["day1", "day2"] {
        let out = job::ingest(
            &lake,
            &module,
            &FolderSource::new(&root.join(day)),
            &salt,
            &Progress::default(),
            &Cancel::default(),
        );
        assert!(out.error.is_none(), "{day}: {:?}", out.error);
    }
    let rows = |tr: &TableRef| lake.table_state(tr).unwrap().rows();
    let lines = |p: &str| {
        std::fs::read_to_string(root.join(p))
            .unwrap()
            .lines()
            .count() as i64
            - 1
    };
    // Attendance appended.
    assert_eq!(
        rows(&t(Layer::General, "studentattendance")),
        lines("day1/studentattendance/part1.csv") + lines("day2/studentattendance/part1.csv")
    );
    // Section marks replaced by day 2's snapshot.
    assert_eq!(
        rows(&t(Layer::General, "studentsectionmark")),
        lines("day2/studentsectionmark/part1.csv")
    );
    // Students upserted on SIS ID: union of ids, day 2's values win.
    let students =
        delta::read_table(&lake.table_dir(&t(Layer::Ingested, "students")), None).unwrap();
    let ids: std::collections::BTreeSet<String> = ["day1", "day2"]
        .iter()
        .flat_map(|d| {
            let mut r = csv::Reader::from_path(root.join(d).join("students/part1.csv")).unwrap();
            r.records()
                .map(|x| x.unwrap()[0].to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(students.height(), ids.len());
    let ids_col = students.column("SIS_ID").unwrap().str().unwrap();
    let row = ids_col.iter().position(|v| v == Some("st1")).unwrap();
    assert_eq!(
        ids_col.iter().filter(|v| *v == Some("st1")).count(),
        1,
        "one row per student"
    );
    let st1 = students.slice(row as i64, 1);
    assert_eq!(
        st1.column("First_Name").unwrap().str().unwrap().get(0),
        Some("Al")
    );
    let general = delta::read_table(&lake.table_dir(&t(Layer::General, "students")), None).unwrap();
    let pseudo: Vec<&str> = general
        .column("SIS_ID_pseudonym")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .flatten()
        .collect();
    assert!(pseudo.contains(&hash_value("st1", &salt).as_str()));
    assert!(
        general
            .column("First_Name")
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .all(|v| v == Some("*"))
    );
}
