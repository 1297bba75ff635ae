//! A scheduled run that did not finish says so on the desktop: a real notification daemon
//! (dunst, on the D-Bus session scripts/test runs the tests in, drawing on its own Xvfb display)
//! receives edlake's notification.

use crate::common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::cli::said;
use common::unmet;
use edlake::lake::Lake;

/// Child processes ended when the test ends, however it ends: asked to stop first (a killed Xvfb
/// leaves its lock file and socket behind, and a later server on that display number was taken
/// for ready before it listened), killed if they do not.
struct Kill(Vec<Child>);

impl Drop for Kill {
    fn drop(&mut self) {
        // The last started first: dunst before the display it draws on.
        for c in self.0.iter_mut().rev() {
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
            let t = Instant::now();
            while c.try_wait().ok().flatten().is_none() && t.elapsed() < Duration::from_secs(5) {
                std::thread::sleep(Duration::from_millis(20));
            }
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
    let mut kill = Kill(Vec::new());
    // Xvfb picks a free display itself and writes its number once it accepts clients.
    let mut xvfb = Command::new("Xvfb")
        .args([
            "-displayfd",
            "1",
            "-screen",
            "0",
            "800x600x24",
            "-nolisten",
            "tcp",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("Xvfb");
    let mut ready = std::io::BufReader::new(xvfb.stdout.take().expect("Xvfb's output"));
    kill.0.push(xvfb);
    let mut number = String::new();
    std::io::BufRead::read_line(&mut ready, &mut number).expect("Xvfb's display number");
    assert!(
        number.trim().parse::<u32>().is_ok(),
        "Xvfb did not start: {number:?}"
    );
    let display = format!(":{}", number.trim());
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
