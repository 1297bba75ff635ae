//! End-to-end pipeline behaviour on real files: the OEA Clever samples and generated reports.

use crate::common;

use std::path::{Path, PathBuf};

use edlake::lake::delta;
use edlake::lake::{Lake, Layer, TableRef};
use edlake::modules::clever::Clever;
use edlake::pipeline::job::{self, RunOutcome};
use edlake::pipeline::{Cancel, Event, PipelineError, Progress, RunStatus};
use edlake::pseudo::{Salt, hash_value};
use edlake::sources::FolderSource;

fn shared_clever() -> Option<PathBuf> {
    common::shared_data("clever")
}

fn table(layer: Layer, entity: &str) -> TableRef {
    TableRef::new(layer, "clever", "v1.0", entity)
}

fn run(lake: &Lake, from: &Path, salt: &Salt) -> RunOutcome {
    job::ingest(
        lake,
        &Clever::default(),
        &FolderSource::new(from),
        salt,
        &Progress::default(),
        &Cancel::default(),
    )
}

fn rows(lake: &Lake, t: &TableRef) -> i64 {
    lake.table_state(t).unwrap().rows()
}

fn column_strings(lake: &Lake, t: &TableRef, col: &str) -> Vec<Option<String>> {
    let df = delta::read_table(&lake.table_dir(t), None).unwrap();
    df.column(col)
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|v| v.map(str::to_string))
        .collect()
}

fn csv_column(path: &Path, name: &str) -> Vec<String> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let idx = r.headers().unwrap().iter().position(|h| h == name).unwrap();
    r.records()
        .map(|rec| rec.unwrap()[idx].to_string())
        .collect()
}

#[test]
fn oea_clever_samples_land_pseudonymized_and_rerun_is_a_no_op() {
    let Some(src) = shared_clever() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (lake, _) = Lake::init(dir.path()).unwrap();
    let salt = Salt::from_secret("test-salt-value==").unwrap();
    let out = run(&lake, &src, &salt);
    assert!(out.error.is_none(), "{:?}", out.error);
    assert_eq!(out.report.files_landed, 2);
    assert_eq!(out.report.rows_ingested, 15_000 + 9_836);
    assert_eq!(out.report.rows_quarantined, 0);
    let dp = table(Layer::General, "daily_participation");
    let ru = table(Layer::General, "resource_usage");
    assert_eq!(rows(&lake, &dp), 15_000);
    assert_eq!(rows(&lake, &ru), 9_836);
    assert_eq!(
        rows(&lake, &table(Layer::Ingested, "daily_participation")),
        15_000
    );

    // No raw id in the general table; pseudonyms are sha256(id || salt) of the source ids.
    let raw: std::collections::HashSet<String> = csv_column(
        &src.join("daily-participation/Students/Students.csv"),
        "sis_id",
    )
    .into_iter()
    .collect();
    let general = delta::read_table(&lake.table_dir(&dp), None).unwrap();
    let names: Vec<String> = general
        .get_column_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert!(!names.contains(&"sis_id".to_string()), "{names:?}");
    let pseudo: std::collections::HashSet<String> = column_strings(&lake, &dp, "sis_id_pseudonym")
        .into_iter()
        .flatten()
        .collect();
    assert!(pseudo.is_disjoint(&raw));
    let expected: std::collections::HashSet<String> =
        raw.iter().map(|v| hash_value(v, &salt)).collect();
    assert_eq!(pseudo, expected);
    for c in general.columns() {
        if let Ok(s) = c.str() {
            assert!(
                s.iter().flatten().all(|v| !raw.contains(v)),
                "raw id in {}",
                c.name()
            );
        }
    }
    // Partitioned by year/month from the date, like the OEA Clever module.
    let st = lake.table_state(&ru).unwrap();
    assert_eq!(st.schema.partition_by, vec!["year", "month"]);
    assert!(st.files.iter().all(|f| {
        f.partition_values
            .contains(&("month".into(), Some("1".into())))
    }));

    // The lookup maps each distinct id once.
    let lk = dp.lookup_of();
    assert_eq!(rows(&lake, &lk), 600);

    // Same inputs again: nothing new, tables unchanged.
    let versions: Vec<i64> = lake
        .tables()
        .iter()
        .map(|t| lake.table_state(t).unwrap().version)
        .collect();
    let again = run(&lake, &src, &salt);
    assert!(again.error.is_none());
    assert_eq!(again.report.files_landed, 0);
    assert_eq!(again.report.files_skipped, 2);
    assert_eq!(again.report.rows_ingested, 0);
    let after: Vec<i64> = lake
        .tables()
        .iter()
        .map(|t| lake.table_state(t).unwrap().version)
        .collect();
    assert_eq!(versions, after);
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

const DP_HEADER: &str = "date,sis_id,clever_user_id,clever_school_id,school_name,active,num_logins,num_resources_accessed\n";

#[test]
fn bad_rows_go_to_quarantine_with_file_line_and_column_and_good_rows_land() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("in");
    write(
        &src.join("daily-participation/Students/day1.csv"),
        &format!(
            "{DP_HEADER}2022-01-03,s1,c1,k1,A High,True,2,1\n2022-01-3x,s2,c2,k1,A High,True,1,1\n2022-01-03,s3,c3,k1,A High,True,1\n2022-01-03,s4,c4,k1,A High,maybe,1,1\n2022-01-03,s5,c5,k1,A High,False,0,0\n"
        ),
    );
    // Not a Clever report: rejected, named, and does not stop the good file.
    write(
        &src.join("daily-participation/Students/notes.csv"),
        "name,comment\nx,y\n",
    );
    let (lake, _) = Lake::init(&dir.path().join("lake")).unwrap();
    let out = run(&lake, &src, &Salt::generate());
    assert!(out.error.is_none(), "{:?}", out.error);
    assert_eq!(out.report.rows_ingested, 2);
    assert_eq!(out.report.rows_quarantined, 3);
    let lines: Vec<(u64, Option<String>)> = out
        .report
        .issues
        .iter()
        .map(|i| (i.line, i.column.clone()))
        .collect();
    assert_eq!(
        lines,
        vec![
            (3, Some("1 (date)".into())),
            (4, None),
            (5, Some("6 (active)".into()))
        ]
    );
    assert!(
        out.report
            .issues
            .iter()
            .all(|i| i.file == "daily-participation/Students/day1.csv")
    );
    assert!(
        out.report
            .warnings
            .iter()
            .any(|w| w.contains("notes.csv")
                && w.contains("not a Clever daily-participation report")),
        "{:?}",
        out.report.warnings
    );
    let q = TableRef::new(Layer::Quarantine, "clever", "v1.0", "daily_participation");
    assert_eq!(rows(&lake, &q), 3);
    let reasons = column_strings(&lake, &q, "reason");
    assert!(reasons.iter().flatten().any(|r| r.contains("date")));
    // Reasons never echo values (they may identify students).
    assert!(
        reasons
            .iter()
            .flatten()
            .all(|r| !r.contains("s2") && !r.contains("s4"))
    );
    assert_eq!(
        rows(&lake, &table(Layer::General, "daily_participation")),
        2
    );
}

