//! Microsoft's own Insights / School Data Sync export (the OEA project's k12 test export): every
//! column of every roster entity holds its own values, whatever order the export's CDM schema
//! gives, and a file no description fits is refused by name without shifting anything.

use crate::common;

use std::collections::HashMap;
use std::path::Path;

use edlake::lake::{Lake, Layer, TableRef, delta};
use edlake::modules::insights::Insights;
use edlake::pipeline::{Cancel, Progress, job};
use edlake::pseudo::Salt;
use edlake::sources::FolderSource;

use common::text_col;

/// OEA's metadata.csv (the oracle: its order matches the files): entity → (name, type).
fn oea_metadata(path: &Path) -> HashMap<String, Vec<(String, String)>> {
    let mut out: HashMap<String, Vec<(String, String)>> = HashMap::new();
    let mut current = String::new();
    let mut r = csv::Reader::from_path(path).unwrap();
    for rec in r.records() {
        let rec = rec.unwrap();
        if !rec[0].is_empty() {
            current = rec[0].to_string();
        } else if !rec[1].is_empty() {
            out.entry(current.clone())
                .or_default()
                .push((rec[1].to_string(), rec[2].to_string()));
        }
    }
    out
}

/// The raw rows of a headerless file.
fn raw_rows(path: &Path) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_path(path)
        .unwrap()
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

/// `2021-08-13` or `8/13/2021` (Microsoft writes both) as `2021-08-13`.
fn iso_date(raw: &str) -> String {
    let day = raw.split([' ', 'T']).next().unwrap_or(raw);
    chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .or_else(|_| chrono::NaiveDate::parse_from_str(day, "%m/%d/%Y"))
        .unwrap_or_else(|e| panic!("`{raw}` is not a date: {e}"))
        .to_string()
}

/// What the Ingested table should hold for a raw field of a metadata type, as text.
fn expected(raw: &str, ty: &str) -> Option<String> {
    if raw.trim().is_empty() {
        return None;
    }
    Some(match ty {
        "timestamp" | "date" => iso_date(raw),
        "boolean" => raw.to_ascii_lowercase(),
        "short" | "integer" | "long" => raw.trim().parse::<i64>().unwrap().to_string(),
        _ => raw.to_string(),
    })
}

fn ingest(lake: &Lake, export: &Path) -> edlake::pipeline::RunReport {
    let out = job::ingest(
        lake,
        &Insights::from_export(export).unwrap(),
        &FolderSource::new(export),
        &Salt::from_secret("k12-salt").unwrap(),
        &Progress::default(),
        &Cancel::default(),
    );
    assert!(out.error.is_none(), "{:?}", out.error);
    out.report
}

fn ingested(lake: &Lake, entity: &str) -> polars::prelude::DataFrame {
    let t = TableRef::new(Layer::Ingested, "ms_insights", "v0.2", entity);
    delta::read_table(&lake.table_dir(&t), None).unwrap()
}

