//! The `edlake` command as users script it, against the real OS keyring (GNOME Keyring in a
//! private D-Bus session, started by scripts/test).

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Env {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        Env { _dir: dir, root }
    }

    fn lake(&self) -> PathBuf {
        self.root.join("lake")
    }

    fn edlake(&self, args: &[&str]) -> Output {
        self.edlake_stdin(args, "")
    }

    fn edlake_stdin(&self, args: &[&str], stdin: &str) -> Output {
        use std::io::Write;
        let mut child = Command::new(env!("CARGO_BIN_EXE_edlake"))
            .arg("--lake")
            .arg(self.lake())
            .args(args)
            .env("EDLAKE_CONFIG_DIR", self.root.join("config"))
            .env_remove("EDLAKE_LAKE")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The real keyring, or a printed skip when it is absent outside scripts/test.
fn keyring_available() -> bool {
    match edlake::secrets::Secrets::os().probe() {
        Ok(()) => true,
        Err(e) if std::env::var("EDLAKE_TEST_KEYRING").as_deref() != Ok("1") => {
            common::unmet(&format!("an OS keyring ({e})"));
            false
        }
        Err(e) => panic!("scripts/test promised a keyring but it is not usable: {e}"),
    }
}

fn shared_clever() -> Option<PathBuf> {
    common::shared_data("clever")
}

/// The general table's preview shows no raw id, and the first raw id of the Clever file
/// appears as its pseudonym, `sha256(value ‖ salt)` in hex.
fn preview_shows_each_raw_id_as_its_salted_sha256(env: &Env, src: &Path, salt: &str) {
    let o = env.edlake(&[
        "preview",
        "general/clever/daily_participation",
        "--limit",
        "5",
        "--json",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let preview: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let first = &preview[0];
    assert!(first.get("sis_id").is_none());
    let expected = {
        use sha2::Digest;
        let raw = csv_first(&src.join("daily-participation/Students/Students.csv"));
        let mut h = sha2::Sha256::new();
        h.update(raw.as_bytes());
        h.update(salt.as_bytes());
        h.finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let all = env.edlake(&[
        "preview",
        "daily_participation",
        "--limit",
        "15000",
        "--json",
        "--columns",
        "sis_id_pseudonym",
    ]);
    let all: serde_json::Value = serde_json::from_slice(&all.stdout).unwrap();
    assert!(
        all.as_array()
            .unwrap()
            .iter()
            .any(|r| r["sis_id_pseudonym"] == expected.as_str())
    );
}

#[test]
fn init_ingest_tables_preview_and_rerun() {
    if !keyring_available() {
        return;
    }
    let Some(src) = shared_clever() else { return };
    let env = Env::new();
    let o = env.edlake(&["init"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("stored in the OS keyring"),
        "{}",
        text(&o)
    );
    let salt = env.edlake(&["salt", "export", "--print"]);
    let salt = String::from_utf8_lossy(&salt.stdout).trim().to_string();
    assert_eq!(salt.len(), 24, "16 random bytes in base64");
    assert!(
        !std::fs::read_dir(env.lake().join("_edlake"))
            .unwrap()
            .any(|e| {
                std::fs::read_to_string(e.unwrap().path()).is_ok_and(|s| s.contains(&salt))
            }),
        "the salt is never written into the lake"
    );

    let o = env.edlake(&["ingest", "clever", "--from", src.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("24836 rows ingested"), "{}", text(&o));
    assert!(!text(&o).contains(&salt));

    let o = env.edlake(&["tables", "--json"]);
    let tables: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let rows = |id: &str| {
        tables
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["table"] == id)
            .map(|t| t["rows"].as_i64().unwrap())
    };
    assert_eq!(rows("general/clever/daily_participation"), Some(15_000));
    assert_eq!(rows("general/clever/resource_usage"), Some(9_836));
    assert_eq!(
        rows("sensitive/clever/daily_participation_lookup"),
        Some(600)
    );

    preview_shows_each_raw_id_as_its_salted_sha256(&env, &src, &salt);

    // Restricted tables need --unlock, which is audited.
    let o = env.edlake(&["preview", "ingested/clever/daily_participation"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--unlock"));
    let o = env.edlake(&[
        "preview",
        "ingested/clever/daily_participation",
        "--unlock",
        "--limit",
        "1",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let audit = std::fs::read_to_string(env.lake().join("_edlake/audit.jsonl")).unwrap();
    assert!(audit.contains("ingested/clever/daily_participation"));

    // Second identical run: nothing new.
    let o = env.edlake(&[
        "ingest",
        "clever",
        "--from",
        src.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["rows_ingested"], 0);
    assert_eq!(report["files_skipped"], 2);
    let o = env.edlake(&["runs"]);
    assert_eq!(
        text(&o)
            .lines()
            .filter(|l| l.contains("ingest clever"))
            .count(),
        2
    );

    // Salt export needs an explicit flag; importing a different salt over data is refused.
    let o = env.edlake(&["salt", "export"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!text(&o).contains(&salt));
    let o = env.edlake_stdin(&["salt", "import"], "c29tZSBvdGhlciBzYWx0IQ==\n");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

fn csv_first(path: &Path) -> String {
    let mut r = csv::Reader::from_path(path).unwrap();
    r.records().next().unwrap().unwrap()[1].to_string()
}

#[test]
fn an_imported_oea_salt_gives_the_same_pseudonyms() {
    if !keyring_available() {
        return;
    }
    let env = Env::new();
    assert!(env.edlake(&["init"]).status.success());
    let o = env.edlake_stdin(&["salt", "import", "--replace"], "district-oea-salt\n");
    assert!(o.status.success(), "{}", text(&o));
    let src = env.root.join("in/daily-participation/Students/a.csv");
    std::fs::create_dir_all(src.parent().unwrap()).unwrap();
    std::fs::write(&src, "date,sis_id,clever_user_id,clever_school_id,school_name,active,num_logins,num_resources_accessed\n2022-01-03,12345,u1,k1,A,True,1,1\n").unwrap();
    let o = env.edlake(&[
        "ingest",
        "clever",
        "--from",
        env.root.join("in").to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let o = env.edlake(&["preview", "general/clever/daily_participation", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    // printf '12345district-oea-salt' | sha256sum
    assert_eq!(
        v[0]["sis_id_pseudonym"],
        "60c0ff643924aa8ac6b1fec74ccf8bb620038c5d098c07d40332ac8b70361b28"
    );
}

#[test]
fn errors_name_the_problem_and_use_distinct_exit_codes() {
    let env = Env::new();
    let o = env.edlake(&["tables"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("edlake --lake") && text(&o).contains("init"),
        "{}",
        text(&o)
    );
    if !keyring_available() {
        return;
    }
    assert!(env.edlake(&["init"]).status.success());
    let o = env.edlake(&["ingest", "clever", "--from", "/nonexistent/clever"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("/nonexistent/clever"));
    let o = env.edlake(&["preview", "no_such_table"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("edlake tables"));
}

#[test]
fn generated_data_is_deterministic_and_matches_the_committed_sample() {
    let env = Env::new();
    let a = env.root.join("a");
    let b = env.root.join("b");
    for d in [&a, &b] {
        let o = env.edlake(&[
            "gen-test-data",
            "--out",
            d.to_str().unwrap(),
            "--students",
            "50",
            "--days",
            "3",
            "--seed",
            "9",
        ]);
        assert!(o.status.success(), "{}", text(&o));
    }
    assert_eq!(tree(&a), tree(&b));
    // test_data/ is what the generator makes with the documented parameters.
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data");
    let fresh = env.root.join("fresh");
    let params = std::fs::read_to_string(committed.join("PARAMS")).unwrap();
    let mut args = vec!["gen-test-data", "--out", fresh.to_str().unwrap()];
    args.extend(params.split_whitespace());
    assert!(env.edlake(&args).status.success());
    let mut want = tree(&committed);
    want.retain(|(p, _)| p != "PARAMS" && p != "README.md");
    assert_eq!(
        tree(&fresh),
        want,
        "regenerate test_data/ with: edlake gen-test-data --out test_data {params}"
    );
}

fn tree(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    fn walk(root: &Path, d: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    walk(root, root, &mut out);
    out.sort();
    out
}

/// With no reachable keyring (no D-Bus session bus) edlake explains what to do instead of
/// writing secrets anywhere else, and `--session-secrets` keeps a salt in memory for one run.
#[test]
fn without_a_keyring_secrets_stay_in_memory_and_the_error_says_what_to_do() {
    let env = Env::new();
    let run = |args: &[&str], stdin: &str| {
        use std::io::Write;
        let mut child = Command::new(env!("CARGO_BIN_EXE_edlake"))
            .arg("--lake")
            .arg(env.lake())
            .args(args)
            .env("EDLAKE_CONFIG_DIR", env.root.join("config"))
            .env(
                "DBUS_SESSION_BUS_ADDRESS",
                "unix:path=/nonexistent/edlake-test-bus",
            )
            .env("XDG_DATA_HOME", env.root.join("xdg"))
            .env_remove("EDLAKE_LAKE")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes())
            .expect("write");
        child.wait_with_output().expect("wait")
    };
    let o = run(&["init"], "");
    assert!(!o.status.success(), "{}", text(&o));
    let msg = text(&o);
    assert!(msg.contains("--session-secrets"), "{msg}");
    // Nothing secret was written as a file instead.
    let files: Vec<_> = common::files_under(&env.root);
    assert!(
        files
            .iter()
            .all(|p| !p.to_string_lossy().contains("keyring")),
        "{files:?}"
    );

    // A lake made elsewhere, a salt typed for this run only.
    edlake::lake::Lake::init(&env.lake()).expect("lake");
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data/clever");
    let salt = "a-salt-for-this-run-only-0123456789";
    let o = run(
        &[
            "--session-secrets",
            "ingest",
            "clever",
            "--from",
            data.to_str().expect("utf8"),
        ],
        &format!("{salt}\n"),
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("Ingested"), "{}", text(&o));
    for f in common::files_under(&env.root) {
        let bytes = std::fs::read(&f).unwrap_or_default();
        assert!(
            !bytes.windows(salt.len()).any(|w| w == salt.as_bytes()),
            "the salt was written to {}",
            f.display()
        );
    }
}

#[test]
fn module_check_roster_identity_and_program_commands() {
    if !keyring_available() {
        return;
    }
    let env = Env::new();
    assert!(env.edlake(&["init"]).status.success());
    // `module check` compares data with a metadata.csv (exit 3 when something does not line up).
    let meta = env.root.join("metadata.csv");
    std::fs::write(
        &meta,
        "Entity Name,Attribute Name,Attribute Data Type,Pseudonymization\npeople,,,\n,id,string,hash\n,grade,integer,no-op\n",
    )
    .unwrap();
    let people = env.root.join("feed/people/p.csv");
    std::fs::create_dir_all(people.parent().unwrap()).unwrap();
    std::fs::write(&people, "id,grade\na,9\nb,K\n").unwrap();
    let o = env.edlake(&[
        "module",
        "check",
        "--metadata",
        meta.to_str().unwrap(),
        "--from",
        env.root.join("feed").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(text(&o).contains("row 2 holds `K`"), "{}", text(&o));

    let data = env.root.join("data");
    let o = env.edlake(&[
        "gen-test-data",
        "--out",
        data.to_str().unwrap(),
        "--students",
        "120",
        "--days",
        "5",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let from = |s: &str| data.join(s).to_string_lossy().to_string();
    let o = env.edlake(&["ingest", "sis", "--from", &from("sis")]);
    assert!(o.status.success(), "{}", text(&o));
    let o = env.edlake(&["roster", "sync", "--from", &from("clever_roster")]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("transferred"), "{}", text(&o));
    // A wrong key for the SIS: the rates before and after say so.
    let o = env.edlake(&["identity", "set", "sis=state_id"]);
    assert!(o.status.success(), "{}", text(&o));
    let out = text(&o);
    let after = &out[out.find("After:").unwrap()..];
    assert!(
        after.contains("state_id") && after.contains("0.0 %"),
        "{out}"
    );
    let o = env.edlake(&["identity", "set", "sis=whatever"]);
    assert_eq!(o.status.code(), Some(2));
    let log = env.root.join("ops.csv");
    let o = env.edlake(&["roster", "log", "--csv", log.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        std::fs::read_to_string(&log)
            .unwrap()
            .starts_with("synced_at,snapshot")
    );

    // edX: the outreach export needs --unlock and is audited.
    let o = env.edlake(&["ingest", "edx", "--from", &from("edx")]);
    assert!(o.status.success(), "{}", text(&o));
    let program = data.join("edx/program.json");
    let o = env.edlake(&["program", "set", "--file", program.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("completed the program"), "{}", text(&o));
    let list = env.root.join("next.csv");
    let args = [
        "program",
        "outreach",
        "next-course-candidates",
        "--out",
        list.to_str().unwrap(),
    ];
    let o = env.edlake(&args);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(!list.exists());
    let mut unlocked = args.to_vec();
    unlocked.push("--unlock");
    let o = env.edlake(&unlocked);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        std::fs::read_to_string(&list)
            .unwrap()
            .starts_with("learner_id,name,email")
    );
    let audit = std::fs::read_to_string(env.lake().join("_edlake/audit.jsonl")).unwrap();
    assert!(audit.contains("next_course_candidates") && audit.contains("\"export\""));
}
