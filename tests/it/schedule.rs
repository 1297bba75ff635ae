//! A schedule fires for real: `edlake schedule set` puts the lake's run into the crontab, the
//! cron daemon scripts/test starts runs it a minute later with nobody at the keyboard, and the
//! run reads the salt and the SFTP password from the OS keyring (GNOME Keyring) and lands the
//! new day's reports from the test sshd.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::cli::{csv_rows, is_root, said};
use common::{service_var, unmet};
use edlake::lake::{Lake, Layer, TableRef};
use edlake::pipeline::RunReport;

/// `edlake --lake LAKE ARGS` with the real keyring, `stdin` on standard input.
fn edlake(lake: &Path, args: &[&str], stdin: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_edlake"))
        .arg("--lake")
        .arg(lake)
        .args(args)
        .env("EDLAKE_CONFIG_DIR", lake.with_extension("config"))
        .env_remove("EDLAKE_LAKE")
        // The cron path is the one tested here (a desktop would get a systemd user timer).
        .env("EDLAKE_SCHEDULER", "cron")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("edlake");
    let _ = child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes());
    child.wait_with_output().expect("edlake")
}

fn crontab() -> String {
    let o = Command::new("crontab").arg("-l").output().expect("crontab");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn cron_running() -> bool {
    Command::new("pgrep")
        .args(["-x", "cron"])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Removes the lake's schedule whatever happens to the test (it lives in root's crontab).
struct Unschedule(PathBuf);

impl Drop for Unschedule {
    fn drop(&mut self) {
        let _ = edlake(&self.0, &["schedule", "remove"], "");
    }
}

/// Copies a folder tree, leaving out files whose names start with `skip`.
fn copy_tree(from: &Path, to: &Path, skip: Option<&str>) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read").flatten() {
        let p = e.path();
        if p.is_dir() {
            copy_tree(&p, &to.join(e.file_name()), skip);
        } else if !skip.is_some_and(|s| e.file_name().to_string_lossy().starts_with(s)) {
            std::fs::copy(&p, to.join(e.file_name())).expect("copy");
        }
    }
}

fn general_rows(lake: &Path) -> i64 {
    Lake::open(lake)
        .expect("lake")
        .table_state(&TableRef::new(
            Layer::General,
            "clever",
            "v1.0",
            "daily_participation",
        ))
        .map(|s| s.rows())
        .unwrap_or(0)
}

/// Adds the test sshd as the lake's Clever SFTP source (the password through stdin, the
/// host key accepted by its fingerprint).
fn add_sftp_source(lake: &Path, port: &str) {
    let var = |k: &str| std::env::var(k).expect(k);
    let (user, password, fingerprint) = (
        var("EDLAKE_TEST_SFTP_USER"),
        var("EDLAKE_TEST_SFTP_PASSWORD"),
        var("EDLAKE_TEST_SFTP_FINGERPRINT"),
    );
    let o = edlake(
        lake,
        &[
            "source",
            "add",
            "sftp",
            "clever",
            "--host",
            "127.0.0.1",
            "--port",
            port,
            "--user",
            &user,
            "--password-stdin",
            "--remote-dir",
            "scheduled",
            "--accept-host-key",
            &fingerprint,
        ],
        &format!("{password}\n"),
    );
    assert!(o.status.success(), "{}", said(&o));
}

/// Waits for cron to start the run of the schedule set for `at` (`ahead` minutes away) and
/// returns its report, the first after the `before` runs already in the history.
fn wait_for_scheduled_run(lake: &Path, before: usize, at: &str, ahead: u64) -> RunReport {
    let deadline = Instant::now() + Duration::from_secs(60 * (ahead + 2));
    loop {
        let history = RunReport::history(&Lake::open(lake).expect("lake")).expect("history");
        if let Some(r) = history[before..].iter().find(|r| r.job == "ingest clever") {
            return r.clone();
        }
        assert!(
            Instant::now() < deadline,
            "cron did not run the schedule set for {at}; crontab:\n{}",
            crontab()
        );
        std::thread::sleep(Duration::from_secs(2));
    }
}

