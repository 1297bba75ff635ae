//! Aggregates over Clever and Insights activity.

use polars::prelude::*;

use super::{Filter, MetricError, require, suppress, table, tables};
use crate::derive::identity::{IdSource, Resolver};
use crate::derive::serving::{clever_day_sums, signal_group};
use crate::lake::Lake;

fn date_lit(d: chrono::NaiveDate) -> Expr {
    lit(d).cast(DataType::Date)
}

/// Applies the date and school filters to a frame with a `date` column (and `school`).
pub(crate) fn filtered(mut lf: LazyFrame, f: &Filter, school_col: Option<&str>) -> LazyFrame {
    if let Some(d) = f.from {
        lf = lf.filter(col("date").gt_eq(date_lit(d)));
    }
    if let Some(d) = f.to {
        lf = lf.filter(col("date").lt_eq(date_lit(d)));
    }
    if let (Some(s), Some(c)) = (&f.school, school_col) {
        lf = lf.filter(col(c).eq(lit(s.clone())));
    }
    lf
}

/// Rows of the filter's Clever app (resource) in column `c` (all when none is chosen).
pub(crate) fn of_app(lf: LazyFrame, f: &Filter, c: &str) -> LazyFrame {
    match &f.app {
        Some(a) => lf.filter(col(c).eq(lit(a.clone()))),
        None => lf,
    }
}

/// The students' rows of Clever table `t`, of the filter's grade (the SIS grade of the student
/// through the identity map; a student the SIS has no grade for is in no grade).
pub(crate) fn clever_students(
    lake: &Lake,
    t: &crate::lake::TableRef,
    metric: &str,
    f: &Filter,
) -> Result<LazyFrame, MetricError> {
    let lf =
        require(lake, t, metric)?.filter(col("role").eq(lit("students")).or(col("role").is_null()));
    let Some(g) = &f.grade else {
        return Ok(lf);
    };
    let ids = Resolver::load(lake)?;
    let keyed = ids.apply(
        lf.with_column(col("sis_id_pseudonym").alias("__student")),
        IdSource::Clever,
        "__student",
    );
    let of_grade = match super::engagement::student_grades(lake, &ids)? {
        Some(gr) => gr
            .filter(col("grade").eq(lit(g.clone())))
            .select([col("student")]),
        None => return Ok(keyed.filter(lit(false)).drop(cols(["__student"]))),
    };
    Ok(keyed
        .join(
            of_grade,
            [col("__student")],
            [col("student")],
            JoinArgs::new(JoinType::Semi),
        )
        .drop(cols(["__student"])))
}

/// Students active and logins per day and school.
pub fn daily_active(
    lake: &Lake,
    f: &Filter,
    notes: &mut Vec<String>,
) -> Result<DataFrame, MetricError> {
    let lf = filtered(
        clever_students(lake, &tables::clever_dp(), "daily-active", f)?,
        f,
        Some("school_name"),
    );
    let df = lf
        .group_by([col("date"), col("school_name").alias("school")])
        .agg(clever_day_sums());
    let df = daily_active_rows(df).collect()?;
    Ok(suppress(df, "students", f.min_group, notes)?)
}

/// Clever's cards: distinct students active, school days with data, schools and logins in
/// the range (one row; hidden when fewer students than the smallest group were active).
pub fn clever_summary(
    lake: &Lake,
    f: &Filter,
    notes: &mut Vec<String>,
) -> Result<DataFrame, MetricError> {
    let lf = filtered(
        clever_students(lake, &tables::clever_dp(), "clever-summary", f)?,
        f,
        Some("school_name"),
    );
    let lf = Resolver::load(lake)?.apply(lf, IdSource::Clever, "sis_id_pseudonym");
    let students = distinct_students(lf.clone().filter(col("active")), "sis_id_pseudonym")?;
    let rest = summary_rest(lf.rename(["school_name"], ["school"], true), "num_logins");
    Ok(suppress(
        summary_row(students, rest)?,
        "students",
        f.min_group,
        notes,
    )?)
}

