//! Any OEA-style source from a metadata.csv: every batch type, including delete.

use crate::common;

use std::path::Path;

use edlake::lake::{Lake, Layer, TableRef, delta};
use edlake::modules::BatchType;
use edlake::modules::definition::ModuleDef;
use edlake::pipeline::job;
use edlake::pipeline::{Cancel, Progress};
use edlake::pseudo::{Salt, hash_value};
use edlake::sources::FolderSource;

const META: &str = "Entity Name,Attribute Name,Attribute Data Type,Pseudonymization
people,,,
,id,string,hash
,name,string,mask
,grade,integer,no-op
visits,,,
,visit_id,string,no-op
,id,string,hash
,day,date,no-op
rooms,,,
,room,string,no-op
,seats,integer,no-op
";

fn write(p: &Path, text: &str) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn run(lake: &Lake, def: &ModuleDef, from: &Path, salt: &Salt) -> job::RunOutcome {
    let m = def.module().unwrap();
    let out = job::ingest(
        lake,
        &m,
        &FolderSource::new(from),
        salt,
        &Progress::default(),
        &Cancel::default(),
    );
    assert!(out.error.is_none(), "{:?}", out.error);
    out
}

fn strings(lake: &Lake, t: &TableRef, c: &str) -> Vec<String> {
    let df = delta::read_table(&lake.table_dir(t), None).unwrap();
    let mut v: Vec<String> = df
        .column(c)
        .unwrap()
        .cast(&polars::prelude::DataType::String)
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .flatten()
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

#[test]
fn each_batch_type_including_delete() {
    let dir = tempfile::tempdir().unwrap();
    let (lake, _) = Lake::init(&dir.path().join("lake")).unwrap();
    let salt = Salt::from_secret("salt").unwrap();
    let def = ModuleDef::new(
        "school_app",
        META,
        "metadata.csv",
        &[
            ("people".into(), BatchType::Delta),
            ("visits".into(), BatchType::Additive),
        ],
        &[("people".into(), "id".into())],
    )
    .unwrap();
    def.save(&lake).unwrap();
    let def = ModuleDef::load(&lake, "school_app").unwrap();
    let day1 = dir.path().join("day1");
    write(
        &day1.join("people/p.csv"),
        "id,name,grade\na,Ann,9\nb,Bo,10\nc,Cy,11\n",
    );
    write(
        &day1.join("visits/v.csv"),
        "visit_id,id,day\nv1,a,2024-01-02\nv2,b,2024-01-02\n",
    );
    write(&day1.join("rooms/r.csv"), "room,seats\nA,30\nB,25\n");
    run(&lake, &def, &day1, &salt);
    let day2 = dir.path().join("day2");
    write(
        &day2.join("people/p.csv"),
        "id,name,grade\na,Ann,10\nd,Di,9\n",
    );
    write(&day2.join("people/delete/gone.csv"), "id\nb\n");
    write(
        &day2.join("visits/v.csv"),
        "visit_id,id,day\nv3,c,2024-01-03\n",
    );
    write(&day2.join("rooms/r.csv"), "room,seats\nC,20\n");
    run(&lake, &def, &day2, &salt);

    let t = |layer, e: &str| TableRef::new(layer, "school_app", "v1.0", e);
    // delta: a updated, d inserted, c kept; delete: b removed.
    assert_eq!(
        strings(&lake, &t(Layer::Ingested, "people"), "id"),
        ["a", "c", "d"]
    );
    let grades = delta::read_table(&lake.table_dir(&t(Layer::Ingested, "people")), None).unwrap();
    let ids = grades.column("id").unwrap().str().unwrap();
    let a = ids.iter().position(|v| v == Some("a")).unwrap();
    assert_eq!(
        grades.column("grade").unwrap().i32().unwrap().get(a),
        Some(10)
    );
    let mut want: Vec<String> = ["a", "c", "d"]
        .iter()
        .map(|v| hash_value(v, &salt))
        .collect();
    want.sort();
    assert_eq!(
        strings(&lake, &t(Layer::General, "people"), "id_pseudonym"),
        want
    );
    assert!(
        strings(&lake, &t(Layer::General, "people"), "name")
            .iter()
            .all(|n| n == "*")
    );
    // additive: appended.
    assert_eq!(
        strings(&lake, &t(Layer::General, "visits"), "visit_id"),
        ["v1", "v2", "v3"]
    );
    // snapshot: replaced.
    assert_eq!(strings(&lake, &t(Layer::General, "rooms"), "room"), ["C"]);
}

#[test]
fn the_contoso_sample_as_a_custom_module() {
    let Some(root) = common::shared_data("contoso_sis") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (lake, _) = Lake::init(dir.path()).unwrap();
    let salt = Salt::generate();
    let text = std::fs::read_to_string(root.join("metadata.csv")).unwrap();
    let def = ModuleDef::new(
        "contoso",
        &text,
        "metadata.csv",
        &[
            ("studentattendance".into(), BatchType::Additive),
            ("students".into(), BatchType::Delta),
        ],
        &[("students".into(), "SIS ID".into())],
    )
    .unwrap();
    run(&lake, &def, &root.join("day1"), &salt);
    run(&lake, &def, &root.join("day2"), &salt);
    let t = |e: &str| TableRef::new(Layer::Ingested, "contoso", "v1.0", e);
    let lines = |p: &str| {
        std::fs::read_to_string(root.join(p))
            .unwrap()
            .lines()
            .count()
            - 1
    };
    assert_eq!(
        lake.table_state(&t("studentattendance")).unwrap().rows() as usize,
        lines("day1/studentattendance/part1.csv") + lines("day2/studentattendance/part1.csv")
    );
    assert_eq!(
        lake.table_state(&t("studentsectionmark")).unwrap().rows() as usize,
        lines("day2/studentsectionmark/part1.csv")
    );
    assert_eq!(
        strings(&lake, &t("students"), "SIS_ID"),
        ["st1", "st2", "st4"]
    );
    let names = strings(&lake, &t("students"), "First_Name");
    assert!(
        names.contains(&"Al".to_string()) && !names.contains(&"Albert".to_string()),
        "{names:?}"
    );
}

#[test]
fn json_lines_and_parquet_inputs_land_like_csv() {
    use polars::prelude::*;
    let dir = tempfile::tempdir().unwrap();
    let (lake, _) = Lake::init(&dir.path().join("lake")).unwrap();
    let salt = Salt::from_secret("salt").unwrap();
    let def = ModuleDef::new(
        "app_feed",
        META,
        "metadata.csv",
        &[
            ("people".into(), BatchType::Delta),
            ("visits".into(), BatchType::Additive),
        ],
        &[("people".into(), "id".into())],
    )
    .unwrap();
    let from = dir.path().join("in");
    // JSON lines: keys in any order, a missing key is empty, a broken line and a bad type are
    // quarantined with their line numbers while the good lines land.
    write(
        &from.join("people/p.jsonl"),
        "{\"id\":\"a\",\"name\":\"Ann\",\"grade\":9}\n{\"grade\":10,\"id\":\"b\"}\n{\"id\":\"c\",\"grade\":\n{\"id\":\"d\",\"grade\":\"tenth\"}\n\n{\"id\":\"e\",\"name\":\"Ed\",\"grade\":null}\n",
    );
    let mut visits = df!(
        "visit_id" => ["v1", "v2", "v3"],
        "id" => ["a", "b", "e"],
        "day" => ["2024-01-02", "2024-01-03", "2024-01-04"],
    )
    .unwrap()
    .lazy()
    .with_column(col("day").cast(DataType::Date))
    .collect()
    .unwrap();
    std::fs::create_dir_all(from.join("visits")).unwrap();
    let f = std::fs::File::create(from.join("visits/v.parquet")).unwrap();
    ParquetWriter::new(f).finish(&mut visits).unwrap();
    let out = run(&lake, &def, &from, &salt);
    assert_eq!(out.report.rows_ingested, 3 + 3);
    assert_eq!(out.report.rows_quarantined, 2);
    let issues: Vec<(String, u64)> = out
        .report
        .issues
        .iter()
        .map(|i| (i.file.clone(), i.line))
        .collect();
    assert_eq!(
        issues,
        [
            ("people/p.jsonl".to_string(), 3),
            ("people/p.jsonl".into(), 4)
        ]
    );
    assert!(out.report.issues[1].reason.contains("whole number"));
    let t = |layer, e: &str| TableRef::new(layer, "app_feed", "v1.0", e);
    assert_eq!(
        strings(&lake, &t(Layer::Ingested, "people"), "id"),
        ["a", "b", "e"]
    );
    assert_eq!(
        strings(&lake, &t(Layer::Ingested, "people"), "grade"),
        ["10", "9"]
    );
    assert_eq!(
        strings(&lake, &t(Layer::General, "visits"), "day"),
        ["2024-01-02", "2024-01-03", "2024-01-04"]
    );
    let mut want: Vec<String> = ["a", "b", "e"]
        .iter()
        .map(|v| hash_value(v, &salt))
        .collect();
    want.sort();
    assert_eq!(
        strings(&lake, &t(Layer::General, "visits"), "id_pseudonym"),
        want
    );
}
