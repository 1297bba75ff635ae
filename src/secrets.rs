//! Secrets (the lake salt; later SFTP passwords and storage keys) live only in the OS credential
//! store: Keychain, Windows Credential Manager, or the Secret Service on Linux. Never in files.
//! When no store is reachable the user may keep a secret for this session only, in memory.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// A secret's text, wiped from memory when dropped.
pub type SecretString = zeroize::Zeroizing<String>;

/// The keyring service name all edlake secrets are filed under.
pub const SERVICE: &str = "edlake";

/// Why a secret could not be read or kept.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SecretError {
    #[error(
        "the OS keyring is not available ({detail}). edlake keeps secrets only in the OS credential store \
         (Keychain on macOS, Credential Manager on Windows, the Secret Service such as GNOME Keyring or KWallet on Linux). \
         Unlock or start it and try again; on a Linux server without a desktop session run the command inside \
         `scripts/keyring-session`. You can also keep secrets for this session only (`--session-secrets`): \
         they are then forgotten when edlake exits"
    )]
    Unavailable { detail: String },
    #[error(
        "the OS keyring is locked ({detail}). Unlock it (log in to the desktop session) and try again"
    )]
    Locked { detail: String },
    #[error("the OS keyring has no {what}. {hint}")]
    Missing { what: String, hint: String },
    #[error("the OS keyring refused to store the secret: {0}")]
    Refused(String),
}

/// Where secrets go.
#[derive(Clone)]
pub enum Secrets {
    /// The OS credential store.
    Os,
    /// In memory for this process only (the user chose this because no store was available).
    Session(Arc<Mutex<HashMap<String, SecretString>>>),
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Secrets::Os => f.write_str("Secrets::Os"),
            Secrets::Session(m) => write!(
                f,
                "Secrets::Session({} secret(s), values hidden)",
                m.lock().map(|m| m.len()).unwrap_or(0)
            ),
        }
    }
}

fn classify(e: keyring_core::Error) -> SecretError {
    use keyring_core::Error as E;
    match e {
        E::NoStorageAccess(p) => SecretError::Locked {
            detail: p.to_string(),
        },
        E::NoDefaultStore => SecretError::Unavailable {
            detail: "no credential store could be opened".into(),
        },
        E::PlatformFailure(p) => SecretError::Unavailable {
            detail: first_line(&p.to_string()),
        },
        other => SecretError::Refused(first_line(&other.to_string())),
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().to_string()
}

impl Secrets {
    /// The OS credential store (set up on first use unless a store, such as a test mock, is set).
    pub fn os() -> Self {
        if keyring_core::get_default_store().is_none() {
            // Failure is reported by the first get/set with a clear message.
            let _ = keyring::Entry::store_status();
        }
        Secrets::Os
    }

    /// Session-only memory store.
    pub fn session_only() -> Self {
        Secrets::Session(Arc::default())
    }

    /// Whether this is the session-only store.
    pub fn is_session_only(&self) -> bool {
        matches!(self, Secrets::Session(_))
    }

    fn entry(key: &str) -> Result<keyring_core::Entry, SecretError> {
        keyring_core::Entry::new(SERVICE, key).map_err(classify)
    }

    /// Reads a secret; `Ok(None)` when it was never stored.
    pub fn get(&self, key: &str) -> Result<Option<SecretString>, SecretError> {
        match self {
            Secrets::Session(m) => Ok(m.lock().ok().and_then(|m| m.get(key).cloned())),
            Secrets::Os => match Self::entry(key)?.get_password() {
                Ok(v) => Ok(Some(SecretString::new(v))),
                Err(keyring_core::Error::NoEntry) => Ok(None),
                Err(e) => Err(classify(e)),
            },
        }
    }

    /// Stores (or replaces) a secret.
    pub fn set(&self, key: &str, value: &str) -> Result<(), SecretError> {
        match self {
            Secrets::Session(m) => {
                if let Ok(mut m) = m.lock() {
                    m.insert(key.to_string(), SecretString::new(value.to_string()));
                }
                Ok(())
            }
            Secrets::Os => Self::entry(key)?.set_password(value).map_err(classify),
        }
    }

    /// Deletes a secret; deleting a missing secret is fine.
    pub fn delete(&self, key: &str) -> Result<(), SecretError> {
        match self {
            Secrets::Session(m) => {
                if let Ok(mut m) = m.lock() {
                    m.remove(key);
                }
                Ok(())
            }
            Secrets::Os => match Self::entry(key)?.delete_credential() {
                Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
                Err(e) => Err(classify(e)),
            },
        }
    }

    /// Checks that the store works by writing, reading and deleting a probe entry.
    pub fn probe(&self) -> Result<(), SecretError> {
        let key = format!("probe/{}", uuid::Uuid::new_v4());
        self.set(&key, "probe")?;
        let back = self.get(&key)?;
        self.delete(&key)?;
        if back.as_deref().map(String::as_str) == Some("probe") {
            Ok(())
        } else {
            Err(SecretError::Refused(
                "a stored secret could not be read back".into(),
            ))
        }
    }
}

/// The keyring key of a lake's salt.
pub fn salt_key(lake_id: &str) -> String {
    format!("lake/{lake_id}/salt")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_store_round_trip_and_debug_hides_values() {
        let s = Secrets::session_only();
        s.set("k", "hunter2").unwrap();
        assert_eq!(
            s.get("k").unwrap().as_deref().map(String::as_str),
            Some("hunter2")
        );
        assert!(!format!("{s:?}").contains("hunter2"));
        s.delete("k").unwrap();
        assert_eq!(s.get("k").unwrap(), None);
    }

    #[test]
    fn mock_os_store_round_trip() {
        keyring_core::set_default_store(keyring_core::mock::Store::new().unwrap());
        let s = Secrets::os();
        s.set("lake/x/salt", "abc").unwrap();
        assert_eq!(
            s.get("lake/x/salt").unwrap().as_deref().map(String::as_str),
            Some("abc")
        );
        s.delete("lake/x/salt").unwrap();
        assert_eq!(s.get("lake/x/salt").unwrap(), None);
    }
}
