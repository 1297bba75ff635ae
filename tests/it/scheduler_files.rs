//! The scheduler files edlake writes for the systems where the cron test cannot run, read by
//! real parsers: the systemd user units by `systemd-analyze verify` (the checks `systemctl`
//! applies when it loads them) and their calendar by `systemd-analyze calendar`, which must
//! name the same run times Home shows; the launchd agent by Python's `plistlib` (the format
//! launchd reads) and the Task Scheduler task, UTF-16 as `schtasks` reads it, by Python's XML
//! parser. The cron path is run for real in `tests/it/schedule.rs`.

use crate::common;

use std::path::Path;
use std::process::Command;

use chrono::{Duration, Local, NaiveDateTime};
use edlake::app::schedule::{Schedule, systemd_units};
use edlake::app::scheduler::{launchd_plist, task_file};

/// The command a schedule starts, for a lake whose path has a space and a quote in it.
fn command(s: &Schedule) -> Vec<String> {
    s.command(env!("CARGO_BIN_EXE_edlake"), "/data/district's lake 2026")
}

fn schedules() -> Vec<Schedule> {
    vec![
        Schedule::new("06:30", true, vec!["clever".into(), "sis".into()]).unwrap(),
        Schedule::new("23:05", false, vec![]).unwrap(),
    ]
}

/// The systemd tool, or `None` (see [`common::unmet`]); scripts/test installs systemd.
fn systemd_analyze() -> Option<&'static str> {
    let ok = Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        common::unmet("systemd-analyze (the systemd package; scripts/test installs it)");
        return None;
    }
    Some("systemd-analyze")
}

#[test]
fn systemd_accepts_the_units_and_runs_them_when_home_says() {
    let Some(tool) = systemd_analyze() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for (i, s) in schedules().iter().enumerate() {
        let (service, timer) = systemd_units(s, &command(s), "edlake: test").unwrap();
        let name = format!("edlake-test{i}");
        let (sp, tp) = (
            dir.path().join(format!("{name}.service")),
            dir.path().join(format!("{name}.timer")),
        );
        std::fs::write(&sp, &service).unwrap();
        std::fs::write(&tp, &timer).unwrap();
        let out = Command::new(tool)
            .args(["verify", "--man=no"])
            .arg(&sp)
            .arg(&tp)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "systemd rejects the units: {err}");
        assert!(
            err.trim().is_empty(),
            "systemd warns about the units: {err}"
        );

        let spec = timer
            .lines()
            .find_map(|l| l.strip_prefix("OnCalendar="))
            .expect("OnCalendar");
        let now = Local::now().naive_local();
        let systemd = calendar(tool, spec, 4);
        let mut ours = Vec::new();
        let mut t = now;
        for _ in 0..4 {
            t = s.next_after(t).unwrap();
            ours.push(t);
        }
        // systemd counts from the moment it runs, a little after `now`: a run time that falls
        // in between would shift its list by one, so compare from its first entry.
        let skip = ours.iter().take_while(|t| **t < systemd[0]).count();
        assert!(skip <= 1, "ours {ours:?}, systemd {systemd:?}");
        assert_eq!(ours[skip..], systemd[..4 - skip], "{spec}");
    }
}

/// The next `n` times systemd's calendar `spec` elapses, in local time.
fn calendar(tool: &str, spec: &str, n: usize) -> Vec<NaiveDateTime> {
    let out = Command::new(tool)
        .args(["calendar", &format!("--iterations={n}"), spec])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text}");
    // "    Next elapse: Wed 2026-12-02 06:30:00 UTC" then "       Iter. #2: Thu …".
    let times: Vec<NaiveDateTime> = text
        .lines()
        .filter(|l| l.contains("Next elapse:") || l.contains("Iter. #"))
        .map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            let at = words.len().checked_sub(3).expect("a time");
            NaiveDateTime::parse_from_str(&format!("{} {}", words[at], words[at + 1]), "%F %T")
                .unwrap_or_else(|e| panic!("{l}: {e}"))
        })
        .collect();
    assert_eq!(times.len(), n, "{text}");
    assert!(times[0] > Local::now().naive_local() - Duration::minutes(1));
    times
}

