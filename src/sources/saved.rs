//! Named source definitions saved in the lake (`_edlake/sources/<name>.json`) so runs repeat
//! (`edlake ingest clever --source NAME`). A definition holds only a reference to its secret;
//! the password or passphrase itself lives in the OS keyring.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::azure::{AzureConfig, AzureSource};
use super::sftp::{SftpAuth, SftpConfig, SftpSource};
use super::{FolderSource, Source};
use crate::lake::{Lake, LakeError};
use crate::secrets::{SecretError, Secrets};

/// What a saved source points at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "type")]
pub enum SourceDef {
    Sftp(SftpConfig),
    Azure(AzureConfig),
    Folder { path: PathBuf },
}

impl SourceDef {
    /// Where this source's secret is sent: the SFTP login (`user@host:port`) or the storage
    /// account and endpoint. The keyring entry is bound to it, so a definition edited to point
    /// elsewhere finds no secret and the password is asked for again (never sent to the new
    /// server). `None` for folders, which have no secret.
    pub fn secret_binding(&self) -> Option<String> {
        match self {
            SourceDef::Sftp(c) => Some(format!(
                "sftp://{}@{}:{}",
                c.user,
                c.host.to_ascii_lowercase(),
                c.port
            )),
            SourceDef::Azure(c) => Some(format!(
                "azure://{}@{}",
                c.account,
                c.endpoint
                    .as_deref()
                    .map(|e| e.trim_end_matches('/').to_ascii_lowercase())
                    .unwrap_or_else(|| format!("https://{}.blob.core.windows.net", c.account))
            )),
            SourceDef::Folder { .. } => None,
        }
    }
}

/// A named, saved source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedSource {
    pub name: String,
    /// The module that reads it (`clever`, `insights`, `sis`, `edx`, `roster` or a custom
    /// module's name). Sources saved before this was recorded infer it ([`Self::module`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
    pub def: SourceDef,
}

/// Errors with saved sources.
#[derive(Debug, thiserror::Error)]
pub enum SavedError {
    #[error(transparent)]
    Lake(#[from] LakeError),
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error("no source named `{0}`; `edlake source list` shows the saved ones")]
    Unknown(String),
    #[error(
        "`{0}` is not a usable source name: use letters, digits, `-` and `_` (at most 40 characters)"
    )]
    BadName(String),
    #[error("the source file {path} is damaged: {message}")]
    Corrupt { path: String, message: String },
    #[error(transparent)]
    Source(#[from] super::SourceError),
}

/// The module's source among `all` (sorted by name): the one named after it, else the first.
fn pick(all: Vec<SavedSource>, module: &str) -> Option<SavedSource> {
    let mut mine = all.into_iter().filter(|s| s.module() == Some(module));
    let mut first = None;
    for s in mine.by_ref() {
        if s.name == module {
            return Some(s);
        }
        first.get_or_insert(s);
    }
    first
}

fn check_name(name: &str) -> Result<(), SavedError> {
    let ok = !name.is_empty()
        && name.len() <= 40
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(SavedError::BadName(name.into()))
    }
}

impl SavedSource {
    fn dir(lake: &Lake) -> PathBuf {
        lake.meta_dir().join("sources")
    }

    /// The keyring key of the secret of source `name` defined as `def`: the lake, the name and
    /// a digest of where the secret goes ([`SourceDef::secret_binding`]).
    pub fn secret_key(lake: &Lake, name: &str, def: &SourceDef) -> String {
        use sha2::{Digest, Sha256};
        let binding = def.secret_binding().unwrap_or_default();
        let digest = Sha256::digest(binding.as_bytes());
        let short: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        format!("lake/{}/source/{name}/{short}", lake.info().id)
    }

    /// The keyring key of this source's secret.
    pub fn key(&self, lake: &Lake) -> String {
        Self::secret_key(lake, &self.name, &self.def)
    }

