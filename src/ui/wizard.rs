//! The setup wizard: one page per step with Back/Continue, every field checked inline; what it
//! sets up (salt, sources, pseudonymization) is saved in the lake as each step is done. Secrets go straight to the OS keyring; when it is unavailable the
//! wizard says so and offers to keep the secret for this session only.

use std::path::PathBuf;

use super::review::ReviewStep;
use super::sftp_form::SftpForm;
use super::share_form::ShareForm;
use super::task::{Task, TaskState};
use super::{Nav, Shared};
use crate::app::run::{Inspection, SourceKind, inspect};
use crate::pipeline::job::ensure_salt;
use crate::pseudo::Salt;
use crate::secrets::salt_key;

/// A step of the wizard, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Step {
    #[default]
    Lake,
    Clever,
    Insights,
    Sis,
    Review,
}

impl Step {
    /// Every step, in order.
    pub const ALL: [Step; 5] = [
        Step::Lake,
        Step::Clever,
        Step::Insights,
        Step::Sis,
        Step::Review,
    ];

    /// The step's title.
    pub fn title(self) -> &'static str {
        match self {
            Step::Lake => "Lake and salt",
            Step::Clever => "Clever reports",
            Step::Insights => "Insights data share",
            Step::Sis => "SIS files",
            Step::Review => "Review pseudonymization",
        }
    }

    fn index(self) -> usize {
        Step::ALL.iter().position(|s| *s == self).unwrap_or(0)
    }

    /// The step before, if any.
    pub fn prev(self) -> Option<Step> {
        self.index().checked_sub(1).map(|i| Step::ALL[i])
    }

    /// The step after, if any.
    pub fn next(self) -> Option<Step> {
        Step::ALL.get(self.index() + 1).copied()
    }
}

/// The wizard's runtime state.
pub struct WizardPage {
    pub step: Step,
    salt_input: String,
    salt_message: Option<(String, bool)>,
    offer_session: bool,
    /// Creating or importing the salt (the keyring may prompt): the salt and what to say.
    salt_job: Task<(Salt, String, bool)>,
    /// Backing up the salt to a file the user chose, once they confirmed.
    backup: Task<PathBuf>,
    backup_confirmed: bool,
    check: Task<Inspection>,
    check_for: Option<(SourceKind, PathBuf)>,
    /// The Clever SFTP form.
    pub sftp: SftpForm,
    /// The Insights storage-account form.
    pub share: ShareForm,
    review: ReviewStep,
    /// The Clever and Insights steps' choice of a server over a folder (`None`: as saved).
    clever_remote: Option<bool>,
    insights_remote: Option<bool>,
}

impl WizardPage {
    /// A wizard that resumes at `step`.
    pub fn new(step: Step) -> Self {
        WizardPage {
            step,
            salt_input: String::new(),
            salt_message: None,
            offer_session: false,
            salt_job: Task::default(),
            backup: Task::default(),
            backup_confirmed: false,
            check: Task::default(),
            check_for: None,
            sftp: SftpForm::default(),
            share: ShareForm::default(),
            review: ReviewStep::default(),
            clever_remote: None,
            insights_remote: None,
        }
    }