/// Runs a Python program with the test venv's interpreter; its stdout.
fn python(program: &str, file: &Path) -> Option<String> {
    let py = common::service_var("EDLAKE_TEST_PYTHON", "Python")?;
    let out = Command::new(py)
        .arg("-c")
        .arg(program)
        .arg(file)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "python: {err}");
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn a_plist_parser_reads_the_launchd_agent() {
    let dir = tempfile::tempdir().unwrap();
    let s = &schedules()[0];
    let file = dir.path().join("agent.plist");
    std::fs::write(
        &file,
        launchd_plist("org.edlake.edlake-abc", s, &command(s)).unwrap(),
    )
    .unwrap();
    let program = r#"
import json, plistlib, sys
with open(sys.argv[1], "rb") as f:
    p = plistlib.load(f)
print(json.dumps([p["Label"], p["ProgramArguments"], p["StartCalendarInterval"]]))
"#;
    let Some(out) = python(program, &file) else {
        return;
    };
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v[0], "org.edlake.edlake-abc");
    assert_eq!(v[1], serde_json::json!(command(s)));
    let when = v[2].as_array().unwrap();
    assert_eq!(when.len(), 5, "{v}");
    for (i, w) in when.iter().enumerate() {
        assert_eq!(
            *w,
            serde_json::json!({"Weekday": i + 1, "Hour": 6, "Minute": 30})
        );
    }
}

#[test]
fn an_xml_parser_reads_the_task_scheduler_file() {
    let dir = tempfile::tempdir().unwrap();
    let program = r#"
import json, sys, xml.etree.ElementTree as ET
ns = {"t": "http://schemas.microsoft.com/windows/2004/02/mit/task"}
root = ET.parse(sys.argv[1]).getroot()
trig = root.find("t:Triggers/t:CalendarTrigger", ns)
days = [d.tag.split("}")[1] for d in trig.findall(".//t:DaysOfWeek/*", ns)]
print(json.dumps({
    "start": trig.find("t:StartBoundary", ns).text,
    "days": days,
    "daily": trig.find("t:ScheduleByDay/t:DaysInterval", ns) is not None,
    "command": root.find("t:Actions/t:Exec/t:Command", ns).text,
    "arguments": root.find("t:Actions/t:Exec/t:Arguments", ns).text,
    "logon": root.find("t:Principals/t:Principal/t:LogonType", ns).text,
    "catch_up": root.find("t:Settings/t:StartWhenAvailable", ns).text,
}))
"#;
    for (i, s) in schedules().iter().enumerate() {
        let file = dir.path().join(format!("task{i}.xml"));
        std::fs::write(&file, task_file(s, &command(s), "clever & sis").unwrap()).unwrap();
        let Some(out) = python(program, &file) else {
            return;
        };
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["command"], env!("CARGO_BIN_EXE_edlake"));
        let expect_args = if s.sources.is_empty() {
            r#"--lake "/data/district's lake 2026" run --scheduled"#.to_string()
        } else {
            r#"--lake "/data/district's lake 2026" run --scheduled --sources clever,sis"#
                .to_string()
        };
        assert_eq!(v["arguments"], expect_args);
        assert_eq!(v["logon"], "InteractiveToken");
        assert_eq!(v["catch_up"], "true");
        let start = v["start"].as_str().unwrap();
        assert!(start.ends_with(&format!("T{}:00", s.at)), "{start}");
        if s.weekdays_only {
            assert_eq!(
                v["days"],
                serde_json::json!(["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"])
            );
        } else {
            assert_eq!(v["daily"], true);
        }
    }
}
