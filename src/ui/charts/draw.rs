//! Draws a [`ChartSpec`]: lines (small multiples when there are too many to tell apart, the
//! partial periods dashed), grouped bars with an optional target line, rankings as labelled
//! horizontal bars, and a scatter zoomed to its data. Quantities start at zero.

use egui_plot::{GridInput, GridMark, Legend, Line, LineStyle, Plot, PlotPoint, Points, Text};

use super::bars::bars;
use super::shapes;
use super::style::{Clicked, Drawn, click_at, color, day_label};
use crate::metrics::chart::{ChartSpec, Dot};

/// More lines than this on one chart become small multiples (one panel per line).
const MAX_LINES: usize = 4;

/// Lines with more points than this are drawn without a dot on each point.
const MAX_DOTS: usize = 60;

/// One panel of small multiples: its line, and behind it in grey the lowest and highest of
/// all lines on each date (two lines rather than every other school's, so twenty panels of
/// a school year draw within a frame and still show where the school sits in the district).
struct Focus<'a> {
    line: usize,
    backdrop: &'a [(String, Vec<[f64; 2]>)],
}

/// The lowest and highest value of all `series` on each date, as two named lines.
fn envelope(series: &[(String, Vec<[f64; 2]>)]) -> Vec<(String, Vec<[f64; 2]>)> {
    let mut by_x: std::collections::BTreeMap<i64, (f64, f64)> = Default::default();
    for (_, pts) in series {
        for [x, y] in pts {
            // Dates are whole days; the key keeps them in order without comparing floats.
            let e = by_x.entry(x.round() as i64).or_insert((*y, *y));
            *e = (e.0.min(*y), e.1.max(*y));
        }
    }
    let n = series.len();
    let low = by_x.iter().map(|(x, (lo, _))| [*x as f64, *lo]).collect();
    let high = by_x.iter().map(|(x, (_, hi))| [*x as f64, *hi]).collect();
    vec![
        (format!("lowest of the {n}"), low),
        (format!("highest of the {n}"), high),
    ]
}

/// Draws one chart; returns its rectangle on screen and what a click picked.
pub fn draw(ui: &mut egui::Ui, i: usize, spec: &ChartSpec, height: f32) -> Drawn {
    match spec {
        ChartSpec::Lines {
            y_label,
            series,
            partial,
        } => {
            if series.len() > MAX_LINES {
                small_multiples(ui, i, y_label, series, partial, height)
            } else {
                let plot = Plot::new(("chart", i))
                    .height(height)
                    .legend(Legend::default().follow_insertion_order(true));
                lines_plot(ui, plot, y_label, series, partial, None)
            }
        }
        ChartSpec::Bars {
            y_label,
            categories,
            series,
            target,
        } => bars(ui, i, y_label, categories, series, target.as_ref(), height),
        ChartSpec::Ranking { value_label, items } => shapes::ranking(ui, value_label, items),
        ChartSpec::Cards { items } => (shapes::cards(ui, items), None),
        ChartSpec::Matrix {
            value_label,
            rows,
            columns,
            cells,
        } => shapes::matrix(ui, value_label, rows, columns, cells),
        ChartSpec::Scatter {
            x_label,
            y_label,
            dots,
        } => scatter(ui, i, x_label, y_label, dots, height),
    }
}

/// The span of the `x` values, widened so the last point and its date are not at the edge.
fn x_span(series: &[(String, Vec<[f64; 2]>)]) -> Option<(f64, f64)> {
    let xs = series.iter().flat_map(|(_, p)| p.iter().map(|p| p[0]));
    let (lo, hi) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
        (a.min(x), b.max(x))
    });
    (lo <= hi).then(|| {
        let pad = ((hi - lo) * 0.04).max(0.5);
        (lo - pad, hi + pad)
    })
}

