//! Helpers shared by the integration tests.
// Each test crate uses a subset of these.
#![allow(dead_code)]

pub mod cli;
pub mod served;

use std::path::{Path, PathBuf};

use edlake::lake::Lake;
use edlake::pipeline::{Cancel, Progress, job};
use edlake::pseudo::Salt;
use edlake::sources::FolderSource;
use polars::prelude::{DataFrame, DataType};

/// Ingests a local folder with `module`, failing the test on a run error.
pub fn ingest(lake: &Lake, module: &dyn edlake::modules::Module, from: &Path, salt: &Salt) {
    let out = job::ingest(
        lake,
        module,
        &FolderSource::new(from),
        salt,
        &Progress::default(),
        &Cancel::default(),
    );
    assert!(out.error.is_none(), "{}: {:?}", from.display(), out.error);
}

/// Every file under `dir`, recursively (an empty list when it does not exist).
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// A column's values as text (nulls stay `None`).
pub fn text_col(df: &DataFrame, c: &str) -> Vec<Option<String>> {
    df.column(c)
        .unwrap()
        .cast(&DataType::String)
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|v| v.map(str::to_string))
        .collect()
}

/// A need of a test this machine does not meet (a service, `../shared`). Under `scripts/test`,
/// which provides them all (it sets `EDLAKE_REQUIRE_ALL=1`), the test fails: a broken service
/// setup must not look green. Elsewhere the test is skipped, and the skip is written by name to
/// the terminal itself, past cargo's output capture, so it shows in the run's output.
pub fn unmet(why: &str) {
    use std::io::Write;
    let test = std::thread::current()
        .name()
        .unwrap_or("a test")
        .to_string();
    if std::env::var_os("EDLAKE_REQUIRE_ALL").is_some() {
        panic!(
            "{test} needs {why}; scripts/test provides it, so this is a broken setup, not a skip"
        );
    }
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
}

/// `../shared/oea-test-data/<sub>`, or `None` (see [`unmet`]) when it is absent.
pub fn shared_data(sub: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/oea-test-data")
        .join(sub);
    if p.exists() {
        Some(p)
    } else {
        unmet(&format!("{} (the OEA sample files)", p.display()));
        None
    }
}

/// An environment variable `scripts/test` sets for a service it started, or `None` (see
/// [`unmet`]).
pub fn service_var(name: &str, service: &str) -> Option<String> {
    let v = std::env::var(name).ok();
    if v.is_none() {
        unmet(&format!(
            "{service} (scripts/test starts it and sets {name})"
        ));
    }
    v
}

static SFTP_SERVER: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Held by every test that talks to the test sshd, one at a time: the dropped-connection test
/// kills every session of the SFTP user and would cut another test's transfer (or the run cron
/// starts for the schedule test). A test that panicked while holding it does not poison it.
pub fn sftp_server_lock() -> std::sync::MutexGuard<'static, ()> {
    SFTP_SERVER.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs a system command (mount, mkfs, filefrag) to its end.
pub fn sh(cmd: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"))
}

/// A filesystem a test mounted, unmounted (lazily) however the test ends.
pub struct Mount(pub PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = sh("umount", &["-l", &self.0.to_string_lossy()]);
    }
}
