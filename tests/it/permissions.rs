//! Raw student data is readable only by the account that runs edlake: a second OS account
//! (`nobody`) reads nothing of a lake, and a lake left open by an older version is tightened when
//! it is opened, saying so.

use crate::common;

use std::path::Path;
use std::process::{Command, Output};

use common::cli::{is_root, run as edlake};

/// Entries under `root` (itself included) that other accounts have any permission on.
fn open_entries(root: &Path) -> Vec<String> {
    let o = Command::new("find")
        .arg(root)
        .args(["-perm", "/077", "-not", "-type", "l"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// A new lake in a folder other accounts can enter, as /tmp-like places are (`init` needs the
/// keyring for its salt; the library makes the same lake). Keep the folder alive while testing.
fn lake_in_open_folder() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    Command::new("chmod")
        .args(["755"])
        .arg(dir.path())
        .status()
        .unwrap();
    let lake = dir.path().join("lake");
    edlake::lake::Lake::init(&lake).unwrap();
    (dir, lake)
}

fn as_nobody(args: &[&str]) -> Output {
    Command::new("runuser")
        .args(["-u", "nobody", "--"])
        .args(args)
        .output()
        .unwrap()
}

#[cfg(unix)]
#[test]
fn another_account_reads_nothing_of_the_lake() {
    if !is_root() {
        common::unmet("root, to try the lake as a second OS account");
        return;
    }
    let (_dir, lake) = lake_in_open_folder();
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data");
    for (what, from) in [("clever", "clever"), ("sis", "sis")] {
        let o = edlake(
            &lake,
            &["ingest", what, "--from", data.join(from).to_str().unwrap()],
        );
        assert!(
            matches!(o.status.code(), Some(0 | 3)),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    assert!(open_entries(&lake).is_empty(), "{:?}", open_entries(&lake));
    // The raw files and every restricted table, tried as `nobody`.
    let raw = common::files_under(&lake.join("stage1"))
        .into_iter()
        .find(|p| p.to_string_lossy().contains("students"))
        .expect("a raw SIS students file");
    let o = as_nobody(&["cat", raw.to_str().unwrap()]);
    assert!(!o.status.success(), "nobody read a raw student file");
    assert!(o.stdout.is_empty());
    let o = as_nobody(&["ls", lake.to_str().unwrap()]);
    assert!(!o.status.success(), "nobody listed the lake");

    // A lake an older version left open to everyone: tightened when opened, and said.
    Command::new("chmod")
        .args(["-R", "go+rX"])
        .arg(&lake)
        .status()
        .unwrap();
    assert!(!open_entries(&lake).is_empty());
    let o = edlake(&lake, &["tables"]);
    assert!(o.status.success());
    let said = String::from_utf8_lossy(&o.stderr);
    assert!(said.contains("readable by other accounts"), "{said}");
    assert!(open_entries(&lake).is_empty(), "{:?}", open_entries(&lake));
    let o = as_nobody(&["cat", raw.to_str().unwrap()]);
    assert!(!o.status.success());
}

/// `cat FILE` as `nobody`, with `group` as its group when given.
fn cat_as_nobody(group: Option<&str>, file: &Path) -> Output {
    let mut c = Command::new("runuser");
    if let Some(g) = group {
        c.args(["-g", g]);
    }
    c.args(["-u", "nobody", "--", "cat"])
        .arg(file)
        .output()
        .unwrap()
}

#[cfg(unix)]
#[test]
fn a_lake_shared_with_the_data_team_is_readable_by_its_group_only() {
    if !is_root() {
        common::unmet("root, to make a group and try the lake as its member");
        return;
    }
    let team = "edlake-team-test";
    assert!(
        Command::new("groupadd")
            .args(["-f", team])
            .status()
            .unwrap()
            .success()
    );
    let (_dir, lake) = lake_in_open_folder();
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data");
    let ingest = |what: &str| {
        let o = edlake(
            &lake,
            &["ingest", what, "--from", data.join(what).to_str().unwrap()],
        );
        assert!(
            matches!(o.status.code(), Some(0 | 3)),
            "{}",
            common::cli::said(&o)
        );
    };
    ingest("clever");

    // An unknown group is refused by name; nothing changes.
    let o = edlake(&lake, &["access", "--group", "no-such-group-xyz"]);
    assert_eq!(o.status.code(), Some(2), "{}", common::cli::said(&o));
    assert!(common::cli::said(&o).contains("no OS group named `no-such-group-xyz`"));

    let o = edlake(&lake, &["access", "--group", team]);
    assert!(o.status.success(), "{}", common::cli::said(&o));
    // Files written after sharing (another source) belong to the team too.
    ingest("sis");
    let raw = |name: &str| {
        common::files_under(&lake.join("stage1"))
            .into_iter()
            .find(|p| p.to_string_lossy().contains(name))
            .unwrap_or_else(|| panic!("a raw {name} file"))
    };
    for f in [raw("daily-participation"), raw("students")] {
        let o = cat_as_nobody(Some(team), &f);
        assert!(
            o.status.success(),
            "{}: {}",
            f.display(),
            common::cli::said(&o)
        );
        let o = cat_as_nobody(None, &f);
        assert!(
            !o.status.success(),
            "an account outside the team read {}",
            f.display()
        );
    }
    // Nothing is open to other accounts; the change is on the audit record.
    let others = Command::new("find")
        .arg(&lake)
        .args(["-perm", "/007", "-not", "-type", "l"])
        .output()
        .unwrap();
    assert!(
        others.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&others.stdout)
    );
    let entries = edlake::audit::entries(&edlake::lake::Lake::open(&lake).unwrap()).unwrap();
    assert!(
        entries
            .iter()
            .any(|e| e.action == "access-change" && e.detail.contains(team))
    );

    // Owner-only again: the team reads nothing.
    let o = edlake(&lake, &["access", "--private"]);
    assert!(o.status.success(), "{}", common::cli::said(&o));
    let o = cat_as_nobody(Some(team), &raw("students"));
    assert!(!o.status.success(), "the team still reads the lake");
}
