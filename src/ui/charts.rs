//! Engagement charts (egui_plot) drawn from the library's aggregates, with school/date filters,
//! hover values, small-group notes, "Export CSV" and "Save as PNG".

mod bars;
mod choices;
pub mod draw;
mod drill;
mod report;
mod shapes;
pub mod style;

use super::path_field::{PathKind, path_row};
use super::task::{Task, TaskState};
use super::{ChartFilter, Shared};
use crate::metrics::chart::{ChartSpec, charts};
use crate::metrics::{GROUPS, METRICS, MetricOutput, compute};

/// The second side of a comparison: its filter in words, the metric and its charts.
pub struct Compared {
    pub labels: [String; 2],
    pub output: MetricOutput,
    pub charts: Vec<(String, ChartSpec)>,
}

/// A computed metric and its charts (and the compared side's, when comparing).
pub struct Computed {
    pub output: MetricOutput,
    pub charts: Vec<(String, ChartSpec)>,
    pub compare: Option<Compared>,
    pub choices: choices::Choices,
    /// The lake's school names, to drill from a chart's name to the sources' rows.
    pub sites: crate::derive::sites::SiteMap,
    pub millis: u128,
}

/// The charts page.
#[derive(Default)]
pub struct ChartsPage {
    pub current: Task<Computed>,
    computed_for: Option<(String, ChartFilter)>,
    choices: choices::Choices,
    /// The result of a "Save as PNG" in progress.
    png_result: Option<crossbeam_channel::Receiver<anyhow::Result<String>>>,
}

impl ChartsPage {
    /// Forgets computed charts (the lake changed).
    pub fn invalidate(&mut self) {
        self.computed_for = None;
        self.choices = choices::Choices::default();
    }

    fn compute(&mut self, sh: &Shared) {
        let key = (sh.saved.chart.clone(), sh.saved.filter.clone());
        if self.computed_for.as_ref() == Some(&key) {
            return;
        }
        self.computed_for = Some(key.clone());
        let second = key.1.second();
        let labels = [
            key.1.describe(&key.0),
            second
                .as_ref()
                .map(|s| s.describe(&key.0))
                .unwrap_or_default(),
        ];
        let filters = key
            .1
            .to_filter()
            .and_then(|f| Ok((f, second.map(|s| s.to_filter()).transpose()?)));
        let (filter, filter2) = match filters {
            Ok(f) => f,
            Err(e) => {
                self.current = Task::default();
                self.current.state = TaskState::Failed(e.to_string());
                return;
            }
        };
        let lake = sh.lake.clone();
        let want_choices = self.choices.is_empty();
        self.current = Task::spawn(sh.repaint.clone(), move |_, _| {
            let t = std::time::Instant::now();
            let output = compute(&lake, &key.0, &filter)?;
            let charts = charts(&output)?;
            let compare = match filter2 {
                Some(f) => {
                    let output = compute(&lake, &key.0, &f)?;
                    let charts = crate::metrics::chart::charts(&output)?;
                    Some(Compared {
                        labels,
                        output,
                        charts,
                    })
                }
                None => None,
            };
            let millis = t.elapsed().as_millis();
            let choices = match want_choices {
                true => choices::choices_of(&lake),
                false => choices::Choices::default(),
            };
            Ok(Computed {
                output,
                charts,
                compare,
                choices,
                sites: crate::derive::sites::SiteMap::load(&lake)?,
                millis,
            })
        });
    }

    /// Draws the page.
    pub fn ui(&mut self, ui: &mut egui::Ui, sh: &mut Shared) {
        if self.current.poll()
            && let TaskState::Done(c) = &self.current.state
            && !c.choices.is_empty()
        {
            self.choices = c.choices.clone();
        }
        self.compute(sh);
        self.save_png(ui, sh);
        egui::Panel::left("metric-list")
            .resizable(false)
            .exact_size(230.0)
            .show(ui, |ui| {
                ui.heading("Charts");
                for g in GROUPS {
                    ui.add_space(6.0);
                    ui.strong(*g);
                    for m in METRICS.iter().filter(|m| m.group == *g) {
                        let sel = sh.saved.chart == m.name;
                        if ui
                            .selectable_label(sel, m.title)
                            .on_hover_text(m.about)
                            .clicked()
                        {
                            sh.saved.chart = m.name.to_string();
                        }
                    }
                }
            });
        egui::CentralPanel::default().show(ui, |ui| {
            self.filters(ui, sh);
            ui.separator();
            self.body(ui, sh);
        });
    }