#[test]
fn column_order_and_extra_columns_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("in");
    write(
        &src.join("daily-participation/Students/a.csv"),
        "num_logins,sis_id,date,clever_user_id,clever_school_id,school_name,active,num_resources_accessed,homeroom\n3,s1,2022-01-03,c1,k1,A High,True,2,Room 4\n",
    );
    let (lake, _) = Lake::init(&dir.path().join("lake")).unwrap();
    let out = run(&lake, &src, &Salt::generate());
    assert!(out.error.is_none(), "{:?}", out.error);
    assert!(out.report.warnings.iter().any(|w| w.contains("homeroom")));
    let ing = lake
        .table_state(&table(Layer::Ingested, "daily_participation"))
        .unwrap();
    assert!(ing.schema.get("homeroom").is_some());
    let general = lake
        .table_state(&table(Layer::General, "daily_participation"))
        .unwrap();
    assert!(
        general.schema.get("homeroom").is_none(),
        "unknown columns stay out of general"
    );
    let df = delta::read_table(
        &lake.table_dir(&table(Layer::Ingested, "daily_participation")),
        None,
    )
    .unwrap();
    assert_eq!(
        df.column("num_logins").unwrap().i32().unwrap().get(0),
        Some(3)
    );
}

fn generated(dir: &Path, students: u32, days: u32) -> PathBuf {
    let out = dir.join("general");
    edlake::generate::generate(
        &out,
        &edlake::generate::GenOptions {
            students,
            days,
            seed: 3,
            ..Default::default()
        },
    )
    .unwrap();
    out.join("clever")
}

