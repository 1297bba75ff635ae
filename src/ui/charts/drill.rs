//! Drill-through: what a click on a chart opens in the table browser — the pseudonymized rows
//! behind the bar, point, dot or cell, already filtered (a school's Clever rows on a day, the
//! students of a school and grade, a school's students lowest attendance first).

use super::style::Clicked;
use crate::derive::{hybrid_table, tables};
use crate::lake::TableRef;
use crate::metrics::chart::ChartSpec;

/// A table, the values its shown rows must have, and their order.
pub type Target = (TableRef, Vec<(String, String)>, Option<(String, bool)>);

/// A value drawn from data ("grade not recorded" and the like are not: no row has them).
fn recorded(v: &str) -> Option<String> {
    (!v.ends_with("not recorded")).then(|| v.to_string())
}

fn day(x: f64) -> String {
    super::style::day_label_iso(x)
}

/// The rows behind what was clicked on chart `spec` of metric `metric`, if it has any.
pub fn target(metric: &str, spec: &ChartSpec, clicked: &Clicked) -> Option<Target> {
    let one = |t: TableRef, c: &str, v: Option<String>| Some((t, vec![(c.to_string(), v?)], None));
    let hybrid_sorted = |school: Option<String>| {
        Some((
            hybrid_table(),
            vec![("school".to_string(), school?)],
            Some(("in_person_rate".to_string(), false)),
        ))
    };
    match (spec, clicked) {
        (ChartSpec::Ranking { items, .. }, Clicked::Category(k)) => {
            let name = recorded(&items.get(*k)?.0);
            match metric {
                "top-resources" => one(tables::clever_ru(), "resource_name", name),
                // The folded row stands for many apps: nothing single to open.
                "clever-app-share" if name.as_deref() != Some("all other apps") => {
                    one(tables::clever_ru(), "resource_name", name)
                }
                "resource-types" => one(tables::clever_ru(), "resource_type", name),
                "insights-apps" => one(tables::activity(), "AppName", name),
                _ => None,
            }
        }
        (ChartSpec::Bars { categories, .. }, Clicked::Category(k)) => {
            let cat = recorded(categories.get(*k)?);
            match metric {
                "clever-by-school" => one(tables::clever_dp(), "school_name", cat),
                "engagement-by-grade" => one(hybrid_table(), "grade", cat),
                "below-threshold" => hybrid_sorted(cat),
                _ => None,
            }
        }
        (ChartSpec::Lines { series, .. }, Clicked::Point { series: k, x }) => match metric {
            "daily-active" => Some((
                tables::clever_dp(),
                vec![
                    ("school_name".into(), recorded(&series.get(*k)?.0)?),
                    ("date".into(), day(*x)),
                ],
                None,
            )),
            "attendance-over-time" => one(tables::attendance(), "attendance_date", Some(day(*x))),
            _ => None,
        },
        (ChartSpec::Scatter { dots, .. }, Clicked::Dot(k)) => {
            hybrid_sorted(recorded(&dots.get(*k)?.label))
        }
        (ChartSpec::Matrix { rows, columns, .. }, Clicked::Cell(r, c)) => Some((
            hybrid_table(),
            vec![
                ("school".into(), recorded(rows.get(*r)?)?),
                ("grade".into(), recorded(columns.get(*c)?)?),
            ],
            Some(("in_person_rate".to_string(), false)),
        )),
        _ => None,
    }
}