    fn filters(&mut self, ui: &mut egui::Ui, sh: &mut Shared) {
        let f = &mut sh.saved.filter;
        let schools = &self.choices.schools;
        ui.horizontal_wrapped(|ui| {
            let names = ["From", "To", "School"];
            period(ui, [&mut f.from, &mut f.to], &mut f.school, schools, names);
            choices::narrow(ui, f, &self.choices, &sh.saved.chart);
            ui.label("Smallest group");
            ui.add(
                egui::DragValue::new(&mut f.min_group).range(crate::metrics::MIN_GROUP_FLOOR..=100),
            )
            .accessible_name("Smallest group")
            .on_hover_text(
                "Groups with fewer students are hidden, and counts of fewer students left \
                     blank, so no student can be singled out (5 at least).",
            );
            if matches!(
                sh.saved.chart.as_str(),
                "below-threshold" | "hybrid-summary"
            ) {
                ui.label("Threshold %");
                ui.add(egui::DragValue::new(&mut f.threshold_pct).range(1..=100))
                    .accessible_name("Threshold %")
                    .on_hover_text("The attendance target: 90 % in OEA's hybrid report");
            }
        });
        ui.horizontal_wrapped(|ui| {
            ui.checkbox(&mut f.compare, "Compare with").on_hover_text(
                "Draws a second period or school beside the first (this term vs last term, \
                     one school vs another)",
            );
            if f.compare {
                let names = ["Compare from", "Compare to", "Compare school"];
                period(
                    ui,
                    [&mut f.from2, &mut f.to2],
                    &mut f.school2,
                    schools,
                    names,
                );
            }
        });
    }

    fn body(&mut self, ui: &mut egui::Ui, sh: &mut Shared) {
        if let Some(m) = crate::metrics::info(&sh.saved.chart) {
            // The group first: the heading never reads exactly as the list entry.
            ui.heading(format!("{} · {}", m.group, m.title));
            ui.label(m.about);
        }
        let Some(c) = super::widgets::task_value(ui, &self.current) else {
            return;
        };
        let report_to = toolbar(ui, sh, c);
        for n in &c.output.notes {
            ui.colored_label(ui.visuals().warn_fg_color, format!("Note: {n}"));
        }
        if let Some(cmp) = &c.compare {
            for n in &cmp.output.notes {
                let text = format!("Note ({}): {n}", cmp.labels[1]);
                ui.colored_label(ui.visuals().warn_fg_color, text);
            }
        }
        if c.charts.is_empty() || c.output.frame.height() == 0 {
            ui.label("Nothing to draw for these filters.");
            return;
        }
        let n = c.charts.len() as f32;
        let h = ((ui.available_height() - 40.0 * n) / n).max(180.0);
        let mut shown = Vec::new();
        egui::ScrollArea::vertical().show(ui, |ui| {
            for (i, (title, spec)) in c.charts.iter().enumerate() {
                let mut png = None;
                ui.horizontal(|ui| {
                    ui.strong(title);
                    let name = format!("{}.png", c.output.name);
                    let ask = (format!("Save the chart “{title}”"), "Save as PNG…");
                    png = path_row(ui, sh.dialogs, (&ask.0, ask.1), PathKind::Save(&name), None);
                });
                let other = c.compare.as_ref().and_then(|m| {
                    m.charts
                        .get(i)
                        .map(|(_, s)| (&m.labels, (&m.output.name, s)))
                });
                let (rect, clicked) = match other {
                    None => {
                        let drawn = draw::draw(ui, i, spec, h);
                        partial_note(ui, spec);
                        (drawn.0, drawn.1.map(|k| (spec, k)))
                    }
                    Some((labels, (_, spec2))) => side_by_side(ui, i, [spec, spec2], labels, h),
                };
                shown.push((title.clone(), rect));
                if let Some((t, exact, sort)) =
                    clicked.and_then(|(s, k)| drill::target(&c.output.name, s, &k, &c.sites))
                {
                    sh.nav.push(super::Nav::OpenWhere(t, exact, sort));
                }
                if let Some(p) = png {
                    let (tx, rx) = crossbeam_channel::bounded(1);
                    self.png_result = Some(rx);
                    let ppp = ui.pixels_per_point();
                    let repaint = sh.repaint.clone();
                    ui.ctx().request_screenshot(move |img| {
                        // Encoding a PNG takes a moment: not on the UI thread.
                        std::thread::spawn(move || {
                            let r = super::screenshot::save_png(&img, Some(rect), ppp, &p)
                                .map(|()| p.display().to_string());
                            let _ = tx.send(r);
                            repaint();
                        });
                    });
                }
            }
        });
        if let Some(p) = report_to {
            self.png_result = Some(export_report(ui, sh, c, shown, p));
        }
    }

    fn save_png(&mut self, _ui: &egui::Ui, sh: &mut Shared) {
        let Some(rx) = &self.png_result else { return };
        if let Ok(r) = rx.try_recv() {
            self.png_result = None;
            match r {
                Ok(p) => sh.toast(format!("Saved {p}"), true),
                Err(e) => sh.toast(format!("Could not save the PNG: {e}"), false),
            }
        }
    }
}

/// Says which points cover only part of their period (drawn dashed and hollow).
fn partial_note(ui: &mut egui::Ui, spec: &ChartSpec) {
    if let ChartSpec::Lines { partial, .. } = spec
        && !partial.is_empty()
    {
        let weeks: Vec<String> = partial.iter().map(|x| style::day_label(*x)).collect();
        ui.label(
            egui::RichText::new(format!(
                "Dashed, hollow points: the week of {} has data on fewer days than a full week \
                 (the range or the data ends mid-week), so it is not comparable with the others.",
                weeks.join(", ")
            ))
            .weak(),
        );
    }
}

