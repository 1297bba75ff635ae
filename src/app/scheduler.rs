//! Installs a lake's schedule into the operating system's own scheduler, so it runs with the app
//! closed: a systemd user timer on Linux (cron where there is no systemd user session), a
//! launchd agent on macOS, a Task Scheduler task on Windows. Each entry is named after the lake's
//! id, so several lakes keep their own schedules and setting one again replaces it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::schedule::{Schedule, ScheduleError, crontab_line, systemd_units, xml_escape};
use crate::lake::Lake;

/// Which scheduler carries the schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    SystemdUser,
    Cron,
    Launchd,
    TaskScheduler,
}

impl Backend {
    /// The scheduler of this system: on Linux a systemd user timer when the user's systemd
    /// answers, else cron (servers and containers without a user session). Asked once per
    /// process: the Schedule panel names it in every frame it draws, and asking means running
    /// `systemctl`, which must not happen on the UI thread each frame.
    pub fn detect() -> Backend {
        static DETECTED: std::sync::OnceLock<Backend> = std::sync::OnceLock::new();
        *DETECTED.get_or_init(Backend::ask)
    }

    fn ask() -> Backend {
        if cfg!(target_os = "macos") {
            Backend::Launchd
        } else if cfg!(windows) {
            Backend::TaskScheduler
        } else if std::env::var_os("EDLAKE_SCHEDULER").is_some_and(|v| v == "cron") {
            Backend::Cron
        } else if quiet(Command::new("systemctl").args(["--user", "show-environment"])) {
            Backend::SystemdUser
        } else {
            Backend::Cron
        }
    }

    /// In words, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Backend::SystemdUser => "a systemd user timer",
            Backend::Cron => "your crontab",
            Backend::Launchd => "a launchd agent",
            Backend::TaskScheduler => "a Task Scheduler task",
        }
    }
}

