//! A lake on a small filesystem that fills up mid-run (a size-limited tmpfs the test mounts, as
//! root): the run fails saying the disk is full, the previous version reads, and once space is
//! freed the next run finishes the work with every row once.

use crate::common;

use std::path::Path;
use std::process::Output;

use edlake::lake::{Lake, Layer, TableRef};

fn ingest(lake: &Path, from: &Path) -> Output {
    common::cli::run(
        lake,
        &["ingest", "clever", "--from", from.to_str().unwrap()],
    )
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_fails_the_run_plainly_and_the_next_run_finishes() {
    if !common::cli::is_root() {
        common::unmet("root, to mount a size-limited tmpfs");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let generated = |name: &str, students: u32, days: u32| {
        common::cli::generate(&dir.path().join(name), students, days).join("clever")
    };
    let small = generated("small", 200, 3);
    let big = generated("big", 3000, 30);
    let mnt = dir.path().join("small-disk");
    std::fs::create_dir_all(&mnt).unwrap();
    let o = common::sh(
        "mount",
        &[
            "-t",
            "tmpfs",
            "-o",
            "size=6m",
            "tmpfs",
            mnt.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let _mount = common::Mount(mnt.clone());
    let lake = mnt.join("lake");
    Lake::init(&lake).unwrap();

    let o = ingest(&lake, &small);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let dp = TableRef::new(Layer::General, "clever", "v1.0", "daily_participation");
    let before = common::cli::csv_rows(&small.join("daily-participation"));
    assert_eq!(
        Lake::open(&lake).unwrap().table_state(&dp).unwrap().rows(),
        before
    );

    // The big delivery does not fit.
    let o = ingest(&lake, &big);
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(o.status.code(), Some(1), "{said}");
    assert!(said.contains("disk is full"), "{said}");
    let l = Lake::open(&lake).unwrap();
    assert_eq!(
        l.table_state(&dp).unwrap().rows(),
        before,
        "the last version reads"
    );
    for t in l.tables() {
        edlake::lake::delta::read_table(&l.table_dir(&t), None)
            .unwrap_or_else(|e| panic!("{} does not read after the full disk: {e}", t.id()));
    }

    // Space freed: the next run finishes the work.
    let o = common::sh("mount", &["-o", "remount,size=2g", mnt.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = ingest(&lake, &big);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let all = before + common::cli::csv_rows(&big.join("daily-participation"));
    assert_eq!(
        Lake::open(&lake).unwrap().table_state(&dp).unwrap().rows(),
        all
    );
}
