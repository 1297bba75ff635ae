//! Clever over SFTP against the real OpenSSH server `scripts/test` starts on 127.0.0.1 (its own
//! host key, a test user with a password and an ed25519 key with a passphrase, `internal-sftp`).
//! Skipped, with the reason printed, when that server is not running.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use edlake::generate::{GenOptions, generate};
use edlake::lake::{Lake, Layer, TableRef};
use edlake::modules::clever::Clever;
use edlake::pipeline::{Cancel, Event, PipelineError, Progress, job};
use edlake::pseudo::Salt;
use edlake::sources::Source;
use edlake::sources::sftp::{SftpAuth, SftpConfig, SftpError, SftpSource, connect, probe};

struct Server {
    port: u16,
    user: String,
    password: String,
    key: PathBuf,
    passphrase: String,
    fingerprint: String,
    data: PathBuf,
    /// One test at a time talks to the server: the dropped-connection test kills every session
    /// of the SFTP user, and would cut another test's transfer.
    _serial: std::sync::MutexGuard<'static, ()>,
}

fn server() -> Option<Server> {
    let var = |k: &str| std::env::var(k).ok();
    let port = common::service_var("EDLAKE_TEST_SFTP_PORT", "the test sshd")?;
    Some(Server {
        port: port.parse().ok()?,
        user: var("EDLAKE_TEST_SFTP_USER")?,
        password: var("EDLAKE_TEST_SFTP_PASSWORD")?,
        key: PathBuf::from(var("EDLAKE_TEST_SFTP_KEY")?),
        passphrase: var("EDLAKE_TEST_SFTP_KEY_PASSPHRASE")?,
        fingerprint: var("EDLAKE_TEST_SFTP_FINGERPRINT")?,
        data: PathBuf::from(var("EDLAKE_TEST_SFTP_DATA")?),
        _serial: common::sftp_server_lock(),
    })
}

impl Server {
    fn cfg(&self, remote_dir: &str) -> SftpConfig {
        SftpConfig {
            host: "127.0.0.1".into(),
            port: self.port,
            user: self.user.clone(),
            auth: SftpAuth::Password,
            remote_dir: remote_dir.into(),
            host_key: Some(self.fingerprint.clone()),
            timeout_secs: 10,
        }
    }

    /// A fresh remote folder with Clever reports, readable by the SFTP user.
    fn folder(&self, name: &str, students: u32, days: u32) -> PathBuf {
        let dir = self.data.join(name);
        let _ = std::fs::remove_dir_all(&dir);
        let tmp = tempfile::tempdir().expect("tmp");
        let opts = GenOptions {
            students,
            days,
            seed: 11,
            ..Default::default()
        };
        generate(tmp.path(), &opts).expect("generate");
        copy_tree(&tmp.path().join("clever"), &dir);
        let _ = Command::new("chmod")
            .args(["-R", "a+rX"])
            .arg(&self.data)
            .status();
        dir
    }
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read").flatten() {
        let p = e.path();
        if p.is_dir() {
            copy_tree(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).expect("copy");
        }
    }
}

fn rows(lake: &Lake, entity: &str) -> i64 {
    lake.table_state(&TableRef::new(Layer::General, "clever", "v1.0", entity))
        .map(|s| s.rows())
        .unwrap_or(0)
}

fn ingest(lake: &Lake, src: &dyn Source, salt: &Salt) -> job::RunOutcome {
    job::ingest(
        lake,
        &Clever::default(),
        src,
        salt,
        &Progress::default(),
        &Cancel::default(),
    )
}