/// The newest run log of the lake, once it is complete (the run report is saved when the
/// ingest ends, the log once the run has rebuilt the derived tables), or as it is after two
/// minutes.
fn wait_for_run_log(lake: &Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let logs = edlake::app::runlog::list(&Lake::open(lake).expect("lake"));
        let log = std::fs::read_to_string(logs.first().expect("a run log")).expect("log");
        if log.contains("finished in ") || Instant::now() > deadline {
            return log;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn a_schedule_set_for_the_next_minute_fires_under_cron_and_lands_the_new_day() {
    if !is_root() {
        unmet("root (the test sshd and cron daemon of scripts/test)");
        return;
    }
    let Some(port) = service_var("EDLAKE_TEST_SFTP_PORT", "the test sshd") else {
        return;
    };
    let _server = common::sftp_server_lock();
    if std::env::var_os("EDLAKE_TEST_KEYRING").is_none() {
        unmet("the OS keyring (GNOME Keyring in scripts/test's D-Bus session)");
        return;
    }
    if !cron_running() {
        unmet("a cron daemon (scripts/test starts one)");
        return;
    }
    let remote =
        PathBuf::from(std::env::var("EDLAKE_TEST_SFTP_DATA").expect("data dir")).join("scheduled");
    let _ = std::fs::remove_dir_all(&remote);

    // Three days of Clever reports; the server has the first two.
    let generated = tempfile::tempdir().expect("tmp");
    let opts = edlake::generate::GenOptions {
        students: 40,
        days: 3,
        seed: 5,
        ..Default::default()
    };
    edlake::generate::generate(generated.path(), &opts).expect("generate");
    let clever = generated.path().join("clever");
    let last_day = opts.start + chrono::Days::new(2);
    let last = last_day.format("%Y-%m-%d").to_string();
    copy_tree(&clever, &remote, Some(&last));
    let chmod = |p: &Path| {
        let _ = Command::new("chmod").args(["-R", "a+rX"]).arg(p).status();
    };
    chmod(&remote);

    let dir = tempfile::tempdir().expect("tmp");
    let lake = dir.path().join("lake");
    let o = edlake(&lake, &["init"], "");
    assert!(o.status.success(), "{}", said(&o));
    add_sftp_source(&lake, &port);
    let o = edlake(&lake, &["run"], "");
    assert_eq!(o.status.code(), Some(0), "{}", said(&o));
    let two_days = general_rows(&lake);
    assert!(two_days > 0);

    // The new day arrives on the server; the schedule is set for the next minute.
    copy_tree(&clever, &remote, None);
    chmod(&remote);
    let now = chrono::Local::now();
    // Far enough ahead that the crontab is written before cron's minute comes.
    let ahead = if chrono::Timelike::second(&now) > 45 {
        2
    } else {
        1
    };
    let at = (now + chrono::Duration::minutes(ahead))
        .format("%H:%M")
        .to_string();
    let _unschedule = Unschedule(lake.clone());
    let o = edlake(&lake, &["schedule", "set", "--daily", &at], "");
    assert!(o.status.success(), "{}", said(&o));
    assert!(
        said(&o).contains("installed in your crontab"),
        "{}",
        said(&o)
    );
    let table = crontab();
    let line = table
        .lines()
        .find(|l| l.contains(lake.to_str().expect("path")))
        .unwrap_or_else(|| panic!("no crontab line for the lake:\n{table}"));
    assert!(line.contains("run --scheduled"), "{line}");
    let before = RunReport::history(&Lake::open(&lake).expect("lake"))
        .expect("history")
        .len();

    // Cron starts it at HH:MM:00; the run takes a few seconds.
    let scheduled = wait_for_scheduled_run(&lake, before, &at, ahead as u64);
    assert_eq!(
        scheduled.status,
        edlake::pipeline::RunStatus::Succeeded,
        "{scheduled:?}"
    );
    let new_files = common::files_under(&clever)
        .iter()
        .filter(|f| {
            f.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(&last))
        })
        .count() as u64;
    assert!(new_files >= 2);
    assert_eq!(
        (scheduled.files_landed, scheduled.files_skipped),
        (new_files, 2 * new_files),
        "the new day's reports, and the two days before already landed: {scheduled:?}"
    );
    let day3 = csv_rows(&clever.join("daily-participation")) - two_days;
    assert!(day3 > 0);
    assert_eq!(general_rows(&lake), two_days + day3);
    // Its log, in the lake: complete once the run has rebuilt the derived tables (the report
    // above is saved when the ingest ends, before that).
    let log = wait_for_run_log(&lake);
    assert!(log.contains("scheduled run of every source"), "{log}");
    assert!(log.contains("ingest clever finished"), "{log}");

    let o = edlake(&lake, &["schedule", "remove"], "");
    assert!(said(&o).contains("Schedule removed."), "{}", said(&o));
    assert!(!crontab().contains(lake.to_str().expect("path")));
}