    /// The module that reads this source: the recorded one, else what older versions used each
    /// kind for (an SFTP server for Clever's reports, a storage account for the Insights share).
    pub fn module(&self) -> Option<&str> {
        match (&self.module, &self.def) {
            (Some(m), _) => Some(m),
            (None, SourceDef::Sftp(_)) => Some("clever"),
            (None, SourceDef::Azure(_)) => Some("insights"),
            (None, SourceDef::Folder { .. }) => None,
        }
    }

    /// The source a module is set up with: the one named after the module (what the app saves),
    /// else the first, by name, saved for it. `None` when the module has no source.
    pub fn for_module(lake: &Lake, module: &str) -> Result<Option<SavedSource>, SavedError> {
        let all = Self::list(lake)?;
        Ok(pick(all, module))
    }

    /// Each module's source ([`Self::for_module`]) by module name.
    pub fn setup(
        lake: &Lake,
    ) -> Result<std::collections::BTreeMap<String, SavedSource>, SavedError> {
        let all = Self::list(lake)?;
        let modules: std::collections::BTreeSet<String> = all
            .iter()
            .filter_map(|s| s.module().map(str::to_string))
            .collect();
        Ok(modules
            .into_iter()
            .filter_map(|m| pick(all.clone(), &m).map(|s| (m, s)))
            .collect())
    }

    /// Saves (replaces) the definition. It is one small file replaced atomically, and no table
    /// changes, so it does not wait for the lake lock: a folder chosen while a run goes on (or
    /// just before one starts) never makes that run find the lake busy.
    pub fn save(&self, lake: &Lake) -> Result<(), SavedError> {
        check_name(&self.name)?;
        let path = Self::dir(lake).join(format!("{}.json", self.name));
        Ok(crate::lake::jsonfile::write(&path, self)?)
    }