/// Lines over days from zero up; points in `partial` periods hollow, joined by dashes.
/// `focus`: draw only that series, its backdrop thin and grey behind it.
fn lines_plot(
    ui: &mut egui::Ui,
    plot: Plot<'_>,
    y_label: &str,
    series: &[(String, Vec<[f64; 2]>)],
    partial: &[f64],
    focus: Option<&Focus<'_>>,
) -> Drawn {
    let y = y_label.to_string();
    let mut plot = plot
        .allow_scroll(false)
        .include_y(0.0)
        .x_axis_formatter(|m, _| day_label(m.value))
        .label_formatter(move |pos| {
            let (name, p) = match pos {
                egui_plot::HoverPosition::NearDataPoint {
                    plot_name,
                    position,
                    ..
                } => (format!("{plot_name}\n"), position),
                egui_plot::HoverPosition::Elsewhere { position } => (String::new(), position),
            };
            Some(format!("{name}{}: {:.0} {y}", day_label(p.x), p.y))
        });
    if let Some((lo, hi)) = x_span(series) {
        plot = plot.include_x(lo).include_x(hi);
    }
    // Small multiples name the quantity once, above the panels, not beside each of twenty.
    if focus.is_none() {
        plot = plot.y_axis_label(y_label.to_string());
    }
    // Few dates (weeks): a mark and a label at each; otherwise Mondays or months.
    let mut xs: Vec<f64> = series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|p| p[0]))
        .collect();
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    if xs.len() <= 12 {
        plot = plot.x_grid_spacer(move |input| {
            xs.iter()
                .filter(|x| **x >= input.bounds.0 && **x <= input.bounds.1)
                .map(|x| GridMark {
                    value: *x,
                    step_size: 7.0,
                })
                .collect()
        });
    } else {
        plot = plot.x_grid_spacer(date_marks);
    }
    let is_partial = |x: f64| partial.iter().any(|p| (p - x).abs() < 0.5);
    let grey = ui.visuals().weak_text_color().gamma_multiply(0.5);
    let only = focus.map(|f| f.line);
    let r = plot.show(ui, |p| {
        if let Some(f) = focus {
            for (name, pts) in f.backdrop {
                p.line(Line::new(name.clone(), pts.clone()).color(grey).width(1.0));
            }
        }
        for (i, (name, pts)) in series.iter().enumerate() {
            if only.is_some_and(|f| f != i) {
                continue;
            }
            let (c, width) = (color(i), 2.0);
            // Solid runs of full periods; a segment touching a partial period is dashed.
            let mut run: Vec<[f64; 2]> = Vec::new();
            for w in pts.windows(2) {
                if is_partial(w[0][0]) || is_partial(w[1][0]) {
                    if run.len() > 1 {
                        p.line(Line::new(name.clone(), std::mem::take(&mut run)).color(c));
                    }
                    run.clear();
                    p.line(
                        Line::new(name.clone(), vec![w[0], w[1]])
                            .color(c)
                            .style(LineStyle::dashed_loose()),
                    );
                } else {
                    if run.is_empty() {
                        run.push(w[0]);
                    }
                    run.push(w[1]);
                }
            }
            if run.len() > 1 {
                p.line(Line::new(name.clone(), run).color(c).width(width));
            }
            let (part, full): (Vec<[f64; 2]>, Vec<[f64; 2]>) =
                pts.iter().partition(|q| is_partial(q[0]));
            // A dot per day only while dots stay apart; a year of days reads as a line.
            if full.len() <= MAX_DOTS {
                p.points(Points::new(name.clone(), full).radius(2.5).color(c));
            }
            if !part.is_empty() {
                p.points(
                    Points::new(name.clone(), part)
                        .radius(3.5)
                        .filled(false)
                        .color(c),
                );
            }
        }
    });
    let clicked = click_at(&r).and_then(|at| nearest_point(series, only, at));
    (r.response.rect, clicked)
}

/// The point nearest a click: the day nearest it, then (without a focus) the line whose
/// value that day is nearest.
fn nearest_point(
    series: &[(String, Vec<[f64; 2]>)],
    focus: Option<usize>,
    at: PlotPoint,
) -> Option<Clicked> {
    let candidates = series
        .iter()
        .enumerate()
        .filter(|(k, _)| focus.is_none_or(|f| f == *k))
        .flat_map(|(k, (_, pts))| pts.iter().map(move |p| (k, *p)));
    let x = candidates
        .clone()
        .map(|(_, p)| p[0])
        .min_by(|a, b| (a - at.x).abs().total_cmp(&(b - at.x).abs()))?;
    let (series, _) = candidates
        .filter(|(_, p)| p[0] == x)
        .min_by(|a, b| (a.1[1] - at.y).abs().total_cmp(&(b.1[1] - at.y).abs()))?;
    Some(Clicked::Point { series, x })
}