    /// Draws the wizard; returns a salt when this step set one.
    pub fn ui(&mut self, ui: &mut egui::Ui, sh: &mut Shared) -> Option<Salt> {
        self.check.poll();
        ui.horizontal(|ui| {
            for (i, step) in Step::ALL.into_iter().enumerate() {
                let text = format!("{}. {}", i + 1, step.title());
                if ui.selectable_label(self.step == step, text).clicked() {
                    self.step = step;
                }
                if step.next().is_some() {
                    ui.label("›");
                }
            }
        });
        ui.separator();
        ui.heading(self.step.title());
        ui.add_space(6.0);
        let mut salt = None;
        match self.step {
            Step::Lake => salt = self.lake_step(ui, sh),
            Step::Clever => {
                let remote = self
                    .clever_remote
                    .get_or_insert_with(|| sh.sources.is_remote("clever"));
                ui.horizontal(|ui| {
                    ui.radio_value(remote, true, "Clever's SFTP server");
                    ui.radio_value(remote, false, "A local folder");
                });
                if *remote {
                    self.sftp.ui(ui, sh);
                } else {
                    self.source_step(ui, sh, SourceKind::Clever);
                }
            }
            Step::Insights => {
                ui.label(
                    "Microsoft Education Insights reaches the district through Azure Data Share: accept \
                     the share invitation in the Azure portal and map it to the storage container \
                     `oea`, folder `pre_landing/data_shares`. Then sync that folder to this computer \
                     (AzCopy, Storage Explorer or OneDrive) and choose it below — the folder that \
                     holds activity/, roster/ and schema/.",
                );
                ui.add_space(6.0);
                let remote = self
                    .insights_remote
                    .get_or_insert_with(|| sh.sources.is_remote("insights"));
                ui.horizontal(|ui| {
                    ui.radio_value(remote, false, "A synced folder");
                    ui.radio_value(remote, true, "The storage account");
                });
                if *remote {
                    self.share.ui(ui, sh);
                } else {
                    self.source_step(ui, sh, SourceKind::Insights);
                }
            }
            Step::Sis => self.source_step(ui, sh, SourceKind::Sis),
            Step::Review => self.review.ui(ui, sh),
        }
        ui.add_space(12.0);
        ui.horizontal(|ui| {
            if ui
                .add_enabled(self.step.prev().is_some(), egui::Button::new("Back"))
                .clicked()
                && let Some(p) = self.step.prev()
            {
                self.step = p;
            }
            let has_salt = sh.salt.is_some() || salt.is_some();
            // Nothing can be pseudonymized without a salt: say so where the user is stopped.
            let why = "Create or import the salt first (step 1): nothing can be pseudonymized without it.";
            if let Some(next) = self.step.next() {
                let ok = has_salt || self.step != Step::Lake;
                if ui
                    .add_enabled(ok, egui::Button::new("Continue"))
                    .on_disabled_hover_text(why)
                    .clicked()
                {
                    self.step = next;
                }
                if !ok {
                    ui.label(egui::RichText::new(why).weak());
                }
            } else {
                if ui
                    .add_enabled(has_salt, egui::Button::new("Run first ingestion"))
                    .on_disabled_hover_text(why)
                    .clicked()
                {
                    sh.nav.push(Nav::RunAll);
                }
                // The daily run is the last thing to set up: the schedule panel sits on the
                // Ingestion page, beside the runs it repeats.
                if ui
                    .button("Set a daily schedule…")
                    .on_hover_text("Run the sources every day or every school day, with edlake closed")
                    .clicked()
                {
                    sh.nav.push(Nav::Page(super::Page::Ingest));
                }
                if !has_salt {
                    ui.label(egui::RichText::new(why).weak());
                }
            }
        });
        salt
    }

