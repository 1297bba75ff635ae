use super::*;
use crate::app::scheduler::{launchd_plist, task_xml};

fn at(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").expect("time")
}

fn weekdays() -> Schedule {
    Schedule::new("06:30", true, vec!["clever".into(), "sis".into()]).expect("schedule")
}

fn cmd() -> Vec<String> {
    weekdays().command("/opt/ed lake/edlake", "/data/district lake")
}

#[test]
fn times_are_checked() {
    assert!(Schedule::new("6:30", false, vec![]).is_ok());
    for bad in ["25:00", "06:61", "6.30", "", "noon"] {
        assert!(
            matches!(
                Schedule::new(bad, false, vec![]),
                Err(ScheduleError::BadTime(_))
            ),
            "{bad}"
        );
    }
}

#[test]
fn next_run_skips_weekends_on_school_days_only() {
    let s = weekdays();
    // Friday 2026-11-27 at 07:00: past today's time, so Monday.
    assert_eq!(
        s.next_after(at("2026-11-27 07:00")).unwrap(),
        at("2026-11-30 06:30")
    );
    // Friday before the time: today.
    assert_eq!(
        s.next_after(at("2026-11-27 06:00")).unwrap(),
        at("2026-11-27 06:30")
    );
    // Every day: Saturday.
    let daily = Schedule::new("06:30", false, vec![]).unwrap();
    assert_eq!(
        daily.next_after(at("2026-11-27 07:00")).unwrap(),
        at("2026-11-28 06:30")
    );
}

#[test]
fn the_command_runs_the_lake_as_a_scheduled_run_of_the_chosen_sources() {
    assert_eq!(
        cmd(),
        [
            "/opt/ed lake/edlake",
            "--lake",
            "/data/district lake",
            "run",
            "--scheduled",
            "--sources",
            "clever,sis"
        ]
    );
}

#[test]
fn crontab_line_quotes_paths_and_carries_the_session_bus() {
    let env = vec![(
        "DBUS_SESSION_BUS_ADDRESS".to_string(),
        "unix:path=/run/user/1000/bus".to_string(),
    )];
    let line = crontab_line(&weekdays(), &cmd(), &env, "edlake-abc").unwrap();
    assert_eq!(
        line,
        "30 6 * * 1-5 DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/1000/bus \
         '/opt/ed lake/edlake' --lake '/data/district lake' run --scheduled --sources clever,sis \
         # edlake-abc"
    );
    assert_eq!(sh_quote("it's"), r"'it'\''s'");
}

#[test]
fn systemd_timer_runs_on_weekdays_and_catches_up() {
    let (service, timer) = systemd_units(&weekdays(), &cmd(), "edlake: test").unwrap();
    assert!(service.contains("Type=oneshot"), "{service}");
    assert!(
        service.contains(
            "ExecStart=\"/opt/ed lake/edlake\" --lake \"/data/district lake\" run --scheduled"
        ),
        "{service}"
    );
    assert!(
        timer.contains("OnCalendar=Mon..Fri *-*-* 06:30:00"),
        "{timer}"
    );
    assert!(timer.contains("Persistent=true"), "{timer}");
}

#[test]
fn launchd_plist_has_one_calendar_entry_per_school_day() {
    let plist = launchd_plist("org.edlake.edlake-abc", &weekdays(), &cmd()).unwrap();
    assert!(plist.starts_with("<?xml version=\"1.0\""));
    assert!(plist.contains("<key>Label</key><string>org.edlake.edlake-abc</string>"));
    assert!(plist.contains("<string>/opt/ed lake/edlake</string>"));
    assert!(plist.contains("<string>--scheduled</string>"));
    assert_eq!(plist.matches("<key>Weekday</key>").count(), 5);
    for d in 1..=5 {
        assert!(plist.contains(&format!("<key>Weekday</key><integer>{d}</integer>")));
    }
    assert_eq!(
        plist.matches("<key>Hour</key><integer>6</integer>").count(),
        5
    );
    assert_eq!(
        plist
            .matches("<key>Minute</key><integer>30</integer>")
            .count(),
        5
    );
    // Every day: one entry with no weekday.
    let daily = Schedule::new("18:05", false, vec![]).unwrap();
    let plist = launchd_plist("l", &daily, &cmd()).unwrap();
    assert_eq!(plist.matches("<key>Weekday</key>").count(), 0);
    assert!(plist.contains("<key>Hour</key><integer>18</integer>"));
    // The document is well-formed XML with balanced tags.
    assert_eq!(
        plist.matches("<dict>").count(),
        plist.matches("</dict>").count()
    );
}

#[test]
fn task_scheduler_xml_runs_weekdays_as_the_user_and_quotes_arguments() {
    let xml = task_xml(&weekdays(), &cmd(), "clever & sis").unwrap();
    assert!(
        xml.contains("<StartBoundary>2026-01-01T06:30:00</StartBoundary>"),
        "{xml}"
    );
    assert!(xml.contains(
        "<DaysOfWeek><Monday /><Tuesday /><Wednesday /><Thursday /><Friday /></DaysOfWeek>"
    ));
    assert!(!xml.contains("<Saturday"));
    assert!(xml.contains("<LogonType>InteractiveToken</LogonType>"));
    assert!(xml.contains("<StartWhenAvailable>true</StartWhenAvailable>"));
    assert!(xml.contains("<Command>/opt/ed lake/edlake</Command>"));
    assert!(xml.contains(
        "<Arguments>--lake &quot;/data/district lake&quot; run --scheduled --sources clever,sis</Arguments>"
    ));
    assert!(xml.contains("<Description>clever &amp; sis</Description>"));
    let daily = Schedule::new("06:30", false, vec![]).unwrap();
    assert!(
        task_xml(&daily, &cmd(), "d")
            .unwrap()
            .contains("<ScheduleByDay>")
    );
}

#[test]
fn operations_default_when_none_saved_and_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let (lake, _) = Lake::init(dir.path()).unwrap();
    let ops = Operations::load(&lake).unwrap();
    assert_eq!(ops, Operations::default());
    assert_eq!((ops.stale_after, ops.keep_logs_days), (2, 30));
    let ops = Operations {
        schedule: Some(weekdays()),
        stale_after: 3,
        ..Operations::default()
    };
    ops.save(&lake).unwrap();
    assert_eq!(Operations::load(&lake).unwrap(), ops);
}
