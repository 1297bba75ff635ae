//! The app's window: its options, and opening it.

use super::{App, AppOptions};

/// The window: its title, size and renderer (wgpu).
pub fn native_options() -> eframe::NativeOptions {
    eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("edlake")
            .with_inner_size([1280.0, 820.0])
            .with_min_inner_size([1024.0, 700.0]),
        renderer: eframe::Renderer::Wgpu,
        ..Default::default()
    }
}

/// Opens the app window; returns when it is closed.
pub fn run(opts: AppOptions) -> anyhow::Result<()> {
    eframe::run_native(
        "edlake",
        native_options(),
        Box::new(move |cc| Ok(Box::new(App::new(cc, opts)))),
    )
    .map_err(|e| anyhow::anyhow!("could not open the window: {e}"))
}
