//! Who may read the lake: only the account that runs edlake. Raw files, Ingested tables,
//! lookups, quarantine, the audit log and exports all hold student data, so every folder is
//! owner-only (0700) and every file too (0600). On Windows a folder under the user's profile is
//! private to the user already; ACLs are not changed there.

use std::path::Path;

use super::LakeError;

/// Makes everything this process creates from now on owner-only (umask 077). A process that
/// opens a lake writes student data, so it is set when a lake is created or opened.
pub fn owner_only_from_now_on() {
    #[cfg(unix)]
    // SAFETY: umask only swaps the process's file-creation mask; it cannot fail.
    unsafe {
        libc::umask(0o077);
    }
}

/// Removes every group and other permission under `root` (the root included). Returns how many
/// files and folders were changed, so the caller can say so.
pub fn tighten(root: &Path) -> Result<usize, LakeError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mut changed = 0;
        let mut stack = vec![root.to_path_buf()];
        while let Some(p) = stack.pop() {
            let meta = match std::fs::symlink_metadata(&p) {
                Ok(m) => m,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(LakeError::io(&p, e)),
            };
            if meta.file_type().is_symlink() {
                continue;
            }
            let mode = meta.permissions().mode();
            if mode & 0o077 != 0 {
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode & !0o077))
                    .map_err(|e| LakeError::io(&p, e))?;
                changed += 1;
            }
            if meta.is_dir() {
                let rd = std::fs::read_dir(&p).map_err(|e| LakeError::io(&p, e))?;
                stack.extend(rd.flatten().map(|e| e.path()));
            }
        }
        Ok(changed)
    }
    #[cfg(not(unix))]
    {
        let _ = root;
        Ok(0)
    }
}

/// Whether other accounts could reach into `root` (group or other bits on it).
pub fn open_to_others(root: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(root).is_ok_and(|m| m.permissions().mode() & 0o077 != 0)
    }
    #[cfg(not(unix))]
    {
        let _ = root;
        false
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn tighten_removes_group_and_other_bits_everywhere() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("lake");
        std::fs::create_dir_all(root.join("stage1/a")).unwrap();
        std::fs::write(root.join("stage1/a/f.csv"), "x").unwrap();
        for (p, m) in [
            ("", 0o755),
            ("stage1", 0o775),
            ("stage1/a", 0o755),
            ("stage1/a/f.csv", 0o644),
        ] {
            std::fs::set_permissions(root.join(p), std::fs::Permissions::from_mode(m)).unwrap();
        }
        assert!(open_to_others(&root));
        assert_eq!(tighten(&root).unwrap(), 4);
        assert!(!open_to_others(&root));
        let mode = |p: &str| {
            std::fs::metadata(root.join(p))
                .unwrap()
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode("stage1/a/f.csv"), 0o600);
        assert_eq!(mode("stage1"), 0o700);
        assert_eq!(tighten(&root).unwrap(), 0, "nothing left to change");
    }
}
