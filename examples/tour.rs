//! The screenshot tour `scripts/screenshots` runs: the real app in a real window (under Xvfb,
//! rendered by Mesa) walked through its main screens on the demo lake, each frame the GPU
//! rendered saved as a PNG into the folder given as the first argument, then the window closes.
//! It wraps the production [`App`] from outside, so nothing of the tour ships in the app.
//!
//! With a lake folder as the second argument it opens that lake instead and visits only the
//! chart pages: the frame times of every chart on a lake of any size (a district year made by
//! `edlake bench --all-sources --keep`).

use std::path::PathBuf;
use std::time::Instant;

use edlake::app::run::SourceKind;
use edlake::metrics::METRICS;
use edlake::sources::saved::{SavedSource, SourceDef};
use edlake::ui::{App, AppOptions, Page, Screen, UiSettings, more, task, wizard};

fn main() -> anyhow::Result<()> {
    let dir = PathBuf::from(
        std::env::args_os()
            .nth(1)
            .ok_or_else(|| anyhow::anyhow!("usage: tour DIR (where the PNGs go) [LAKE]"))?,
    );
    let lake = std::env::args_os().nth(2).map(PathBuf::from);
    let charts_only = lake.is_some();
    let started = Instant::now();
    eframe::run_native(
        "edlake",
        edlake::ui::window::native_options(),
        Box::new(move |cc| {
            let options = AppOptions {
                remember_lake: lake.is_none(),
                lake,
                ..AppOptions::default()
            };
            Ok(Box::new(TourApp {
                app: App::new(cc, options),
                tour: Tour::new(dir, charts_only),
                started: Some(started),
            }))
        }),
    )
    .map_err(|e| anyhow::anyhow!("could not open the window: {e}"))
}

/// The app, driven by the tour after each frame.
struct TourApp {
    app: App,
    tour: Tour,
    started: Option<Instant>,
}

impl eframe::App for TourApp {
    fn ui(&mut self, ui: &mut egui::Ui, frame: &mut eframe::Frame) {
        if let Some(t) = self.started.take() {
            println!(
                "first frame {:.0} ms after start",
                t.elapsed().as_secs_f64() * 1000.0
            );
        }
        self.tour.frame_time(frame.info().cpu_usage);
        eframe::App::ui(&mut self.app, ui, frame);
        self.tour
            .step(ui.ctx(), &mut self.app.saved, &mut self.app.screen);
    }

    /// Scrolls the wide table sideways as a user would: the pointer over the rows and the
    /// wheel turned sideways (shift + wheel on most mice).
    fn raw_input_hook(&mut self, _ctx: &egui::Context, raw_input: &mut egui::RawInput) {
        if self.tour.scroll_frames > 0 {
            self.tour.scroll_frames -= 1;
            raw_input
                .events
                .push(egui::Event::PointerMoved(egui::pos2(760.0, 300.0)));
            raw_input.events.push(egui::Event::MouseWheel {
                unit: egui::MouseWheelUnit::Point,
                delta: egui::vec2(-400.0, 0.0),
                phase: egui::TouchPhase::Move,
                source: egui::MouseWheelSource::Unknown,
                modifiers: egui::Modifiers::default(),
            });
        }
    }
}

#[derive(Debug, Clone)]
enum Shot {
    Home,
    Wizard(wizard::Step),
    Ingest,
    /// The same run, finished: its final totals.
    IngestDone,
    Tables,
    /// A wide table (Insights activity), scrolled sideways to its last columns.
    TablesWide,
    Chart(&'static str),
    /// The hybrid cards, one school beside the other ("Compare with").
    Compare,
    More(more::Section),
}

impl Shot {
    fn file(&self) -> String {
        match self {
            Shot::Home => "home.png".into(),
            Shot::Wizard(step) => format!(
                "wizard-{}.png",
                wizard::Step::ALL
                    .iter()
                    .position(|s| s == step)
                    .unwrap_or(0)
                    + 1
            ),
            Shot::Ingest => "ingestion.png".into(),
            Shot::IngestDone => "ingestion-done.png".into(),
            Shot::Tables => "preview.png".into(),
            Shot::TablesWide => "preview-wide.png".into(),
            Shot::Chart(m) => format!("chart-{m}.png"),
            Shot::Compare => "chart-compare.png".into(),
            Shot::More(s) => match s {
                more::Section::Roster => "more-roster-identity.png".into(),
                more::Section::Custom => "more-custom-source.png".into(),
                more::Section::Program => "more-micromasters.png".into(),
                more::Section::Schools => "more-schools.png".into(),
            },
        }
    }
}

/// The scripted walk through the app.
pub struct Tour {
    dir: PathBuf,
    shots: Vec<Shot>,
    next: usize,
    frames: u32,
    asked: Option<crossbeam_channel::Receiver<()>>,
    demo_data: Option<PathBuf>,
    /// Generated Clever files for the in-progress shot (kept until the tour ends).
    big: Option<tempfile::TempDir>,
    /// CPU seconds of each frame of the current shot (eframe's own measure).
    frame_secs: Vec<f32>,
    ingest_started: bool,
    /// Frames in which to turn the wheel sideways (for the wide table).
    scroll_frames: u32,
    /// Whether the demo lake was given a daily schedule (for Home and the schedule panel).
    scheduled: bool,
}

impl Tour {
    /// The tour, saving into `dir` (only the chart pages when `charts_only`).
    fn new(dir: PathBuf, charts_only: bool) -> Tour {
        let mut shots = vec![Shot::Home];
        shots.extend(wizard::Step::ALL.map(Shot::Wizard));
        shots.extend([Shot::Tables, Shot::TablesWide]);
        shots.extend(METRICS.iter().map(|m| Shot::Chart(m.name)));
        shots.push(Shot::Compare);
        {
            use more::Section;
            shots.extend(
                [
                    Section::Roster,
                    Section::Custom,
                    Section::Program,
                    Section::Schools,
                ]
                .map(Shot::More),
            );
        }
        // Last: it adds a bigger generated Clever set to the demo lake to show a run in progress.
        shots.extend([Shot::Ingest, Shot::IngestDone]);
        if charts_only {
            shots.retain(|s| matches!(s, Shot::Chart(_)));
        }
        Tour {
            dir,
            shots,
            next: 0,
            frames: 0,
            asked: None,
            demo_data: edlake::demo::bundled_data(),
            big: None,
            frame_secs: Vec::new(),
            ingest_started: false,
            scroll_frames: 0,
            scheduled: false,
        }
    }

