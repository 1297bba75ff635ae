//! Clever's reports over SFTP (`ssh2`): password or key login, a pinned host key, a recursive
//! listing of the remote report folder and streaming downloads. The server's key is never
//! trusted blindly: the first connection reports its SHA256 fingerprint for the user to accept,
//! and a changed key is refused naming both fingerprints.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use base64::Engine;
use serde::{Deserialize, Serialize};

use super::{RemoteFile, Source, SourceError, check_name};

/// How edlake logs in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "kind")]
pub enum SftpAuth {
    /// Password (kept in the keyring).
    Password,
    /// OpenSSH private key file; its passphrase, if any, is kept in the keyring.
    Key { path: PathBuf },
}

/// Where the reports are. Holds no secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SftpConfig {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub auth: SftpAuth,
    /// Remote base folder (`/` or `reports`); empty means the login folder.
    #[serde(default)]
    pub remote_dir: String,
    /// The accepted host key, `SHA256:<base64>`.
    #[serde(default)]
    pub host_key: Option<String>,
    /// Seconds to wait for the network before giving up.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
}

fn default_timeout() -> u64 {
    20
}

/// Why an SFTP connection did not work, each with what to do next.
#[derive(Debug, thiserror::Error)]
pub enum SftpError {
    #[error(
        "cannot reach {host}:{port}: {detail}. Check the host name and port, and that this computer may connect to it."
    )]
    Unreachable {
        host: String,
        port: u16,
        detail: String,
    },
    #[error("{host}:{port} did not answer within {secs} s. Try again later or raise the timeout.")]
    Timeout { host: String, port: u16, secs: u64 },
    #[error(
        "the server's host key is not accepted yet. Its fingerprint is {fingerprint}. Compare it with \
         the one your vendor gave you, then accept it (--accept-host-key {fingerprint})."
    )]
    UnknownHostKey { fingerprint: String },
    #[error(
        "the server's host key CHANGED: it was {old} and is now {new}. This can mean someone is \
         intercepting the connection. Do not continue unless the vendor confirms the new key; then \
         accept it again."
    )]
    HostKeyChanged { old: String, new: String },
    #[error(
        "the server refused the login for user `{user}`: {detail}. Check the user name and the password or key."
    )]
    AuthFailed { user: String, detail: String },
    #[error("the key file {} cannot be read: {detail}", path.display())]
    BadKey { path: PathBuf, detail: String },
    #[error(
        "the remote folder `{0}` does not exist on the server. Check the remote folder setting."
    )]
    MissingFolder(String),
    #[error("the connection dropped: {0}. The next run resumes where this one stopped.")]
    Dropped(String),
}

impl From<SftpError> for SourceError {
    fn from(e: SftpError) -> Self {
        SourceError::Remote(e.to_string())
    }
}

/// The fingerprint format OpenSSH prints: `SHA256:` and unpadded base64.
pub fn fingerprint(sha256: &[u8]) -> String {
    format!(
        "SHA256:{}",
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(sha256)
    )
}

struct Conn {
    _session: ssh2::Session,
    sftp: ssh2::Sftp,
}

/// An SFTP server as a source.
pub struct SftpSource {
    name: String,
    cfg: SftpConfig,
    secret: Option<crate::secrets::SecretString>,
    conn: Mutex<Option<Conn>>,
}

impl std::fmt::Debug for SftpSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SftpSource")
            .field("name", &self.name)
            .field("cfg", &self.cfg)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// Connects, checks the host key and logs in. Returns the session and the server's fingerprint.
