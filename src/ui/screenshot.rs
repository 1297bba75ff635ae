//! PNGs of the window: "Save as PNG" for charts, and the screenshot tour `scripts/screenshots`
//! runs (`EDLAKE_SCREENSHOTS=DIR`): it walks the real app through its main screens on the demo
//! lake, saves each frame the GPU rendered, then closes the window.

use std::path::{Path, PathBuf};

use super::{Page, Screen, UiSettings};
use crate::metrics::METRICS;
use crate::pipeline::run::SourceKind;

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
    Wizard(usize),
    Ingest,
    Tables,
    Chart(&'static str),
}

impl Shot {
    fn file(&self) -> String {
        match self {
            Shot::Home => "home.png".into(),
            Shot::Wizard(i) => format!("wizard-{}.png", i + 1),
            Shot::Ingest => "ingestion.png".into(),
            Shot::Tables => "preview.png".into(),
            Shot::Chart(m) => format!("chart-{m}.png"),
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
}

impl Tour {
    /// A tour when `EDLAKE_SCREENSHOTS` names a folder.
    pub fn from_env() -> Option<Tour> {
        let dir = PathBuf::from(std::env::var_os("EDLAKE_SCREENSHOTS")?);
        let mut shots = vec![Shot::Home];
        shots.extend((0..super::wizard::STEPS).map(Shot::Wizard));
        shots.push(Shot::Ingest);
        shots.push(Shot::Tables);
        shots.extend(METRICS.iter().map(|m| Shot::Chart(m.name)));
        Some(Tour {
            dir,
            shots,
            next: 0,
            frames: 0,
            asked: None,
            demo_data: crate::demo::bundled_data(),
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
            _ => true,
        }
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
        if matches!(shot, Shot::Ingest)
            && self.frames == 2
            && let Screen::Open(v) = screen
            && let Some(d) = &self.demo_data
        {
            {
                // Show a run in progress: re-running the demo sources (nothing new to land).
                let kinds = SourceKind::ALL
                    .iter()
                    .map(|k| (*k, d.join(k.name())))
                    .collect();
                let mut toasts = Vec::new();
                let mut nav = None;
                let repaint: std::sync::Arc<dyn Fn() + Send + Sync> = {
                    let c = ctx.clone();
                    std::sync::Arc::new(move || c.request_repaint())
                };
                let secrets = crate::secrets::Secrets::session_only();
                let mut sh = super::Shared {
                    lake: &v.lake,
                    salt: &v.salt,
                    is_demo: v.is_demo,
                    secrets: &secrets,
                    dialogs: &super::dialogs::QueuedDialogs::default(),
                    repaint: &repaint,
                    saved,
                    toasts: &mut toasts,
                    nav: &mut nav,
                };
                v.ingest.start(&mut sh, kinds);
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
