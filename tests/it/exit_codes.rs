//! Every documented exit code of the commands that run jobs: 0 done, 1 failed, 2 bad input,
//! 3 partial (rows quarantined or files refused), 4 busy, 130 cancelled. The salt comes on
//! standard input (`--session-secrets`), so no keyring is needed.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::cli::{csv_rows, ctrl_c, general_rows, generate, said, spawn, wait_for_lock};
use edlake::lake::Lake;

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data")
}

fn edlake(lake: &Path, args: &[&str]) -> Output {
    common::cli::run(lake, args)
}

fn code(o: &Output) -> Option<i32> {
    o.status.code()
}

#[test]
fn ingest_exit_codes_0_1_2_3_4() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    Lake::init(&lake).unwrap();
    let clever = data().join("clever");
    let clever_s = clever.to_str().unwrap();

    let o = edlake(&lake, &["ingest", "clever", "--from", clever_s]);
    assert_eq!(code(&o), Some(0), "{}", said(&o));

    let o = edlake(
        &lake,
        &["ingest", "clever", "--from", "/nonexistent/clever"],
    );
    assert_eq!(code(&o), Some(2), "{}", said(&o));

    let partial = dir.path().join("partial/daily-participation/Students");
    std::fs::create_dir_all(&partial).unwrap();
    std::fs::write(partial.join("empty.csv"), "").unwrap();
    let o = edlake(
        &lake,
        &[
            "ingest",
            "clever",
            "--from",
            dir.path().join("partial").to_str().unwrap(),
        ],
    );
    assert_eq!(code(&o), Some(3), "{}", said(&o));
    assert!(said(&o).contains("empty.csv"), "{}", said(&o));

    let o = common::cli::while_busy(&lake, "a scheduled run", || {
        edlake(&lake, &["ingest", "clever", "--from", clever_s])
    });
    assert_eq!(code(&o), Some(4), "{}", said(&o));
    assert!(said(&o).contains("a scheduled run"), "{}", said(&o));

    // A fault of the system, not of the input: the lake's manifest cannot be read.
    let manifest = lake.join("_edlake/manifest.json");
    std::fs::remove_file(&manifest).ok();
    std::fs::create_dir_all(&manifest).unwrap();
    let o = edlake(&lake, &["ingest", "clever", "--from", clever_s]);
    assert_eq!(code(&o), Some(1), "{}", said(&o));
}

#[test]
fn every_job_command_says_busy_with_4_and_bad_input_with_2() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    Lake::init(&lake).unwrap();
    let d = data();
    let path = |p: &str| d.join(p).to_string_lossy().to_string();
    let (sis, insights, edx, roster) = (
        path("sis"),
        path("insights"),
        path("edx"),
        path("clever_roster"),
    );
    let program = path("edx/program.json");
    let jobs: Vec<Vec<&str>> = vec![
        vec!["ingest", "sis", "--from", &sis],
        vec!["ingest", "insights", "--from", &insights],
        vec!["ingest", "edx", "--from", &edx],
        vec!["roster", "sync", "--from", &roster],
        vec!["identity", "set", "sis=student_number"],
        vec!["program", "set", "--file", &program],
    ];
    for args in &jobs {
        let o = common::cli::while_busy(&lake, "a scheduled run", || edlake(&lake, args));
        assert_eq!(code(&o), Some(4), "{args:?}: {}", said(&o));
    }
    for args in &jobs[..4] {
        let mut bad = args.clone();
        *bad.last_mut().unwrap() = "/nonexistent/folder";
        let o = edlake(&lake, &bad);
        assert_eq!(code(&o), Some(2), "{bad:?}: {}", said(&o));
    }
    for args in &jobs {
        let o = edlake(&lake, args);
        assert!(matches!(code(&o), Some(0 | 3)), "{args:?}: {}", said(&o));
    }
}

