//! Files and faults that must not cost a row or misfile one: empty and blank files, reports
//! without a required column, unsafe remote names, a panicking worker, corrected personal data
//! in upserted entities, damaged state files.

use crate::common;

use std::path::Path;

use edlake::lake::{Lake, Layer, TableRef, delta};
use edlake::modules::clever::Clever;
use edlake::pipeline::job::{self, RunOutcome};
use edlake::pipeline::{Cancel, Outcome, PipelineError, Progress};
use edlake::pseudo::Salt;
use edlake::sources::FolderSource;

use common::text_col;

const DP_HEADER: &str = "date,sis_id,clever_user_id,clever_school_id,school_name,active,num_logins,num_resources_accessed\n";

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn clever(lake: &Lake, from: &Path) -> RunOutcome {
    job::ingest(
        lake,
        &Clever::default(),
        &FolderSource::new(from),
        &Salt::from_secret("fault-salt").unwrap(),
        &Progress::default(),
        &Cancel::default(),
    )
}

fn dp(layer: Layer) -> TableRef {
    TableRef::new(layer, "clever", "v1.0", "daily_participation")
}

fn good_day(day: u32, students: u32) -> String {
    let mut s = DP_HEADER.to_string();
    for i in 0..students {
        s.push_str(&format!(
            "2025-09-{day:02},sis{i},cu{i},k1,North High,True,{},1\n",
            i % 5
        ));
    }
    s
}

#[test]
fn empty_and_blank_first_files_are_rejected_by_name_and_the_others_commit() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src/daily-participation/Students");
    // Sorted first, so they are the first files a new lake sees.
    write(&src.join("a-empty.csv"), "");
    write(&src.join("b-blank.csv"), "\n  \n\n");
    write(&src.join("c-good.csv"), &good_day(1, 4));
    let (lake, _) = Lake::init(&dir.path().join("lake")).unwrap();
    let out = clever(&lake, &dir.path().join("src"));
    assert!(out.error.is_none(), "{:?}", out.error);
    assert_eq!(out.report.files_rejected, 2, "{:?}", out.report.warnings);
    assert_eq!(out.report.outcome(), Outcome::Partial);
    let said = out.report.warnings.join("\n");
    assert!(
        said.contains("a-empty.csv") && said.contains("b-blank.csv"),
        "{said}"
    );
    assert!(said.contains("is empty"), "{said}");
    let general = delta::read_table(&lake.table_dir(&dp(Layer::General)), None).unwrap();
    assert_eq!(general.height(), 4);
    assert_eq!(
        text_col(&general, "num_logins"),
        ["0", "1", "2", "3"].map(|v| Some(v.to_string()))
    );
}

#[test]
fn a_report_without_a_required_column_is_rejected_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src/daily-participation/Students");
    write(
        &src.join("no-ids.csv"),
        "date,clever_user_id,clever_school_id,school_name,active,num_logins,num_resources_accessed\n\
         2025-09-01,cu1,k1,North High,True,1,1\n",
    );
    write(&src.join("good.csv"), &good_day(2, 3));
    let (lake, _) = Lake::init(&dir.path().join("lake")).unwrap();
    let out = clever(&lake, &dir.path().join("src"));
    assert!(out.error.is_none(), "{:?}", out.error);
    let said = out.report.warnings.join("\n");
    assert!(
        said.contains("no-ids.csv") && said.contains("no sis_id column"),
        "{said}"
    );
    let general = delta::read_table(&lake.table_dir(&dp(Layer::General)), None).unwrap();
    assert_eq!(general.height(), 3);
    assert_eq!(general.column("sis_id_pseudonym").unwrap().null_count(), 0);
}

#[cfg(unix)]
#[test]
fn an_unsafe_file_name_is_refused_alone() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src/daily-participation/Students");
    write(&src.join("bad\u{1b}[2Jname.csv"), &good_day(3, 2));
    write(&src.join("good.csv"), &good_day(4, 3));
    let (lake, _) = Lake::init(&dir.path().join("lake")).unwrap();
    let out = clever(&lake, &dir.path().join("src"));
    assert!(out.error.is_none(), "{:?}", out.error);
    assert_eq!(out.report.files_rejected, 1);
    assert_eq!(out.report.files_landed, 1);
    let said = out.report.warnings.join("\n");
    assert!(
        said.contains("refused") && said.contains("\\u{1b}"),
        "{said}"
    );
    assert!(
        !said.contains('\u{1b}'),
        "the escape reaches no terminal: {said}"
    );
    assert_eq!(lake.table_state(&dp(Layer::General)).unwrap().rows(), 3);
}