#[test]
fn microsofts_k12_export_lands_every_column_in_its_place() {
    let Some(root) = common::shared_data("insights") else {
        return;
    };
    let export = root.join("k12_test_data");
    let meta = oea_metadata(&root.join("metadata.csv"));
    let dir = tempfile::tempdir().unwrap();
    let (lake, _) = Lake::init(dir.path()).unwrap();
    let report = ingest(&lake, &export);
    assert_eq!(report.rows_quarantined, 0, "{:?}", report.issues);
    assert_eq!(report.files_rejected, 0, "{:?}", report.warnings);

    let snapshot = std::fs::read_dir(export.join("roster"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .max()
        .unwrap();
    let mut checked_values = 0usize;
    for e in std::fs::read_dir(&snapshot).unwrap().flatten() {
        if !e.path().is_dir() {
            continue;
        }
        let entity = e.file_name().to_string_lossy().to_string();
        let file = common::files_under(&e.path()).remove(0);
        let rows = raw_rows(&file);
        let df = ingested(&lake, &entity);
        assert_eq!(df.height(), rows.len(), "{entity}: rows");
        let columns = &meta[&entity];
        for (j, (name, ty)) in columns.iter().enumerate() {
            let got = text_col(&df, name);
            for (i, row) in rows.iter().enumerate() {
                // Fields past the file's end (a shorter export) are empty.
                let want = row.get(j).and_then(|raw| expected(raw, ty));
                let got = got[i].as_deref().map(|v| match ty.as_str() {
                    "timestamp" | "date" => v[..10].to_string(),
                    _ => v.to_string(),
                });
                assert_eq!(got, want, "{entity}.{name}, row {}", i + 1);
                checked_values += 1;
            }
        }
    }
    assert!(checked_values > 50_000, "{checked_values}");

    // The two the schema misdescribes, by value.
    let demo = ingested(&lake, "PersonDemographic");
    let at = |c: &str| text_col(&demo, c)[0].clone();
    assert_eq!(at("BirthCity").as_deref(), Some("Fayetteville"));
    assert_eq!(at("BirthCountryCode").as_deref(), Some("28301"));
    assert_eq!(at("BirthDate").as_deref(), Some("2010-08-13"));
    assert_eq!(at("BirthState").as_deref(), Some("NC"));
    assert!(at("LastSeenDateTime").unwrap().starts_with("2022-06-01"));
    let sgl = ingested(&lake, "SectionGradeLevel");
    assert_eq!(
        text_col(&sgl, "RefGradeLevelId")[0].as_deref(),
        Some("4A953A9A-288E-4571-B12E-DE181850F603")
    );
    assert!(
        report
            .warnings
            .iter()
            .chain(&report.notes)
            .all(|w| !w.contains("Fayetteville")),
        "no value in any message"
    );
}

#[test]
fn a_file_no_description_fits_is_refused_by_name_and_the_rest_lands() {
    let Some(root) = common::shared_data("insights/k12_test_data") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("export");
    let snap = export.join("roster/2022-01-28T06-16-22");
    std::fs::create_dir_all(&snap).unwrap();
    copy_dir(&root.join("schema"), &export.join("schema"));
    let src = root.join("roster/2022-01-28T06-16-22");
    copy_dir(&src.join("Person"), &snap.join("Person"));
    // One field more than the metadata (8) and the schema (7) list: which is which can't be told.
    let demo =
        std::fs::read_to_string(src.join("PersonDemographic/persondemographic.csv")).unwrap();
    let widened: String = demo.lines().map(|l| format!("{l},extra\n")).collect();
    std::fs::create_dir_all(snap.join("PersonDemographic")).unwrap();
    std::fs::write(
        snap.join("PersonDemographic/persondemographic.csv"),
        widened,
    )
    .unwrap();
    // Fields in an order neither describes: the dates where a GUID belongs.
    let sgl = std::fs::read_to_string(src.join("SectionGradeLevel/sectiongradelevel.csv")).unwrap();
    let swapped: String = sgl
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            format!("{},{},{},{}\n", f[3], f[0], f[1], f[2])
        })
        .collect();
    std::fs::create_dir_all(snap.join("SectionGradeLevel")).unwrap();
    std::fs::write(
        snap.join("SectionGradeLevel/sectiongradelevel.csv"),
        swapped,
    )
    .unwrap();

    let (lake, _) = Lake::init(&dir.path().join("lake")).unwrap();
    let report = ingest(&lake, &export);
    assert_eq!(report.files_rejected, 2, "{:?}", report.warnings);
    assert_eq!(report.outcome(), edlake::pipeline::Outcome::Partial);
    let said = report.warnings.join("\n");
    assert!(
        said.contains("persondemographic.csv") && said.contains("9 fields per row"),
        "{said}"
    );
    assert!(
        said.contains("sectiongradelevel.csv") && said.contains("FirstSeenDateTime"),
        "{said}"
    );
    assert!(
        !said.contains("Fayetteville") && !said.contains("extra"),
        "{said}"
    );
    // Nothing of them landed; Person did, column by column as sent.
    for e in ["PersonDemographic", "SectionGradeLevel"] {
        let t = TableRef::new(Layer::Ingested, "ms_insights", "v0.2", e);
        assert!(!delta::is_table(&lake.table_dir(&t)), "{e}");
    }
    let person = ingested(&lake, "Person");
    let raw = raw_rows(&src.join("Person/person.csv"));
    assert_eq!(person.height(), raw.len());
    assert_eq!(
        text_col(&person, "GivenName")[0].as_deref(),
        Some(raw[0][3].as_str())
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

#[test]
fn a_column_the_metadata_does_not_know_publishes_nothing() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data/insights");
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("export");
    copy_dir(&data.join("schema"), &export.join("schema"));
    let snap = std::fs::read_dir(data.join("roster"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .max()
        .unwrap();
    let users = data.join("roster").join(&snap).join("AadUser");
    let to = export.join("roster").join(&snap).join("AadUser");
    // A new export version adds a home address to AadUser, in its schema and its file.
    let schema_path = export.join("schema/roster.v0.3.2.cdm.json");
    let mut schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&schema_path).unwrap()).unwrap();
    for def in schema["definitions"].as_array_mut().unwrap() {
        if def["entityName"] == "AadUser" {
            def["hasAttributes"]
                .as_array_mut()
                .unwrap()
                .push(serde_json::json!({"name": "HomeAddress", "dataFormat": "String"}));
        }
    }
    std::fs::write(&schema_path, schema.to_string()).unwrap();
    std::fs::create_dir_all(&to).unwrap();
    for f in common::files_under(&users) {
        let text = std::fs::read_to_string(&f).unwrap();
        let with: String = text
            .lines()
            .enumerate()
            .map(|(i, l)| format!("{l},{} Elm Street\n", 100 + i))
            .collect();
        std::fs::write(to.join(f.file_name().unwrap()), with).unwrap();
    }
    let (lake, _) = Lake::init(&dir.path().join("lake")).unwrap();
    let report = ingest(&lake, &export);
    assert_eq!(report.files_rejected, 0, "{:?}", report.warnings);
    // Kept as sent in the restricted Ingested table, nowhere in the general one.
    let ing = ingested(&lake, "AadUser");
    assert_eq!(
        text_col(&ing, "HomeAddress")[0].as_deref(),
        Some("100 Elm Street")
    );
    let t = TableRef::new(Layer::General, "ms_insights", "v0.2", "AadUser");
    let general = delta::read_table(&lake.table_dir(&t), None).unwrap();
    assert!(general.column("HomeAddress").is_err());
    for c in general.get_column_names() {
        assert!(
            text_col(&general, c)
                .iter()
                .flatten()
                .all(|v| !v.contains("Elm Street")),
            "{c}"
        );
    }
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("HomeAddress") && w.contains("kept out")),
        "{:?}",
        report.warnings
    );
}