/// Grid marks on dates an analyst reads: every day, every Monday, every other Monday, or the
/// first of each month (every 1, 2, 3 or 6 months), whichever gives at most ten labels.
fn date_marks(input: GridInput) -> Vec<GridMark> {
    let (lo, hi) = input.bounds;
    let span = hi - lo;
    let days = |step: i64, align: &dyn Fn(i64) -> bool| -> Vec<GridMark> {
        (lo.ceil() as i64..=hi.floor() as i64)
            .filter(|d| align(*d))
            .map(|d| GridMark {
                value: d as f64,
                step_size: step as f64,
            })
            .collect()
    };
    // Day 0 (1970-01-01) was a Thursday: day + 3 is a multiple of 7 on Mondays.
    let monday = |d: i64| (d + 3).rem_euclid(7) == 0;
    if span <= 10.0 {
        return days(1, &|_| true);
    }
    if span <= 70.0 {
        return days(7, &monday);
    }
    if span <= 140.0 {
        return days(14, &|d| monday(d) && (d + 3).div_euclid(7) % 2 == 0);
    }
    let months = [1u32, 2, 3, 6]
        .into_iter()
        .find(|m| span / (30.4 * f64::from(*m)) <= 10.0)
        .unwrap_or(12);
    let first_of = |d: i64| {
        chrono::NaiveDate::from_ymd_opt(1970, 1, 1)
            .and_then(|e| e.checked_add_signed(chrono::Duration::days(d)))
            .is_some_and(|x| {
                use chrono::Datelike;
                x.day() == 1 && x.month0() % months == 0
            })
    };
    days(30 * i64::from(months), &first_of)
}

/// One small panel per line (its line in color, the range of all lines grey behind it), axes
/// linked, so five schools never become spaghetti.
fn small_multiples(
    ui: &mut egui::Ui,
    i: usize,
    y_label: &str,
    series: &[(String, Vec<[f64; 2]>)],
    partial: &[f64],
    height: f32,
) -> Drawn {
    let cols = if ui.available_width() > 900.0 { 3 } else { 2 };
    let mut clicked = None;
    let cell_w = (ui.available_width() - 12.0 * cols as f32) / cols as f32;
    let rows = series.len().div_ceil(cols);
    let cell_h = (height / rows as f32).clamp(130.0, 220.0);
    let link = egui::Id::unique(("multiples", i));
    let backdrop = envelope(series);
    let title_h = ui.text_style_height(&egui::TextStyle::Body) + ui.spacing().item_spacing.y;
    let top = ui.cursor().min;
    let mut quantity = y_label.chars();
    let quantity: String = quantity
        .next()
        .map(|c| c.to_uppercase().chain(quantity).collect())
        .unwrap_or_default();
    ui.weak(format!(
        "{quantity}, one panel each; in grey behind each, the lowest and highest of the {} on \
         each date.",
        series.len()
    ));
    egui::Grid::new(("multiples-grid", i))
        .num_columns(cols)
        .spacing([12.0, 6.0])
        .show(ui, |ui| {
            for (k, (name, _)) in series.iter().enumerate() {
                let size = egui::vec2(cell_w, cell_h + title_h);
                let (rect, _) = ui.allocate_exact_size(size, egui::Sense::hover());
                // Twenty schools make seven rows of panels; only those on screen are drawn.
                if !ui.is_rect_visible(rect) {
                    continue_row(ui, k, cols);
                    continue;
                }
                let layout = egui::Layout::top_down(egui::Align::Min);
                let mut cell = ui.new_child(egui::UiBuilder::new().max_rect(rect).layout(layout));
                cell.colored_label(color(k), egui::RichText::new(name).strong());
                let plot = Plot::new(("chart", i, k))
                    .height(cell_h)
                    .width(cell_w)
                    .link_axis(link, [true, true])
                    .link_cursor(link, [true, false]);
                let focus = Focus {
                    line: k,
                    backdrop: &backdrop,
                };
                let (_, c) = lines_plot(&mut cell, plot, y_label, series, partial, Some(&focus));
                clicked = clicked.take().or(c);
                continue_row(ui, k, cols);
            }
        });
    let end = egui::pos2(top.x + ui.available_width(), ui.cursor().min.y);
    (egui::Rect::from_min_max(top, end), clicked)
}

