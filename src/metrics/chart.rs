//! The shape each aggregate is drawn in (lines over time, grouped bars or a scatter), made from
//! the aggregate's frame so the GUI only draws and tests can check what would be drawn.

use polars::prelude::*;

use super::MetricOutput;

/// Named values along one axis.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub values: Vec<f64>,
}

/// One dot of a scatter.
#[derive(Debug, Clone, PartialEq)]
pub struct Dot {
    pub label: String,
    pub x: f64,
    pub y: f64,
    /// Students behind the dot (drawn as its size).
    pub weight: f64,
}

/// How a metric is drawn.
#[derive(Debug, Clone, PartialEq)]
pub enum ChartSpec {
    /// Lines over days (`x` in days since 1970-01-01), one per group; `y` starts at zero.
    Lines {
        y_label: String,
        series: Vec<(String, Vec<[f64; 2]>)>,
        /// The `x` of points that cover only part of their period (a week with fewer days of
        /// data than the others): drawn dashed and named as partial.
        partial: Vec<f64>,
    },
    /// Bars per category, one bar group per series; `target` draws a line across (a goal).
    Bars {
        y_label: String,
        categories: Vec<String>,
        series: Vec<Series>,
        target: Option<(String, f64)>,
    },
    /// A ranking: one labelled horizontal bar per item, largest first.
    Ranking {
        value_label: String,
        items: Vec<(String, f64)>,
    },
    /// A matrix of values (rows × columns), each cell shaded by its value; `None` where a
    /// cell has no students (or too few to show).
    Matrix {
        value_label: String,
        rows: Vec<String>,
        columns: Vec<String>,
        cells: Vec<Vec<Option<f64>>>,
    },
    /// Big numbers with a caption each (a report's cards).
    Cards { items: Vec<(String, String)> },
    /// Points with a size.
    Scatter {
        x_label: String,
        y_label: String,
        dots: Vec<Dot>,
    },
}

/// Items a ranking shows.
pub const RANKING_TOP: usize = 15;

fn floats(df: &DataFrame, c: &str) -> PolarsResult<Vec<f64>> {
    let s = df.column(c)?.cast(&DataType::Float64)?;
    Ok(s.f64()?.iter().map(|v| v.unwrap_or(f64::NAN)).collect())
}

/// A text column's values, a missing one read as `missing` ("grade not recorded").
fn texts_or(df: &DataFrame, c: &str, missing: &str) -> PolarsResult<Vec<String>> {
    let s = df.column(c)?.cast(&DataType::String)?;
    Ok(s.str()?
        .iter()
        .map(|v| match v {
            Some(v) if !v.trim().is_empty() => v.to_string(),
            _ => missing.to_string(),
        })
        .collect())
}

fn texts(df: &DataFrame, c: &str) -> PolarsResult<Vec<String>> {
    texts_or(df, c, &format!("{} not recorded", c.replace('_', " ")))
}

fn days(df: &DataFrame, c: &str) -> PolarsResult<Vec<f64>> {
    let s = df.column(c)?.cast(&DataType::Int32)?;
    Ok(s.i32()?
        .iter()
        .map(|v| v.map_or(f64::NAN, f64::from))
        .collect())
}

/// Groups `(group, x, y)` rows into one line per group, in first-seen order.
fn lines(groups: &[String], x: &[f64], y: &[f64]) -> Vec<(String, Vec<[f64; 2]>)> {
    let mut out: Vec<(String, Vec<[f64; 2]>)> = Vec::new();
    for ((g, x), y) in groups.iter().zip(x).zip(y) {
        match out.iter_mut().find(|(n, _)| n == g) {
            Some((_, pts)) => pts.push([*x, *y]),
            None => out.push((g.clone(), vec![[*x, *y]])),
        }
    }
    for (_, pts) in &mut out {
        pts.sort_by(|a, b| a[0].total_cmp(&b[0]));
    }
    out
}

fn bars(df: &DataFrame, cat: &str, cols: &[(&str, &str)], y: &str) -> PolarsResult<ChartSpec> {
    let mut series = Vec::new();
    for (c, name) in cols {
        series.push(Series {
            name: name.to_string(),
            values: floats(df, c)?,
        });
    }
    Ok(ChartSpec::Bars {
        y_label: y.into(),
        categories: texts(df, cat)?,
        series,
        target: None,
    })
}

