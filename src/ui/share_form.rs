//! The wizard's Insights data-share form for reading the storage account directly: account,
//! container, prefix, key or SAS token (straight to the keyring), and a check in the background
//! that shows the activity dates and the roster snapshot it found.

use super::Shared;
use super::task::{Task, TaskState};
use crate::sources::Source;
use crate::sources::azure::{AzureAuth, AzureConfig, AzureSource, ShareLayout};
use crate::sources::saved::{SavedSource, SourceDef};

/// The name the wizard saves the storage-account share under (the module's own name).
pub const INSIGHTS_SHARE: &str = "insights";

/// Form state (runtime only; what is saved is the source definition in the lake).
pub struct ShareForm {
    pub account: String,
    pub container: String,
    pub prefix: String,
    pub sas: bool,
    pub secret: String,
    pub endpoint: String,
    check: Task<Vec<String>>,
    /// Whether a key or SAS token is already in the keyring for the saved account (asked off
    /// the UI thread once the saved source is known; `Idle` until then).
    stored: Task<bool>,
}

impl Default for ShareForm {
    fn default() -> Self {
        ShareForm {
            account: String::new(),
            container: "oea".into(),
            prefix: "pre_landing/data_shares/".into(),
            sas: false,
            secret: String::new(),
            endpoint: String::new(),
            check: Task::default(),
            stored: Task::default(),
        }
    }
}

/// The typed secret is wiped from memory with the form.
impl Drop for ShareForm {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.secret);
    }
}

impl ShareForm {
    /// Fills the form from the lake's saved storage account, once the setup has been read.
    fn load(&mut self, sh: &Shared) {
        let Some(src) = sh.sources.map.get("insights") else {
            return;
        };
        let SourceDef::Azure(c) = &src.def else {
            return;
        };
        let key = src.key(sh.lake);
        self.account = c.account.clone();
        self.container = c.container.clone();
        self.prefix = c.prefix.clone();
        self.sas = c.auth == AzureAuth::Sas;
        self.endpoint = c.endpoint.clone().unwrap_or_default();
        let secrets = sh.secrets.clone();
        self.stored = Task::spawn(sh.repaint.clone(), move |_, _| {
            Ok(secrets.get(&key)?.is_some())
        });
    }

    fn saved_secret(&self) -> bool {
        self.stored.done() == Some(&true)
    }

    fn config(&self) -> anyhow::Result<AzureConfig> {
        let account = self.account.trim();
        if account.is_empty() || !account.chars().all(|c| c.is_ascii_alphanumeric()) {
            anyhow::bail!("Enter the storage account name (letters and digits only).");
        }
        if self.container.trim().is_empty() {
            anyhow::bail!("Enter the container (usually oea).");
        }
        if self.secret.is_empty() && !self.saved_secret() {
            anyhow::bail!(if self.sas {
                "Paste a SAS token with read and list rights."
            } else {
                "Paste the storage account key."
            });
        }
        let endpoint = self.endpoint.trim();
        Ok(AzureConfig {
            account: account.into(),
            container: self.container.trim().into(),
            prefix: self.prefix.trim().trim_matches('/').into(),
            auth: if self.sas {
                AzureAuth::Sas
            } else {
                AzureAuth::Key
            },
            endpoint: (!endpoint.is_empty()).then(|| endpoint.to_string()),
        })
    }

    fn start_check(&mut self, sh: &Shared, cfg: AzureConfig) {
        let secret = (!self.secret.is_empty())
            .then(|| crate::secrets::SecretString::new(self.secret.clone()));
        let lake = sh.lake.clone();
        let secrets = sh.secrets.clone();
        self.check = Task::spawn(sh.repaint.clone(), move |_, _| {
            // Bound to the account and endpoint being checked: a key saved for another one is
            // never sent here.
            let key =
                SavedSource::secret_key(&lake, INSIGHTS_SHARE, &SourceDef::Azure(cfg.clone()));
            let secret = match secret {
                Some(s) => s,
                None => secrets
                    .get(&key)?
                    .ok_or_else(|| anyhow::anyhow!("no key or SAS token stored yet"))?,
            };
            let files = AzureSource::new(cfg.clone(), &secret).and_then(|s| s.list())?;
            let lines = ShareLayout::of(&files).describe()?;
            secrets.set(&key, &secret)?;
            SavedSource {
                name: INSIGHTS_SHARE.into(),
                module: Some("insights".into()),
                def: SourceDef::Azure(cfg),
            }
            .save(&lake)?;
            Ok(lines)
        });
    }

    /// Draws the form.
    pub fn ui(&mut self, ui: &mut egui::Ui, sh: &mut Shared) {
        self.stored.poll();
        if matches!(self.stored.state, TaskState::Idle) {
            self.load(sh);
        }
        if self.check.poll() && self.check.done().is_some() {
            zeroize::Zeroize::zeroize(&mut self.secret);
            self.stored.state = TaskState::Done(true);
            // The source was saved in the lake: read the setup again.
            sh.nav.push(super::Nav::Refresh);
        }
        egui::Grid::new("share-form").num_columns(2).show(ui, |ui| {
            let l = ui.label("Storage account");
            ui.text_edit_singleline(&mut self.account).labelled_by(l.id);
            ui.end_row();
            let l = ui.label("Container");
            ui.text_edit_singleline(&mut self.container)
                .labelled_by(l.id);
            ui.end_row();
            let l = ui.label("Folder (prefix)");
            ui.add(egui::TextEdit::singleline(&mut self.prefix).desired_width(360.0))
                .labelled_by(l.id);
            ui.end_row();
            ui.label("Sign in with");
            ui.horizontal(|ui| {
                ui.radio_value(&mut self.sas, false, "account key");
                ui.radio_value(&mut self.sas, true, "SAS token");
            });
            ui.end_row();
            let l = ui.label(if self.sas { "SAS token" } else { "Account key" });
            ui.add(egui::TextEdit::singleline(&mut self.secret).password(true))
                .labelled_by(l.id);
            ui.end_row();
            let l = ui.label("Endpoint (optional)");
            ui.add(
                egui::TextEdit::singleline(&mut self.endpoint)
                    .hint_text("https://<account>.blob.core.windows.net"),
            )
            .labelled_by(l.id);
            ui.end_row();
        });
        let cfg = self.config();
        if let Err(e) = &cfg {
            ui.colored_label(ui.visuals().warn_fg_color, e.to_string());
        }
        ui.horizontal(|ui| {
            let running = self.check.is_running();
            if ui
                .add_enabled(
                    cfg.is_ok() && !running,
                    egui::Button::new("Check the share"),
                )
                .clicked()
                && let Ok(c) = &cfg
            {
                self.start_check(sh, c.clone());
            }
            if running {
                ui.spinner();
                ui.label("Listing the share…");
            }
        });
        match &self.check.state {
            TaskState::Done(lines) => {
                ui.label("Found (saved; the key is in the OS keyring):");
                for l in lines {
                    ui.label(format!("  {l}"));
                }
            }
            TaskState::Failed(e) => {
                ui.colored_label(ui.visuals().error_fg_color, e);
            }
            _ => {}
        }
    }
}