#[test]
fn host_key_is_pinned_only_after_acceptance_and_a_change_is_refused() {
    let Some(s) = server() else { return };
    s.folder("pin", 20, 2);
    let mut cfg = s.cfg("pin");
    cfg.host_key = None;
    match connect(&cfg, Some(&s.password), None) {
        Err(SftpError::UnknownHostKey { fingerprint }) => assert_eq!(fingerprint, s.fingerprint),
        other => panic!("unknown key must be refused: {:?}", other.map(|_| ())),
    }
    let p = probe(&cfg, Some(&s.password), Some(&s.fingerprint)).expect("accepted");
    assert_eq!(p.fingerprint, s.fingerprint);
    assert!(
        p.folders
            .iter()
            .any(|(d, n)| d == "daily-participation/Students" && *n == 2)
    );
    cfg.host_key = Some("SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into());
    match connect(&cfg, Some(&s.password), None) {
        Err(e @ SftpError::HostKeyChanged { .. }) => {
            let m = e.to_string();
            assert!(
                m.contains("SHA256:AAAA") && m.contains(&s.fingerprint),
                "{m}"
            );
        }
        other => panic!("changed key must be refused: {:?}", other.map(|_| ())),
    }
}

#[test]
fn wrong_password_and_closed_port_fail_clearly() {
    let Some(s) = server() else { return };
    let cfg = s.cfg("");
    match connect(&cfg, Some("not-the-password"), None) {
        Err(e @ SftpError::AuthFailed { .. }) => {
            assert!(!e.to_string().contains("not-the-password"));
        }
        other => panic!("{:?}", other.map(|_| ())),
    }
    // A port nobody listens on.
    let free = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = free.local_addr().expect("addr").port();
    drop(free);
    let mut closed = cfg.clone();
    closed.port = port;
    assert!(matches!(
        connect(&closed, Some(&s.password), None),
        Err(SftpError::Unreachable { .. })
    ));
    // A server that accepts but never speaks SSH: a timeout, not a hang.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let mut mute = cfg.clone();
    mute.port = silent.local_addr().expect("addr").port();
    mute.timeout_secs = 1;
    let t = std::time::Instant::now();
    assert!(connect(&mute, Some(&s.password), None).is_err());
    assert!(t.elapsed().as_secs() < 10);
    let mut missing = cfg;
    missing.remote_dir = "no-such-folder".into();
    let src = SftpSource::new("t", missing, Some(s.password.clone().into()));
    let e = src.list().expect_err("missing folder");
    assert!(e.to_string().contains("does not exist"), "{e}");
}

#[test]
fn key_login_with_passphrase() {
    let Some(s) = server() else { return };
    s.folder("keyed", 20, 1);
    let mut cfg = s.cfg("keyed");
    cfg.auth = SftpAuth::Key {
        path: s.key.clone(),
    };
    let p = probe(&cfg, Some(&s.passphrase), None).expect("key login");
    assert!(!p.folders.is_empty());
    assert!(matches!(
        connect(&cfg, Some("wrong passphrase"), None),
        Err(SftpError::AuthFailed { .. })
    ));
}

#[test]
fn full_then_incremental_fetch_lands_each_file_once() {
    let Some(s) = server() else { return };
    let remote = s.folder("incr", 60, 3);
    let dir = tempfile::tempdir().expect("tmp");
    let (lake, _) = Lake::init(dir.path()).expect("lake");
    let salt = Salt::generate();
    let src = SftpSource::new("clever", s.cfg("incr"), Some(s.password.clone().into()));
    let first = ingest(&lake, &src, &salt);
    assert!(first.error.is_none(), "{:?}", first.error);
    let remote_files = common::files_under(&remote).len();
    assert!(remote_files >= 6);
    assert_eq!(first.report.files_landed as usize, remote_files);
    let dp = rows(&lake, "daily_participation");
    assert!(dp > 0);

    // The same server again: nothing new.
    let again = ingest(&lake, &src, &salt);
    assert_eq!(again.report.files_landed, 0);
    assert_eq!(rows(&lake, "daily_participation"), dp);

    // One more day appears on the server: only its files are fetched.
    let more = tempfile::tempdir().expect("tmp");
    generate(
        more.path(),
        &GenOptions {
            students: 60,
            days: 4,
            seed: 11,
            ..Default::default()
        },
    )
    .expect("generate");
    copy_tree(&more.path().join("clever"), &remote);
    let _ = Command::new("chmod")
        .args(["-R", "a+rX"])
        .arg(&remote)
        .status();
    let third = ingest(&lake, &src, &salt);
    assert!(third.error.is_none(), "{:?}", third.error);
    assert_eq!(
        third.report.files_landed as usize,
        common::files_under(&remote).len() - remote_files
    );
    assert!(rows(&lake, "daily_participation") > dp);
}

#[test]
fn a_dropped_connection_lands_nothing_partial_and_the_next_run_resumes() {
    let Some(s) = server() else { return };
    let remote = s.folder("drop", 3000, 12);
    let dir = tempfile::tempdir().expect("tmp");
    let (lake, _) = Lake::init(dir.path()).expect("lake");
    let salt = Salt::generate();
    let src = SftpSource::new("clever", s.cfg("drop"), Some(s.password.clone().into()));
    // Kill the server side of the session as soon as the first file has arrived.
    let (tx, rx) = crossbeam_channel::unbounded();
    let killed = Arc::new(AtomicBool::new(false));
    let k = killed.clone();
    let user = s.user.clone();
    let progress = Progress::channel(tx).with_notify(Arc::new(move || {}));
    let watcher = std::thread::spawn(move || {
        for e in rx {
            if let Event::Progress { files_done, .. } = e
                && files_done >= 1
                && !k.swap(true, Ordering::SeqCst)
            {
                let _ = Command::new("pkill").args(["-KILL", "-u", &user]).status();
            }
        }
    });
    let out = job::ingest(
        &lake,
        &Clever::default(),
        &src,
        &salt,
        &progress,
        &Cancel::default(),
    );
    drop(progress);
    let _ = watcher.join();
    assert!(killed.load(Ordering::SeqCst));
    let landed_first = out.report.files_landed;
    if let Some(e) = &out.error {
        assert!(
            matches!(e, PipelineError::Source(_)) || e.to_string().contains("dropped"),
            "{e}"
        );
    }
    // Nothing half-written under stage1.
    let partial = common::files_under(&lake.root().join("stage1"))
        .into_iter()
        .filter(|p| p.to_string_lossy().contains("partial"))
        .count();
    assert_eq!(partial, 0);

    let src2 = SftpSource::new("clever", s.cfg("drop"), Some(s.password.clone().into()));
    let second = ingest(&lake, &src2, &salt);
    assert!(second.error.is_none(), "{:?}", second.error);
    assert_eq!(
        (landed_first + second.report.files_landed) as usize,
        common::files_under(&remote).len()
    );
    // Every row exactly once: compare with a clean lake fed the same files from a folder.
    let clean_dir = tempfile::tempdir().expect("tmp");
    let (clean, _) = Lake::init(clean_dir.path()).expect("lake");
    let folder = edlake::sources::FolderSource::new(&s.data.join("drop"));
    assert!(ingest(&clean, &folder, &salt).error.is_none());
    assert_eq!(
        rows(&lake, "daily_participation"),
        rows(&clean, "daily_participation")
    );
    assert_eq!(
        rows(&lake, "resource_usage"),
        rows(&clean, "resource_usage")
    );
}

#[test]
fn a_hostile_remote_name_is_refused_alone_and_the_source_still_lists() {
    let Some(s) = server() else { return };
    let remote = s.folder("hostile", 30, 2);
    let students = remote.join("daily-participation/Students");
    let good = common::files_under(&students).remove(0);
    std::fs::copy(&good, students.join("evil\u{7}\u{1b}[31mname.csv")).expect("copy");
    let _ = Command::new("chmod")
        .args(["-R", "a+rX"])
        .arg(&remote)
        .status();
    // Probing (what `source add` and "Test connection" do) lists the folders.
    let p = probe(&s.cfg("hostile"), Some(&s.password), Some(&s.fingerprint)).expect("probe");
    assert!(
        p.folders
            .iter()
            .any(|(d, _)| d == "daily-participation/Students")
    );
    let dir = tempfile::tempdir().expect("tmp");
    let (lake, _) = Lake::init(dir.path()).expect("lake");
    let src = SftpSource::new("clever", s.cfg("hostile"), Some(s.password.clone().into()));
    let out = ingest(&lake, &src, &Salt::generate());
    assert!(out.error.is_none(), "{:?}", out.error);
    assert_eq!(out.report.files_rejected, 1, "{:?}", out.report.warnings);
    assert_eq!(
        out.report.files_landed as usize,
        common::files_under(&remote).len() - 1
    );
    let said = out.report.warnings.join("\n");
    assert!(
        said.contains("refused") && !said.contains('\u{1b}'),
        "{said}"
    );
}

/// Clever's Secure Sync roster on its SFTP server, as a saved source of the `roster` module:
/// `run_configured` (what `edlake run` and a schedule do) syncs each dated snapshot once, a
/// second run fetches nothing, and a new day's snapshot is synced alone.
#[test]
fn a_roster_on_the_sftp_server_syncs_each_snapshot_once() {
    use edlake::app::saved::run_configured;
    use edlake::secrets::Secrets;
    use edlake::sources::saved::{SavedSource, SourceDef};
    let Some(s) = server() else { return };
    let remote = s.data.join("roster");
    let _ = std::fs::remove_dir_all(&remote);
    let bundled = Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data/clever_roster");
    for day in ["2025-08-25", "2025-09-04"] {
        copy_tree(&bundled.join(day), &remote.join(day));
    }
    let _ = Command::new("chmod")
        .args(["-R", "a+rX"])
        .arg(&s.data)
        .status();

    let dir = tempfile::tempdir().expect("tmp");
    let (lake, _) = Lake::init(dir.path()).expect("lake");
    let saved = SavedSource {
        name: "roster".into(),
        module: Some("roster".into()),
        def: SourceDef::Sftp(s.cfg("roster")),
    };
    saved.save(&lake).expect("save");
    let secrets = Secrets::session_only();
    secrets.set(&saved.key(&lake), &s.password).expect("secret");
    let salt = Salt::from_secret("roster-sftp-test-salt-0123456789").expect("salt");
    let run = || {
        let only = ["roster".to_string()];
        run_configured(
            &lake,
            Some(&only),
            &secrets,
            &salt,
            &Progress::default(),
            &Cancel::default(),
        )
        .expect("run")
    };

    let outs = run();
    assert!(
        outs.iter().all(|o| o.error.is_none()),
        "{:?}",
        outs.last().map(|o| &o.error)
    );
    let log = edlake::derive::roster::operations(&lake).expect("log");
    let days: Vec<String> = log.iter().map(|e| e.snapshot.to_string()).collect();
    assert_eq!(days, ["2025-08-25", "2025-09-04"]);
    let students = bundled.join("2025-09-04/students.csv");
    let roster_rows = std::fs::read_to_string(students)
        .expect("csv")
        .lines()
        .count()
        - 1;
    assert_eq!(log[1].counts.active as usize, roster_rows);

    // Again: both snapshots are already synced; nothing is fetched.
    let outs = run();
    assert!(outs.iter().all(|o| o.report.files_landed == 0));
    assert_eq!(
        edlake::derive::roster::operations(&lake)
            .expect("log")
            .len(),
        2
    );

    // The next day's snapshot arrives: it alone is synced.
    copy_tree(&bundled.join("2025-09-15"), &remote.join("2025-09-15"));
    let _ = Command::new("chmod")
        .args(["-R", "a+rX"])
        .arg(&s.data)
        .status();
    run();
    let log = edlake::derive::roster::operations(&lake).expect("log");
    assert_eq!(log.len(), 3);
    assert_eq!(log[2].snapshot.to_string(), "2025-09-15");
}
