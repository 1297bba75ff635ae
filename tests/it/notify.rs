//! A scheduled run that did not finish says so on the desktop: a real notification daemon
//! (dunst, on the D-Bus session scripts/test runs the tests in, drawing on its own Xvfb display)
//! receives edlake's notification.

use crate::common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::cli::said;
use common::unmet;
use edlake::lake::Lake;

/// Child processes ended when the test ends, however it ends.
struct Kill(Vec<Child>);

impl Drop for Kill {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn found(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn dunstctl(args: &[&str], display: &str) -> Option<String> {
    let o = Command::new("dunstctl")
        .args(args)
        .env("DISPLAY", display)
        .output()
        .ok()?;
    o.status
        .success()
        .then(|| String::from_utf8_lossy(&o.stdout).into_owned())
}

#[test]
fn a_skipped_scheduled_run_is_announced_on_the_desktop() {
    if !found("dunst") || !found("Xvfb") {
        unmet("dunst and Xvfb (a notification daemon and its display; scripts/test installs them)");
        return;
    }
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
        unmet("a D-Bus session (scripts/test runs the tests in one)");
        return;
    }
    let display = format!(":{}", 60 + std::process::id() % 9);
    let mut kill = Kill(Vec::new());
    kill.0.push(
        Command::new("Xvfb")
            .args([
                display.as_str(),
                "-screen",
                "0",
                "800x600x24",
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb"),
    );
    let socket = format!("/tmp/.X11-unix/X{}", &display[1..]);
    let t = Instant::now();
    while !std::path::Path::new(&socket).exists() && t.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
    }
    kill.0.push(
        Command::new("dunst")
            .env("DISPLAY", &display)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dunst"),
    );
    let t = Instant::now();
    while dunstctl(&["count"], &display).is_none() {
        assert!(t.elapsed() < Duration::from_secs(20), "dunst did not start");
        std::thread::sleep(Duration::from_millis(100));
    }

    // A scheduled run that finds the lake busy, with no waiting allowed.
    let dir = tempfile::tempdir().expect("tmp");
    let lake_dir = dir.path().join("lake");
    let (lake, _) = Lake::init(&lake_dir).expect("lake");
    edlake::app::schedule::Operations {
        busy_wait_minutes: 0,
        ..Default::default()
    }
    .save(&lake)
    .expect("save");
    let held = lake.lock("a long backfill").expect("lock");
    let o = common::cli::run(&lake_dir, &["run", "--scheduled"]);
    drop(held);
    assert_eq!(o.status.code(), Some(4), "{}", said(&o));

    // What dunst received (closing it moves it into dunst's history).
    let t = Instant::now();
    let history = loop {
        let _ = dunstctl(&["close-all"], &display);
        let h = dunstctl(&["history"], &display).unwrap_or_default();
        if h.contains("the scheduled run did not finish") || t.elapsed() > Duration::from_secs(10) {
            break h;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        history.contains("edlake: the scheduled run did not finish"),
        "{history}"
    );
    assert!(history.contains("skipped: the lake was busy"), "{history}");
    assert!(
        history.contains(lake_dir.to_str().expect("path")),
        "{history}"
    );
}