#[test]
fn a_new_days_file_is_picked_up_alone() {
    let dir = tempfile::tempdir().unwrap();
    let src = generated(dir.path(), 40, 3);
    let (lake, _) = Lake::init(&dir.path().join("lake")).unwrap();
    let salt = Salt::generate();
    let first = run(&lake, &src, &salt);
    assert!(first.error.is_none());
    assert_eq!(first.report.files_landed, 9);
    let before = rows(&lake, &table(Layer::General, "daily_participation"));
    write(
        &src.join("daily-participation/Students/extra-day.csv"),
        &format!("{DP_HEADER}2025-09-30,s1,c1,k1,A High,True,2,1\n"),
    );
    let second = run(&lake, &src, &salt);
    assert!(second.error.is_none());
    assert_eq!(second.report.files_landed, 1);
    assert_eq!(second.report.files_skipped, 9);
    assert_eq!(second.report.rows_ingested, 1);
    assert_eq!(
        rows(&lake, &table(Layer::General, "daily_participation")),
        before + 1
    );
}

#[test]
fn cancel_leaves_the_last_version_and_the_next_run_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let src = generated(dir.path(), 60, 4);
    let (lake, _) = Lake::init(&dir.path().join("lake")).unwrap();
    let salt = Salt::generate();
    let cancel = Cancel::default();
    let (tx, rx) = crossbeam_channel::unbounded();
    let c = cancel.clone();
    // Cancel as soon as the ingest stage reports its first progress.
    let watcher = std::thread::spawn(move || {
        for e in rx {
            if let Event::Progress {
                stage: edlake::pipeline::Stage::Ingest,
                ..
            } = e
            {
                c.cancel();
            }
        }
    });
    let out = job::ingest(
        &lake,
        &Clever::default(),
        &FolderSource::new(&src),
        &salt,
        &Progress::channel(tx),
        &cancel,
    );
    watcher.join().unwrap();
    assert!(
        matches!(out.error, Some(PipelineError::Cancelled)),
        "{:?}",
        out.error
    );
    assert_eq!(out.report.status, RunStatus::Cancelled);
    // Whatever was committed is readable; nothing half-written is visible.
    for t in lake.tables() {
        let st = lake.table_state(&t).unwrap();
        let df = delta::read_table(&lake.table_dir(&t), None).unwrap();
        assert_eq!(df.height() as i64, st.rows(), "{t}");
    }
    let done = run(&lake, &src, &salt);
    assert!(done.error.is_none(), "{:?}", done.error);
    assert_eq!(
        rows(&lake, &table(Layer::Ingested, "daily_participation")),
        60 * 4 + 2 * 4
    );
    assert_eq!(
        rows(&lake, &table(Layer::General, "daily_participation")),
        60 * 4 + 2 * 4
    );
}

#[test]
fn a_crash_between_commits_is_repaired_without_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let src = generated(dir.path(), 30, 2);
    let (lake, _) = Lake::init(&dir.path().join("lake")).unwrap();
    let salt = Salt::generate();
    assert!(run(&lake, &src, &salt).error.is_none());
    let ing = table(Layer::Ingested, "daily_participation");
    let general = table(Layer::General, "daily_participation");
    let (ing_rows, gen_rows) = (rows(&lake, &ing), rows(&lake, &general));
    // Simulate a crash right after the Ingested commit: the general commit and the manifest
    // update never happened.
    let log = lake.table_dir(&general).join("_delta_log");
    std::fs::remove_dir_all(&log).unwrap();
    let mpath = lake.meta_dir().join("manifest.json");
    let m = std::fs::read_to_string(&mpath)
        .unwrap()
        .replace("\"ingested\": true", "\"ingested\": false");
    std::fs::write(&mpath, m).unwrap();
    let out = run(&lake, &src, &salt);
    assert!(out.error.is_none(), "{:?}", out.error);
    assert_eq!(rows(&lake, &ing), ing_rows, "Ingested is not written twice");
    assert_eq!(
        rows(&lake, &general),
        gen_rows,
        "general is rebuilt from the landed files"
    );
}

#[test]
fn a_second_writer_is_told_the_lake_is_busy() {
    let dir = tempfile::tempdir().unwrap();
    let src = generated(dir.path(), 5, 1);
    let (lake, _) = Lake::init(&dir.path().join("lake")).unwrap();
    // Another thread holds the lock, as another process would.
    let (held_tx, held_rx) = std::sync::mpsc::channel();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let holder = {
        let lake = lake.clone();
        std::thread::spawn(move || {
            let _held = lake.lock("ingest clever").unwrap();
            held_tx.send(()).unwrap();
            let _ = done_rx.recv();
        })
    };
    held_rx.recv().unwrap();
    let out = run(&lake, &src, &Salt::generate());
    done_tx.send(()).unwrap();
    holder.join().unwrap();
    let msg = out.error.expect("must fail").to_string();
    assert!(
        msg.contains("busy") && msg.contains("ingest clever"),
        "{msg}"
    );
}
