//! Drill-through: what a click on a chart opens in the table browser — the pseudonymized rows
//! behind the bar, point, dot or cell, already filtered (a school's Clever rows on a day, the
//! students of a school and grade, a school's students lowest attendance first).

use super::style::Clicked;
use crate::derive::sites::{SiteMap, SiteSource};
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

/// Clever's spellings of school `name` as the charts show it (the site mapping may give one
/// school several), as `school_name` conditions on a Clever table.
fn clever_school(sites: &SiteMap, name: &str) -> Option<Vec<(String, String)>> {
    let mut out: Vec<String> = sites
        .sites
        .iter()
        .filter(|s| s.source == SiteSource::Clever && s.school == name)
        .map(|s| s.key.clone())
        .collect();
    // The name itself, unless the mapping renames that spelling to another school.
    if sites
        .get(SiteSource::Clever, name)
        .is_none_or(|s| s == name)
        && !out.iter().any(|k| k == name)
    {
        out.push(name.to_string());
    }
    // No spelling (a name no longer shown): nothing to open rather than the whole table.
    let on: Vec<(String, String)> = out
        .into_iter()
        .map(|k| ("school_name".to_string(), k))
        .collect();
    (!on.is_empty()).then_some(on)
}

/// The rows behind what was clicked on chart `spec` of metric `metric`, if it has any;
/// `sites` turns the school names the charts show back into the sources' own.
pub fn target(
    metric: &str,
    spec: &ChartSpec,
    clicked: &Clicked,
    sites: &SiteMap,
) -> Option<Target> {
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
                "clever-by-school" => {
                    Some((tables::clever_dp(), clever_school(sites, &cat?)?, None))
                }
                "engagement-by-grade" => one(hybrid_table(), "grade", cat),
                "below-threshold" => hybrid_sorted(cat),
                _ => None,
            }
        }
        (ChartSpec::Lines { series, .. }, Clicked::Point { series: k, x }) => match metric {
            "daily-active" => {
                let mut on = clever_school(sites, &recorded(&series.get(*k)?.0)?)?;
                on.push(("date".into(), day(*x)));
                Some((tables::clever_dp(), on, None))
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mapped_school_opens_the_rows_of_each_of_its_spellings() {
        let mut sites = SiteMap::default();
        let on = |sites: &SiteMap, n: &str| clever_school(sites, n);
        let cond = |v: &[&str]| {
            Some(
                v.iter()
                    .map(|k| ("school_name".to_string(), k.to_string()))
                    .collect::<Vec<_>>(),
            )
        };
        assert_eq!(on(&sites, "Mitchell High"), cond(&["Mitchell High"]));
        sites.set(SiteSource::Clever, "MITCHELL H.S.", "Mitchell High");
        assert_eq!(
            on(&sites, "Mitchell High"),
            cond(&["MITCHELL H.S.", "Mitchell High"])
        );
        sites.set(SiteSource::Clever, "Mitchell High", "Mitchell Campus");
        // A Clever row could be spelt as the new name itself: both are opened.
        assert_eq!(
            on(&sites, "Mitchell Campus"),
            cond(&["Mitchell High", "Mitchell Campus"])
        );
        assert_eq!(on(&sites, "Mitchell High"), cond(&["MITCHELL H.S."]));
        // Insights names do not name Clever rows.
        sites.set(SiteSource::Insights, "Hampton", "Hampton High");
        assert_eq!(on(&sites, "Hampton High"), cond(&["Hampton High"]));
        let mut gone = SiteMap::default();
        gone.set(SiteSource::Clever, "Old Name", "New Name");
        assert_eq!(on(&gone, "Old Name"), None);
    }
}