    fn prepare(
        &mut self,
        ctx: &egui::Context,
        shot: &Shot,
        saved: &mut UiSettings,
        screen: &mut Screen,
    ) {
        let Screen::Open(v) = screen else { return };
        if !self.scheduled {
            // Kept in the lake only: the tour does not install anything into the OS scheduler.
            let ops = edlake::app::schedule::Operations {
                schedule: edlake::app::schedule::Schedule::new("06:30", true, vec![]).ok(),
                ..Default::default()
            };
            if let Err(e) = ops.save(&v.lake) {
                eprintln!("screenshot tour: {e}");
            }
            v.home.refresh(&v.lake, &repaint(ctx));
            self.scheduled = true;
        }
        match shot {
            Shot::Home => saved.page = Page::Home,
            Shot::Wizard(i) => {
                saved.page = Page::Setup;
                v.wizard.step = *i;
            }
            Shot::IngestDone => saved.page = Page::Ingest,
            Shot::TablesWide => {
                saved.page = Page::Tables;
                let wide = v.lake.tables().into_iter().find(|t| {
                    t.layer == edlake::lake::Layer::General
                        && t.source == "ms_insights"
                        && t.entity == edlake::modules::insights::ACTIVITY
                });
                if let Some(t) = wide
                    && v.tables.selected.as_ref() != Some(&t)
                {
                    v.tables.select(t);
                }
            }
            Shot::Ingest => {
                saved.page = Page::Ingest;
                if let Some(b) = &self.big {
                    let clever = b.path().join("clever");
                    if v.sources.folder("clever") != Some(&clever) {
                        v.sources
                            .set_folder(&v.lake, &repaint(ctx), "clever", clever);
                    }
                }
            }
            Shot::Tables => {
                saved.page = Page::Tables;
                let t = edlake::lake::TableRef::new(
                    edlake::lake::Layer::General,
                    "clever",
                    "v1.0",
                    "daily_participation",
                );
                if v.tables.selected.as_ref() != Some(&t) {
                    v.tables.select(t);
                }
            }
            Shot::Chart(m) => {
                saved.page = Page::Charts;
                saved.chart = m.to_string();
            }
            Shot::Compare => {
                saved.page = Page::Charts;
                saved.chart = "hybrid-summary".into();
                saved.filter.school = Some("Maple Ridge High".into());
                saved.filter.compare = true;
                saved.filter.school2 = Some("Mitchell High".into());
            }
            Shot::More(s) => {
                saved.page = Page::More;
                v.more.section = *s;
                // The custom form filled in with the SIS files and their OEA metadata.
                if *s == more::Section::Custom
                    && v.more.custom.name.is_empty()
                    && let Some(d) = &self.demo_data
                    && let Some(root) = d.parent()
                {
                    v.more
                        .custom
                        .load_metadata(root.join("assets/modules/contoso_sis.metadata.csv"));
                    v.more.custom.name = "district_sis".into();
                    v.more.custom.dir = Some(d.join("sis"));
                }
            }
        }
    }

