//! Every documented exit code of the commands that run jobs: 0 done, 1 failed, 2 bad input,
//! 3 partial (rows quarantined or files refused), 4 busy, 130 cancelled. The salt comes on
//! standard input (`--session-secrets`), so no keyring is needed.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use edlake::lake::Lake;

const SALT: &str = "exit-code-test-salt-0123456789";

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data")
}

fn spawn(lake: &Path, args: &[&str]) -> Child {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_edlake"))
        .arg("--lake")
        .arg(lake)
        .arg("--session-secrets")
        .args(args)
        .env("EDLAKE_CONFIG_DIR", lake.with_extension("config"))
        .env_remove("EDLAKE_LAKE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let _ = writeln!(stdin, "{SALT}");
    child
}

fn edlake(lake: &Path, args: &[&str]) -> Output {
    spawn(lake, args).wait_with_output().unwrap()
}

fn said(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn code(o: &Output) -> Option<i32> {
    o.status.code()
}

/// Holds the lake's lock from another thread for the duration of `f`, as another run would.
fn while_busy<T>(lake: &Path, f: impl FnOnce() -> T) -> T {
    let lake = Lake::open(lake).unwrap();
    let (held_tx, held_rx) = std::sync::mpsc::channel();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let _held = lake.lock("a scheduled run").unwrap();
        held_tx.send(()).unwrap();
        let _ = done_rx.recv();
    });
    held_rx.recv().unwrap();
    let out = f();
    done_tx.send(()).unwrap();
    holder.join().unwrap();
    out
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

    let o = while_busy(&lake, || {
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
        let o = while_busy(&lake, || edlake(&lake, args));
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

#[cfg(unix)]
#[test]
fn ctrl_c_exits_130_and_the_next_run_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let generated = dir.path().join("generated");
    let o = Command::new(env!("CARGO_BIN_EXE_edlake"))
        .args(["gen-test-data", "--out", generated.to_str().unwrap()])
        .args(["--students", "8000", "--days", "60"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", said(&o));
    let lake = dir.path().join("lake");
    Lake::init(&lake).unwrap();
    let from = generated.join("clever");
    let child = spawn(
        &lake,
        &["ingest", "clever", "--from", from.to_str().unwrap()],
    );
    // Interrupt once the run holds the lake (it is landing or ingesting by then).
    let info = lake.join("_edlake/lock.info");
    let t = std::time::Instant::now();
    while !info.exists() && t.elapsed().as_secs() < 60 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(50));
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let o = child.wait_with_output().unwrap();
    assert_eq!(code(&o), Some(130), "{}", said(&o));
    let o = edlake(
        &lake,
        &["ingest", "clever", "--from", from.to_str().unwrap()],
    );
    assert_eq!(code(&o), Some(0), "{}", said(&o));
    let lines: i64 = common::files_under(&from.join("daily-participation"))
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap().lines().count() as i64 - 1)
        .sum();
    let lake = Lake::open(&lake).unwrap();
    let t = edlake::lake::TableRef::new(
        edlake::lake::Layer::General,
        "clever",
        "v1.0",
        "daily_participation",
    );
    assert_eq!(
        lake.table_state(&t).unwrap().rows(),
        lines,
        "every row once"
    );
}

#[cfg(unix)]
#[test]
fn ctrl_c_during_a_roster_sync_exits_130_and_the_next_sync_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let generated = dir.path().join("generated");
    let o = Command::new(env!("CARGO_BIN_EXE_edlake"))
        .args(["gen-test-data", "--out", generated.to_str().unwrap()])
        .args(["--students", "30000", "--days", "3"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", said(&o));
    let lake = dir.path().join("lake");
    Lake::init(&lake).unwrap();
    let roster = generated.join("clever_roster");
    let child = spawn(
        &lake,
        &["roster", "sync", "--from", roster.to_str().unwrap()],
    );
    let info = lake.join("_edlake/lock.info");
    let t = std::time::Instant::now();
    while !info.exists() && t.elapsed().as_secs() < 60 {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    std::thread::sleep(std::time::Duration::from_millis(100));
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let o = child.wait_with_output().unwrap();
    assert_eq!(code(&o), Some(130), "{}", said(&o));
    // The next sync finishes what was left: every student of the three snapshots has a status.
    let o = edlake(
        &lake,
        &["roster", "sync", "--from", roster.to_str().unwrap()],
    );
    assert_eq!(code(&o), Some(0), "{}", said(&o));
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
    let l = Lake::open(&lake).unwrap();
    let t = edlake::lake::TableRef::new(
        edlake::lake::Layer::General,
        "clever_roster",
        "v1.0",
        "student_status",
    );
    assert_eq!(l.table_state(&t).unwrap().rows(), ids.len() as i64);
}
