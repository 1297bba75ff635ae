//! What the filter bar offers: the schools, grades, Clever apps and classes in the lake's chart
//! data, and the grade, app and class choosers (enabled on the charts that take them).

use crate::metrics::{Filter, Narrow, applies, compute};
use crate::ui::ChartFilter;

/// The values each filter can take.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Choices {
    pub schools: Vec<String>,
    pub grades: Vec<String>,
    pub apps: Vec<String>,
    pub classes: Vec<String>,
}

impl Choices {
    pub fn is_empty(&self) -> bool {
        self.schools.is_empty()
            && self.grades.is_empty()
            && self.apps.is_empty()
            && self.classes.is_empty()
    }
}

/// Column `c` of metric `m` (every group big enough to show), sorted, without repeats.
fn values(lake: &crate::lake::Lake, metrics: &[&str], c: &str) -> Vec<String> {
    let f = Filter {
        min_group: 1,
        ..Default::default()
    };
    let mut out: Vec<String> = metrics
        .iter()
        .filter_map(|m| compute(lake, m, &f).ok())
        .filter_map(|o| {
            let col = o.frame.column(c).ok()?;
            let col = col.cast(&polars::prelude::DataType::String).ok()?;
            let v: Vec<String> = col.str().ok()?.iter().flatten().map(String::from).collect();
            Some(v)
        })
        .flatten()
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The lake's choices (read from the chart data on a worker thread).
pub fn choices_of(lake: &crate::lake::Lake) -> Choices {
    let mut grades = values(lake, &["engagement-by-grade"], "grade");
    // Grades as numbers where they are (K, 1, …, 12 rather than 1, 10, 11, …).
    grades.sort_by_key(|g| (g.parse::<i64>().unwrap_or(i64::MIN), g.clone()));
    Choices {
        schools: values(
            lake,
            &["clever-by-school", "attendance-vs-digital"],
            "school",
        ),
        grades,
        apps: values(lake, &["top-resources"], "resource_name"),
        classes: crate::metrics::classes::labels(lake).unwrap_or_default(),
    }
}

/// One chooser: "all …" or one of `options`, enabled when the chart takes it.
fn chooser(
    ui: &mut egui::Ui,
    label: &str,
    all: &str,
    value: &mut Option<String>,
    options: &[String],
    enabled: bool,
) {
    ui.label(label);
    let combo = egui::ComboBox::from_id_salt(label)
        .selected_text(value.clone().unwrap_or_else(|| all.into()));
    ui.add_enabled_ui(enabled, |ui| {
        combo
            .show_ui(ui, |ui| {
                ui.selectable_value(value, None, all);
                for o in options {
                    ui.selectable_value(value, Some(o.clone()), o);
                }
            })
            .response
            .accessible_name(label)
            .on_disabled_hover_text(format!(
                "This chart does not take the {} filter",
                label.to_lowercase()
            ));
    });
}

/// The grade, app and class choosers, when the lake has values for them.
pub fn narrow(ui: &mut egui::Ui, f: &mut ChartFilter, c: &Choices, chart: &str) {
    if !c.grades.is_empty() {
        let on = applies(chart, Narrow::Grade);
        chooser(ui, "Grade", "all grades", &mut f.grade, &c.grades, on);
    }
    if !c.apps.is_empty() {
        let on = applies(chart, Narrow::App);
        chooser(ui, "App", "all apps", &mut f.app, &c.apps, on);
    }
    if !c.classes.is_empty() {
        let on = applies(chart, Narrow::Class);
        chooser(ui, "Class", "all classes", &mut f.class, &c.classes, on);
    }
}
