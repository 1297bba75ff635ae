//! The desktop app (egui/eframe). Everything that draws lives here; the work itself runs in the
//! library on worker threads ([`task::Task`]) that report events and ask for a repaint.

pub mod audit_view;
pub mod charts;
pub mod column_stats;
pub mod custom_form;
pub mod dialogs;
mod gap_strip;
pub mod home;
mod home_status;
pub mod ingest;
pub mod more;
pub mod path_field;
pub mod program_page;
pub mod review;
pub mod roster_page;
mod schedule_panel;
pub mod schools_page;
pub mod screenshot;
pub mod settings;
pub mod setup_state;
pub mod sftp_form;
pub mod share_form;
pub mod table_grid;
pub mod table_worker;
pub mod tables;
pub mod task;
pub mod widgets;
pub mod window;
pub mod wizard;

use std::path::PathBuf;
use std::sync::Arc;

use crate::lake::{Lake, TableRef};
use crate::pseudo::Salt;
use crate::secrets::Secrets;
use crate::settings::Settings;
use dialogs::Dialogs;
pub use settings::{ChartFilter, Page, UiSettings};

const STORAGE_KEY: &str = "edlake-ui";

/// How the app starts (tests and screenshots pass their own).
pub struct AppOptions {
    pub dialogs: Box<dyn Dialogs>,
    pub secrets: Secrets,
    /// Open this lake instead of the configured one.
    pub lake: Option<PathBuf>,
    /// Whether to read and remember the lake in the shared settings file.
    pub remember_lake: bool,
    /// Build the demo lake at once when no lake is configured.
    pub autostart_demo: bool,
}

impl Default for AppOptions {
    fn default() -> Self {
        AppOptions {
            dialogs: Box::new(dialogs::NativeDialogs),
            secrets: Secrets::os(),
            lake: None,
            remember_lake: true,
            autostart_demo: true,
        }
    }
}

pub use widgets::Toast;

/// What a page asks the app to do after drawing.
pub enum Nav {
    Page(Page),
    OpenTable(TableRef),
    /// Open a table at the rows with these values, sorted (a run's quarantined rows, a chart's
    /// drill-through).
    OpenWhere(TableRef, Vec<(String, String)>, Option<(String, bool)>),
    Refresh,
    CloseLake,
    /// Open the ingestion page and run every configured source.
    RunAll,
    /// Open the ingestion page and run this saved source ("Run now" on Home).
    RunNow(String),
    /// Read this module's files from this folder (saved in the lake's configuration).
    SetFolder(String, PathBuf),
}

/// What every page of an open lake works with.
pub struct Shared<'a> {
    pub lake: &'a Lake,
    pub salt: &'a Option<Salt>,
    pub is_demo: bool,
    pub secrets: &'a Secrets,
    pub dialogs: &'a dyn Dialogs,
    pub repaint: &'a Arc<dyn Fn() + Send + Sync>,
    pub saved: &'a mut UiSettings,
    /// The lake's sources (its configuration, read in the background).
    pub sources: &'a setup_state::SourceSetup,
    pub toasts: &'a mut Vec<Toast>,
    pub nav: &'a mut Vec<Nav>,
}

impl Shared<'_> {
    /// Shows a toast.
    pub fn toast(&mut self, text: impl Into<String>, ok: bool) {
        self.toasts
            .push(Toast::new(widgets::plain(&text.into()), ok));
    }
}

/// An opened lake and its pages' state (runtime only).
pub struct LakeView {
    pub lake: Lake,
    pub salt: Option<Salt>,
    pub salt_error: Option<String>,
    /// Reading the salt from the keyring.
    pub salt_load: task::Task<Salt>,
    pub is_demo: bool,
    /// The demo lake's temporary folder (deleted with the view).
    pub demo_dir: Option<tempfile::TempDir>,
    /// The lake's saved sources.
    pub sources: setup_state::SourceSetup,
    pub home: home::HomePage,
    pub wizard: wizard::WizardPage,
    pub ingest: ingest::IngestPage,
    pub tables: tables::TablesPage,
    pub charts: charts::ChartsPage,
    pub more: more::MorePage,
}

