//! Running the `edlake` binary as a script or a scheduler would: the salt on standard input
//! (`--session-secrets`, so no keyring is needed), settings beside the lake.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// The salt every CLI test lake runs with.
pub const SALT: &str = "cli-test-salt-0123456789abcdef";

/// Starts `edlake --lake LAKE --session-secrets ARGS` and gives it the salt.
pub fn spawn(lake: &Path, args: &[&str]) -> Child {
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

/// Runs the command to its end.
pub fn run(lake: &Path, args: &[&str]) -> Output {
    spawn(lake, args).wait_with_output().unwrap()
}

/// Everything the command printed.
pub fn said(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `edlake gen-test-data` into `out`; returns `out`.
pub fn generate(out: &Path, students: u32, days: u32) -> PathBuf {
    let o = Command::new(env!("CARGO_BIN_EXE_edlake"))
        .args(["gen-test-data", "--out"])
        .arg(out)
        .args([
            "--students",
            &students.to_string(),
            "--days",
            &days.to_string(),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", said(&o));
    out.to_path_buf()
}

/// Data rows (lines less the header) of every CSV file under `dir`.
pub fn csv_rows(dir: &Path) -> i64 {
    super::files_under(dir)
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap().lines().count() as i64 - 1)
        .sum()
}

/// Rows of a general table.
pub fn general_rows(lake: &Path, source: &str, entity: &str) -> i64 {
    let t = edlake::lake::TableRef::new(edlake::lake::Layer::General, source, "v1.0", entity);
    edlake::lake::Lake::open(lake)
        .unwrap()
        .table_state(&t)
        .unwrap()
        .rows()
}

/// Waits until a run holds `lake` (its lock is taken), then `after_ms` more.
pub fn wait_for_lock(lake: &Path, after_ms: u64) {
    let info = lake.join("_edlake/lock.info");
    let t = std::time::Instant::now();
    while !info.exists() && t.elapsed().as_secs() < 60 {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    std::thread::sleep(std::time::Duration::from_millis(after_ms));
}

/// Sends Ctrl-C (SIGINT) to the process, as a terminal does.
#[cfg(unix)]
pub fn ctrl_c(child: &Child) {
    let ok = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

/// Whether this process runs as root (needed to mount a filesystem or switch accounts).
pub fn is_root() -> bool {
    let o = Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&o.stdout).trim() == "0"
}

/// Holds the lake's lock from another thread for the duration of `f`, as another run named
/// `holder` would.
pub fn while_busy<T>(lake: &Path, holder: &str, f: impl FnOnce() -> T) -> T {
    let lake = edlake::lake::Lake::open(lake).unwrap();
    let (held_tx, held_rx) = std::sync::mpsc::channel();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let holder = holder.to_string();
    let thread = std::thread::spawn(move || {
        let _held = lake.lock(&holder).unwrap();
        held_tx.send(()).unwrap();
        let _ = done_rx.recv();
    });
    held_rx.recv().unwrap();
    let out = f();
    done_tx.send(()).unwrap();
    thread.join().unwrap();
    out
}
