//! Daily operations from the command line, as a schedule or IT's monitoring runs them:
//! `edlake run` runs every source set up in the lake as one job, `edlake status` says how
//! current each one is and exits 5 when one needs attention. The salt comes on standard input
//! (`--session-secrets`), so no keyring is needed.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::cli::{general_rows, said};
use edlake::lake::Lake;
use edlake::pipeline::{RunReport, RunStatus};

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data")
}

fn edlake(lake: &Path, args: &[&str]) -> Output {
    common::cli::run(lake, args)
}

/// A lake with the bundled Clever, SIS and roster folders saved as its sources.
fn lake_with_sources(dir: &Path) -> PathBuf {
    let lake = dir.join("lake");
    Lake::init(&lake).unwrap();
    for (name, folder) in [
        ("clever", "clever"),
        ("sis", "sis"),
        ("roster", "clever_roster"),
    ] {
        let path = data().join(folder);
        let o = edlake(
            &lake,
            &[
                "source",
                "add",
                "folder",
                name,
                "--module",
                name,
                "--path",
                path.to_str().unwrap(),
            ],
        );
        assert!(o.status.success(), "{}", said(&o));
    }
    lake
}

#[test]
fn run_runs_every_source_set_up_roster_first_then_nothing_new() {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake_with_sources(dir.path());

    let o = edlake(&lake, &["run"]);
    assert_eq!(o.status.code(), Some(0), "{}", said(&o));
    let history = RunReport::history(&Lake::open(&lake).unwrap()).unwrap();
    let jobs: Vec<&str> = history.iter().map(|r| r.job.as_str()).collect();
    let first = |job: &str| jobs.iter().position(|j| *j == job).expect(job);
    // The roster first, so the day's activity is matched against the newest roster.
    assert!(
        first("ingest clever_roster") < first("ingest clever"),
        "{jobs:?}"
    );
    assert!(
        first("ingest clever") < first("ingest contoso_sis"),
        "{jobs:?}"
    );
    assert!(history.iter().all(|r| r.status == RunStatus::Succeeded));
    let clever_rows = general_rows(&lake, "clever", "daily_participation");
    assert_eq!(
        clever_rows,
        common::cli::csv_rows(&data().join("clever/daily-participation"))
    );
    // The derived tables were rebuilt: the charts' data answers.
    let o = edlake(&lake, &["metrics", "daily-active", "--format", "csv"]);
    assert!(o.status.success(), "{}", said(&o));

    // The same files again: every source runs, nothing new lands, the tables stay as they are.
    let o = edlake(&lake, &["run"]);
    assert_eq!(o.status.code(), Some(0), "{}", said(&o));
    let after = RunReport::history(&Lake::open(&lake).unwrap()).unwrap();
    let new: Vec<&RunReport> = after[history.len()..].iter().collect();
    assert!(new.iter().any(|r| r.job == "ingest clever"), "{new:?}");
    assert!(new.iter().all(|r| r.files_landed == 0), "{new:?}");
    assert_eq!(
        general_rows(&lake, "clever", "daily_participation"),
        clever_rows
    );
}

#[test]
fn run_sources_picks_by_name_and_refuses_one_not_set_up() {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake_with_sources(dir.path());
    let o = edlake(&lake, &["run", "--sources", "sis"]);
    assert_eq!(o.status.code(), Some(0), "{}", said(&o));
    let jobs: Vec<String> = RunReport::history(&Lake::open(&lake).unwrap())
        .unwrap()
        .into_iter()
        .map(|r| r.job)
        .collect();
    assert_eq!(jobs, ["ingest contoso_sis"]);

    let o = edlake(&lake, &["run", "--sources", "sis,insights"]);
    assert_eq!(o.status.code(), Some(2), "{}", said(&o));
    assert!(
        said(&o).contains("no source called `insights`"),
        "{}",
        said(&o)
    );

    let empty = dir.path().join("empty");
    Lake::init(&empty).unwrap();
    let o = edlake(&empty, &["run"]);
    assert_eq!(o.status.code(), Some(2), "{}", said(&o));
    assert!(said(&o).contains("no source is set up"), "{}", said(&o));
}