/// The `students` card: distinct non-blank values of column `c`.
fn distinct_students(lf: LazyFrame, c: &str) -> PolarsResult<DataFrame> {
    lf.select([col(c)
        .drop_nulls()
        .n_unique()
        .cast(DataType::Int64)
        .alias("students")])
        .collect()
}

/// The cards other than students: school days, schools and logins from rows with `date`,
/// `school` and a logins column (shared with the serving data).
pub(crate) fn summary_rest(lf: LazyFrame, logins: &str) -> LazyFrame {
    lf.select([
        col("date")
            .n_unique()
            .cast(DataType::Int64)
            .alias("school_days"),
        col("school")
            .n_unique()
            .cast(DataType::Int64)
            .alias("schools"),
        col(logins).cast(DataType::Int64).sum().alias("logins"),
    ])
}

/// The one summary row: `students` then the other cards.
pub(crate) fn summary_row(mut students: DataFrame, rest: LazyFrame) -> PolarsResult<DataFrame> {
    let rest = rest.collect()?;
    students.hstack_mut(rest.columns())?;
    Ok(students)
}

/// The daily-active columns, by date and school (from the direct query and the serving data).
pub(crate) fn daily_active_rows(lf: LazyFrame) -> LazyFrame {
    lf.select([
        col("date"),
        col("school"),
        col("students"),
        col("active_students"),
        col("logins"),
    ])
    .sort(["date", "school"], SortMultipleOptions::default())
}

/// Average logins and resources per student-day, by school; students = largest daily roster.
pub fn clever_by_school(
    lake: &Lake,
    f: &Filter,
    notes: &mut Vec<String>,
) -> Result<DataFrame, MetricError> {
    let lf = filtered(
        clever_students(lake, &tables::clever_dp(), "clever-by-school", f)?,
        f,
        Some("school_name"),
    );
    // Every rostered student has a row each day, so a school's students are its largest daily
    // row count; averages are per student-day. No pseudonyms need hashing.
    let per_day = lf
        .group_by([col("school_name").alias("school"), col("date")])
        .agg(clever_day_sums());
    let df = clever_by_school_from(per_day).collect()?;
    Ok(suppress(df, "students", f.min_group, notes)?)
}

/// The second step of `clever-by-school`, from per school-day sums ([`clever_day_sums`]);
/// shared with the serving data.
pub(crate) fn clever_by_school_from(per_day: LazyFrame) -> LazyFrame {
    per_day
        .rename(["students"], ["n"], true)
        .group_by([col("school")])
        .agg([
            col("n").max().alias("students"),
            (col("logins").sum().cast(DataType::Float64) / col("n").sum().cast(DataType::Float64))
                .alias("avg_logins_per_day"),
            (col("resources").sum().cast(DataType::Float64)
                / col("n").sum().cast(DataType::Float64))
            .alias("avg_resources_per_day"),
        ])
        .sort(["school"], SortMultipleOptions::default())
}

fn resources_by(
    lake: &Lake,
    f: &Filter,
    by: &str,
    metric: &str,
    notes: &mut Vec<String>,
) -> Result<DataFrame, MetricError> {
    let df = resource_rows(lake, f, by, metric)?;
    Ok(suppress(df, "students", f.min_group, notes)?)
}

/// Distinct students and accesses per `by` (resource name or type), before suppression.
pub(crate) fn resource_rows(
    lake: &Lake,
    f: &Filter,
    by: &str,
    metric: &str,
) -> Result<DataFrame, MetricError> {
    let lf = filtered(
        clever_students(lake, &tables::clever_ru(), metric, f)?,
        f,
        Some("school_name"),
    );
    let df = of_app(lf, f, "resource_name").group_by([col(by)]).agg([
        col("sis_id_pseudonym").n_unique().alias("students"),
        col("num_access")
            .sum()
            .cast(DataType::Int64)
            .alias("accesses"),
    ]);
    Ok(sort_resources(df, by).collect()?)
}

/// Most-used first (by distinct students), ties by name.
pub(crate) fn sort_resources(lf: LazyFrame, by: &str) -> LazyFrame {
    lf.sort(
        ["students", by],
        SortMultipleOptions::default().with_order_descending_multi([true, false]),
    )
}

