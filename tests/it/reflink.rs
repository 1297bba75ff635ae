//! A local folder lands by cloning where the filesystem can (an XFS image the test mounts, as
//! root; XFS is what a RHEL server's disks have): each stage1 file shares its blocks with the
//! source instead of being written again, yet it is owner-only whatever the source's mode, its
//! bytes and recorded SHA-256 are the source's, and the tables hold every row.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use edlake::lake::manifest::Manifest;
use edlake::lake::{Lake, Layer, TableRef};
use sha2::{Digest, Sha256};

use crate::common;

/// Whether every extent of `file` is shared with another file (`filefrag -v` flags).
fn blocks_shared(file: &Path) -> bool {
    // Written blocks are placed on disk only when flushed; map them after that.
    std::fs::File::open(file).unwrap().sync_all().unwrap();
    let o = common::sh("filefrag", &["-v", file.to_str().unwrap()]);
    assert!(o.status.success(), "{}", common::cli::said(&o));
    let text = String::from_utf8_lossy(&o.stdout).to_string();
    let extents: Vec<&str> = text
        .lines()
        .filter(|l| {
            l.trim_start()
                .split(':')
                .next()
                .is_some_and(|n| n.trim().parse::<u32>().is_ok())
        })
        .collect();
    assert!(!extents.is_empty(), "no extents listed:\n{text}");
    extents.iter().all(|l| l.contains("shared"))
}

fn sha256(file: &Path) -> String {
    let bytes = std::fs::read(file).unwrap();
    Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(target_os = "linux")]
#[test]
fn a_local_folder_lands_as_a_clone_on_xfs_and_stays_owner_only() {
    if !common::cli::is_root() {
        common::unmet("root, to mount an XFS image");
        return;
    }
    if !common::sh("sh", &["-c", "command -v mkfs.xfs"])
        .status
        .success()
    {
        common::unmet("mkfs.xfs (xfsprogs; scripts/test installs it)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("xfs.img");
    // Sparse; 512 MiB is above mkfs.xfs's smallest filesystem.
    std::fs::File::create(&img)
        .unwrap()
        .set_len(512 << 20)
        .unwrap();
    let o = common::sh(
        "mkfs.xfs",
        &["-q", "-m", "reflink=1", img.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", common::cli::said(&o));
    let mnt = dir.path().join("xfs");
    std::fs::create_dir_all(&mnt).unwrap();
    let o = common::sh(
        "mount",
        &["-o", "loop", img.to_str().unwrap(), mnt.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", common::cli::said(&o));
    let _mount = common::Mount(mnt.clone());

    let clever = common::cli::generate(&mnt.join("delivery"), 40, 3).join("clever");
    // A share's files are often readable by everyone; the landed copies must not be.
    let mut source_sha = BTreeMap::new();
    for f in common::files_under(&clever) {
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        *source_sha.entry(sha256(&f)).or_insert(0) += 1;
    }
    let lake = mnt.join("lake");
    Lake::init(&lake).unwrap();
    let o = common::cli::run(
        &lake,
        &["ingest", "clever", "--from", clever.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(0), "{}", common::cli::said(&o));

    let l = Lake::open(&lake).unwrap();
    let manifest = Manifest::load(&l).unwrap();
    let mut landed_sha = BTreeMap::new();
    for f in &manifest.landed {
        let path = lake.join(&f.stage1_path);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{} is {mode:o}", f.stage1_path);
        assert!(
            blocks_shared(&path),
            "{} was written, not cloned",
            f.stage1_path
        );
        assert_eq!(sha256(&path), f.sha256, "{}", f.stage1_path);
        *landed_sha.entry(f.sha256.clone()).or_insert(0) += 1;
    }
    assert_eq!(
        landed_sha, source_sha,
        "every source file landed once, unchanged"
    );

    // The check tells a written copy from a clone.
    let first = lake.join(&manifest.landed[0].stage1_path);
    let plain = mnt.join("written-copy.csv");
    let o = common::sh(
        "cp",
        &[
            "--reflink=never",
            first.to_str().unwrap(),
            plain.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", common::cli::said(&o));
    assert!(!blocks_shared(&plain));

    let dp = TableRef::new(Layer::General, "clever", "v1.0", "daily_participation");
    assert_eq!(
        l.table_state(&dp).unwrap().rows(),
        common::cli::csv_rows(&clever.join("daily-participation"))
    );
}
