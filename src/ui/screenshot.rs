//! PNGs of the window ("Save as PNG" for charts; the screenshot tour in `examples/tour.rs`).

use std::path::Path;

/// Saves (part of) a captured frame as PNG; `rect` is in points.
pub fn save_png(
    img: &egui::ColorImage,
    rect: Option<egui::Rect>,
    pixels_per_point: f32,
    path: &Path,
) -> anyhow::Result<()> {
    let tmp = path.with_extension("png.partial");
    std::fs::write(&tmp, png_bytes(img, rect, pixels_per_point)?)?;
    Ok(std::fs::rename(&tmp, path)?)
}

/// (Part of) a captured frame encoded as PNG; `rect` is in points.
pub fn png_bytes(
    img: &egui::ColorImage,
    rect: Option<egui::Rect>,
    pixels_per_point: f32,
) -> anyhow::Result<Vec<u8>> {
    let img = match rect {
        Some(r) => img.region(&r, Some(pixels_per_point)),
        None => img.clone(),
    };
    let [w, h] = img.size;
    let bytes: Vec<u8> = img.pixels.iter().flat_map(|c| c.to_array()).collect();
    let buf = image::RgbaImage::from_raw(w as u32, h as u32, bytes)
        .ok_or_else(|| anyhow::anyhow!("the captured image has the wrong size"))?;
    let mut out = std::io::Cursor::new(Vec::new());
    buf.write_to(&mut out, image::ImageFormat::Png)?;
    Ok(out.into_inner())
}