/// What the window shows.
pub enum Screen {
    Welcome(Box<home::Welcome>),
    Open(Box<LakeView>),
}

/// The edlake desktop app.
pub struct App {
    pub saved: UiSettings,
    pub screen: Screen,
    pub toasts: Vec<Toast>,
    dialogs: Box<dyn Dialogs>,
    secrets: Secrets,
    repaint: Arc<dyn Fn() + Send + Sync>,
    remember_lake: bool,
    /// "Close lake" on the demo asks first: closing deletes it.
    confirm_close: bool,
}

impl App {
    /// Builds the app: opens the configured lake, or starts the demo when none is configured.
    pub fn new(cc: &eframe::CreationContext<'_>, opts: AppOptions) -> App {
        let saved: UiSettings = cc
            .storage
            .and_then(|s| eframe::get_value(s, STORAGE_KEY))
            .unwrap_or_default();
        let ctx = cc.egui_ctx.clone();
        let repaint: Arc<dyn Fn() + Send + Sync> = Arc::new(move || ctx.request_repaint());
        // Finding the system's scheduler runs a program: once, off the UI thread.
        std::thread::spawn(crate::app::scheduler::Backend::detect);
        let mut app = App {
            saved,
            screen: Screen::Welcome(Box::default()),
            toasts: Vec::new(),
            dialogs: opts.dialogs,
            secrets: opts.secrets,
            repaint,
            remember_lake: opts.remember_lake,
            confirm_close: false,
        };
        cc.egui_ctx.set_theme(if app.saved.dark {
            egui::Theme::Dark
        } else {
            egui::Theme::Light
        });
        let configured = opts
            .lake
            .or_else(|| opts.remember_lake.then(|| Settings::load().lake).flatten());
        match configured {
            Some(p) if p.join("_edlake/lake.json").exists() => app.open_lake(p, false),
            Some(p) => {
                if let Screen::Welcome(w) = &mut app.screen {
                    w.error = Some(format!(
                        "The lake at {} is not there any more. Open or create another one, or try the demo.",
                        p.display()
                    ));
                }
            }
            None if opts.autostart_demo => {
                if let Screen::Welcome(w) = &mut app.screen {
                    w.start_demo(&app.repaint);
                }
            }
            None => {}
        }
        app
    }

    /// Opens a lake (reads its salt from the keyring; a demo lake brings its own).
    pub fn open_lake(&mut self, path: PathBuf, remember: bool) {
        match Lake::open(&path) {
            Ok(lake) => {
                let n = lake.tightened();
                if n > 0 {
                    let msg = format!(
                        "This lake was readable by other accounts on this computer; {n} files and folders are now readable by you only."
                    );
                    self.toast(msg, true);
                }
                if remember && self.remember_lake {
                    let mut s = Settings::load();
                    s.lake = Some(path.clone());
                    if let Err(e) = s.save() {
                        self.toast(format!("Could not remember the lake: {e}"), false);
                    }
                }
                // The salt comes from the keyring, which may ask to be unlocked: read in the
                // background, taken in when it arrives.
                let (l, secrets) = (lake.clone(), self.secrets.clone());
                let salt = task::Task::spawn(self.repaint.clone(), move |_, _| {
                    Ok(crate::pipeline::job::lake_salt(&l, &secrets)?)
                });
                self.show_lake(lake, None, None, false);
                if let Screen::Open(v) = &mut self.screen {
                    v.salt_load = salt;
                }
            }
            Err(e) => {
                let mut w = Box::<home::Welcome>::default();
                w.error = Some(e.to_string());
                self.screen = Screen::Welcome(w);
            }
        }
    }

