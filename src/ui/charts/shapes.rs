//! The chart shapes drawn without a plot: rankings (labelled horizontal bars), cards (big
//! numbers) and matrices (shaded cells), each value written out.

use super::style::{Clicked, Drawn, color};

/// A table of shaded cells (darker = higher), each value written in it; blank cells have no
/// students or too few to show.
pub fn matrix(
    ui: &mut egui::Ui,
    value_label: &str,
    rows: &[String],
    columns: &[String],
    cells: &[Vec<Option<f64>>],
) -> Drawn {
    let mut clicked = None;
    let values = cells.iter().flatten().flatten().copied();
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    let base = color(0);
    let dark = ui.visuals().dark_mode;
    let inner = egui::Grid::new("matrix")
        .striped(false)
        .spacing([4.0, 4.0])
        .show(ui, |ui| {
            ui.label("");
            for c in columns {
                if c == crate::metrics::chart::GRADE_MISSING {
                    ui.strong(c);
                } else {
                    ui.strong(format!("grade {c}"));
                }
            }
            ui.end_row();
            for (r, name) in rows.iter().enumerate() {
                ui.strong(name);
                for (c, v) in cells[r].iter().enumerate() {
                    let (text, fill) = match v {
                        Some(v) => {
                            let t = if hi > lo { (v - lo) / (hi - lo) } else { 1.0 };
                            let fill = base.gamma_multiply(0.25 + 0.75 * t as f32);
                            (format!("{v:.1}"), fill)
                        }
                        None => ("–".to_string(), egui::Color32::TRANSPARENT),
                    };
                    let fg = if dark || v.is_none() {
                        ui.visuals().text_color()
                    } else {
                        egui::Color32::WHITE
                    };
                    let cell = egui::Frame::new()
                        .fill(fill)
                        .inner_margin(egui::Margin::symmetric(10, 6))
                        .show(ui, |ui| {
                            ui.set_min_width(56.0);
                            ui.colored_label(fg, text);
                        })
                        .response
                        .interact(egui::Sense::click())
                        .on_hover_cursor(egui::CursorIcon::PointingHand)
                        .on_hover_text("Click to see the students' rows behind this cell");
                    if v.is_some() && cell.clicked() {
                        clicked = Some(Clicked::Cell(r, c));
                    }
                }
                ui.end_row();
            }
        });
    ui.label(
        egui::RichText::new(format!(
            "{value_label}; darker is higher; – : no students, or too few to show"
        ))
        .weak(),
    );
    (inner.response.rect, clicked)
}

/// Rows of cards: a big number over its caption, as many per row as fit.
pub fn cards(ui: &mut egui::Ui, items: &[(String, String)]) -> egui::Rect {
    const CARD: f32 = 240.0;
    let per_row = ((ui.available_width() / (CARD + 8.0)) as usize).max(1);
    ui.vertical(|ui| {
        for row in items.chunks(per_row) {
            ui.horizontal(|ui| {
                for (caption, value) in row {
                    egui::Frame::group(ui.style())
                        .inner_margin(egui::Margin::symmetric(18, 10))
                        .show(ui, |ui| {
                            ui.set_width(CARD - 36.0);
                            ui.vertical(|ui| {
                                ui.label(egui::RichText::new(value).size(30.0).strong());
                                ui.label(caption);
                            });
                        });
                }
            });
        }
    })
    .response
    .rect
}

/// `s`, shortened with "…" to fit `width` points.
fn elide(ui: &egui::Ui, s: &str, width: f32, font: &egui::FontId) -> String {
    let fits = |t: &str| {
        ui.fonts_mut(|f| f.layout_no_wrap(t.to_string(), font.clone(), egui::Color32::WHITE))
            .size()
            .x
            <= width
    };
    if fits(s) {
        return s.to_string();
    }
    let mut chars: Vec<char> = s.chars().collect();
    while chars.len() > 1 {
        chars.pop();
        let t: String = chars.iter().collect::<String>() + "…";
        if fits(&t) {
            return t;
        }
    }
    "…".to_string()
}

/// A ranking's value: whole numbers as they are, small fractions (shares under 10 %) with one
/// decimal so they do not read as zero.
fn num(v: f64) -> String {
    if v.fract() != 0.0 && v.abs() < 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.0}")
    }
}

/// Horizontal bars, one row per item with its name and value written out (none left
/// unlabelled however many there are); the full name on hover.
pub fn ranking(ui: &mut egui::Ui, value_label: &str, items: &[(String, f64)]) -> Drawn {
    const ROW: f32 = 24.0;
    let width = ui.available_width();
    let size = egui::vec2(width, ROW * items.len() as f32 + ROW);
    let (rect, resp) = ui.allocate_exact_size(size, egui::Sense::click());
    let summary: Vec<String> = items
        .iter()
        .map(|(n, v)| format!("{n} {}", num(*v)))
        .collect();
    resp.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Label, true, summary.join(", ")));
    let painter = ui.painter_at(rect);
    let font = egui::TextStyle::Body.resolve(ui.style());
    let text = ui.visuals().text_color();
    let label_w = (width * 0.38).min(320.0);
    let max = items.iter().map(|(_, v)| *v).fold(0.0, f64::max).max(1.0);
    let bar_room = (width - label_w - 70.0).max(40.0);
    let hover = resp.hover_pos();
    for (k, (name, v)) in items.iter().enumerate() {
        let y = rect.top() + ROW * k as f32;
        let row = egui::Rect::from_min_size(egui::pos2(rect.left(), y), egui::vec2(width, ROW));
        let shown = elide(ui, name, label_w - 10.0, &font);
        painter.text(
            egui::pos2(rect.left() + label_w - 8.0, row.center().y),
            egui::Align2::RIGHT_CENTER,
            shown,
            font.clone(),
            text,
        );
        let len = (bar_room as f64 * v / max) as f32;
        let bar = egui::Rect::from_min_size(
            egui::pos2(rect.left() + label_w, y + 3.0),
            egui::vec2(len.max(1.0), ROW - 6.0),
        );
        let hovered = hover.is_some_and(|p| row.contains(p));
        let fill = if hovered {
            color(0).gamma_multiply(0.7)
        } else {
            color(0)
        };
        painter.rect_filled(bar, 2.0, fill);
        painter.text(
            egui::pos2(bar.right() + 6.0, row.center().y),
            egui::Align2::LEFT_CENTER,
            num(*v),
            font.clone(),
            text,
        );
        if hovered {
            resp.clone()
                .on_hover_text_at_pointer(format!("{name}\n{} {value_label}", num(*v)));
        }
    }
    painter.text(
        egui::pos2(rect.left() + label_w, rect.bottom() - ROW / 2.0),
        egui::Align2::LEFT_CENTER,
        format!("{value_label} (bars to scale from zero)"),
        egui::TextStyle::Small.resolve(ui.style()),
        ui.visuals().weak_text_color(),
    );
    let clicked = resp
        .clicked()
        .then(|| resp.interact_pointer_pos())
        .flatten()
        .map(|p| ((p.y - rect.top()) / ROW) as usize)
        .filter(|k| *k < items.len())
        .map(Clicked::Category);
    (rect, clicked)
}
