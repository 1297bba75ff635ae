//! PNGs of the window: "Save as PNG" for charts, and the screenshot tour `scripts/screenshots`
//! runs (`EDLAKE_SCREENSHOTS=DIR`): it walks the real app through its main screens on the demo
//! lake, saves each frame the GPU rendered, then closes the window.

use std::path::{Path, PathBuf};

use super::{Page, Screen, UiSettings};
use crate::app::run::SourceKind;
use crate::metrics::METRICS;

/// Saves (part of) a captured frame as PNG; `rect` is in points.
pub fn save_png(
    img: &egui::ColorImage,
    rect: Option<egui::Rect>,
    pixels_per_point: f32,
    path: &Path,
) -> Result<(), String> {
    let img = match rect {
        Some(r) => img.region(&r, Some(pixels_per_point)),
        None => img.clone(),
    };
    let [w, h] = img.size;
    let bytes: Vec<u8> = img.pixels.iter().flat_map(|c| c.to_array()).collect();
    let buf = image::RgbaImage::from_raw(w as u32, h as u32, bytes)
        .ok_or_else(|| "the captured image has the wrong size".to_string())?;
    let tmp = path.with_extension("png.partial");
    buf.save_with_format(&tmp, image::ImageFormat::Png)
        .map_err(|e| e.to_string())?;
    std::fs::rename(&tmp, path).map_err(|e| e.to_string())
}

#[derive(Debug, Clone)]
enum Shot {
    Home,
    Wizard(super::wizard::Step),
    Ingest,
    Tables,
    Chart(&'static str),
    More(super::more::Section),
}

impl Shot {
    fn file(&self) -> String {
        match self {
            Shot::Home => "home.png".into(),
            Shot::Wizard(step) => format!(
                "wizard-{}.png",
                super::wizard::Step::ALL
                    .iter()
                    .position(|s| s == step)
                    .unwrap_or(0)
                    + 1
            ),
            Shot::Ingest => "ingestion.png".into(),
            Shot::Tables => "preview.png".into(),
            Shot::Chart(m) => format!("chart-{m}.png"),
            Shot::More(s) => match s {
                super::more::Section::Roster => "more-roster-identity.png".into(),
                super::more::Section::Custom => "more-custom-source.png".into(),
                super::more::Section::Program => "more-micromasters.png".into(),
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
}

impl Tour {
    /// A tour when `EDLAKE_SCREENSHOTS` names a folder.
    pub fn from_env() -> Option<Tour> {
        let dir = PathBuf::from(std::env::var_os("EDLAKE_SCREENSHOTS")?);
        let mut shots = vec![Shot::Home];
        shots.extend(super::wizard::Step::ALL.map(Shot::Wizard));
        shots.push(Shot::Tables);
        shots.extend(METRICS.iter().map(|m| Shot::Chart(m.name)));
        {
            use super::more::Section;
            shots.extend([Section::Roster, Section::Custom, Section::Program].map(Shot::More));
        }
        // Last: it adds a bigger generated Clever set to the demo lake to show a run in progress.
        shots.push(Shot::Ingest);
        Some(Tour {
            dir,
            shots,
            next: 0,
            frames: 0,
            asked: None,
            demo_data: crate::demo::bundled_data(),
            big: None,
            frame_secs: Vec::new(),
            ingest_started: false,
        })
    }

    fn prepare(&self, shot: &Shot, saved: &mut UiSettings, screen: &mut Screen) {
        let Screen::Open(v) = screen else { return };
        match shot {
            Shot::Home => saved.page = Page::Home,
            Shot::Wizard(i) => {
                saved.page = Page::Setup;
                v.wizard.step = *i;
            }
            Shot::Ingest => {
                saved.page = Page::Ingest;
                if let Some(d) = &self.demo_data {
                    for k in SourceKind::ALL {
                        saved.folders.insert(k.name().into(), d.join(k.name()));
                    }
                }
                if let Some(b) = &self.big {
                    saved
                        .folders
                        .insert("clever".into(), b.path().join("clever"));
                }
            }
            Shot::Tables => {
                saved.page = Page::Tables;
                let t = crate::lake::TableRef::new(
                    crate::lake::Layer::General,
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
            Shot::More(s) => {
                saved.page = Page::More;
                v.more.section = *s;
                // The custom form filled in with the SIS files and their OEA metadata.
                if *s == super::more::Section::Custom
                    && v.more.custom.name.is_empty()
                    && let Some(d) = &self.demo_data
                    && let Some(root) = d.parent()
                {
                    v.more
                        .custom
                        .load_metadata(root.join("assets/modules/contoso_sis.metadata.csv"));
                    v.more.custom.name = "district_sis".into();
                    saved.folders.insert("custom".into(), d.join("sis"));
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
            Shot::Chart(_) => !v.charts.current.is_running(),
            Shot::More(super::more::Section::Roster) => v.more.roster.info.done().is_some(),
            Shot::More(super::more::Section::Program) => v.more.program.counts.done().is_some(),
            Shot::More(super::more::Section::Custom) => v.more.custom.preview.done().is_some(),
            // A run in progress with rows flowing.
            Shot::Ingest => {
                v.ingest
                    .job
                    .progress
                    .stages
                    .iter()
                    .any(|(st, p)| *st != crate::pipeline::Stage::Land && p.files_done > 0)
                    || matches!(
                        v.ingest.job.state,
                        super::task::TaskState::Done(_) | super::task::TaskState::Failed(_)
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
        self.prepare(&shot, saved, screen);
        if Self::ready(&shot, screen) {
            self.frames += 1;
        }
        if matches!(shot, Shot::Ingest) && self.big.is_none() {
            // District-sized Clever reports, so the shot shows a run in progress.
            let dir = tempfile::tempdir().ok();
            if let Some(d) = &dir {
                let opts = crate::generate::GenOptions {
                    students: 30_000,
                    days: 20,
                    seed: 9,
                    participation_only: true,
                    ..Default::default()
                };
                let _ = crate::generate::generate(d.path(), &opts);
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
                let kinds = vec![(SourceKind::Clever, b.path().join("clever"))];
                let repaint: std::sync::Arc<dyn Fn() + Send + Sync> = {
                    let c = ctx.clone();
                    std::sync::Arc::new(move || c.request_repaint())
                };
                let secrets = crate::secrets::Secrets::session_only();
                if let Err(e) =
                    v.ingest
                        .start(&v.lake, v.salt.as_ref(), &secrets, &repaint, saved, kinds)
                {
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
                match save_png(&img, None, 1.0, &path) {
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