    fn show_lake(&mut self, lake: Lake, salt: Option<Salt>, err: Option<String>, demo: bool) {
        let sources =
            setup_state::SourceSetup::load(&lake, &self.repaint, self.saved.legacy_sources());
        // Chart filters name schools of the lake they were chosen in.
        self.saved.filter.school = None;
        let first_step = if salt.is_some() {
            wizard::Step::Clever
        } else {
            wizard::Step::Lake
        };
        let view = LakeView {
            lake,
            salt,
            salt_error: err,
            salt_load: task::Task::default(),
            is_demo: demo,
            demo_dir: None,
            sources,
            home: home::HomePage::default(),
            wizard: wizard::WizardPage::new(first_step),
            ingest: ingest::IngestPage::default(),
            tables: tables::TablesPage::default(),
            charts: charts::ChartsPage::default(),
            more: more::MorePage::default(),
        };
        let mut view = view;
        view.home.refresh(&view.lake, &self.repaint);
        self.screen = Screen::Open(Box::new(view));
    }

    fn toast(&mut self, text: impl Into<String>, ok: bool) {
        self.toasts.push(Toast::new(text, ok));
    }

    fn top_bar(&mut self, ui: &mut egui::Ui, nav: &mut Vec<Nav>) {
        ui.horizontal(|ui| {
            ui.heading("edlake");
            if let Screen::Open(v) = &self.screen {
                ui.separator();
                for p in Page::ALL {
                    if ui
                        .selectable_label(self.saved.page == p, p.title())
                        .clicked()
                    {
                        nav.push(Nav::Page(p));
                    }
                }
                ui.separator();
                let label = if v.is_demo {
                    "Demo lake (test data)".to_string()
                } else {
                    v.lake.root().display().to_string()
                };
                ui.label(egui::RichText::new(label).weak())
                    .on_hover_text(v.lake.root().display().to_string());
            }
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                let theme = if self.saved.dark {
                    "Light theme"
                } else {
                    "Dark theme"
                };
                if ui.button(theme).clicked() {
                    self.saved.dark = !self.saved.dark;
                    ui.ctx().set_theme(if self.saved.dark {
                        egui::Theme::Dark
                    } else {
                        egui::Theme::Light
                    });
                }
                if let Screen::Open(v) = &self.screen
                    && ui.button("Close lake").clicked()
                {
                    match v.is_demo {
                        true => self.confirm_close = true,
                        false => nav.push(Nav::CloseLake),
                    }
                }
            });
        });
    }

    /// Opens the Ingestion page and runs every configured source, or the one named.
    fn run_sources(&mut self, only: Option<String>) {
        self.saved.page = Page::Ingest;
        let Screen::Open(v) = &mut self.screen else {
            return;
        };
        let mut sources = ingest::configured(&v.sources);
        if let Some(name) = &only {
            sources.retain(|s| s.name == *name);
        }
        let started = if sources.is_empty() {
            Err("No source is set up yet: choose at least one folder or server.")
        } else {
            v.ingest.start(
                &v.lake,
                v.salt.as_ref(),
                &self.secrets,
                &self.repaint,
                sources,
            )
        };
        if let Err(e) = started {
            self.toast(e, false);
        }
    }

    fn apply(&mut self, nav: Nav) {
        match nav {
            Nav::Page(p) => {
                self.saved.page = p;
            }
            Nav::OpenTable(t) => {
                self.saved.page = Page::Tables;
                if let Screen::Open(v) = &mut self.screen {
                    v.tables.select(t);
                }
            }
            Nav::OpenWhere(t, exact, sort) => {
                self.saved.page = Page::Tables;
                if let Screen::Open(v) = &mut self.screen {
                    v.tables.select_where(t, exact, sort);
                }
            }
            Nav::Refresh => {
                if let Screen::Open(v) = &mut self.screen {
                    v.sources.reload(&v.lake, &self.repaint);
                    v.home.refresh(&v.lake, &self.repaint);
                    v.tables.invalidate();
                    v.charts.invalidate();
                }
            }
            Nav::RunAll => self.run_sources(None),
            Nav::RunNow(name) => self.run_sources(Some(name)),
            Nav::SetFolder(module, path) => {
                if let Screen::Open(v) = &mut self.screen {
                    v.sources.set_folder(&v.lake, &self.repaint, &module, path);
                }
            }
            Nav::CloseLake => {
                self.screen = Screen::Welcome(Box::default());
                if self.remember_lake {
                    let mut s = Settings::load();
                    s.lake = None;
                    let _ = s.save();
                }
            }
        }
    }
}

