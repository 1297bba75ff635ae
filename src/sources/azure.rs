//! The Insights data share read straight from the district's Azure storage account (Blob /
//! ADLS Gen2 through `object_store`): account name plus an account key or SAS token (kept in the
//! keyring), container and prefix, conventionally `oea` and `pre_landing/data_shares/<share>/M365`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures_util::StreamExt;
use object_store::ObjectStore;
use object_store::ObjectStoreExt;
use object_store::azure::MicrosoftAzureBuilder;
use object_store::path::Path as StorePath;
use serde::{Deserialize, Serialize};

use super::{RemoteFile, Source, SourceError, check_name};

/// How edlake signs its requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AzureAuth {
    /// The storage account key (kept in the keyring).
    Key,
    /// A SAS token with read and list rights (kept in the keyring).
    Sas,
}

/// Where the share lands in the storage account. Holds no secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AzureConfig {
    pub account: String,
    pub container: String,
    /// Folder inside the container, `/`-separated, no leading slash.
    pub prefix: String,
    pub auth: AzureAuth,
    /// Another endpoint (Azurite, a private link): `http://127.0.0.1:10000/devstoreaccount1`.
    #[serde(default)]
    pub endpoint: Option<String>,
}

/// A container prefix as a source.
pub struct AzureSource {
    cfg: AzureConfig,
    store: Arc<dyn ObjectStore>,
    rt: &'static tokio::runtime::Runtime,
}

impl std::fmt::Debug for AzureSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AzureSource")
            .field("cfg", &self.cfg)
            .finish()
    }
}

