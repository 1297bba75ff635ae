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
    /// Lines over days (`x` in days since 1970-01-01), one per group.
    Lines {
        y_label: String,
        series: Vec<(String, Vec<[f64; 2]>)>,
    },
    /// Bars per category, one bar group per series.
    Bars {
        y_label: String,
        categories: Vec<String>,
        series: Vec<Series>,
    },
    /// Points with a size.
    Scatter {
        x_label: String,
        y_label: String,
        dots: Vec<Dot>,
    },
}

fn floats(df: &DataFrame, c: &str) -> PolarsResult<Vec<f64>> {
    let s = df.column(c)?.cast(&DataType::Float64)?;
    Ok(s.f64()?.iter().map(|v| v.unwrap_or(f64::NAN)).collect())
}

fn texts(df: &DataFrame, c: &str) -> PolarsResult<Vec<String>> {
    let s = df.column(c)?.cast(&DataType::String)?;
    Ok(s.str()?
        .iter()
        .map(|v| v.unwrap_or("(none)").to_string())
        .collect())
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
    })
}

/// The charts for one metric's output (a metric may draw more than one).
pub fn charts(out: &MetricOutput) -> PolarsResult<Vec<(String, ChartSpec)>> {
    let df = &out.frame;
    Ok(match out.name.as_str() {
        "daily-active" => {
            let (g, x) = (texts(df, "school")?, days(df, "date")?);
            vec![
                (
                    "Active students per day".into(),
                    ChartSpec::Lines {
                        y_label: "students".into(),
                        series: lines(&g, &x, &floats(df, "active_students")?),
                    },
                ),
                (
                    "Logins per day".into(),
                    ChartSpec::Lines {
                        y_label: "logins".into(),
                        series: lines(&g, &x, &floats(df, "logins")?),
                    },
                ),
            ]
        }
        "clever-by-school" => vec![(
            "Average per student per school day".into(),
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
        "top-resources" => {
            let top = df.head(Some(15));
            vec![(
                "Top resources by distinct students".into(),
                bars(
                    &top,
                    "resource_name",
                    &[("students", "students")],
                    "students",
                )?,
            )]
        }
        "resource-types" => vec![(
            "Resource type mix".into(),
            bars(df, "resource_type", &[("students", "students")], "students")?,
        )],
        "insights-weekly" => vec![(
            "Insights activity per week by signal group".into(),
            ChartSpec::Lines {
                y_label: "events".into(),
                series: lines(
                    &texts(df, "group")?,
                    &days(df, "week")?,
                    &floats(df, "events")?,
                ),
            },
        )],
        "insights-apps" => vec![(
            "Insights activity by app".into(),
            bars(df, "app", &[("events", "events")], "events")?,
        )],
        "attendance-vs-digital" => attendance_scatter(df)?,
        "engagement-by-grade" => vec![("Attendance by grade".into(), grade_bars(df)?)],
        "below-threshold" => vec![(
            "Students below the attendance threshold".into(),
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

/// In-person and digital rates per grade, grades in school order (6, 7, … 12), not text order.
fn grade_bars(df: &DataFrame) -> PolarsResult<ChartSpec> {
    let key = |g: &str| (g.trim().parse::<i64>().unwrap_or(i64::MAX), g.to_string());
    let grades = texts(df, "grade")?;
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
    Ok(ChartSpec::Bars {
        y_label: "% of school days".into(),
        categories: texts(df, "grade")?,
        series,
    })
}

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
}