/// Ends the grid's row after its last panel.
fn continue_row(ui: &mut egui::Ui, k: usize, cols: usize) {
    if k % cols == cols - 1 {
        ui.end_row();
    }
}

/// A scatter of rates zoomed to where the dots are (never past 0–100 %), each dot named.
fn scatter(
    ui: &mut egui::Ui,
    i: usize,
    x_label: &str,
    y_label: &str,
    dots: &[Dot],
    height: f32,
) -> Drawn {
    let shown: Vec<&Dot> = dots
        .iter()
        .filter(|d| d.x.is_finite() && d.y.is_finite())
        .collect();
    let span = |v: &dyn Fn(&Dot) -> f64| {
        let (lo, hi) = shown
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), d| {
                (a.min(v(d)), b.max(v(d)))
            });
        let pad = ((hi - lo) * 0.15).max(2.0);
        ((lo - pad).max(0.0), (hi + pad).min(100.0))
    };
    let (x0, x1) = span(&|d| d.x);
    let (y0, y1) = span(&|d| d.y);
    let max_w = shown.iter().map(|d| d.weight).fold(1.0, f64::max);
    let text = ui.visuals().text_color();
    let r = Plot::new(("chart", i))
        .height(height)
        .allow_scroll(false)
        .x_axis_label(x_label.to_string())
        .y_axis_label(y_label.to_string())
        .include_x(x0)
        .include_x(x1)
        .include_y(y0)
        .include_y(y1)
        .show(ui, |p| {
            for (k, d) in shown.iter().enumerate() {
                let r = 3.0 + 12.0 * (d.weight / max_w).sqrt() as f32;
                let name = format!("{} ({} students)", d.label, d.weight);
                p.points(
                    Points::new(name.clone(), vec![[d.x, d.y]])
                        .radius(r)
                        .color(color(k)),
                );
                p.text(
                    Text::new(name, PlotPoint::new(d.x, d.y), format!("  {}", d.label))
                        .anchor(egui::Align2::LEFT_BOTTOM)
                        .color(text),
                );
            }
        });
    // The dot nearest the click, within 24 points on screen.
    let clicked = click_at(&r).and_then(|_| {
        let pos = r.response.interact_pointer_pos()?;
        dots.iter()
            .enumerate()
            .filter(|(_, d)| d.x.is_finite() && d.y.is_finite())
            .map(|(k, d)| {
                let at = r.transform.position_from_point(&PlotPoint::new(d.x, d.y));
                (k, at.distance(pos))
            })
            .filter(|(_, dist)| *dist <= 24.0)
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(k, _)| Clicked::Dot(k))
    });
    (r.response.rect, clicked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backdrop_is_the_lowest_and_highest_line_on_each_date() {
        let series = vec![
            ("a".to_string(), vec![[1.0, 5.0], [2.0, 1.0], [4.0, 7.0]]),
            ("b".to_string(), vec![[2.0, 3.0], [1.0, 2.0]]),
            ("c".to_string(), vec![[1.0, 9.0], [2.0, 2.0]]),
        ];
        let e = envelope(&series);
        assert_eq!(e[0].0, "lowest of the 3");
        assert_eq!(e[0].1, vec![[1.0, 2.0], [2.0, 1.0], [4.0, 7.0]]);
        assert_eq!(e[1].0, "highest of the 3");
        assert_eq!(e[1].1, vec![[1.0, 9.0], [2.0, 3.0], [4.0, 7.0]]);
    }
}
