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

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
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
        "resource-types" => vec![ranking(df, "resource_type", "students", "resource types")?],
        "insights-weekly" => {
            let (g, x) = (texts(df, "group")?, days(df, "week")?);
            let partial = partial_weeks(df)?;
            let line = |c: &str, y: &str| -> PolarsResult<ChartSpec> {
                Ok(ChartSpec::Lines {
                    y_label: y.into(),
                    series: lines(&g, &x, &floats(df, c)?),
                    partial: partial.clone(),
                })
            };
            vec![
                (
                    "Students active per week by activity type".into(),
                    line("students", "students")?,
                ),
                (
                    "Events per week by activity type".into(),
                    line("events", "events")?,
                ),
            ]
        }
        "insights-apps" => vec![ranking(df, "app", "students", "apps")?],
        "attendance-vs-digital" => attendance_scatter(df)?,
        "engagement-by-grade" => vec![(
            "In-person and digital attendance by grade".into(),
            grade_bars(df)?,
        )],
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

/// One scatter per digital source: each school's in-person rate against its digital rate.
fn attendance_scatter(df: &DataFrame) -> PolarsResult<Vec<(String, ChartSpec)>> {
    let rate = |c: &str| -> PolarsResult<Vec<f64>> {
        Ok(floats(df, c)?.into_iter().map(|v| v * 100.0).collect())
    };
    let (x, w, names) = (
        rate("in_person_rate")?,
        floats(df, "students")?,
        texts(df, "school")?,
    );
    let mut charts = Vec::new();
    for (c, label) in [
        ("digital_rate_clever", "Clever"),
        ("digital_rate_insights", "Insights"),
    ] {
        let y = rate(c)?;
        if y.iter().all(|v| v.is_nan()) {
            continue;
        }
        let dots = names
            .iter()
            .zip(&x)
            .zip(&y)
            .zip(&w)
            .map(|(((n, x), y), w)| Dot {
                label: n.clone(),
                x: *x,
                y: *y,
                weight: *w,
            })
            .collect();
        charts.push((
            format!("In-person vs digital attendance per school ({label})"),
            ChartSpec::Scatter {
                x_label: "in-person attendance %".into(),
                y_label: format!("days with {label} activity %"),
                dots,
            },
        ));
    }
    Ok(charts)
}

/// In-person and digital rates per grade, grades in school order (6, 7, … 12), not text order,
/// with the 90 % attendance target OEA's hybrid report draws.
fn grade_bars(df: &DataFrame) -> PolarsResult<ChartSpec> {
    let key = |g: &str| (g.trim().parse::<i64>().unwrap_or(i64::MAX), g.to_string());
    let grades = texts_or(df, "grade", GRADE_MISSING)?;
    let mut order: Vec<usize> = (0..grades.len()).collect();
    order.sort_by_key(|&i| key(&grades[i]));
    let df = &df.take(&IdxCa::from_vec(
        "idx".into(),
        order.iter().map(|&i| i as IdxSize).collect(),
    ))?;
    let rate = |c: &str| -> PolarsResult<Vec<f64>> {
        Ok(floats(df, c)?.into_iter().map(|v| v * 100.0).collect())
    };
    let mut series = vec![Series {
        name: "in person".into(),
        values: rate("in_person_rate")?,
    }];
    for (c, n) in [
        ("digital_rate_clever", "Clever"),
        ("digital_rate_insights", "Insights"),
    ] {
        series.push(Series {
            name: n.into(),
            values: rate(c)?,
        });
    }
    // A source with no data in the range has no bars (not a row of zeros).
    series.retain(|s| s.values.iter().any(|v| v.is_finite()));
    Ok(ChartSpec::Bars {
        y_label: "% of school days".into(),
        categories: texts_or(df, "grade", GRADE_MISSING)?,
        series,
        target: Some(("90 % target".into(), 90.0)),
    })
}