/// Drops URL query strings from a message: with SAS authorization they carry the signature.
/// A message with every query string and SAS parameter cut out: an error may echo a request
/// URL or a bare path with `?sv=…&sig=…`, and a signature is a password.
fn redact(msg: &str) -> String {
    const SAS_KEYS: [&str; 8] = ["sig=", "sv=", "se=", "sp=", "st=", "spr=", "srt=", "ss="];
    msg.split_whitespace()
        .map(|w| {
            if let Some(i) = w.find('?') {
                return format!("{}?<redacted>", &w[..i]);
            }
            if SAS_KEYS.iter().any(|k| w.to_ascii_lowercase().contains(k)) {
                return "<redacted>".to_string();
            }
            w.to_string()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Plain HTTP sends the key's signatures or the SAS token in clear text: allowed for an
/// emulator on this machine (Azurite) only.
fn check_endpoint(ep: &str) -> Result<(), SourceError> {
    let Ok(url) = url::Url::parse(ep) else {
        return Err(SourceError::Remote(format!(
            "the endpoint `{ep}` is not a URL (like https://account.blob.core.windows.net)"
        )));
    };
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        "http" => Err(SourceError::Remote(format!(
            "the endpoint `{}` uses plain http, which would send the storage key or SAS token \
             unencrypted: use https (plain http is allowed for an emulator on 127.0.0.1 only)",
            url.host_str().unwrap_or_default()
        ))),
        other => Err(SourceError::Remote(format!(
            "the endpoint uses `{other}`: use https"
        ))),
    }
}

fn remote(e: object_store::Error, cfg: &AzureConfig) -> SourceError {
    let first = redact(e.to_string().lines().next().unwrap_or_default());
    let msg = match &e {
        object_store::Error::NotFound { .. } => format!(
            "nothing at `{}` in container `{}` of storage account `{}`",
            cfg.prefix, cfg.container, cfg.account
        ),
        object_store::Error::Unauthenticated { .. }
        | object_store::Error::PermissionDenied { .. } => {
            format!(
                "the storage account `{}` refused the request: check the account key or SAS token (it needs read and list rights)",
                cfg.account
            )
        }
        _ => format!("storage account `{}`: {first}", cfg.account),
    };
    SourceError::Remote(msg)
}

impl AzureSource {
    /// Connects (lazily: the first listing talks to the service) with `secret`.
    pub fn new(cfg: AzureConfig, secret: &str) -> Result<Self, SourceError> {
        let mut b = MicrosoftAzureBuilder::new()
            .with_account(cfg.account.clone())
            .with_container_name(cfg.container.clone());
        b = match cfg.auth {
            AzureAuth::Key => b.with_access_key(secret),
            AzureAuth::Sas => {
                let pairs: Vec<(String, String)> =
                    url::form_urlencoded::parse(secret.trim_start_matches('?').as_bytes())
                        .into_owned()
                        .collect();
                b.with_sas_authorization(pairs)
            }
        };
        if let Some(ep) = &cfg.endpoint {
            check_endpoint(ep)?;
            b = b
                .with_endpoint(ep.clone())
                .with_allow_http(ep.starts_with("http://"));
        }
        let store = b
            .build()
            .map_err(|e| SourceError::Remote(format!("storage settings: {e}")))?;
        let rt = crate::lake::runtime()
            .map_err(|e| SourceError::Remote(format!("cannot start the network runtime: {e}")))?;
        Ok(AzureSource {
            cfg,
            store: Arc::new(store),
            rt,
        })
    }

    fn prefix(&self) -> String {
        self.cfg.prefix.trim_matches('/').to_string()
    }

    fn full(&self, rel: &str) -> StorePath {
        let p = self.prefix();
        if p.is_empty() {
            StorePath::from(rel)
        } else {
            StorePath::from(format!("{p}/{rel}"))
        }
    }

    /// Copies every file under `sub` (relative to the prefix) into `dest` (the schema files the
    /// Insights module reads before a run).
    pub fn download_dir(&self, sub: &str, dest: &Path) -> Result<usize, SourceError> {
        let files: Vec<RemoteFile> = self
            .list()?
            .into_iter()
            .filter(|f| f.path.starts_with(&format!("{sub}/")))
            .collect();
        for f in &files {
            let to: PathBuf = dest.join(&f.path);
            if let Some(d) = to.parent() {
                std::fs::create_dir_all(d).map_err(|e| SourceError::Io {
                    path: d.to_path_buf(),
                    source: e,
                })?;
            }
            let mut out = std::fs::File::create(&to).map_err(|e| SourceError::Io {
                path: to.clone(),
                source: e,
            })?;
            self.fetch(f, &mut out)?;
        }
        Ok(files.len())
    }
}

impl Source for AzureSource {
    fn origin(&self) -> String {
        format!(
            "azure:{}/{}/{}",
            self.cfg.account,
            self.cfg.container,
            self.prefix()
        )
    }

    fn list(&self) -> Result<Vec<RemoteFile>, SourceError> {
        let prefix = self.prefix();
        let p = (!prefix.is_empty()).then(|| StorePath::from(prefix.as_str()));
        let metas = self.rt.block_on(async {
            let mut s = self.store.list(p.as_ref());
            let mut out = Vec::new();
            while let Some(m) = s.next().await {
                out.push(m.map_err(|e| remote(e, &self.cfg))?);
            }
            Ok::<_, SourceError>(out)
        })?;
        let mut files = Vec::new();
        for m in metas {
            let loc = m.location.to_string();
            let rel = if prefix.is_empty() {
                loc.clone()
            } else {
                match loc.strip_prefix(&format!("{prefix}/")) {
                    Some(r) => r.to_string(),
                    None => continue,
                }
            };
            if rel.split('/').any(|s| s.starts_with('.')) {
                continue;
            }
            // Unsafe names are refused by the planner, which lands the other files.
            files.push(RemoteFile {
                path: rel,
                size: m.size,
                mtime: m.last_modified.timestamp(),
            });
        }
        if files.is_empty() {
            return Err(SourceError::Remote(format!(
                "no files under `{}` in container `{}` of storage account `{}`: check the container and prefix \
                 (the data share usually lands in oea/pre_landing/data_shares/<share>/M365)",
                prefix, self.cfg.container, self.cfg.account
            )));
        }
        files.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(files)
    }

    fn fetch(&self, file: &RemoteFile, out: &mut dyn Write) -> Result<u64, SourceError> {
        check_name(&file.path)?;
        let path = self.full(&file.path);
        let n = self.rt.block_on(async {
            let r = self
                .store
                .get(&path)
                .await
                .map_err(|e| remote(e, &self.cfg))?;
            let mut s = r.into_stream();
            let mut n = 0u64;
            while let Some(chunk) = s.next().await {
                let b = chunk.map_err(|e| remote(e, &self.cfg))?;
                file.write_chunk(out, &b)?;
                n += b.len() as u64;
            }
            Ok::<_, SourceError>(n)
        })?;
        file.check_size(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_query_strings_in_messages() {
        let m = redact(
            "error sending request for url (https://a.blob.core.windows.net/oea?restype=container&sig=SECRET)",
        );
        assert!(!m.contains("SECRET"), "{m}");
        assert!(
            m.contains("https://a.blob.core.windows.net/oea?<redacted>"),
            "{m}"
        );
        // A bare path or a loose parameter list, without `://`.
        let m = redact("GET /oea/x.csv?sv=2022&sig=SECRET failed; also sp=rl&sig=SECRET2");
        assert!(!m.contains("SECRET"), "{m}");
    }

    #[test]
    fn plain_http_only_for_loopback() {
        assert!(check_endpoint("http://127.0.0.1:10000/devstoreaccount1").is_ok());
        assert!(check_endpoint("http://localhost:10000/devstoreaccount1").is_ok());
        assert!(check_endpoint("https://districtlake.blob.core.windows.net").is_ok());
        let e = check_endpoint("http://storage.example.org/acct")
            .unwrap_err()
            .to_string();
        assert!(e.contains("plain http"), "{e}");
        assert!(check_endpoint("ftp://127.0.0.1/x").is_err());
    }

    #[test]
    fn the_share_layout_is_read_off_the_listing() {
        let f = |p: &str| RemoteFile {
            path: p.into(),
            size: 1,
            mtime: 0,
        };
        let files = [
            f("activity/2025-09-01/a.csv"),
            f("activity/2025-09-03/a.csv"),
            f("roster/2025-09-01T00-00-00/AadUser/x.csv"),
            f("roster/2025-09-03T00-00-00/AadUser/x.csv"),
            f("schema/roster.cdm.json"),
        ];
        let l = ShareLayout::of(&files);
        assert_eq!(
            l.activity,
            Some(("2025-09-01".into(), "2025-09-03".into(), 2))
        );
        assert_eq!(l.latest_roster.as_deref(), Some("2025-09-03T00-00-00"));
        assert_eq!(l.roster_snapshots, 2);
        assert!(l.describe().is_ok());
        assert!(ShareLayout::of(&files[..2]).describe().is_err());
    }
}

/// What a data share holds, as setup and `source test` show it before ingesting.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ShareLayout {
    pub files: usize,
    /// Activity date folders: first, last, how many.
    pub activity: Option<(String, String, usize)>,
    pub roster_snapshots: usize,
    pub latest_roster: Option<String>,
    pub schema_files: usize,
}

impl ShareLayout {
    /// Reads the layout off a listing (`activity/<date>/…`, `roster/<timestamp>/…`, `schema/…`).
    pub fn of(files: &[RemoteFile]) -> ShareLayout {
        let mut dates = std::collections::BTreeSet::new();
        let mut rosters = std::collections::BTreeSet::new();
        let mut schema_files = 0;
        for f in files {
            let mut p = f.path.split('/');
            match (p.next(), p.next()) {
                (Some("activity"), Some(d)) => {
                    dates.insert(d.to_string());
                }
                (Some("roster"), Some(s)) => {
                    rosters.insert(s.to_string());
                }
                (Some("schema"), Some(_)) => schema_files += 1,
                _ => {}
            }
        }
        ShareLayout {
            files: files.len(),
            activity: match (dates.first(), dates.last()) {
                (Some(a), Some(b)) => Some((a.clone(), b.clone(), dates.len())),
                _ => None,
            },
            roster_snapshots: rosters.len(),
            latest_roster: rosters.last().cloned(),
            schema_files,
        }
    }

    /// The layout in a few lines; an error when the share cannot be an Insights export.
    pub fn describe(&self) -> Result<Vec<String>, SourceError> {
        let mut out = vec![format!("{} file(s) in the share", self.files)];
        out.push(match &self.activity {
            Some((a, b, n)) => format!("activity: {n} day(s), {a} to {b}"),
            None => "activity: none".into(),
        });
        out.push(match &self.latest_roster {
            Some(r) => format!(
                "roster: {} snapshot(s), latest {r} (the one ingested)",
                self.roster_snapshots
            ),
            None => "roster: none".into(),
        });
        out.push(format!("schema files: {}", self.schema_files));
        if self.schema_files == 0 {
            return Err(SourceError::Remote(
                "the share has no schema/ folder with the export's CDM schema files; check the \
                 prefix (it should end in /M365)"
                    .into(),
            ));
        }
        Ok(out)
    }
}