/// With `accept`, an unknown key whose fingerprint equals it is accepted.
pub fn connect(
    cfg: &SftpConfig,
    secret: Option<&str>,
    accept: Option<&str>,
) -> Result<(ssh2::Session, String), SftpError> {
    let timeout = Duration::from_secs(cfg.timeout_secs.max(1));
    let unreachable = |detail: String| SftpError::Unreachable {
        host: cfg.host.clone(),
        port: cfg.port,
        detail,
    };
    let addr = (cfg.host.as_str(), cfg.port)
        .to_socket_addrs()
        .map_err(|e| unreachable(e.to_string()))?
        .next()
        .ok_or_else(|| unreachable("the name has no address".into()))?;
    let tcp = TcpStream::connect_timeout(&addr, timeout).map_err(|e| {
        if e.kind() == std::io::ErrorKind::TimedOut {
            SftpError::Timeout {
                host: cfg.host.clone(),
                port: cfg.port,
                secs: timeout.as_secs(),
            }
        } else {
            unreachable(e.to_string())
        }
    })?;
    let mut s = ssh2::Session::new().map_err(|e| unreachable(e.to_string()))?;
    s.set_timeout(timeout.as_millis() as u32);
    s.set_tcp_stream(tcp);
    s.handshake().map_err(|e| {
        if e.code() == ssh2::ErrorCode::Session(-9) {
            SftpError::Timeout {
                host: cfg.host.clone(),
                port: cfg.port,
                secs: timeout.as_secs(),
            }
        } else {
            unreachable(format!("the SSH handshake failed ({})", e.message()))
        }
    })?;
    let fp = s
        .host_key_hash(ssh2::HashType::Sha256)
        .map(fingerprint)
        .ok_or_else(|| unreachable("the server sent no host key".into()))?;
    match (&cfg.host_key, accept) {
        (Some(pinned), _) if *pinned == fp => {}
        (Some(pinned), _) => {
            return Err(SftpError::HostKeyChanged {
                old: pinned.clone(),
                new: fp,
            });
        }
        (None, Some(a)) if a == fp => {}
        (None, _) => return Err(SftpError::UnknownHostKey { fingerprint: fp }),
    }
    let auth_failed = |e: ssh2::Error| SftpError::AuthFailed {
        user: cfg.user.clone(),
        detail: e.message().to_string(),
    };
    match &cfg.auth {
        SftpAuth::Password => s
            .userauth_password(&cfg.user, secret.unwrap_or_default())
            .map_err(auth_failed)?,
        SftpAuth::Key { path } => {
            if let Err(e) = std::fs::metadata(path) {
                return Err(SftpError::BadKey {
                    path: path.clone(),
                    detail: e.to_string(),
                });
            }
            s.userauth_pubkey_file(&cfg.user, None, path, secret)
                .map_err(auth_failed)?
        }
    }
    if !s.authenticated() {
        return Err(SftpError::AuthFailed {
            user: cfg.user.clone(),
            detail: "not authenticated".into(),
        });
    }
    Ok((s, fp))
}

impl SftpSource {
    /// A source named `name` (as saved in the lake) that logs in with `secret`.
    pub fn new(name: &str, cfg: SftpConfig, secret: Option<crate::secrets::SecretString>) -> Self {
        SftpSource {
            name: name.into(),
            cfg,
            secret,
            conn: Mutex::new(None),
        }
    }

    fn with_conn<T>(
        &self,
        mut f: impl FnMut(&ssh2::Sftp) -> Result<T, SourceError>,
    ) -> Result<T, SourceError> {
        let mut guard = self
            .conn
            .lock()
            .map_err(|_| SourceError::Remote("the SFTP connection is unusable".into()))?;
        if guard.is_none() {
            let secret = self.secret.as_ref().map(|s| s.as_str());
            let (session, _) = connect(&self.cfg, secret, None)?;
            let sftp = session
                .sftp()
                .map_err(|e| SftpError::Dropped(e.message().to_string()))?;
            *guard = Some(Conn {
                _session: session,
                sftp,
            });
        }
        let Some(c) = guard.as_ref() else {
            return Err(SourceError::Remote("no SFTP connection".into()));
        };
        let r = f(&c.sftp);
        if r.is_err() {
            *guard = None; // reconnect next time
        }
        r
    }

    fn base(&self) -> PathBuf {
        let d = self.cfg.remote_dir.trim();
        if d.is_empty() {
            PathBuf::from(".")
        } else {
            PathBuf::from(d)
        }
    }
}