/// The first [`RANKING_TOP`] rows (the aggregates come sorted, largest first) as a ranking,
/// titled with how many of how many it shows.
fn ranking(
    df: &DataFrame,
    label: &str,
    value: &str,
    what: &str,
) -> PolarsResult<(String, ChartSpec)> {
    let names = texts(df, label)?;
    let values = floats(df, value)?;
    let items: Vec<(String, f64)> = names
        .into_iter()
        .zip(values)
        .filter(|(_, v)| v.is_finite())
        .take(RANKING_TOP)
        .collect();
    let all = df.height();
    let title = if items.len() < all {
        format!("Top {} of {all} {what} by distinct students", items.len())
    } else {
        format!("{} by distinct students", capitalized(what))
    };
    Ok((
        title,
        ChartSpec::Ranking {
            value_label: "students".into(),
            items,
        },
    ))
}

/// Each app's share of accesses: the first [`RANKING_TOP`] − 1 apps, then the rest together,
/// so the bars still sum to 100 %.
fn share_ranking(df: &DataFrame) -> PolarsResult<(String, ChartSpec)> {
    let rows: Vec<(String, f64)> = texts(df, "resource_name")?
        .into_iter()
        .zip(floats(df, "share")?)
        .filter(|(_, v)| v.is_finite())
        .collect();
    let mut items: Vec<(String, f64)> = Vec::new();
    let mut rest = (0usize, 0.0);
    for (i, (name, v)) in rows.iter().enumerate() {
        let is_other = name.starts_with("other apps (");
        if i + 1 < RANKING_TOP && !is_other {
            items.push((name.clone(), *v));
        } else {
            rest.0 += 1;
            rest.1 += v;
        }
    }
    if rest.0 > 0 {
        items.push(("all other apps".to_string(), rest.1));
    }
    Ok((
        "Share of all app accesses (%)".into(),
        ChartSpec::Ranking {
            value_label: "% of accesses".into(),
            items,
        },
    ))
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// Cards of whole numbers from the first row: (column, caption); blank values left out.
fn count_cards(df: &DataFrame, cols: &[(&str, &str)]) -> PolarsResult<ChartSpec> {
    let mut items = Vec::new();
    for (c, caption) in cols {
        if let Some(v) = floats(df, c)?.first().filter(|v| v.is_finite()) {
            items.push((caption.to_string(), format!("{v:.0}")));
        }
    }
    Ok(ChartSpec::Cards { items })
}

/// The first and last weeks of the weekly frame when they have fewer days of data than the
/// fullest week: the range or the data starts or ends mid-week. (A week in between with
/// fewer days had a holiday: it is complete.)
fn partial_weeks(df: &DataFrame) -> PolarsResult<Vec<f64>> {
    let (weeks, days) = (self::days(df, "week")?, floats(df, "days")?);
    let full = days.iter().copied().fold(0.0, f64::max);
    let first = weeks.iter().copied().fold(f64::INFINITY, f64::min);
    let last = weeks.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut out: Vec<f64> = weeks
        .into_iter()
        .zip(days)
        .filter(|(w, d)| *d < full && (*w == first || *w == last))
        .map(|(w, _)| w)
        .collect();
    out.sort_by(f64::total_cmp);
    out.dedup();
    Ok(out)
}

/// The charts for one metric's output (a metric may draw more than one).
pub fn charts(out: &MetricOutput) -> PolarsResult<Vec<(String, ChartSpec)>> {
    let df = &out.frame;
    Ok(match out.name.as_str() {
        "clever-summary" => vec![(
            "Clever at a glance".into(),
            count_cards(
                df,
                &[
                    ("students", "students active"),
                    ("school_days", "school days"),
                    ("schools", "schools"),
                    ("logins", "logins"),
                ],
            )?,
        )],
        "insights-summary" => vec![(
            "Insights at a glance".into(),
            count_cards(
                df,
                &[
                    ("students", "students active"),
                    ("days", "days with activity"),
                    ("schools", "schools"),
                    ("classes", "classes"),
                    ("events", "events"),
                    ("apps", "apps used"),
                ],
            )?,
        )],
        "hybrid-summary" => hybrid_cards(df)?,
        "daily-active" => {
            let (g, x) = (texts(df, "school")?, days(df, "date")?);
            let line = |c: &str, y: &str| -> PolarsResult<ChartSpec> {
                Ok(ChartSpec::Lines {
                    y_label: y.into(),
                    series: lines(&g, &x, &floats(df, c)?),
                    partial: Vec::new(),
                })
            };
            vec![
                (
                    "Active students per day".into(),
                    line("active_students", "students")?,
                ),
                ("Logins per day".into(), line("logins", "logins")?),
            ]
        }
        "clever-by-school" => vec![(
            "Average logins and resources per student per school day".into(),
            bars(
                df,
                "school",
                &[
                    ("avg_logins_per_day", "logins"),
                    ("avg_resources_per_day", "resources"),
                ],
                "per student per day",
            )?,
        )],
        "top-resources" => vec![ranking(df, "resource_name", "students", "resources")?],
        "top-resources-by-school" => per_school_rankings(df)?,
        "resource-types" => vec![ranking(df, "resource_type", "students", "resource types")?],
        "clever-app-share" => vec![share_ranking(df)?],
        "clever-apps-daily" => apps_daily(df)?,
        "insights-weekly" => weekly_lines(df)?,
        "insights-apps" => vec![ranking(df, "app", "students", "apps")?],
        "insights-daily" => insights_daily(df)?,
        "teams-by-school" => vec![(
            "Students who used Teams, and all students active in Insights, by school".into(),
            bars(
                df,
                "school",
                &[
                    ("teams_students", "used Teams"),
                    ("students", "active in Insights"),
                ],
                "students",
            )?,
        )],
        "attendance-vs-digital" => attendance_scatter(df)?,
        "attendance-over-time" => attendance_lines(df)?,
        "school-by-grade" => vec![(
            "In-person attendance % by school and grade".into(),
            matrix(df)?,
        )],
        "engagement-by-grade" => vec![(
            "In-person and digital attendance by grade".into(),
            grade_bars(df)?,
        )],
        "class-engagement" => class_bars(df)?,
        "below-threshold" => vec![(
            "Students below the attendance threshold, and all students, by school".into(),
            bars(
                df,
                "school",
                &[("below_threshold", "below"), ("students", "all students")],
                "students",
            )?,
        )],
        _ => Vec::new(),
    })
}

/// Signals and students per day by activity type.
fn insights_daily(df: &DataFrame) -> PolarsResult<Vec<(String, ChartSpec)>> {
    let (g, x) = (texts(df, "group")?, days(df, "date")?);
    let line = |c: &str, y: &str| -> PolarsResult<ChartSpec> {
        Ok(ChartSpec::Lines {
            y_label: y.into(),
            series: lines(&g, &x, &floats(df, c)?),
            partial: Vec::new(),
        })
    };
    Ok(vec![
        (
            "Signals per day by activity type".into(),
            line("events", "signals")?,
        ),
        (
            "Students active per day by activity type".into(),
            line("students", "students")?,
        ),
    ])
}

/// Apps used per day, one line.
fn apps_daily(df: &DataFrame) -> PolarsResult<Vec<(String, ChartSpec)>> {
    Ok(vec![(
        "Apps used per day".into(),
        ChartSpec::Lines {
            y_label: "apps".into(),
            series: lines(
                &vec!["apps used".to_string(); df.height()],
                &days(df, "date")?,
                &floats(df, "apps")?,
            ),
            partial: Vec::new(),
        },
    )])
}

/// One ranking per school (its rows in order: the aggregate comes sorted).
fn per_school_rankings(df: &DataFrame) -> PolarsResult<Vec<(String, ChartSpec)>> {
    let (schools, names) = (texts(df, "school")?, texts(df, "resource_name")?);
    let students = floats(df, "students")?;
    let mut out: Vec<(String, ChartSpec)> = Vec::new();
    for ((school, name), v) in schools.iter().zip(names).zip(students) {
        let title = format!("{school}: top resources by distinct students");
        if out.last().is_none_or(|(t, _)| *t != title) {
            out.push((
                title,
                ChartSpec::Ranking {
                    value_label: "students".into(),
                    items: Vec::new(),
                },
            ));
        }
        if let Some((_, ChartSpec::Ranking { items, .. })) = out.last_mut()
            && v.is_finite()
        {
            items.push((name, v));
        }
    }
    Ok(out)
}

/// Students and events per week by activity type, partial weeks marked.
fn weekly_lines(df: &DataFrame) -> PolarsResult<Vec<(String, ChartSpec)>> {
    let (g, x) = (texts(df, "group")?, days(df, "week")?);
    let partial = partial_weeks(df)?;
    let line = |c: &str, y: &str| -> PolarsResult<ChartSpec> {
        Ok(ChartSpec::Lines {
            y_label: y.into(),
            series: lines(&g, &x, &floats(df, c)?),
            partial: partial.clone(),
        })
    };
    Ok(vec![
        (
            "Students active per week by activity type".into(),
            line("students", "students")?,
        ),
        (
            "Events per week by activity type".into(),
            line("events", "events")?,
        ),
    ])
}

#[path = "chart_hybrid.rs"]
mod hybrid;
pub use hybrid::GRADE_MISSING;
use hybrid::{attendance_lines, attendance_scatter, class_bars, grade_bars, hybrid_cards, matrix};

#[cfg(test)]
#[path = "chart_tests.rs"]
mod tests;