/// Runs a command without showing its output; whether it succeeded.
fn quiet(c: &mut Command) -> bool {
    c.stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs a command (optionally with `input` on its standard input); its standard output, or why
/// it failed.
fn output(mut c: Command, what: &str, input: Option<&str>) -> Result<String, ScheduleError> {
    use std::io::Write;
    let fail = |why: String| ScheduleError::System {
        what: what.to_string(),
        why,
    };
    c.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = c.spawn().map_err(|e| fail(e.to_string()))?;
    if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
        stdin
            .write_all(text.as_bytes())
            .map_err(|e| fail(e.to_string()))?;
    }
    let out = child.wait_with_output().map_err(|e| fail(e.to_string()))?;
    if !out.status.success() {
        return Err(fail(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The name every scheduler entry of this lake carries.
pub fn entry_name(lake: &Lake) -> String {
    let id: String = lake
        .info()
        .id
        .chars()
        .filter(|c| *c != '-')
        .take(12)
        .collect();
    format!("edlake-{id}")
}

/// Installs `s` for `lake`, replacing an earlier one; says where it went.
pub fn install(lake: &Lake, s: &Schedule, exe: &Path) -> Result<String, ScheduleError> {
    let command = s.command(&exe.to_string_lossy(), &lake.root().to_string_lossy());
    let name = entry_name(lake);
    let backend = Backend::detect();
    match backend {
        Backend::Cron => {
            let env = session_env();
            let line = crontab_line(s, &command, &env, &name)?;
            let mut table = crontab_without(&name)?;
            table.push(line);
            write_crontab(&table)?;
        }
        Backend::SystemdUser => {
            let (service, timer) =
                systemd_units(s, &command, &format!("edlake: {}", s.describe()))?;
            let dir = config_home().join("systemd/user");
            write(&dir.join(format!("{name}.service")), &service)?;
            write(&dir.join(format!("{name}.timer")), &timer)?;
            systemctl(&["daemon-reload"])?;
            systemctl(&["enable", "--now", &format!("{name}.timer")])?;
        }
        Backend::Launchd => {
            let label = format!("org.edlake.{name}");
            let path = home().join(format!("Library/LaunchAgents/{label}.plist"));
            write(&path, &launchd_plist(&label, s, &command)?)?;
            // Unloading an agent that is not loaded fails harmlessly.
            quiet(Command::new("launchctl").arg("unload").arg(&path));
            let mut c = Command::new("launchctl");
            c.args(["load", "-w"]).arg(&path);
            output(c, "load the launchd agent", None)?;
        }
        Backend::TaskScheduler => {
            let path = std::env::temp_dir().join(format!("{name}.xml"));
            std::fs::write(&path, task_file(s, &command, &s.describe())?).map_err(|e| {
                ScheduleError::System {
                    what: "write the task file".into(),
                    why: e.to_string(),
                }
            })?;
            let mut c = Command::new("schtasks");
            c.args(["/Create", "/TN", &format!("edlake\\{name}"), "/XML"])
                .arg(&path)
                .arg("/F");
            let r = output(c, "create the scheduled task", None);
            let _ = std::fs::remove_file(&path);
            r?;
        }
    }
    Ok(backend.name().to_string())
}

/// Removes the lake's entry from the scheduler; whether there was one.
pub fn uninstall(lake: &Lake) -> Result<bool, ScheduleError> {
    let name = entry_name(lake);
    match Backend::detect() {
        Backend::Cron => {
            let before = crontab()?;
            let after = crontab_without(&name)?;
            if after.len() == before.len() {
                return Ok(false);
            }
            write_crontab(&after)?;
            Ok(true)
        }
        Backend::SystemdUser => {
            let dir = config_home().join("systemd/user");
            let timer = dir.join(format!("{name}.timer"));
            if !timer.exists() {
                return Ok(false);
            }
            quiet(Command::new("systemctl").args([
                "--user",
                "disable",
                "--now",
                &format!("{name}.timer"),
            ]));
            let _ = std::fs::remove_file(&timer);
            let _ = std::fs::remove_file(dir.join(format!("{name}.service")));
            systemctl(&["daemon-reload"])?;
            Ok(true)
        }
        Backend::Launchd => {
            let path = home().join(format!("Library/LaunchAgents/org.edlake.{name}.plist"));
            if !path.exists() {
                return Ok(false);
            }
            quiet(Command::new("launchctl").arg("unload").arg(&path));
            let _ = std::fs::remove_file(&path);
            Ok(true)
        }
        Backend::TaskScheduler => Ok(quiet(Command::new("schtasks").args([
            "/Delete",
            "/TN",
            &format!("edlake\\{name}"),
            "/F",
        ]))),
    }
}

/// Whether the lake's entry is in the scheduler.
pub fn is_installed(lake: &Lake) -> Result<bool, ScheduleError> {
    let name = entry_name(lake);
    Ok(match Backend::detect() {
        Backend::Cron => {
            let marker = format!("# {name}");
            crontab()?.iter().any(|l| l.trim_end().ends_with(&marker))
        }
        Backend::SystemdUser => config_home()
            .join(format!("systemd/user/{name}.timer"))
            .exists(),
        Backend::Launchd => home()
            .join(format!("Library/LaunchAgents/org.edlake.{name}.plist"))
            .exists(),
        Backend::TaskScheduler => {
            quiet(Command::new("schtasks").args(["/Query", "/TN", &format!("edlake\\{name}")]))
        }
    })
}

/// The environment a cron job needs to reach the desktop session's keyring (cron starts jobs
/// with almost none).
fn session_env() -> Vec<(String, String)> {
    ["DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR"]
        .into_iter()
        .filter_map(|k| std::env::var(k).ok().map(|v| (k.to_string(), v)))
        .collect()
}

/// The user's crontab, a line each (empty when there is none).
pub fn crontab() -> Result<Vec<String>, ScheduleError> {
    let out = Command::new("crontab")
        .arg("-l")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| ScheduleError::System {
            what: "read your crontab (is cron installed?)".into(),
            why: e.to_string(),
        })?;
    // `crontab -l` fails when the user has no crontab yet.
    if !out.status.success() {
        return Ok(Vec::new());
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect())
}

/// The crontab without this lake's line.
fn crontab_without(name: &str) -> Result<Vec<String>, ScheduleError> {
    let marker = format!("# {name}");
    Ok(crontab()?
        .into_iter()
        .filter(|l| !l.trim_end().ends_with(&marker))
        .collect())
}

fn write_crontab(lines: &[String]) -> Result<(), ScheduleError> {
    let mut text = lines.join("\n");
    text.push('\n');
    let mut c = Command::new("crontab");
    c.arg("-");
    output(c, "write your crontab", Some(&text)).map(|_| ())
}

fn systemctl(args: &[&str]) -> Result<(), ScheduleError> {
    let mut c = Command::new("systemctl");
    c.arg("--user").args(args);
    output(c, &format!("run systemctl --user {}", args.join(" ")), None).map(|_| ())
}

fn write(path: &Path, text: &str) -> Result<(), ScheduleError> {
    crate::lake::write_atomic(path, text.as_bytes()).map_err(ScheduleError::from)
}

fn home() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn config_home() -> PathBuf {
    std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| home().join(".config"))
}

/// A launchd agent: the command at the schedule's time (one calendar entry per weekday when it
/// runs on school days only).
pub fn launchd_plist(
    label: &str,
    s: &Schedule,
    command: &[String],
) -> Result<String, ScheduleError> {
    let (h, m) = s.hour_minute()?;
    let args: String = command
        .iter()
        .map(|a| format!("    <string>{}</string>\n", xml_escape(a)))
        .collect();
    let entry = |day: Option<u32>| {
        let wd = day
            .map(|d| format!("      <key>Weekday</key><integer>{d}</integer>\n"))
            .unwrap_or_default();
        format!(
            "    <dict>\n{wd}      <key>Hour</key><integer>{h}</integer>\n      <key>Minute</key><integer>{m}</integer>\n    </dict>\n"
        )
    };
    let when: String = if s.weekdays_only {
        (1..=5).map(|d| entry(Some(d))).collect()
    } else {
        entry(None)
    };
    Ok(format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n\
         <plist version=\"1.0\">\n<dict>\n  <key>Label</key><string>{}</string>\n  <key>ProgramArguments</key>\n  <array>\n{args}  </array>\n  <key>StartCalendarInterval</key>\n  <array>\n{when}  </array>\n</dict>\n</plist>\n",
        xml_escape(label)
    ))
}

/// A Task Scheduler task (its XML): the command daily or on weekdays at the schedule's time,
/// as the user who set it, only when they are logged on (the keyring is theirs), started as
/// soon as possible after a missed start.
pub fn task_xml(
    s: &Schedule,
    command: &[String],
    description: &str,
) -> Result<String, ScheduleError> {
    let (h, m) = s.hour_minute()?;
    let trigger = if s.weekdays_only {
        "<ScheduleByWeek><WeeksInterval>1</WeeksInterval><DaysOfWeek><Monday /><Tuesday /><Wednesday /><Thursday /><Friday /></DaysOfWeek></ScheduleByWeek>"
    } else {
        "<ScheduleByDay><DaysInterval>1</DaysInterval></ScheduleByDay>"
    };
    let (exe, args) = command
        .split_first()
        .map_or(("", &[][..]), |(e, a)| (e.as_str(), a));
    let args: Vec<String> = args.iter().map(|a| windows_quote(a)).collect();
    Ok(format!(
        "<?xml version=\"1.0\" encoding=\"UTF-16\"?>\n\
         <Task version=\"1.2\" xmlns=\"http://schemas.microsoft.com/windows/2004/02/mit/task\">\n\
         \x20 <RegistrationInfo><Description>{}</Description></RegistrationInfo>\n\
         \x20 <Triggers><CalendarTrigger><StartBoundary>2026-01-01T{h:02}:{m:02}:00</StartBoundary><Enabled>true</Enabled>{trigger}</CalendarTrigger></Triggers>\n\
         \x20 <Principals><Principal id=\"Author\"><LogonType>InteractiveToken</LogonType><RunLevel>LeastPrivilege</RunLevel></Principal></Principals>\n\
         \x20 <Settings><MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy><StartWhenAvailable>true</StartWhenAvailable><DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries><ExecutionTimeLimit>PT12H</ExecutionTimeLimit><Enabled>true</Enabled></Settings>\n\
         \x20 <Actions Context=\"Author\"><Exec><Command>{}</Command><Arguments>{}</Arguments></Exec></Actions>\n\
         </Task>\n",
        xml_escape(description),
        xml_escape(exe),
        xml_escape(&args.join(" "))
    ))
}

/// The task file `schtasks /Create /XML` reads: [`task_xml`] in UTF-16 (little-endian, with
/// its byte-order mark), the encoding its declaration names.
pub fn task_file(
    s: &Schedule,
    command: &[String],
    description: &str,
) -> Result<Vec<u8>, ScheduleError> {
    let xml = task_xml(s, command, description)?;
    let mut bytes = vec![0xFF, 0xFE];
    bytes.extend(xml.encode_utf16().flat_map(|u| u.to_le_bytes()));
    Ok(bytes)
}

/// Quotes an argument for a Windows command line.
fn windows_quote(s: &str) -> String {
    if !s.is_empty() && !s.chars().any(|c| c.is_whitespace() || c == '"') {
        return s.to_string();
    }
    format!("\"{}\"", s.replace('"', "\\\""))
}