/// How a student without a recorded grade is shown.
pub const GRADE_MISSING: &str = "grade not recorded";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daily_active_draws_one_line_per_school_sorted_by_day() {
        let frame = df!(
            "date" => [2i32, 1, 1],
            "school" => ["A", "A", "B"],
            "students" => [20i64, 20, 30],
            "active_students" => [12i64, 10, 25],
            "logins" => [30i64, 20, 40],
        )
        .expect("frame")
        .lazy()
        .with_column(col("date").cast(DataType::Date))
        .collect()
        .expect("dates");
        let out = MetricOutput {
            name: "daily-active".into(),
            frame,
            notes: vec![],
        };
        let c = charts(&out).expect("charts");
        assert_eq!(c.len(), 2);
        let ChartSpec::Lines { series, .. } = &c[0].1 else {
            panic!("lines expected")
        };
        assert_eq!(series[0], ("A".to_string(), vec![[1.0, 10.0], [2.0, 12.0]]));
        assert_eq!(series[1], ("B".to_string(), vec![[1.0, 25.0]]));
    }

    #[test]
    fn a_ranking_labels_every_bar_and_says_how_many_it_shows() {
        let n = 20;
        let names: Vec<String> = (0..n).map(|i| format!("resource {i}")).collect();
        let students: Vec<i64> = (0..n).map(|i| 100 - i).collect();
        let frame = df!("resource_name" => names, "students" => students).expect("frame");
        let out = MetricOutput {
            name: "top-resources".into(),
            frame,
            notes: vec![],
        };
        let c = charts(&out).expect("charts");
        assert_eq!(c[0].0, "Top 15 of 20 resources by distinct students");
        let ChartSpec::Ranking { items, .. } = &c[0].1 else {
            panic!("a ranking")
        };
        assert_eq!(items.len(), RANKING_TOP);
        assert_eq!(items[0], ("resource 0".to_string(), 100.0));
        assert_eq!(items[14], ("resource 14".to_string(), 86.0));
    }

    #[test]
    fn a_short_last_week_is_partial_and_a_missing_grade_is_named() {
        let frame = df!(
            "week" => [0i32, 0, 7, 7, 14],
            "group" => ["Reflect", "OneNote", "Reflect", "OneNote", "Reflect"],
            "students" => [10i64, 12, 11, 13, 10],
            "events" => [30i64, 40, 31, 41, 12],
            // The middle week had a holiday (4 days): complete; the last has 1 day so far.
            "days" => [5i64, 5, 4, 4, 1],
        )
        .expect("frame")
        .lazy()
        .with_column(col("week").cast(DataType::Date))
        .collect()
        .expect("dates");
        let out = MetricOutput {
            name: "insights-weekly".into(),
            frame,
            notes: vec![],
        };
        let c = charts(&out).expect("charts");
        assert_eq!(c[0].0, "Students active per week by activity type");
        let ChartSpec::Lines {
            series, partial, ..
        } = &c[0].1
        else {
            panic!("lines")
        };
        assert_eq!(partial, &vec![14.0]);
        assert_eq!(series[0].0, "Reflect");
        assert_eq!(series[0].1, vec![[0.0, 10.0], [7.0, 11.0], [14.0, 10.0]]);

        let frame = df!(
            "grade" => [Some("7"), None, Some("6")],
            "students" => [20i64, 15, 30],
            "in_person_rate" => [0.9, 0.8, 0.95],
            "digital_rate_clever" => [0.5, 0.4, 0.6],
            "digital_rate_insights" => [None::<f64>, None, None],
        )
        .expect("frame");
        let ChartSpec::Bars {
            categories,
            series,
            target,
            ..
        } = grade_bars(&frame).expect("bars")
        else {
            panic!("bars")
        };
        assert_eq!(categories, ["6", "7", GRADE_MISSING]);
        // Insights has no data: no bars for it; the target line is there.
        assert_eq!(series.len(), 2);
        assert_eq!(target, Some(("90 % target".to_string(), 90.0)));
    }
}