#[test]
fn status_names_stale_and_never_run_sources_and_exits_5() {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake_with_sources(dir.path());

    // Nothing has run yet: every source needs attention.
    let o = edlake(&lake, &["status", "--json"]);
    assert_eq!(o.status.code(), Some(5), "{}", said(&o));
    let st: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let sources = st["sources"].as_array().unwrap();
    assert_eq!(sources.len(), 3);
    assert!(
        sources
            .iter()
            .all(|s| s["problems"][0]["kind"] == "never_run")
    );

    let o = edlake(&lake, &["run"]);
    assert_eq!(o.status.code(), Some(0), "{}", said(&o));
    // The bundled data ends on 2025-09-15: far behind today, so Clever and SIS are stale.
    let o = edlake(&lake, &["status", "--json"]);
    assert_eq!(o.status.code(), Some(5), "{}", said(&o));
    let st: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let clever = st["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "clever")
        .unwrap()
        .clone();
    assert_eq!(clever["newest_day"], "2025-09-15");
    assert_eq!(clever["last_status"], "done");
    assert_eq!(clever["problems"][0]["kind"], "stale");
    let behind = clever["school_days_behind"].as_u64().unwrap();
    assert!(behind > 200, "{behind}");
    // The roster has no dated activity: it is never stale, and it ran.
    let roster = st["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "roster")
        .unwrap()
        .clone();
    assert_eq!(roster["problems"], serde_json::json!([]));

    // With a limit beyond that, nothing needs attention: exit 0, and the text table says ok.
    let limit = (behind + 1).to_string();
    let o = edlake(&lake, &["status", "--stale-after", &limit]);
    assert_eq!(o.status.code(), Some(0), "{}", said(&o));
    assert!(said(&o).contains("2025-09-15"), "{}", said(&o));
}

#[test]
fn a_run_without_the_salt_is_recorded_as_failed_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake_with_sources(dir.path());
    // No salt on standard input: what a scheduled run meets when the keyring cannot answer.
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_edlake"))
        .arg("--lake")
        .arg(&lake)
        .args(["--session-secrets", "run"])
        .env("EDLAKE_CONFIG_DIR", lake.with_extension("config"))
        .env_remove("EDLAKE_LAKE")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", said(&o));
    let history = RunReport::history(&Lake::open(&lake).unwrap()).unwrap();
    let last = history.last().expect("the failed run is recorded");
    assert_eq!(last.job, "run");
    match &last.status {
        RunStatus::Failed(reason) => assert!(reason.contains("salt"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(general_rows_or_zero(&lake), 0);
}

/// Rows of Clever's general table, 0 when it does not exist.
fn general_rows_or_zero(lake: &Path) -> i64 {
    let t = edlake::lake::TableRef::new(
        edlake::lake::Layer::General,
        "clever",
        "v1.0",
        "daily_participation",
    );
    Lake::open(lake)
        .unwrap()
        .table_state(&t)
        .map(|s| s.rows())
        .unwrap_or(0)
}

#[test]
fn a_scheduled_run_that_finds_the_lake_busy_is_recorded_as_skipped_with_its_log() {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake_with_sources(dir.path());
    // No waiting (the default is 20 minutes).
    let ops = edlake::app::schedule::Operations {
        busy_wait_minutes: 0,
        ..Default::default()
    };
    ops.save(&Lake::open(&lake).unwrap()).unwrap();
    let o = common::cli::while_busy(&lake, "a long backfill", || {
        edlake(&lake, &["run", "--scheduled"])
    });
    assert_eq!(o.status.code(), Some(4), "{}", said(&o));
    let history = RunReport::history(&Lake::open(&lake).unwrap()).unwrap();
    let last = history.last().expect("the skipped run is recorded");
    match &last.status {
        RunStatus::Skipped(why) => assert!(why.contains("a long backfill"), "{why}"),
        other => panic!("{other:?}"),
    }
    let logs = edlake::app::runlog::list(&Lake::open(&lake).unwrap());
    let log = std::fs::read_to_string(&logs[0]).unwrap();
    assert!(log.contains("skipped: the lake was busy"), "{log}");
    // Status says so, and exits 5.
    let o = edlake(&lake, &["status"]);
    assert_eq!(o.status.code(), Some(5), "{}", said(&o));
    assert!(
        said(&o).contains("the last run was skipped"),
        "{}",
        said(&o)
    );
}

#[test]
fn a_scheduled_run_without_a_keyring_fails_fast_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake_with_sources(dir.path());
    // The OS keyring (no --session-secrets), but no session bus to reach it: what a scheduled
    // run on a server without a keyring daemon meets. It must not wait, nor look elsewhere.
    let t = std::time::Instant::now();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_edlake"))
        .arg("--lake")
        .arg(&lake)
        .args(["run", "--scheduled"])
        .env("EDLAKE_CONFIG_DIR", lake.with_extension("config"))
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/edlake-test-bus",
        )
        .env_remove("EDLAKE_LAKE")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(t.elapsed().as_secs() < 30, "took {:?}", t.elapsed());
    assert_eq!(o.status.code(), Some(1), "{}", said(&o));
    let history = RunReport::history(&Lake::open(&lake).unwrap()).unwrap();
    let last = history.last().expect("recorded");
    match &last.status {
        RunStatus::Failed(why) => assert!(why.contains("OS keyring"), "{why}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(general_rows_or_zero(&lake), 0);
}

fn found(program: &str) -> bool {
    std::process::Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A real locked keyring: GNOME Keyring in a private D-Bus session holds the lake's salt, then is
/// restarted without being unlocked (as after a reboot with nobody logged in). The scheduled run
/// must not wait for someone to type the password: it fails at once, and the history says why.
#[test]
fn a_scheduled_run_with_a_locked_keyring_fails_fast_with_the_reason() {
    if !found("dbus-run-session") || !found("gnome-keyring-daemon") {
        common::unmet("dbus-run-session and gnome-keyring-daemon (scripts/test installs them)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let runtime = dir.path().join("runtime");
    std::fs::create_dir_all(&runtime).unwrap();
    let sis = data().join("sis");
    // Its own bus, keyring files and runtime folder: scripts/test's keyring is not touched.
    let script = r#"
set -e
printf pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null
"$EDLAKE" --lake "$LAKE" init >/dev/null
"$EDLAKE" --lake "$LAKE" source add folder sis --module sis --path "$SIS" >/dev/null
gnome-keyring-daemon --replace --components=secrets >/dev/null 2>&1
sleep 1
start=$(date +%s%N)
set +e
"$EDLAKE" --lake "$LAKE" run --scheduled
echo "rc=$?"
echo "ms=$(( ($(date +%s%N) - start) / 1000000 ))"
"#;
    let o = std::process::Command::new("dbus-run-session")
        .args(["--", "bash", "-c", script])
        .env("EDLAKE", env!("CARGO_BIN_EXE_edlake"))
        .env("LAKE", &lake)
        .env("SIS", &sis)
        .env("XDG_DATA_HOME", dir.path().join("data"))
        .env("XDG_RUNTIME_DIR", &runtime)
        .env("EDLAKE_CONFIG_DIR", dir.path().join("config"))
        .env_remove("DISPLAY")
        .env_remove("EDLAKE_LAKE")
        .output()
        .unwrap();
    let out = said(&o);
    assert!(out.contains("rc=1"), "{out}");
    let ms: u64 = out
        .lines()
        .find_map(|l| l.strip_prefix("ms="))
        .and_then(|v| v.trim().parse().ok())
        .expect("timing");
    assert!(ms < 20_000, "took {ms} ms: {out}");
    let history = RunReport::history(&Lake::open(&lake).unwrap()).unwrap();
    let last = history.last().expect("the failed run is recorded");
    match &last.status {
        RunStatus::Failed(why) => assert!(why.contains("the OS keyring is locked"), "{why}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(history.len(), 1, "nothing ran: {history:?}");
}
