//! Who may read the lake: only the account that runs edlake, or also one OS group (the
//! district's data team) when the lake is shared with it. Raw files, Ingested tables, lookups,
//! quarantine, the audit log and exports all hold student data, so every folder is owner-only
//! (0700) and every file too (0600) — 2770/0660 with the team's group when shared. On Windows
//! the lake folder's inherited permissions are replaced by full control for the user.

use std::path::Path;

use super::LakeError;

/// Who besides the owner may use the lake: nobody (the default), or the members of one OS group
/// (a district's data team) on Unix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sharing {
    OwnerOnly,
    /// The group's name and id.
    Group {
        name: String,
        gid: u32,
    },
}

impl Sharing {
    /// The sharing a lake's settings ask for: the named group (which must exist), else owner-only.
    pub fn of(group: Option<&str>) -> Result<Sharing, LakeError> {
        match group {
            None => Ok(Sharing::OwnerOnly),
            Some(name) => Ok(Sharing::Group {
                name: name.to_string(),
                gid: group_id(name)?,
            }),
        }
    }

    /// The permission bits nobody but the owner (and the group, when shared) may have.
    fn forbidden(&self) -> u32 {
        match self {
            Sharing::OwnerOnly => 0o077,
            Sharing::Group { .. } => 0o007,
        }
    }
}

/// The id of the OS group `name`.
fn group_id(name: &str) -> Result<u32, LakeError> {
    #[cfg(unix)]
    {
        let unknown = || LakeError::Invalid(format!("there is no OS group named `{name}`"));
        let c = std::ffi::CString::new(name).map_err(|_| unknown())?;
        // SAFETY: getgrnam reads the group database; the pointer is checked and read at once.
        let g = unsafe { libc::getgrnam(c.as_ptr()) };
        if g.is_null() {
            return Err(unknown());
        }
        // SAFETY: non-null pointer returned by getgrnam just above.
        Ok(unsafe { (*g).gr_gid })
    }
    #[cfg(not(unix))]
    {
        Err(LakeError::Invalid(format!(
            "sharing a lake with the group `{name}` is available on Linux and macOS; on Windows \
             share the folder with the team through its Security settings"
        )))
    }
}

/// Makes everything this process creates from now on owner-only (umask 077), or also readable
/// and writable by the group when the lake is shared (umask 007). A process that opens a lake
/// writes student data, so it is set when a lake is created or opened.
pub fn from_now_on(sharing: &Sharing) {
    #[cfg(unix)]
    // SAFETY: umask only swaps the process's file-creation mask; it cannot fail.
    unsafe {
        libc::umask(sharing.forbidden() as libc::mode_t);
    }
    #[cfg(not(unix))]
    let _ = sharing;
}

/// Brings every entry under `root` (the root included) to `sharing`: no permission for other
/// accounts; with a group, the entries this account owns belong to the group, which may read
/// and write them (folders pass the group on to what is created in them). On Windows the
/// folder's inherited permissions are replaced by full control for the current user
/// (`icacls`). Returns how many entries were changed, so the caller can say so.
pub fn tighten(root: &Path, sharing: &Sharing) -> Result<usize, LakeError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let mut changed = 0;
        let mut stack = vec![root.to_path_buf()];
        // SAFETY: geteuid cannot fail.
        let me = unsafe { libc::geteuid() };
        while let Some(p) = stack.pop() {
            let meta = match std::fs::symlink_metadata(&p) {
                Ok(m) => m,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(LakeError::io(&p, e)),
            };
            if meta.file_type().is_symlink() {
                continue;
            }
            let mode = meta.permissions().mode() & 0o7777;
            let mut want = mode & !sharing.forbidden();
            if let Sharing::Group { gid, .. } = sharing
                && meta.uid() == me
            {
                if meta.gid() != *gid {
                    std::os::unix::fs::lchown(&p, None, Some(*gid))
                        .map_err(|e| LakeError::io(&p, e))?;
                    changed += 1;
                }
                want |= if meta.is_dir() { 0o2070 } else { 0o060 };
            }
            // Entries of other team members are theirs to change.
            if want != mode && meta.uid() == me {
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(want))
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
    #[cfg(windows)]
    {
        let _ = sharing;
        // Inherited entries (Users, Authenticated Users on a non-profile drive) removed; the
        // current user keeps full control, inherited by everything below.
        let user = std::env::var("USERNAME").unwrap_or_default();
        let ok = std::process::Command::new("icacls")
            .arg(root)
            .args(["/inheritance:r", "/grant:r"])
            .arg(format!("{user}:(OI)(CI)F"))
            .arg("/Q")
            .status()
            .map_err(|e| LakeError::io(root, e))?;
        Ok(usize::from(!ok.success()))
    }
    #[cfg(not(any(unix, windows)))]
    {
        let _ = (root, sharing);
        Ok(0)
    }
}

/// Whether accounts outside `sharing` could reach into `root`.
pub fn open_to_others(root: &Path, sharing: &Sharing) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        std::fs::metadata(root).is_ok_and(|m| {
            m.permissions().mode() & sharing.forbidden() != 0
                || matches!(sharing, Sharing::Group { gid, .. } if m.gid() != *gid)
        })
    }
    #[cfg(not(unix))]
    {
        let _ = (root, sharing);
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
        assert!(open_to_others(&root, &Sharing::OwnerOnly));
        assert_eq!(tighten(&root, &Sharing::OwnerOnly).unwrap(), 4);
        assert!(!open_to_others(&root, &Sharing::OwnerOnly));
        let mode = |p: &str| {
            std::fs::metadata(root.join(p))
                .unwrap()
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode("stage1/a/f.csv"), 0o600);
        assert_eq!(mode("stage1"), 0o700);
        assert_eq!(
            tighten(&root, &Sharing::OwnerOnly).unwrap(),
            0,
            "nothing left to change"
        );
    }
}
