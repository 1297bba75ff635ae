//! Grouped bars: one group per category, one bar per series, an optional target line; many
//! or long category names turn the bars across, names down the side.

use std::sync::Arc;

use egui_plot::{Bar, BarChart, GridInput, GridMark, HLine, Legend, LineStyle, Plot, VLine};

use super::style::{Clicked, Drawn, click_at, color};

/// Marks at every whole number: each category of a bar chart gets its label.
fn every_category(input: GridInput) -> Vec<GridMark> {
    let (lo, hi) = input.bounds;
    (lo.ceil() as i64..=hi.floor() as i64)
        .map(|v| GridMark {
            value: v as f64,
            step_size: 1.0,
        })
        .collect()
}

/// The width on screen of the widest of `names` in the body font.
fn widest(ui: &egui::Ui, names: &[String]) -> f32 {
    let font = egui::TextStyle::Body.resolve(ui.style());
    names
        .iter()
        .map(|c| {
            ui.fonts_mut(|f| f.layout_no_wrap(c.clone(), font.clone(), egui::Color32::WHITE))
                .size()
                .x
        })
        .fold(0.0f32, f32::max)
}

/// One bar chart per series: bar `ci` of series `si` beside the others of its category, at
/// x = `ci` (or, `across`, at y = n − 1 − `ci`, the first category on top and the first series
/// on top within it).
fn bar_charts(
    categories: &[String],
    series: &[crate::metrics::chart::Series],
    across: bool,
) -> Vec<BarChart> {
    let n = categories.len();
    let k = series.len().max(1) as f64;
    let width = 0.8 / k;
    let mut out = Vec::new();
    for (si, s) in series.iter().enumerate() {
        let offset = (si as f64 - (k - 1.0) / 2.0) * width;
        let at = |ci: usize| {
            if across {
                (n - 1 - ci) as f64 - offset
            } else {
                ci as f64 + offset
            }
        };
        let bars: Vec<Bar> = s
            .values
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .map(|(ci, v)| {
                Bar::new(at(ci), *v)
                    .width(width * 0.95)
                    .name(categories.get(ci).cloned().unwrap_or_default())
            })
            .collect();
        let name = s.name.clone();
        let chart = BarChart::new(s.name.clone(), bars)
            .color(color(si))
            .element_formatter(Box::new(move |b, _| {
                format!("{}\n{name}: {:.2}", b.name, b.value)
            }));
        out.push(if across { chart.horizontal() } else { chart });
    }
    out
}

/// Grouped bars (see the module doc).
pub fn bars(
    ui: &mut egui::Ui,
    i: usize,
    y_label: &str,
    categories: &[String],
    series: &[crate::metrics::chart::Series],
    target: Option<&(String, f64)>,
    height: f32,
) -> Drawn {
    // Names that do not fit under their bars (the axis would drop them): the bars then run
    // across, every name written down the side.
    let names_width = widest(ui, categories);
    let room = ui.available_width() / categories.len().max(1) as f32;
    if names_width > room * 0.9 {
        return bars_across(ui, i, y_label, categories, series, target, height);
    }
    let c2 = Arc::new(categories.to_vec());
    let target_color = ui.visuals().error_fg_color;
    let r = Plot::new(("chart", i))
        .height(height)
        .legend(Legend::default().follow_insertion_order(true))
        .allow_scroll(false)
        .include_y(0.0)
        .y_axis_label(y_label.to_string())
        .x_grid_spacer(every_category)
        .x_axis_formatter(move |m, _| {
            let idx = m.value.round();
            if (m.value - idx).abs() < 1e-6 && idx >= 0.0 {
                c2.get(idx as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .show(ui, |p| {
            for chart in bar_charts(categories, series, false) {
                p.bar_chart(chart);
            }
            if let Some((name, y)) = target {
                p.hline(
                    HLine::new(name.clone(), *y)
                        .color(target_color)
                        .style(LineStyle::dashed_dense()),
                );
            }
        });
    let clicked = click_at(&r)
        .map(|at| at.x.round())
        .filter(|x| *x >= 0.0 && (*x as usize) < categories.len())
        .map(|x| Clicked::Category(x as usize));
    (r.response.rect, clicked)
}

/// [`bars`] running across: one row per category, first at the top, every name written on
/// the left; the chart grows so each row stays readable.
fn bars_across(
    ui: &mut egui::Ui,
    i: usize,
    value_label: &str,
    categories: &[String],
    series: &[crate::metrics::chart::Series],
    target: Option<&(String, f64)>,
    height: f32,
) -> Drawn {
    let n = categories.len();
    let k = series.len().max(1) as f32;
    // Row `ci` sits at y = n - 1 - ci (see `bar_charts`): the first category at the top.
    let c2 = Arc::new(categories.to_vec());
    let names_width = widest(ui, categories);
    let target_color = ui.visuals().error_fg_color;
    let r = Plot::new(("chart", i))
        .height(height.max(n as f32 * (10.0 + 7.0 * k) + 60.0))
        .legend(Legend::default().follow_insertion_order(true))
        .allow_scroll(false)
        .include_x(0.0)
        .x_axis_label(value_label.to_string())
        .y_grid_spacer(every_category)
        .y_axis_min_width(names_width + 8.0)
        .y_axis_formatter(move |m, _| {
            let idx = m.value.round();
            if (m.value - idx).abs() < 1e-6 && idx >= 0.0 && (idx as usize) < n {
                c2.get(n - 1 - idx as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .show(ui, |p| {
            for chart in bar_charts(categories, series, true) {
                p.bar_chart(chart);
            }
            if let Some((name, x)) = target {
                p.vline(
                    VLine::new(name.clone(), *x)
                        .color(target_color)
                        .style(LineStyle::dashed_dense()),
                );
            }
        });
    let clicked = click_at(&r)
        .map(|p| p.y.round())
        .filter(|y| *y >= 0.0 && (*y as usize) < n)
        .map(|y| Clicked::Category(n - 1 - y as usize));
    (r.response.rect, clicked)
}
