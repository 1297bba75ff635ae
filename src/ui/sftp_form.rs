//! The wizard's Clever-over-SFTP form: connection fields checked inline, "Test connection" in the
//! background, the server's fingerprint shown for the user to accept (then pinned), and the report
//! folders found. The password or key passphrase goes straight to the keyring.

use std::path::PathBuf;

use super::Shared;
use super::task::{Task, TaskState};
use crate::sources::saved::{SavedSource, SourceDef};
use crate::sources::sftp::{Probe, SftpAuth, SftpConfig, probe};

/// The name the wizard saves the Clever SFTP source under (the module's own name, which the
/// app and `edlake ingest clever --source clever` look for first).
pub const CLEVER_SFTP: &str = "clever";

/// Form state (runtime only; what is saved is the source definition in the lake).
pub struct SftpForm {
    pub host: String,
    pub port: String,
    pub user: String,
    pub secret: String,
    pub key: Option<PathBuf>,
    pub remote_dir: String,
    test: Task<Probe>,
    /// A fingerprint the server showed that the user has not accepted yet.
    pub unknown_key: Option<String>,
    /// Whether a password or passphrase is already in the keyring for the saved server (asked
    /// off the UI thread once the saved source is known; `Idle` until then).
    stored: Task<bool>,
}

impl Default for SftpForm {
    fn default() -> Self {
        SftpForm {
            host: String::new(),
            port: "22".into(),
            user: String::new(),
            secret: String::new(),
            key: None,
            remote_dir: String::new(),
            test: Task::default(),
            unknown_key: None,
            stored: Task::default(),
        }
    }
}

/// The typed secret is wiped from memory with the form.
impl Drop for SftpForm {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.secret);
    }
}

impl SftpForm {
    /// Fills the form from the lake's saved Clever server, once the setup has been read.
    fn load(&mut self, sh: &Shared) {
        let Some(src) = sh.sources.map.get("clever") else {
            return;
        };
        let SourceDef::Sftp(c) = &src.def else {
            return;
        };
        let key = src.key(sh.lake);
        self.host = c.host.clone();
        self.port = c.port.to_string();
        self.user = c.user.clone();
        self.remote_dir = c.remote_dir.clone();
        if let SftpAuth::Key { path } = &c.auth {
            self.key = Some(path.clone());
        }
        let secrets = sh.secrets.clone();
        self.stored = Task::spawn(sh.repaint.clone(), move |_, _| {
            Ok(secrets.get(&key)?.is_some())
        });
    }

    fn saved_secret(&self) -> bool {
        self.stored.done() == Some(&true)
    }

    fn config(&self) -> anyhow::Result<SftpConfig> {
        let host = self.host.trim();
        if host.is_empty() || host.contains(char::is_whitespace) {
            anyhow::bail!("Enter the server's host name (for example sftp.clever.com).");
        }
        let port: u16 =
            self.port.trim().parse().map_err(|_| {
                anyhow::anyhow!("The port is a number from 1 to 65535 (usually 22).")
            })?;
        if self.user.trim().is_empty() {
            anyhow::bail!("Enter the user name Clever gave the district.");
        }
        if self.key.is_none() && self.secret.is_empty() && !self.saved_secret() {
            anyhow::bail!("Enter the password, or choose a key file.");
        }
        Ok(SftpConfig {
            host: host.into(),
            port,
            user: self.user.trim().into(),
            auth: match &self.key {
                Some(p) => SftpAuth::Key { path: p.clone() },
                None => SftpAuth::Password,
            },
            remote_dir: self.remote_dir.trim().into(),
            host_key: None,
            timeout_secs: 20,
        })
    }

    fn start_test(&mut self, sh: &Shared, cfg: SftpConfig, accept: Option<String>) {
        let secret = (!self.secret.is_empty())
            .then(|| crate::secrets::SecretString::new(self.secret.clone()));
        let lake = sh.lake.clone();
        let secrets = sh.secrets.clone();
        self.test = Task::spawn(sh.repaint.clone(), move |_, _| {
            let pinned = match SavedSource::load(&lake, CLEVER_SFTP) {
                Ok(SavedSource {
                    def: SourceDef::Sftp(c),
                    ..
                }) if c.host == cfg.host && c.port == cfg.port => c.host_key,
                _ => None,
            };
            let mut cfg = SftpConfig {
                host_key: pinned,
                ..cfg
            };
            // Bound to the server being tested: a password saved for another one is never sent.
            let key = SavedSource::secret_key(&lake, CLEVER_SFTP, &SourceDef::Sftp(cfg.clone()));
            let secret = match secret {
                Some(s) => Some(s),
                None => secrets.get(&key)?,
            };
            let p = probe(&cfg, secret.as_ref().map(|s| s.as_str()), accept.as_deref())?;
            // Connected with an accepted key: save the source and its secret.
            cfg.host_key = Some(p.fingerprint.clone());
            if let Some(s) = &secret {
                secrets.set(&key, s)?;
            }
            SavedSource {
                name: CLEVER_SFTP.into(),
                module: Some("clever".into()),
                def: SourceDef::Sftp(cfg),
            }
            .save(&lake)?;
            Ok(p)
        });
    }

