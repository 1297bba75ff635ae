//! The app's window: its options, and opening it.

use super::{App, AppOptions};

/// The app's icon (also the installers' and the menu entry's).
const ICON_PNG: &[u8] = include_bytes!("../../assets/icon.png");

/// The window: its title, icon, size and renderer (wgpu).
pub fn native_options() -> eframe::NativeOptions {
    let mut viewport = egui::ViewportBuilder::default()
        .with_title("edlake")
        // The X11 class / Wayland app id: the desktop entry's `StartupWMClass`, so the desktop
        // shows the entry's name and icon for the running window.
        .with_app_id("edlake")
        .with_inner_size([1280.0, 820.0])
        .with_min_inner_size([1024.0, 700.0]);
    // The icon is compiled in; a PNG that fails to decode (a unit test checks it does not) only
    // leaves the system's default icon.
    if let Ok(icon) = eframe::icon_data::from_png_bytes(ICON_PNG) {
        viewport = viewport.with_icon(std::sync::Arc::new(icon));
    }
    eframe::NativeOptions {
        viewport,
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

#[cfg(test)]
mod tests {
    #[test]
    fn the_icon_decodes_and_is_square() {
        let icon = eframe::icon_data::from_png_bytes(super::ICON_PNG).expect("icon decodes");
        assert_eq!((icon.width, icon.height), (512, 512));
        assert!(super::native_options().viewport.icon.is_some());
    }
}
