//! "Export report…": the chart page as one self-contained HTML file a principal can open in
//! any browser — the chart's title and what it shows, the filters in words, the privacy notes,
//! each chart as a PNG (inline, base64) and the numbers behind it. Only the aggregates the
//! page shows (small groups already hidden) go into it, as with "Export CSV".

use std::fmt::Write as _;
use std::path::Path;

use base64::Engine as _;
use polars::prelude::DataFrame;

/// What the report holds, gathered while the page is drawn.
pub struct Report {
    pub title: String,
    pub about: String,
    /// Each side's filter in words (two when comparing).
    pub filters: Vec<String>,
    pub notes: Vec<String>,
    pub min_group: u32,
    /// Chart titles and where they are on screen (points).
    pub charts: Vec<(String, egui::Rect)>,
    /// The numbers, per side.
    pub tables: Vec<(String, DataFrame)>,
}

/// Rows of a numbers table written into the report (the CSV export has them all).
const MAX_ROWS: usize = 500;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn table_html(out: &mut String, df: &DataFrame) {
    out.push_str("<table><tr>");
    for c in df.get_column_names() {
        let _ = write!(out, "<th>{}</th>", esc(c));
    }
    out.push_str("</tr>");
    for r in 0..df.height().min(MAX_ROWS) {
        out.push_str("<tr>");
        for c in df.columns() {
            let v = c
                .get(r)
                .map(|v| crate::preview::cell_text(&v))
                .unwrap_or_default();
            let v = if v == "null" { String::new() } else { v };
            let _ = write!(out, "<td>{}</td>", esc(&v));
        }
        out.push_str("</tr>");
    }
    out.push_str("</table>");
    if df.height() > MAX_ROWS {
        let _ = write!(
            out,
            "<p class=note>The first {MAX_ROWS} of {} rows; \"Export CSV\" has them all.</p>",
            df.height()
        );
    }
}

/// Writes the report to `path` (atomically) from a captured frame `img`.
pub fn write(img: &egui::ColorImage, ppp: f32, r: &Report, path: &Path) -> anyhow::Result<()> {
    let screen = egui::Rect::from_min_size(
        egui::Pos2::ZERO,
        egui::vec2(img.size[0] as f32 / ppp, img.size[1] as f32 / ppp),
    );
    let mut out = String::from("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">");
    let _ = write!(out, "<title>{}</title>", esc(&r.title));
    out.push_str(
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}\
         img{max-width:100%;border:1px solid #ccc}table{border-collapse:collapse;font-size:90%}\
         td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}.note{color:#8a5a00}\
         </style></head><body>",
    );
    let _ = write!(
        out,
        "<h1>{}</h1><p>{}</p><ul>",
        esc(&r.title),
        esc(&r.about)
    );
    for f in &r.filters {
        let _ = write!(out, "<li>{}</li>", esc(f));
    }
    out.push_str("</ul>");
    let _ = write!(
        out,
        "<p class=note>Privacy: groups of fewer than {} students are hidden and counts of fewer \
         students left blank, so no student can be singled out.</p>",
        r.min_group
    );
    for n in &r.notes {
        let _ = write!(out, "<p class=note>Note: {}</p>", esc(n));
    }
    for (title, rect) in &r.charts {
        let _ = write!(out, "<h2>{}</h2>", esc(title));
        let visible = rect.intersect(screen);
        if visible.width() < 1.0 || visible.height() < 1.0 {
            out.push_str(
                "<p class=note>(This chart was scrolled out of view when the report was made.)</p>",
            );
            continue;
        }
        let png = crate::ui::screenshot::png_bytes(img, Some(visible), ppp)?;
        let data = base64::engine::general_purpose::STANDARD.encode(png);
        let _ = write!(
            out,
            "<img alt=\"{}\" src=\"data:image/png;base64,{data}\">",
            esc(title)
        );
    }
    for (label, df) in &r.tables {
        let _ = write!(out, "<h2>The numbers: {}</h2>", esc(label));
        table_html(&mut out, df);
    }
    let _ = writeln!(
        out,
        "<p class=note>Made by edlake {} on {}.</p></body></html>",
        env!("CARGO_PKG_VERSION"),
        chrono::Local::now().format("%Y-%m-%d %H:%M")
    );
    let tmp = path.with_extension("html.partial");
    std::fs::write(&tmp, out)?;
    Ok(std::fs::rename(&tmp, path)?)
}