/// Resources by distinct students.
pub fn top_resources(
    lake: &Lake,
    f: &Filter,
    notes: &mut Vec<String>,
) -> Result<DataFrame, MetricError> {
    resources_by(lake, f, "resource_name", "top-resources", notes)
}

/// The five resources the most students used at each school (the Clever report's top 5 per
/// school), with the school first.
pub fn top_resources_by_school(
    lake: &Lake,
    f: &Filter,
    notes: &mut Vec<String>,
) -> Result<DataFrame, MetricError> {
    let metric = "top-resources-by-school";
    let rows = clever_students(lake, &tables::clever_ru(), metric, f)?;
    let rows = of_app(filtered(rows, f, Some("school_name")), f, "resource_name");
    let schools = school_list(rows, "school_name")?;
    per_school_top(schools, f, notes, |g, notes| {
        resources_by(lake, g, "resource_name", metric, notes)
    })
}

/// The schools in column `c` of `lf`, sorted (no blank one: it cannot be filtered on).
pub(crate) fn school_list(lf: LazyFrame, c: &str) -> PolarsResult<Vec<String>> {
    let df = lf
        .select([col(c)])
        .unique(None, UniqueKeepStrategy::Any)
        .collect()?;
    let s = df.column(c)?.cast(&DataType::String)?;
    let mut out: Vec<String> = s.str()?.iter().flatten().map(str::to_string).collect();
    out.sort();
    Ok(out)
}

/// Per school, the first five rows of `one` (the aggregate under that school's filter, small
/// groups already hidden), behind a `school` column.
pub(crate) fn per_school_top(
    schools: Vec<String>,
    f: &Filter,
    notes: &mut Vec<String>,
    mut one: impl FnMut(&Filter, &mut Vec<String>) -> Result<DataFrame, MetricError>,
) -> Result<DataFrame, MetricError> {
    let mut out: Option<DataFrame> = None;
    for school in schools {
        let g = Filter {
            school: Some(school.clone()),
            ..f.clone()
        };
        let top = one(&g, notes)?.head(Some(5));
        let mut df = DataFrame::new(
            top.height(),
            vec![Column::new("school".into(), vec![school; top.height()])],
        )?;
        df.hstack_mut(top.columns())?;
        match &mut out {
            Some(o) => {
                o.vstack_mut(&df)?;
            }
            None => out = Some(df),
        }
    }
    Ok(out.unwrap_or_default())
}

/// Accesses and students by resource type.
pub fn resource_types(
    lake: &Lake,
    f: &Filter,
    notes: &mut Vec<String>,
) -> Result<DataFrame, MetricError> {
    resources_by(lake, f, "resource_type", "resource-types", notes)
}

/// A `student` to `school` map (from Clever, else from SIS attendance with Insights names).
pub fn student_schools(lake: &Lake) -> Result<Option<LazyFrame>, MetricError> {
    if let Some(dp) = table(lake, &tables::clever_dp())? {
        let dp = Resolver::load(lake)?.apply(dp, IdSource::Clever, "sis_id_pseudonym");
        return Ok(Some(
            dp.filter(col("role").eq(lit("students")))
                .select([
                    col("sis_id_pseudonym").alias("student"),
                    col("school_name").alias("school"),
                ])
                .unique(None, UniqueKeepStrategy::First),
        ));
    }
    super::engagement::attendance_schools(lake)
}

/// Insights activity with `date`, `student`, `group` and `class` columns, filtered.
pub(crate) fn activity(lake: &Lake, f: &Filter, metric: &str) -> Result<LazyFrame, MetricError> {
    let act = require(lake, &tables::activity(), metric)?;
    let lf = Resolver::load(lake)?
        .apply(act, IdSource::Insights, "ActorId_pseudonym")
        .filter(
            col("ActorRole")
                .eq(lit("Student"))
                .or(col("ActorRole").is_null()),
        )
        .with_columns([
            col("StartTime").dt().date().alias("date"),
            col("ActorId_pseudonym").alias("student"),
            signal_group().alias("group"),
        ]);
    let mut lf = super::classes::with_class(lake, lf)?;
    if let Some(c) = &f.class {
        lf = lf.filter(col("class").eq(lit(c.clone())));
    }
    if f.school.is_some() {
        let map = student_schools(lake)?.ok_or_else(|| {
            MetricError::missing(
                metric,
                "a student-to-school map".into(),
                "Ingest Clever or SIS attendance data to filter Insights activity by school."
                    .into(),
            )
        })?;
        lf = lf.join(
            map,
            [col("student")],
            [col("student")],
            JoinArgs::new(JoinType::Inner),
        );
    }
    Ok(filtered(lf, f, f.school.as_ref().map(|_| "school")))
}