fn walk(
    sftp: &ssh2::Sftp,
    base: &Path,
    rel: &str,
    out: &mut Vec<RemoteFile>,
) -> Result<(), SourceError> {
    let dir = if rel.is_empty() {
        base.to_path_buf()
    } else {
        base.join(rel)
    };
    let entries = sftp.readdir(&dir).map_err(|e| {
        if rel.is_empty() && e.code() == ssh2::ErrorCode::SFTP(2) {
            SftpError::MissingFolder(base.display().to_string())
        } else {
            SftpError::Dropped(format!("listing {}: {}", dir.display(), e.message()))
        }
    })?;
    let mut entries: Vec<_> = entries.into_iter().collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    for (p, st) in entries {
        let Some(name) = p.file_name().map(|n| n.to_string_lossy().to_string()) else {
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        let child = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        if check_name(&child).is_err() {
            // Listed, so the planner refuses it by name and lands the others; never walked
            // into or fetched.
            out.push(RemoteFile {
                path: child,
                size: 0,
                mtime: 0,
            });
            continue;
        }
        if st.is_dir() {
            walk(sftp, base, &child, out)?;
        } else if st.is_file() {
            out.push(RemoteFile {
                path: child,
                size: st.size.unwrap_or(0),
                mtime: st.mtime.unwrap_or(0) as i64,
            });
        }
    }
    Ok(())
}

impl Source for SftpSource {
    fn origin(&self) -> String {
        format!(
            "sftp:{}@{}:{}/{}",
            self.cfg.user, self.cfg.host, self.cfg.port, self.cfg.remote_dir
        )
    }

    fn list(&self) -> Result<Vec<RemoteFile>, SourceError> {
        let base = self.base();
        self.with_conn(|sftp| {
            let mut out = Vec::new();
            walk(sftp, &base, "", &mut out)?;
            Ok(out)
        })
    }

    fn fetch(&self, file: &RemoteFile, out: &mut dyn Write) -> Result<u64, SourceError> {
        check_name(&file.path)?;
        let path = self.base().join(&file.path);
        self.with_conn(|sftp| {
            let mut f = sftp.open(&path).map_err(|e| {
                SftpError::Dropped(format!("opening {}: {}", file.path, e.message()))
            })?;
            let mut buf = vec![0u8; 256 * 1024];
            let mut n = 0u64;
            loop {
                let k = f
                    .read(&mut buf)
                    .map_err(|e| SftpError::Dropped(format!("reading {}: {e}", file.path)))?;
                if k == 0 {
                    break;
                }
                file.write_chunk(out, &buf[..k])?;
                n += k as u64;
            }
            file.check_size(n)
        })
    }
}

/// What "Test connection" found: the fingerprint and the report folders with file counts.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    pub fingerprint: String,
    pub folders: Vec<(String, usize)>,
}

/// Connects (accepting `accept` if the key is new), lists the tree and counts files per folder.
pub fn probe(
    cfg: &SftpConfig,
    secret: Option<&str>,
    accept: Option<&str>,
) -> Result<Probe, SourceError> {
    let (session, fp) = connect(cfg, secret, accept)?;
    let sftp = session
        .sftp()
        .map_err(|e| SftpError::Dropped(e.message().to_string()))?;
    let mut files = Vec::new();
    let base = if cfg.remote_dir.trim().is_empty() {
        PathBuf::from(".")
    } else {
        PathBuf::from(cfg.remote_dir.trim())
    };
    walk(&sftp, &base, "", &mut files)?;
    let mut folders: Vec<(String, usize)> = Vec::new();
    // Unsafe names are not counted (nor shown): a run refuses them by name.
    for f in files.into_iter().filter(|f| check_name(&f.path).is_ok()) {
        let dir = f
            .path
            .rsplit_once('/')
            .map_or(String::new(), |(d, _)| d.to_string());
        match folders.iter_mut().find(|(d, _)| *d == dir) {
            Some(e) => e.1 += 1,
            None => folders.push((dir, 1)),
        }
    }
    folders.sort();
    Ok(Probe {
        fingerprint: fp,
        folders,
    })
}
