//! Tests of the chart shapes.
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
