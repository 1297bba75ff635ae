//! The shapes of the hybrid (in person and digital) charts: the report's cards, attendance
//! over time, the scatter per school, the grade and class bars and the school × grade matrix.

use polars::prelude::*;

use super::{ChartSpec, Dot, Series, days, floats, texts, texts_or};

/// The hybrid report's cards.
pub(super) fn hybrid_cards(df: &DataFrame) -> PolarsResult<Vec<(String, ChartSpec)>> {
    let pct = |c: &str| -> PolarsResult<Option<String>> {
        Ok(floats(df, c)?
            .first()
            .filter(|v| v.is_finite())
            .map(|v| format!("{:.1} %", v * 100.0)))
    };
    let count = |c: &str| -> PolarsResult<Option<String>> {
        Ok(floats(df, c)?
            .first()
            .filter(|v| v.is_finite())
            .map(|v| format!("{v:.0}")))
    };
    let mut items = Vec::new();
    for (caption, value) in [
        ("students", count("students")?),
        ("schools", count("schools")?),
        ("grades", count("grades")?),
        ("average in-person attendance", pct("in_person_rate")?),
        (
            "students at or above the target",
            count("at_or_above_target")?,
        ),
        (
            "average digital attendance (Insights)",
            pct("digital_rate_insights")?,
        ),
        (
            "average digital attendance (Clever)",
            pct("digital_rate_clever")?,
        ),
    ] {
        if let Some(v) = value {
            items.push((caption.to_string(), v));
        }
    }
    Ok(vec![(
        "In person and digital at a glance".into(),
        ChartSpec::Cards { items },
    )])
}

/// In-person and digital attendance per school day, in %.
pub(super) fn attendance_lines(df: &DataFrame) -> PolarsResult<Vec<(String, ChartSpec)>> {
    let x = days(df, "date")?;
    let mut series = Vec::new();
    for (c, name) in [
        ("in_person_rate", "in person"),
        ("digital_rate_clever", "Clever"),
        ("digital_rate_insights", "Insights"),
    ] {
        let y: Vec<f64> = floats(df, c)?.into_iter().map(|v| v * 100.0).collect();
        if y.iter().any(|v| v.is_finite()) {
            let pts = x.iter().zip(&y).filter(|(_, y)| y.is_finite());
            series.push((name.to_string(), pts.map(|(x, y)| [*x, *y]).collect()));
        }
    }
    Ok(vec![(
        "Students present in person and active online, per school day".into(),
        ChartSpec::Lines {
            y_label: "% of students".into(),
            series,
            partial: Vec::new(),
        },
    )])
}

/// One scatter per digital source: each school's in-person rate against its digital rate.
pub(super) fn attendance_scatter(df: &DataFrame) -> PolarsResult<Vec<(String, ChartSpec)>> {
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
pub(super) fn grade_bars(df: &DataFrame) -> PolarsResult<ChartSpec> {
    let key = |g: &str| (g.trim().parse::<i64>().unwrap_or(i64::MAX), g.to_string());
    let grades = texts_or(df, "grade", GRADE_MISSING)?;
    let mut order: Vec<usize> = (0..grades.len()).collect();
    order.sort_by_key(|&i| key(&grades[i]));
    rate_bars(df, "grade", GRADE_MISSING, &order)
}

/// The rows `order` of per-group rates as bars: in person, Clever and Insights, in % of school
/// days, with the 90 % target.
fn rate_bars(df: &DataFrame, key: &str, missing: &str, order: &[usize]) -> PolarsResult<ChartSpec> {
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
        categories: texts_or(df, key, missing)?,
        series,
        target: Some(("90 % target".into(), 90.0)),
    })
}

/// Classes with the lowest in-person attendance first (the [`super::RANKING_TOP`] lowest when
/// there are more; all are in the CSV export), titled with how many it shows.
pub(super) fn class_bars(df: &DataFrame) -> PolarsResult<Vec<(String, ChartSpec)>> {
    let rates = floats(df, "in_person_rate")?;
    let mut order: Vec<usize> = (0..df.height()).filter(|&i| rates[i].is_finite()).collect();
    order.sort_by(|&a, &b| rates[a].total_cmp(&rates[b]));
    let shown = order.len().min(super::RANKING_TOP);
    let title = if shown < order.len() {
        format!(
            "The {shown} classes with the lowest in-person attendance (of {}), with digital \
             engagement",
            order.len()
        )
    } else {
        "In-person and digital attendance by class, lowest in person first".to_string()
    };
    order.truncate(shown);
    Ok(vec![(title, rate_bars(df, "class", "no class", &order)?)])
}

/// Schools down, grades across (in school order), in-person attendance % in the cells.
pub(super) fn matrix(df: &DataFrame) -> PolarsResult<ChartSpec> {
    let schools = texts(df, "school")?;
    let grades = texts_or(df, "grade", GRADE_MISSING)?;
    let rates = floats(df, "in_person_rate")?;
    let mut rows: Vec<String> = schools.clone();
    rows.sort();
    rows.dedup();
    let mut columns: Vec<String> = grades.clone();
    columns.sort_by_key(|g| (g.trim().parse::<i64>().unwrap_or(i64::MAX), g.clone()));
    columns.dedup();
    let mut cells = vec![vec![None; columns.len()]; rows.len()];
    for ((s, g), v) in schools.iter().zip(&grades).zip(rates) {
        if let (Ok(r), Some(c)) = (rows.binary_search(s), columns.iter().position(|x| x == g))
            && v.is_finite()
        {
            cells[r][c] = Some(v * 100.0);
        }
    }
    Ok(ChartSpec::Matrix {
        value_label: "in-person attendance %".into(),
        rows,
        columns,
        cells,
    })
}

/// How a student without a recorded grade is shown.
pub const GRADE_MISSING: &str = "grade not recorded";