/// Two charts side by side, each under its filter in words; their joint rectangle and what a
/// click on either picked.
fn side_by_side<'a>(
    ui: &mut egui::Ui,
    i: usize,
    specs: [&'a ChartSpec; 2],
    labels: &[String; 2],
    height: f32,
) -> (egui::Rect, Option<(&'a ChartSpec, style::Clicked)>) {
    let mut rects = Vec::new();
    let mut clicked = None;
    ui.columns(2, |cols| {
        for (k, col) in cols.iter_mut().enumerate() {
            col.push_id(("side", k), |ui| {
                ui.label(egui::RichText::new(&labels[k]).strong());
                let (rect, c) = draw::draw(ui, i, specs[k], height);
                partial_note(ui, specs[k]);
                rects.push(rect);
                clicked = clicked.take().or(c.map(|c| (specs[k], c)));
            });
        }
    });
    let rect = rects
        .into_iter()
        .reduce(|a, b| a.union(b))
        .unwrap_or(egui::Rect::NOTHING);
    (rect, clicked)
}

/// A period's dates and school: `names` are the accessible names of the from and to fields and
/// the school list (each field is labelled with its last word).
fn period(
    ui: &mut egui::Ui,
    dates: [&mut String; 2],
    school: &mut Option<String>,
    schools: &[String],
    names: [&str; 3],
) {
    for (d, name) in dates.into_iter().zip(names) {
        ui.label(name.rsplit(' ').next().unwrap_or(name));
        ui.add(
            egui::TextEdit::singleline(d)
                .hint_text("YYYY-MM-DD")
                .desired_width(90.0),
        )
        .accessible_name(format!("{name} date"));
    }
    ui.label("School");
    egui::ComboBox::from_id_salt(names[2])
        .selected_text(school.clone().unwrap_or_else(|| "all schools".into()))
        .show_ui(ui, |ui| {
            ui.selectable_value(school, None, "all schools");
            for s in schools {
                ui.selectable_value(school, Some(s.clone()), s);
            }
        })
        .response
        .accessible_name(names[2]);
}

/// The row above the charts: rows and time, "Export CSV…" (done here) and "Export report…"
/// (returns where to write it: the report needs this frame's pixels).
fn toolbar(ui: &mut egui::Ui, sh: &mut Shared, c: &Computed) -> Option<std::path::PathBuf> {
    // Two lines: two path rows side by side would run past the window's edge (widening the
    // page and cutting the charts off on the right).
    ui.horizontal(|ui| {
        ui.label(
            egui::RichText::new(format!(
                "{} rows, computed in {} ms",
                c.output.frame.height(),
                c.millis
            ))
            .weak(),
        );
        let name = format!("{}.csv", c.output.name);
        let ask = ("Export the chart's numbers", "Export CSV…");
        if let Some(p) = path_row(ui, sh.dialogs, ask, PathKind::Save(&name), None) {
            match crate::browse::export(&c.output.frame, &p, crate::browse::ExportFormat::Csv) {
                Ok(n) => sh.toast(format!("Saved {n} rows to {}", p.display()), true),
                Err(e) => sh.toast(format!("Export failed: {e}"), false),
            }
        }
    });
    let name = format!("{}-report.html", c.output.name);
    let ask = (
        "Save a report of this page (charts, filters, notes and numbers in one HTML file)",
        "Export report…",
    );
    path_row(ui, sh.dialogs, ask, PathKind::Save(&name), None)
}

/// Writes the report of the page drawn this frame to `path`, off the UI thread; the receiver
/// gets where it went or why it failed.
fn export_report(
    ui: &egui::Ui,
    sh: &Shared,
    c: &Computed,
    charts: Vec<(String, egui::Rect)>,
    path: std::path::PathBuf,
) -> crossbeam_channel::Receiver<anyhow::Result<String>> {
    let info = crate::metrics::info(&c.output.name);
    let f = &sh.saved.filter;
    let mut filters = vec![f.describe(&c.output.name)];
    let mut notes = c.output.notes.clone();
    let mut tables = vec![(f.describe(&c.output.name), c.output.frame.clone())];
    if let Some(m) = &c.compare {
        filters.push(m.labels[1].clone());
        notes.extend(
            m.output
                .notes
                .iter()
                .map(|n| format!("{}: {n}", m.labels[1])),
        );
        tables.push((m.labels[1].clone(), m.output.frame.clone()));
    }
    let r = report::Report {
        title: info.map_or(c.output.name.clone(), |m| {
            format!("{} · {}", m.group, m.title)
        }),
        about: info.map_or(String::new(), |m| m.about.to_string()),
        filters,
        notes,
        min_group: crate::metrics::effective_min_group(f.min_group),
        charts,
        tables,
    };
    let (tx, rx) = crossbeam_channel::bounded(1);
    let ppp = ui.pixels_per_point();
    let repaint = sh.repaint.clone();
    ui.ctx().request_screenshot(move |img| {
        std::thread::spawn(move || {
            let done = report::write(&img, ppp, &r, &path).map(|()| path.display().to_string());
            let _ = tx.send(done);
            repaint();
        });
    });
    rx
}