impl eframe::App for App {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        // Commands the widgets push this frame, applied in order once the frame is drawn.
        let mut nav = Vec::new();
        if matches!(self.screen, Screen::Open(_)) {
            widgets::page_keys(ui, &mut nav);
        }
        egui::Panel::top("top").show(ui, |ui| self.top_bar(ui, &mut nav));
        match &mut self.screen {
            Screen::Welcome(w) => {
                let act = egui::CentralPanel::default()
                    .show(ui, |ui| w.ui(ui, self.dialogs.as_ref(), &self.repaint))
                    .inner;
                match act {
                    Some(home::WelcomeAction::Open(p)) => self.open_lake(p, true),
                    Some(home::WelcomeAction::Create(p)) => {
                        self.saved.page = Page::Setup;
                        match Lake::init(&p) {
                            Ok((lake, _)) => {
                                if self.remember_lake {
                                    let mut s = Settings::load();
                                    s.lake = Some(p.clone());
                                    let _ = s.save();
                                }
                                self.show_lake(lake, None, None, false);
                            }
                            Err(e) => self.toast(format!("Could not create the lake: {e}"), false),
                        }
                    }
                    Some(home::WelcomeAction::Demo(d, dir)) => {
                        self.saved.page = Page::Home;
                        self.show_lake(d.lake, Some(d.salt), None, true);
                        if let Screen::Open(v) = &mut self.screen {
                            v.demo_dir = dir;
                        }
                    }
                    None => {}
                }
            }
            Screen::Open(v) => {
                let page = self.saved.page;
                if let Some((e, was_save)) = v.sources.poll() {
                    self.toasts.push(Toast::new(e, false));
                    if was_save {
                        v.sources.reload(&v.lake, &self.repaint);
                    }
                }
                if v.salt_load.poll() {
                    match std::mem::take(&mut v.salt_load.state) {
                        task::TaskState::Done(s) => v.salt = Some(s),
                        task::TaskState::Failed(e) => v.salt_error = Some(e),
                        _ => {}
                    }
                }
                if let Some(salt) = v.wizard.poll() {
                    v.salt = Some(salt);
                    v.salt_error = None;
                }
                let salt = v.salt.clone();
                let mut shared = Shared {
                    lake: &v.lake,
                    salt: &salt,
                    is_demo: v.is_demo,
                    secrets: &self.secrets,
                    dialogs: self.dialogs.as_ref(),
                    repaint: &self.repaint,
                    saved: &mut self.saved,
                    sources: &v.sources,
                    toasts: &mut self.toasts,
                    nav: &mut nav,
                };
                // Jobs are polled every frame, not only while their page is drawn.
                v.ingest.poll(&mut shared);
                v.more.poll(&mut shared);
                egui::CentralPanel::default().show(ui, |ui| match page {
                    Page::Home => v.home.ui(ui, &mut shared, &v.salt_error),
                    Page::Setup => {
                        if let Some(salt) = v.wizard.ui(ui, &mut shared) {
                            v.salt = Some(salt);
                            v.salt_error = None;
                        }
                    }
                    Page::Ingest => v.ingest.ui(ui, &mut shared),
                    Page::Tables => v.tables.ui(ui, &mut shared),
                    Page::Charts => v.charts.ui(ui, &mut shared),
                    Page::More => v.more.ui(ui, &mut shared),
                });
            }
        }
        widgets::draw_toasts(ui, &mut self.toasts);
        if self.confirm_close && widgets::confirm_close_demo(ui, &mut self.confirm_close) {
            nav.push(Nav::CloseLake);
        }
        for n in nav {
            self.apply(n);
        }
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, STORAGE_KEY, &self.saved);
    }
}
