//! kill -9 at many moments of every command that writes: after each kill every Delta table of the
//! lake reads (with edlake and, under scripts/test, with Python `deltalake`), and once the command
//! has run to its end the lake holds exactly what a run without kills gives: no row lost, none
//! twice.

use crate::common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::cli::{csv_rows, general_rows, generate, said, spawn as edlake, wait_for_lock};
use edlake::lake::{Lake, delta};

fn finish(lake: &Path, args: &[&str]) -> Output {
    let o = edlake(lake, args).wait_with_output().unwrap();
    assert!(
        matches!(o.status.code(), Some(0 | 3)),
        "{args:?}: {}",
        said(&o)
    );
    o
}

/// Every table of the lake, as sorted lines of text (run-specific columns left out).
fn contents(lake: &Path) -> Vec<(String, Vec<String>)> {
    let lake = Lake::open(lake).unwrap();
    let mut out = Vec::new();
    for t in lake.tables() {
        let df = delta::read_table(&lake.table_dir(&t), None)
            .unwrap_or_else(|e| panic!("{} does not read: {e}", t.id()));
        let keep: Vec<String> = df
            .get_column_names()
            .iter()
            .map(|c| c.to_string())
            .filter(|c| !["rundate", "run_id"].contains(&c.as_str()))
            .collect();
        let mut lines: Vec<String> = (0..df.height())
            .map(|i| {
                keep.iter()
                    .map(|c| format!("{}", df.column(c).unwrap().get(i).unwrap()))
                    .collect::<Vec<_>>()
                    .join("|")
            })
            .collect();
        lines.sort();
        out.push((t.id(), lines));
    }
    out.sort();
    out
}