/// Starts `args`, presses Ctrl-C once it holds the lake, and checks it exits 130; then runs
/// the same command again to its end.
#[cfg(unix)]
fn interrupted_then_finished(lake: &Path, args: &[&str], after_ms: u64) {
    let child = spawn(lake, args);
    wait_for_lock(lake, after_ms);
    ctrl_c(&child);
    let o = child.wait_with_output().unwrap();
    assert_eq!(code(&o), Some(130), "{args:?}: {}", said(&o));
    let o = edlake(lake, args);
    assert_eq!(code(&o), Some(0), "{args:?} again: {}", said(&o));
}

#[cfg(unix)]
#[test]
fn ctrl_c_exits_130_and_the_next_run_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let from = generate(&dir.path().join("generated"), 8000, 60).join("clever");
    let lake = dir.path().join("lake");
    Lake::init(&lake).unwrap();
    interrupted_then_finished(
        &lake,
        &["ingest", "clever", "--from", from.to_str().unwrap()],
        50,
    );
    let lines = csv_rows(&from.join("daily-participation"));
    assert_eq!(
        general_rows(&lake, "clever", "daily_participation"),
        lines,
        "every row once"
    );
}

#[cfg(unix)]
#[test]
fn ctrl_c_during_a_roster_sync_exits_130_and_the_next_sync_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let roster = generate(&dir.path().join("generated"), 30000, 3).join("clever_roster");
    let lake = dir.path().join("lake");
    Lake::init(&lake).unwrap();
    interrupted_then_finished(
        &lake,
        &["roster", "sync", "--from", roster.to_str().unwrap()],
        100,
    );
    // Every student of the three snapshots has a status.
    let mut ids = std::collections::BTreeSet::new();
    for f in common::files_under(&roster) {
        if f.file_name().is_some_and(|n| n == "students.csv") {
            let mut r = csv::Reader::from_path(&f).unwrap();
            let at = r
                .headers()
                .unwrap()
                .iter()
                .position(|h| h == "Student_id")
                .unwrap();
            ids.extend(r.records().map(|x| x.unwrap()[at].to_string()));
        }
    }
    assert_eq!(
        general_rows(&lake, "clever_roster", "student_status"),
        ids.len() as i64
    );
}

/// Starts `edlake bench` in a process group of its own, as a terminal runs a command, and
/// presses Ctrl-C (SIGINT to the whole group: the command and its timed child) once `at` exists.
#[cfg(unix)]
fn bench_interrupted_at(work: &Path, at: &Path) -> Output {
    use std::os::unix::process::CommandExt;
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_edlake"))
        .args(["bench", "--students", "4000", "--days", "40", "--dir"])
        .arg(work)
        .env("EDLAKE_CONFIG_DIR", work.with_extension("config"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    let t = std::time::Instant::now();
    while !at.exists() && t.elapsed().as_secs() < 120 {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert!(at.exists(), "{} never appeared", at.display());
    let group = format!("-{}", child.id());
    let ok = std::process::Command::new("kill")
        .args(["-INT", "--", &group])
        .status()
        .unwrap();
    assert!(ok.success());
    child.wait_with_output().unwrap()
}

#[cfg(unix)]
#[test]
fn ctrl_c_during_a_benchmark_exits_130_and_leaves_no_lake_behind() {
    let dir = tempfile::tempdir().unwrap();
    // While the district year is generated.
    let work = dir.path().join("generating");
    let o = bench_interrupted_at(&work, &work.join("input"));
    assert_eq!(code(&o), Some(130), "{}", said(&o));
    assert!(said(&o).contains("cancelled"), "{}", said(&o));
    assert!(!work.join("lake").exists());
    // While the timed run holds its lake.
    let work = dir.path().join("timed");
    let o = bench_interrupted_at(&work, &work.join("lake/_edlake/lock.info"));
    assert_eq!(code(&o), Some(130), "{}", said(&o));
    assert!(!work.join("lake").exists(), "the benchmark lake is removed");
}