    fn ready(shot: &Shot, screen: &Screen) -> bool {
        let Screen::Open(v) = screen else {
            return false;
        };
        match shot {
            Shot::Home => v.home.overview.done().is_some(),
            Shot::Tables => v.tables.first_page_ms.is_some(),
            Shot::TablesWide => {
                v.tables.first_page_ms.is_some()
                    && v.tables
                        .selected
                        .as_ref()
                        .is_some_and(|t| t.source == "ms_insights")
            }
            Shot::IngestDone => matches!(
                v.ingest.job.state,
                task::TaskState::Done(_) | task::TaskState::Failed(_)
            ),
            Shot::Chart(_) | Shot::Compare => !v.charts.current.is_running(),
            Shot::More(more::Section::Roster) => v.more.roster.info.done().is_some(),
            Shot::More(more::Section::Program) => v.more.program.counts.done().is_some(),
            Shot::More(more::Section::Custom) => v.more.custom.preview.done().is_some(),
            Shot::More(more::Section::Schools) => v.more.schools.rows.done().is_some(),
            // A run in progress with rows flowing.
            Shot::Ingest => {
                v.ingest
                    .job
                    .progress
                    .stages
                    .iter()
                    .any(|(st, p)| *st != edlake::pipeline::Stage::Land && p.files_done > 0)
                    || matches!(
                        v.ingest.job.state,
                        task::TaskState::Done(_) | task::TaskState::Failed(_)
                    )
            }
            _ => true,
        }
    }

    /// Records the previous frame's CPU time (from `eframe::Frame::info`).
    pub fn frame_time(&mut self, secs: Option<f32>) {
        if let Some(s) = secs {
            self.frame_secs.push(s);
        }
    }

    fn report_frames(&mut self, shot: &Shot) {
        let mut v = std::mem::take(&mut self.frame_secs);
        if v.is_empty() {
            return;
        }
        if std::env::var_os("EDLAKE_TOUR_ALL_FRAMES").is_some() {
            let all: Vec<String> = v.iter().map(|s| format!("{:.1}", s * 1000.0)).collect();
            println!("all {}", all.join(" "));
        }
        v.sort_by(f32::total_cmp);
        let median = v[v.len() / 2] * 1000.0;
        let max = v[v.len() - 1] * 1000.0;
        println!(
            "frames {:<34} {:>3} frames, median {median:.1} ms, max {max:.1} ms",
            shot.file(),
            v.len()
        );
    }

    /// Called once per frame after drawing.
    pub fn step(&mut self, ctx: &egui::Context, saved: &mut UiSettings, screen: &mut Screen) {
        ctx.request_repaint();
        let Some(shot) = self.shots.get(self.next).cloned() else {
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            return;
        };
        if let Some(rx) = &self.asked {
            if rx.try_recv().is_ok() {
                self.report_frames(&shot);
                self.asked = None;
                self.frames = 0;
                self.next += 1;
            }
            return;
        }
        self.prepare(ctx, &shot, saved, screen);
        if Self::ready(&shot, screen) {
            if matches!(shot, Shot::TablesWide) && self.frames == 0 {
                self.scroll_frames = 4;
            }
            self.frames += 1;
        }
        if matches!(shot, Shot::Ingest) && self.big.is_none() {
            // District-sized Clever reports, so the shot shows a run in progress.
            let dir = tempfile::tempdir().ok();
            if let Some(d) = &dir {
                let opts = edlake::generate::GenOptions {
                    students: 30_000,
                    days: 20,
                    seed: 9,
                    participation_only: true,
                    ..Default::default()
                };
                let _ = edlake::generate::generate(d.path(), &opts);
            }
            self.big = dir;
            self.frames = 0;
            // The generation ran inside this frame: it is the tour's work, not the app's.
            self.frame_secs.clear();
            return;
        }
        if matches!(shot, Shot::Ingest)
            && !self.ingest_started
            && let Screen::Open(v) = screen
            && let Some(b) = &self.big
        {
            {
                let clever = SavedSource {
                    name: SourceKind::Clever.name().into(),
                    module: Some(SourceKind::Clever.name().into()),
                    def: SourceDef::Folder {
                        path: b.path().join("clever"),
                    },
                };
                let secrets = edlake::secrets::Secrets::session_only();
                if let Err(e) = v.ingest.start(
                    &v.lake,
                    v.salt.as_ref(),
                    &secrets,
                    &repaint(ctx),
                    vec![clever],
                ) {
                    eprintln!("screenshot tour: {e}");
                }
                self.ingest_started = true;
            }
        }
        // Let layout settle (fonts, plots' auto bounds) before capturing.
        if self.frames >= 8 {
            let (tx, rx) = crossbeam_channel::bounded(1);
            let path = self.dir.join(shot.file());
            let c = ctx.clone();
            ctx.request_screenshot(move |img| {
                match edlake::ui::screenshot::save_png(&img, None, 1.0, &path) {
                    Ok(()) => println!("saved {}", path.display()),
                    Err(e) => eprintln!("screenshot {}: {e}", path.display()),
                }
                let _ = tx.send(());
                c.request_repaint();
            });
            self.asked = Some(rx);
        }
    }
}

/// Asks for a frame whenever a worker has news.
fn repaint(ctx: &egui::Context) -> std::sync::Arc<dyn Fn() + Send + Sync> {
    let c = ctx.clone();
    std::sync::Arc::new(move || c.request_repaint())
}