/// Every table reads with Python `deltalake` (scripts/test gives the interpreter). A table is a
/// folder whose `_delta_log` holds a commit, as `lake::delta_log::is_table` says: a kill between
/// creating a new table's log folder and its first commit leaves an empty log, which is no table
/// for any Delta reader (and the next write creates it).
fn python_reads_every_table(lake: &Path, python: Option<&str>) {
    let Some(python) = python else { return };
    let script = r#"
import os, re, sys
from deltalake import DeltaTable
n = 0
for dirpath, dirs, files in os.walk(sys.argv[1]):
    if "_delta_log" in dirs:
        log = os.listdir(os.path.join(dirpath, "_delta_log"))
        if any(re.fullmatch(r"[0-9]+\.(json|checkpoint\.parquet)", f) for f in log):
            DeltaTable(dirpath).to_pyarrow_table()
            n += 1
        dirs.clear()
print(n, flush=True)
os._exit(0)
"#;
    let o = Command::new(python)
        .args(["-c", script, lake.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "Python deltalake: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn kill_9_at_any_moment_of_any_writer_loses_and_duplicates_nothing() {
    let python = common::service_var("EDLAKE_TEST_PYTHON", "Python with deltalake");
    let dir = tempfile::tempdir().unwrap();
    let generated = generate(&dir.path().join("generated"), 1500, 15);
    let p = |s: &str| generated.join(s).to_string_lossy().to_string();
    let metadata = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("assets/modules/contoso_sis.metadata.csv")
        .to_string_lossy()
        .to_string();
    let (clever, insights, sis, roster, edx, program) = (
        p("clever"),
        p("insights"),
        p("sis"),
        p("clever_roster"),
        p("edx"),
        p("edx/program.json"),
    );
    let commands: Vec<Vec<&str>> = vec![
        vec!["ingest", "clever", "--from", &clever],
        vec!["ingest", "insights", "--from", &insights],
        vec!["ingest", "sis", "--from", &sis],
        vec!["roster", "sync", "--from", &roster],
        vec!["identity", "set", "sis=student_number"],
        vec![
            "module",
            "add",
            "district_sis",
            "--metadata",
            &metadata,
            "--batch",
            "students=delta",
            "--key",
            "students=SIS ID",
            "--replace",
        ],
        vec!["ingest", "edx", "--from", &edx],
        vec!["program", "set", "--file", &program],
    ];

    // The reference: every command once, no kills. Its durations set the kill moments.
    let reference = dir.path().join("reference");
    Lake::init(&reference).unwrap();
    let mut took = Vec::new();
    for c in &commands {
        let t = Instant::now();
        finish(&reference, c);
        took.push(t.elapsed());
    }

    let lake = dir.path().join("lake");
    Lake::init(&lake).unwrap();
    let mut kills = 0;
    for (c, took) in commands.iter().zip(&took) {
        // Kill points spread over the command's run time, and a little past it.
        for k in 1..=6u32 {
            let at = took.mul_f64(f64::from(k) / 6.0 * 1.1);
            let mut child = edlake(&lake, c);
            std::thread::sleep(at.max(Duration::from_millis(5)));
            let _ = child.kill(); // SIGKILL
            let _ = child.wait();
            kills += 1;
            contents(&lake); // every table reads with edlake
            python_reads_every_table(&lake, python.as_deref());
        }
        finish(&lake, c);
    }
    assert!(kills >= 48);
    let (want, got) = (contents(&reference), contents(&lake));
    let names = |v: &[(String, Vec<String>)]| v.iter().map(|t| t.0.clone()).collect::<Vec<_>>();
    assert_eq!(names(&got), names(&want));
    for ((name, w), (_, g)) in want.iter().zip(&got) {
        assert_eq!(g.len(), w.len(), "{name}: rows");
        assert!(g == w, "{name}: the rows differ from a run without kills");
    }
}

#[test]
fn a_second_process_never_writes_while_another_run_holds_the_lake() {
    let dir = tempfile::tempdir().unwrap();
    let generated = generate(&dir.path().join("generated"), 6000, 40);
    let p = |s: &str| generated.join(s).to_string_lossy().to_string();
    let (clever, roster, sis, program) = (
        p("clever"),
        p("clever_roster"),
        p("sis"),
        p("edx/program.json"),
    );
    let rows = csv_rows(&generated.join("clever/daily-participation"));
    let others: Vec<Vec<&str>> = vec![
        vec!["roster", "sync", "--from", &roster],
        vec!["identity", "set", "sis=student_number"],
        vec!["program", "set", "--file", &program],
        vec!["ingest", "sis", "--from", &sis],
    ];
    let mut overlapped = 0;
    for (i, other) in others.iter().enumerate() {
        let lake = dir.path().join(format!("lake{i}"));
        Lake::init(&lake).unwrap();
        let mut first = edlake(&lake, &["ingest", "clever", "--from", &clever]);
        wait_for_lock(&lake, 0);
        let second = edlake(&lake, other).wait_with_output().unwrap();
        let still_running = first.try_wait().unwrap().is_none();
        let first = first.wait_with_output().unwrap();
        assert_eq!(first.status.code(), Some(0), "{}", said(&first));
        if still_running {
            overlapped += 1;
            let why = said(&second);
            assert_eq!(
                second.status.code(),
                Some(4),
                "{other:?} ran beside an ingest: {why}"
            );
        }
        let got = general_rows(&lake, "clever", "daily_participation");
        assert_eq!(got, rows, "{other:?}");
        contents(&lake);
    }
    assert!(
        overlapped >= 3,
        "the runs hardly overlapped ({overlapped} of 4)"
    );
}

#[test]
fn a_kill_during_the_stage3_rebuild_is_finished_by_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let clever = generate(&dir.path().join("generated"), 8000, 40).join("clever");
    let args = ["ingest", "clever", "--from", clever.to_str().unwrap()];
    let reference = dir.path().join("reference");
    Lake::init(&reference).unwrap();
    finish(&reference, &args);
    let want = contents(&reference);
    let mut caught = 0;
    for attempt in 0..3 {
        let lake = dir.path().join(format!("lake{attempt}"));
        Lake::init(&lake).unwrap();
        // Killed as soon as the ingest has committed: the stage3 rebuild is running then.
        let committed = lake.join(
            "stage2/Refined/clever/v1.0/general/resource_usage/_delta_log/00000000000000000000.json",
        );
        let mut child = edlake(&lake, &args);
        let t = Instant::now();
        while !committed.exists() && t.elapsed().as_secs() < 120 {
            std::thread::sleep(Duration::from_millis(2));
        }
        let _ = child.kill();
        let _ = child.wait();
        let l = Lake::open(&lake).unwrap();
        if !l.derived_stale() {
            continue; // the rebuild had finished before the kill: try again
        }
        caught += 1;
        // No new rows: the next run still rebuilds what the killed one left.
        let o = finish(&lake, &args);
        assert!(said(&o).contains("stage3"), "{}", said(&o));
        assert!(!l.derived_stale());
        assert!(
            contents(&lake) == want,
            "the lake differs from a run without the kill"
        );
    }
    assert!(caught > 0, "no kill landed inside the stage3 rebuild");
}