/// The Monday of a date's week.
pub(crate) fn week_of(date: Expr) -> Expr {
    let day = date.cast(DataType::Int32);
    (day.clone() - ((day + lit(3)) % lit(7))).cast(DataType::Date)
}

/// Insights events and students per week (Monday) and signal group.
pub fn insights_weekly(
    lake: &Lake,
    f: &Filter,
    notes: &mut Vec<String>,
) -> Result<DataFrame, MetricError> {
    let act = activity(lake, f, "insights-weekly")?.with_column(week_of(col("date")).alias("week"));
    let df = act.clone().group_by([col("week"), col("group")]).agg([
        col("student").n_unique().alias("students"),
        len().cast(DataType::Int64).alias("events"),
    ]);
    let df = weekly_rows(df, week_active_days(act)).collect()?;
    Ok(suppress(df, "students", f.min_group, notes)?)
}

/// Per week, the days with any activity (`week`, `days`): a week with fewer days than the
/// others is drawn as partial.
pub(crate) fn week_active_days(events: LazyFrame) -> LazyFrame {
    events
        .group_by([col("week")])
        .agg([col("date").n_unique().cast(DataType::Int64).alias("days")])
}

/// The weekly rows (`week`, `group`, `students`, `events`) with the week's active `days`,
/// sorted by week and group.
pub(crate) fn weekly_rows(rows: LazyFrame, days: LazyFrame) -> LazyFrame {
    rows.join(
        days,
        [col("week")],
        [col("week")],
        JoinArgs::new(JoinType::Left),
    )
    .select([
        col("week"),
        col("group"),
        col("students"),
        col("events"),
        col("days"),
    ])
    .sort(["week", "group"], SortMultipleOptions::default())
}

/// Insights' cards' first columns: distinct students active, days with activity, events and
/// apps used in the range (one row, before suppression).
pub(crate) fn insights_summary(lake: &Lake, f: &Filter) -> Result<DataFrame, MetricError> {
    let act = activity(lake, f, "insights-summary")?;
    let students = distinct_students(act.clone(), "student")?;
    let rest = insights_rest(act.with_column(lit(1i64).alias("events")));
    Ok(summary_row(students, rest)?)
}

/// The Insights cards other than students, from rows with `date`, `AppName` and `events`
/// (shared with the serving data).
pub(crate) fn insights_rest(lf: LazyFrame) -> LazyFrame {
    lf.select([
        col("date").n_unique().cast(DataType::Int64).alias("days"),
        col("events").cast(DataType::Int64).sum().alias("events"),
        col("AppName")
            .drop_nulls()
            .n_unique()
            .cast(DataType::Int64)
            .alias("apps"),
    ])
}

/// Insights events and students by app.
pub fn insights_apps(
    lake: &Lake,
    f: &Filter,
    notes: &mut Vec<String>,
) -> Result<DataFrame, MetricError> {
    let df = activity(lake, f, "insights-apps")?
        .group_by([col("AppName").alias("app")])
        .agg([
            col("student").n_unique().alias("students"),
            len().cast(DataType::Int64).alias("events"),
        ]);
    let df = sort_apps(df).collect()?;
    Ok(suppress(df, "students", f.min_group, notes)?)
}

/// The app most students used first, then the busiest, ties by name.
pub(crate) fn sort_apps(lf: LazyFrame) -> LazyFrame {
    lf.sort(
        ["students", "events", "app"],
        SortMultipleOptions::default().with_order_descending_multi([true, true, false]),
    )
}