    /// Loads a saved source.
    pub fn load(lake: &Lake, name: &str) -> Result<SavedSource, SavedError> {
        check_name(name)?;
        let p = Self::dir(lake).join(format!("{name}.json"));
        let bytes = match std::fs::read(&p) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(SavedError::Unknown(name.into()));
            }
            Err(e) => return Err(LakeError::io(&p, e).into()),
        };
        serde_json::from_slice(&bytes).map_err(|e| SavedError::Corrupt {
            path: p.display().to_string(),
            message: e.to_string(),
        })
    }

    /// Every saved source, by name.
    pub fn list(lake: &Lake) -> Result<Vec<SavedSource>, SavedError> {
        let d = Self::dir(lake);
        let mut out = Vec::new();
        let Ok(entries) = std::fs::read_dir(&d) else {
            return Ok(out);
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if let Some(n) = name.strip_suffix(".json") {
                out.push(Self::load(lake, n)?);
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Removes the definition and its secret.
    pub fn remove(lake: &Lake, name: &str, secrets: &Secrets) -> Result<(), SavedError> {
        let saved = Self::load(lake, name)?;
        let _lock = lake.lock("remove a source")?;
        let p = Self::dir(lake).join(format!("{name}.json"));
        std::fs::remove_file(&p).map_err(|e| LakeError::io(&p, e))?;
        secrets.delete(&saved.key(lake))?;
        Ok(())
    }

    /// Whether this source needs a secret from the keyring.
    pub fn needs_secret(&self) -> bool {
        matches!(
            &self.def,
            SourceDef::Sftp(SftpConfig {
                auth: SftpAuth::Password,
                ..
            }) | SourceDef::Azure(_)
        )
    }

    /// The source, ready to list and fetch (its secret read from `secrets`).
    pub fn open(&self, lake: &Lake, secrets: &Secrets) -> Result<Box<dyn Source>, SavedError> {
        Ok(match &self.def {
            SourceDef::Folder { path } => Box::new(FolderSource::new(path)),
            SourceDef::Sftp(cfg) => {
                let secret = secrets.get(&self.key(lake))?;
                if secret.is_none() && self.needs_secret() {
                    return Err(SecretError::Missing {
                        what: format!(
                            "password of the source `{}` for {}@{}:{}",
                            self.name, cfg.user, cfg.host, cfg.port
                        ),
                        hint: format!(
                            "A password is kept for the server it was saved for; if this source \
                             now points at another server, that is why. Store it again with \
                             `edlake source add sftp {} ... --password-stdin --replace`",
                            self.name
                        ),
                    }
                    .into());
                }
                Box::new(SftpSource::new(&self.name, cfg.clone(), secret))
            }
            SourceDef::Azure(cfg) => Box::new(self.azure(lake, secrets, cfg)?),
        })
    }

    fn azure(
        &self,
        lake: &Lake,
        secrets: &Secrets,
        cfg: &AzureConfig,
    ) -> Result<AzureSource, SavedError> {
        let secret = secrets
            .get(&self.key(lake))?
            .ok_or_else(|| SecretError::Missing {
                what: format!(
                    "account key or SAS token of the source `{}` for the account {}",
                    self.name, cfg.account
                ),
                hint: format!(
                    "A key is kept for the account and endpoint it was saved for; if this source \
                     now points elsewhere, that is why. Store it again with \
                     `edlake source add datashare {} ... --key-stdin --replace`",
                    self.name
                ),
            })?;
        Ok(AzureSource::new(cfg.clone(), &secret)?)
    }

    /// The Azure source itself (for downloading the export's schema before a run).
    pub fn open_azure(
        &self,
        lake: &Lake,
        secrets: &Secrets,
    ) -> Result<Option<AzureSource>, SavedError> {
        match &self.def {
            SourceDef::Azure(cfg) => Ok(Some(self.azure(lake, secrets, cfg)?)),
            _ => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Clever's server, logging in with a password.
    fn clever_sftp(remote_dir: &str, host_key: Option<&str>) -> SftpConfig {
        SftpConfig {
            host: "sftp.clever.com".into(),
            port: 22,
            user: "district".into(),
            auth: SftpAuth::Password,
            remote_dir: remote_dir.into(),
            host_key: host_key.map(str::to_string),
            timeout_secs: 20,
        }
    }

    #[test]
    fn definitions_round_trip_without_secrets() {
        let dir = tempfile::tempdir().expect("tmp");
        let (lake, _) = Lake::init(dir.path()).expect("lake");
        let s = SavedSource {
            name: "clever-sftp".into(),
            module: None,
            def: SourceDef::Sftp(clever_sftp("reports", Some("SHA256:abc"))),
        };
        s.save(&lake).expect("save");
        assert_eq!(SavedSource::load(&lake, "clever-sftp").expect("load"), s);
        assert_eq!(SavedSource::list(&lake).expect("list").len(), 1);
        let secrets = Secrets::session_only();
        secrets.set(&s.key(&lake), "hunter2").expect("set");
        let text = std::fs::read_to_string(lake.meta_dir().join("sources/clever-sftp.json"))
            .expect("file");
        assert!(!text.contains("hunter2"));
        assert!(matches!(
            SavedSource::load(&lake, "../x"),
            Err(SavedError::BadName(_))
        ));
        SavedSource::remove(&lake, "clever-sftp", &secrets).expect("remove");
        assert!(matches!(
            SavedSource::load(&lake, "clever-sftp"),
            Err(SavedError::Unknown(_))
        ));
        assert_eq!(secrets.get(&s.key(&lake)).expect("get"), None);
    }

    #[test]
    fn a_secret_is_not_given_to_a_source_edited_to_point_elsewhere() {
        let dir = tempfile::tempdir().expect("tmp");
        let (lake, _) = Lake::init(dir.path()).expect("lake");
        let cfg = clever_sftp("", Some("SHA256:abc"));
        let s = SavedSource {
            name: "clever-sftp".into(),
            module: None,
            def: SourceDef::Sftp(cfg.clone()),
        };
        s.save(&lake).expect("save");
        let secrets = Secrets::session_only();
        secrets.set(&s.key(&lake), "hunter2").expect("set");
        // Pinning a new host key keeps the binding: the same server.
        let repinned = SourceDef::Sftp(SftpConfig {
            host_key: Some("SHA256:new".into()),
            ..cfg.clone()
        });
        assert_eq!(
            SavedSource::secret_key(&lake, &s.name, &repinned),
            s.key(&lake)
        );
        // Someone who can edit the lake's source file points it at their own server.
        let path = lake.meta_dir().join("sources/clever-sftp.json");
        let text = std::fs::read_to_string(&path).expect("file");
        std::fs::write(&path, text.replace("sftp.clever.com", "evil.example.net")).expect("edit");
        let edited = SavedSource::load(&lake, "clever-sftp").expect("load");
        let err = edited
            .open(&lake, &secrets)
            .err()
            .expect("no secret for it");
        let msg = err.to_string();
        assert!(
            msg.contains("evil.example.net") && msg.contains("another server"),
            "{msg}"
        );
        assert!(!msg.contains("hunter2"));
        // Other users, ports and storage accounts are other bindings too.
        for def in [
            SourceDef::Sftp(SftpConfig {
                port: 2222,
                ..cfg.clone()
            }),
            SourceDef::Sftp(SftpConfig {
                user: "x".into(),
                ..cfg.clone()
            }),
        ] {
            assert_ne!(SavedSource::secret_key(&lake, &s.name, &def), s.key(&lake));
        }
        let azure = |endpoint: Option<&str>| {
            SourceDef::Azure(AzureConfig {
                account: "district".into(),
                container: "c".into(),
                prefix: String::new(),
                auth: super::super::azure::AzureAuth::Sas,
                endpoint: endpoint.map(str::to_string),
            })
        };
        assert_ne!(
            SavedSource::secret_key(&lake, "share", &azure(None)),
            SavedSource::secret_key(&lake, "share", &azure(Some("http://127.0.0.1:10000/x")))
        );
    }

    #[test]
    fn each_module_has_one_source_the_one_named_after_it_first() {
        let dir = tempfile::tempdir().expect("tmp");
        let (lake, _) = Lake::init(dir.path()).expect("lake");
        let folder = |name: &str, module: Option<&str>, path: &str| SavedSource {
            name: name.into(),
            module: module.map(str::to_string),
            def: SourceDef::Folder {
                path: PathBuf::from(path),
            },
        };
        // Saved by an older version: an SFTP server with no module is Clever's.
        let legacy = SavedSource {
            name: "clever-sftp".into(),
            module: None,
            def: SourceDef::Sftp(clever_sftp("", None)),
        };
        legacy.save(&lake).expect("save");
        folder("a-sis", Some("sis"), "/data/a")
            .save(&lake)
            .expect("save");
        folder("b-sis", Some("sis"), "/data/b")
            .save(&lake)
            .expect("save");
        folder("stray", None, "/data/c").save(&lake).expect("save");
        let setup = SavedSource::setup(&lake).expect("setup");
        assert_eq!(
            setup.keys().map(String::as_str).collect::<Vec<_>>(),
            ["clever", "sis"]
        );
        assert_eq!(setup["clever"].name, "clever-sftp");
        assert_eq!(setup["sis"].name, "a-sis", "the first by name");
        // What the app saves (named after the module) wins over the others.
        folder("clever", Some("clever"), "/data/clever")
            .save(&lake)
            .expect("save");
        folder("sis", Some("sis"), "/data/sis")
            .save(&lake)
            .expect("save");
        let setup = SavedSource::setup(&lake).expect("setup");
        assert_eq!(setup["clever"].def, folder("", None, "/data/clever").def);
        assert_eq!(setup["sis"].name, "sis");
        assert_eq!(
            SavedSource::for_module(&lake, "insights").expect("read"),
            None
        );
        // The module is written to the file, and files without one still read.
        let text = std::fs::read_to_string(lake.meta_dir().join("sources/sis.json")).expect("file");
        assert!(text.contains("\"module\": \"sis\""), "{text}");
        let text =
            std::fs::read_to_string(lake.meta_dir().join("sources/stray.json")).expect("file");
        assert!(!text.contains("module"), "{text}");
    }
}