    /// Draws the form.
    pub fn ui(&mut self, ui: &mut egui::Ui, sh: &mut Shared) {
        self.stored.poll();
        if matches!(self.stored.state, TaskState::Idle) {
            self.load(sh);
        }
        if self.test.poll() {
            if let TaskState::Done(_) = &self.test.state {
                // It is in the keyring now; the form need not hold it any longer.
                zeroize::Zeroize::zeroize(&mut self.secret);
                self.stored.state = TaskState::Done(true);
                // The source was saved in the lake: read the setup again.
                sh.nav.push(super::Nav::Refresh);
            }
            if let TaskState::Failed(e) = &self.test.state {
                self.unknown_key = (e.contains("not accepted yet"))
                    .then(|| e.split_whitespace().find(|w| w.starts_with("SHA256:")))
                    .flatten()
                    .map(|w| w.trim_end_matches('.').to_string());
            } else {
                self.unknown_key = None;
            }
        }
        egui::Grid::new("sftp-form").num_columns(2).show(ui, |ui| {
            let l = ui.label("Host");
            ui.text_edit_singleline(&mut self.host).labelled_by(l.id);
            ui.end_row();
            let l = ui.label("Port");
            ui.add(egui::TextEdit::singleline(&mut self.port).desired_width(60.0))
                .labelled_by(l.id);
            ui.end_row();
            let l = ui.label("User");
            ui.text_edit_singleline(&mut self.user).labelled_by(l.id);
            ui.end_row();
            let l = ui.label(if self.key.is_some() {
                "Key passphrase"
            } else {
                "Password"
            });
            ui.add(egui::TextEdit::singleline(&mut self.secret).password(true))
                .labelled_by(l.id);
            ui.end_row();
            ui.label("Key file");
            ui.vertical(|ui| {
                use super::path_field::{PathKind, path_row};
                let ask = ("OpenSSH private key", "Choose key…");
                let current = self.key.clone();
                if let Some(p) =
                    path_row(ui, sh.dialogs, ask, PathKind::File(&[]), current.as_deref())
                {
                    self.key = Some(p);
                }
                if self.key.is_some() && ui.button("Use a password").clicked() {
                    self.key = None;
                }
            });
            ui.end_row();
            let l = ui.label("Remote folder");
            ui.add(egui::TextEdit::singleline(&mut self.remote_dir).hint_text("login folder"))
                .labelled_by(l.id);
            ui.end_row();
        });
        let cfg = self.config();
        if let Err(e) = &cfg {
            ui.colored_label(ui.visuals().warn_fg_color, e.to_string());
        }
        let running = self.test.is_running();
        ui.horizontal(|ui| {
            if ui
                .add_enabled(
                    cfg.is_ok() && !running,
                    egui::Button::new("Test connection"),
                )
                .clicked()
                && let Ok(c) = &cfg
            {
                self.start_test(sh, c.clone(), None);
            }
            if running {
                ui.spinner();
                ui.label("Connecting…");
            }
        });
        if let Some(fp) = self.unknown_key.clone() {
            ui.label(format!(
                "The server presents host key {fp}. Compare it with the fingerprint Clever published; \
                 accept it only if they match. edlake will refuse the server if this key ever changes."
            ));
            if ui.button("Accept this key").clicked()
                && let Ok(c) = &cfg
            {
                self.start_test(sh, c.clone(), Some(fp));
            }
        }
        match &self.test.state {
            TaskState::Done(p) => {
                ui.label(format!(
                    "Connected; host key {} pinned. Report folders:",
                    p.fingerprint
                ));
                for (d, n) in &p.folders {
                    ui.label(format!(
                        "  {}  {n} file(s)",
                        if d.is_empty() { "." } else { d }
                    ));
                }
            }
            TaskState::Failed(e) if self.unknown_key.is_none() => {
                ui.colored_label(ui.visuals().error_fg_color, e);
            }
            _ => {}
        }
    }
}