#[test]
fn a_panicking_worker_fails_the_run_commits_nothing_and_the_next_run_does_it_all() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src/daily-participation/Students");
    for d in 1..=6 {
        write(&src.join(format!("day{d}.csv")), &good_day(d, 10));
    }
    write(&src.join("day-panics.csv"), &good_day(9, 10));
    let (lake, _) = Lake::init(&dir.path().join("lake")).unwrap();
    *edlake::pipeline::PANIC_ON_FILE.lock().unwrap() = Some("day-panics".into());
    let out = clever(&lake, &dir.path().join("src"));
    *edlake::pipeline::PANIC_ON_FILE.lock().unwrap() = None;
    assert!(
        matches!(out.error, Some(PipelineError::WorkerPanicked)),
        "{:?}",
        out.error
    );
    assert_eq!(out.report.outcome(), Outcome::Failed);
    for layer in [Layer::Ingested, Layer::General] {
        assert!(
            !delta::is_table(&lake.table_dir(&dp(layer))),
            "nothing of the entity is committed"
        );
    }
    let manifest = edlake::lake::manifest::Manifest::load(&lake).unwrap();
    assert_eq!(manifest.landed.len(), 7);
    assert!(
        manifest.landed.iter().all(|f| !f.ingested),
        "all left to the next run"
    );

    let again = clever(&lake, &dir.path().join("src"));
    assert!(again.error.is_none(), "{:?}", again.error);
    let general = delta::read_table(&lake.table_dir(&dp(Layer::General)), None).unwrap();
    assert_eq!(general.height(), 70, "every row once");
    let dates: std::collections::BTreeSet<_> = text_col(&general, "date").into_iter().collect();
    assert_eq!(dates.len(), 7);
}

#[test]
fn a_corrected_name_replaces_the_old_one_in_the_lookup() {
    let Some(root) = common::shared_data("contoso_sis") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (lake, _) = Lake::init(dir.path()).unwrap();
    let module = edlake::modules::sis::module().unwrap();
    let salt = Salt::from_secret("s").unwrap();
    for day in ["day1", "day2"] {
        common::ingest(&lake, &module, &root.join(day), &salt);
    }
    let t = TableRef::new(Layer::Sensitive, "contoso_sis", "v0.1", "students_lookup");
    let lookup = delta::read_table(&lake.table_dir(&t), None).unwrap();
    let ids = text_col(&lookup, "SIS_ID");
    let names = text_col(&lookup, "First_Name");
    let st1: Vec<_> = ids
        .iter()
        .zip(&names)
        .filter(|(i, _)| i.as_deref() == Some("st1"))
        .map(|(_, n)| n.clone())
        .collect();
    assert_eq!(st1, [Some("Al".to_string())], "one row, day 2's name");
    // One row per student, as in the general table.
    let general = TableRef::new(Layer::General, "contoso_sis", "v0.1", "students");
    assert_eq!(
        lake.table_state(&general).unwrap().rows(),
        lookup.height() as i64
    );
}

#[test]
fn a_damaged_privacy_review_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (lake, _) = Lake::init(dir.path()).unwrap();
    let path = lake.meta_dir().join("metadata/clever.json");
    write(&path, "{\"daily_participation\": {\"school_name\": \"ma");
    let err = edlake::modules::overrides::Overrides::load(&lake, "clever")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("clever.json") && err.contains("damaged"),
        "{err}"
    );
    let src = dir.path().join("src/daily-participation/Students");
    write(&src.join("good.csv"), &good_day(5, 2));
    let err = match edlake::modules::overrides::apply(&lake, Box::new(Clever::default())) {
        Ok(_) => panic!("a damaged review must stop the run"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("clever.json"), "{err}");
}

#[test]
fn a_table_whose_first_commit_never_landed_is_made_by_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src/daily-participation/Students");
    write(
        &src.join("2025-09-01-daily-participation-students.csv"),
        &good_day(1, 12),
    );
    let (lake, _) = Lake::init(&dir.path().join("lake")).unwrap();
    // What a kill -9 in the middle of creating the tables leaves: their folders and empty
    // transaction logs (with a half-written commit), no commit.
    let lookup = TableRef::new(
        Layer::Sensitive,
        "clever",
        "v1.0",
        "daily_participation_lookup",
    );
    for t in [dp(Layer::Ingested), dp(Layer::General), lookup.clone()] {
        write(
            &lake.table_dir(&t).join("_delta_log/_commit_7f3a.json.tmp"),
            "{\"commitInfo\"",
        );
    }
    assert!(lake.tables().is_empty(), "{:?}", lake.tables());
    assert!(!delta::is_table(&lake.table_dir(&lookup)));
    let out = clever(&lake, &dir.path().join("src"));
    assert!(out.error.is_none(), "{:?}", out.error);
    for t in [dp(Layer::Ingested), dp(Layer::General), lookup] {
        let df = delta::read_table(&lake.table_dir(&t), None)
            .unwrap_or_else(|e| panic!("{} does not read: {e}", t.id()));
        assert_eq!(df.height(), 12, "{}", t.id());
    }
}