    fn lake_step(&mut self, ui: &mut egui::Ui, sh: &mut Shared) -> Option<Salt> {
        ui.label(format!("Lake folder: {}", sh.lake.root().display()));
        ui.label(
            "The salt is a secret added to every student identifier before hashing, so pseudonyms \
             cannot be reversed by anyone who does not hold it.",
        );
        ui.add_space(6.0);
        if sh.is_demo {
            ui.label("The demo lake uses a random salt kept in memory until edlake closes.");
            return None;
        }
        if let Some(salt) = sh.salt {
            ui.label("This lake's salt is stored in the OS keyring.");
            self.backup_ui(ui, sh, salt);
            return None;
        }
        if self.salt_job.is_running() {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Storing the salt in the OS keyring…");
            });
            return None;
        }
        let mut out = None;
        if ui.button("Create a new salt").clicked() {
            let (lake, secrets) = (sh.lake.clone(), sh.secrets.clone());
            // The keyring may ask to be unlocked: never on the UI thread.
            self.salt_job = Task::spawn(sh.repaint.clone(), move |_, _| {
                ensure_salt(&lake, &secrets)?;
                let s = crate::pipeline::job::lake_salt(&lake, &secrets)?;
                Ok((
                    s,
                    "A new salt was stored in the OS keyring. Back it up below.".to_string(),
                    true,
                ))
            });
        }
        ui.add_space(6.0);
        ui.label("Or import the salt of the district's existing OEA lake, so pseudonyms match it:");
        ui.horizontal(|ui| {
            ui.add(
                egui::TextEdit::singleline(&mut self.salt_input)
                    .password(true)
                    .hint_text("existing salt")
                    .desired_width(260.0),
            );
            if ui.button("Import salt").clicked() {
                match Salt::from_secret(self.salt_input.trim()) {
                    Err(e) => self.salt_message = Some((e.to_string(), false)),
                    Ok(s) => {
                        zeroize::Zeroize::zeroize(&mut self.salt_input);
                        let (key, secrets) = (salt_key(&sh.lake.info().id), sh.secrets.clone());
                        self.salt_job = Task::spawn(sh.repaint.clone(), move |_, _| {
                            secrets.set(&key, s.expose())?;
                            let (m, ok) = match s.weakness() {
                                None => ("The salt was stored in the OS keyring.".into(), true),
                                Some(w) => (format!("The salt was stored, but {w}."), false),
                            };
                            Ok((s, m, ok))
                        });
                    }
                }
            }
        });
        if self.offer_session {
            ui.horizontal(|ui| {
                ui.label("Keep a salt in memory for this session only (it is gone when edlake closes):");
                if ui.button("Use for this session").clicked() {
                    let s = match Salt::from_secret(self.salt_input.trim()) {
                        Ok(s) if !self.salt_input.trim().is_empty() => s,
                        _ => Salt::generate(),
                    };
                    zeroize::Zeroize::zeroize(&mut self.salt_input);
                    self.offer_session = false;
                    self.salt_message = Some((
                        "Using a session-only salt. Store it in the keyring later to keep pseudonyms stable."
                            .into(),
                        true,
                    ));
                    out = Some(s);
                }
            });
        }
        if let Some((m, ok)) = &self.salt_message {
            let c = if *ok {
                ui.visuals().text_color()
            } else {
                ui.visuals().error_fg_color
            };
            ui.colored_label(c, m);
        }
        out
    }

    /// "Back up salt…": without the salt the pseudonyms cannot be reproduced (a new computer,
    /// a reset keyring), so setup offers a copy — after an explicit confirmation, with an
    /// audit entry.
    fn backup_ui(&mut self, ui: &mut egui::Ui, sh: &mut Shared, salt: &Salt) {
        ui.label(
            "Back it up now: without it, nobody can reproduce these pseudonyms on another computer \
             or after the keyring is reset. Keep the copy as safe as the students' own data.",
        );
        if self.backup.poll() {
            self.salt_message = Some(match &self.backup.state {
                TaskState::Done(p) => (format!("The salt was backed up to {}.", p.display()), true),
                TaskState::Failed(e) => (format!("The salt was not backed up: {e}"), false),
                _ => return,
            });
        }
        ui.checkbox(
            &mut self.backup_confirmed,
            "I will keep the backup as safe as the students' data (the backup is recorded in the audit log)",
        );
        ui.add_enabled_ui(self.backup_confirmed && !self.backup.is_running(), |ui| {
            let ask = ("Where to keep the salt backup", "Back up salt…");
            let kind = super::path_field::PathKind::Save("edlake-salt.txt");
            if let Some(p) = super::path_field::path_row(ui, sh.dialogs, ask, kind, None) {
                let (lake, salt) = (sh.lake.clone(), salt.clone());
                self.backup = Task::spawn(sh.repaint.clone(), move |_, _| {
                    crate::pipeline::job::backup_salt(&lake, &salt, &p)?;
                    Ok(p)
                });
            }
        });
        super::widgets::message(ui, &self.salt_message);
    }

    /// Takes in a finished keyring write (every frame, whatever page is open); returns the
    /// salt it stored.
    pub fn poll(&mut self) -> Option<Salt> {
        if !self.salt_job.poll() {
            return None;
        }
        match std::mem::take(&mut self.salt_job.state) {
            TaskState::Done((s, message, ok)) => {
                self.salt_message = Some((message, ok));
                Some(s)
            }
            TaskState::Failed(e) => {
                self.keyring_failed(e);
                None
            }
            _ => None,
        }
    }

    fn keyring_failed(&mut self, e: String) {
        self.salt_message = Some((format!("The OS keyring could not be used: {e}"), false));
        self.offer_session = true;
    }

    fn source_step(&mut self, ui: &mut egui::Ui, sh: &mut Shared, kind: SourceKind) {
        ui.label(egui::RichText::new(kind.expected_layout()).weak());
        let dir = sh.sources.folder(kind.name()).cloned();
        ui.label("Folder:");
        let ask = (kind.title(), "Choose…");
        let kind_folder = super::path_field::PathKind::Folder;
        if let Some(p) =
            super::path_field::path_row(ui, sh.dialogs, ask, kind_folder, dir.as_deref())
        {
            sh.nav.push(Nav::SetFolder(kind.name().into(), p));
        }
        let Some(dir) = dir else {
            ui.label("Skip this step if the district does not use this source.");
            return;
        };
        if !dir.is_dir() {
            ui.colored_label(
                ui.visuals().error_fg_color,
                "That folder does not exist (any more). Choose another one.",
            );
            return;
        }
        let key = (kind, dir.clone());
        if self.check_for.as_ref() != Some(&key) {
            self.check_for = Some(key);
            let lake = sh.lake.clone();
            self.check = Task::spawn(sh.repaint.clone(), move |_, _| {
                Ok(inspect(&lake, kind, &dir)?)
            });
        }
        match &self.check.state {
            TaskState::Running { .. } => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label("Checking the folder…");
                });
            }
            TaskState::Done(i) => {
                if i.entities.is_empty() {
                    ui.colored_label(ui.visuals().warn_fg_color, format!("Found {}", i.summary()));
                } else {
                    ui.label(format!("Found {}", i.summary()));
                }
            }
            TaskState::Failed(e) => {
                ui.colored_label(ui.visuals().error_fg_color, e);
            }
            TaskState::Idle => {}
        }
    }
}
