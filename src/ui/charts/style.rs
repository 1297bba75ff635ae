//! What the chart drawings share: series colours, day labels, and what a click picked.

/// Series colors that stay apart in light and dark themes and for common color blindness
/// (Okabe–Ito).
pub fn color(i: usize) -> egui::Color32 {
    const P: [(u8, u8, u8); 7] = [
        (0, 114, 178),
        (230, 159, 0),
        (0, 158, 115),
        (204, 121, 167),
        (86, 180, 233),
        (213, 94, 0),
        (240, 228, 66),
    ];
    let (r, g, b) = P[i % P.len()];
    egui::Color32::from_rgb(r, g, b)
}

/// A day number (days since 1970-01-01) as "Sep 15".
pub fn day_label(x: f64) -> String {
    chrono::NaiveDate::from_ymd_opt(1970, 1, 1)
        .and_then(|d| d.checked_add_signed(chrono::Duration::days(x.round() as i64)))
        .map(|d| d.format("%b %d").to_string())
        .unwrap_or_default()
}

/// What a click on a chart picked (indexes into the chart's spec).
#[derive(Debug, Clone, PartialEq)]
pub enum Clicked {
    /// A bar (or ranking row) of this category.
    Category(usize),
    /// A line's point: the series and the `x` (day) nearest the click.
    Point { series: usize, x: f64 },
    /// A scatter's dot.
    Dot(usize),
    /// A matrix cell (row, column).
    Cell(usize, usize),
}

/// A drawn chart: where it is on screen, and what was clicked this frame.
pub type Drawn = (egui::Rect, Option<Clicked>);

/// A day number as "2025-09-15" (how the tables write dates).
pub fn day_label_iso(x: f64) -> String {
    chrono::NaiveDate::from_ymd_opt(1970, 1, 1)
        .and_then(|d| d.checked_add_signed(chrono::Duration::days(x.round() as i64)))
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// Where a click on a plot landed, in plot coordinates.
pub fn click_at(r: &egui_plot::PlotResponse<()>) -> Option<egui_plot::PlotPoint> {
    if !r.response.clicked() {
        return None;
    }
    let pos = r.response.interact_pointer_pos()?;
    Some(r.transform.value_from_position(pos))
}
