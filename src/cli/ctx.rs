//! What every command works with: the lake path, JSON output, where secrets live; opening the
//! lake and reading its salt.

use std::io::IsTerminal;

use anyhow::{Context, Result};
use edlake::lake::Lake;
use edlake::pipeline::job::lake_salt;
use edlake::pseudo::Salt;
use edlake::secrets::Secrets;

/// Prints a value as pretty JSON (`--json`).
pub(super) fn print_json(v: &impl serde::Serialize) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

/// The command line's shared options.
pub(super) struct Ctx {
    pub(super) lake_path: std::path::PathBuf,
    pub(super) json: bool,
    pub(super) secrets: Secrets,
}

impl Ctx {
    /// Opens the lake, saying when its permissions had to be tightened.
    pub(super) fn lake(&self) -> Result<Lake> {
        let lake = Lake::open(&self.lake_path)?;
        if lake.tightened() > 0 {
            eprintln!(
                "note: {} was readable by other accounts on this machine; {} files and folders are \
                 now readable by you only",
                self.lake_path.display(),
                lake.tightened()
            );
        }
        Ok(lake)
    }

    /// The salt: from the keyring, or with --session-secrets from standard input.
    pub(super) fn salt(&self, lake: &Lake) -> Result<Salt> {
        if self.secrets.is_session_only() {
            let mut s = zeroize::Zeroizing::new(String::new());
            if std::io::stdin().is_terminal() {
                eprintln!("Enter the lake's salt (it is kept in memory for this run only):");
            }
            std::io::stdin()
                .read_line(&mut s)
                .context("reading the salt from standard input")?;
            return Ok(Salt::from_secret(s.trim())?);
        }
        Ok(lake_salt(lake, &self.secrets)?)
    }
}
