//! Hybrid engagement: in-person attendance (SIS) next to digital attendance (share of a
//! student's school days with Clever or Insights activity), joined on pseudonymized ids
//! (Insights AadUser.ObjectId = Clever sis_id = SIS student_id, hashed with the same salt).

use polars::prelude::*;

use super::{Filter, MetricError, require, suppress, table, tables};
use crate::derive::attendance::PresentCodes;
use crate::derive::identity::{IdSource, Resolver};
use crate::lake::Lake;

/// School id → name, from Insights Organization or Clever.
fn school_names(lake: &Lake) -> Result<Option<LazyFrame>, MetricError> {
    let mut parts = Vec::new();
    // An SIS id the district named comes first (the first name of an id wins below).
    let sis: Vec<(String, String)> = crate::derive::sites::SiteMap::load(lake)?
        .sis_names()
        .map(|(id, n)| (id.to_string(), n.to_string()))
        .collect();
    if !sis.is_empty() {
        let (ids, names): (Vec<String>, Vec<String>) = sis.into_iter().unzip();
        parts.push(df!("school_id" => ids, "school" => names)?.lazy());
    }
    if let Some(o) = table(lake, &tables::organization())? {
        parts.push(o.select([col("Id").alias("school_id"), col("Name").alias("school")]));
    }
    if let Some(dp) = table(lake, &tables::clever_dp())? {
        parts.push(dp.select([
            col("clever_school_id").alias("school_id"),
            col("school_name").alias("school"),
        ]));
    }
    if parts.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        concat(parts, UnionArgs::default())?
            .filter(col("school").is_not_null())
            .unique_stable(Some(cols(["school_id"])), UniqueKeepStrategy::First),
    ))
}

/// Student → school (name when known, else the SIS school id) from SIS attendance.
pub fn attendance_schools(lake: &Lake) -> Result<Option<LazyFrame>, MetricError> {
    let Some(att) = table(lake, &tables::attendance())? else {
        return Ok(None);
    };
    let mut lf = Resolver::load(lake)?
        .apply(att, IdSource::Sis, "student_id_pseudonym")
        .select([
            col("student_id_pseudonym").alias("student"),
            col("school_id"),
        ])
        .unique_stable(Some(cols(["student"])), UniqueKeepStrategy::First);
    lf = match school_names(lake)? {
        Some(n) => lf
            .join(
                n,
                [col("school_id")],
                [col("school_id")],
                JoinArgs::new(JoinType::Left),
            )
            .with_column(coalesce(&[col("school"), col("school_id")]).alias("school")),
        None => lf.with_column(col("school_id").alias("school")),
    };
    Ok(Some(lf.select([col("student"), col("school")])))
}

/// Per-student rows of the filter's grade (all when none is chosen).
pub(crate) fn of_grade(lf: LazyFrame, f: &Filter) -> LazyFrame {
    match &f.grade {
        Some(g) => lf.filter(col("grade").eq(lit(g.clone()))),
        None => lf,
    }
}

pub(crate) fn in_range(e: Expr, f: &Filter) -> Expr {
    let mut cond = lit(true);
    if let Some(d) = f.from {
        cond = cond.and(e.clone().gt_eq(lit(d).cast(DataType::Date)));
    }
    if let Some(d) = f.to {
        cond = cond.and(e.lt_eq(lit(d).cast(DataType::Date)));
    }
    cond
}

/// `out` with a student's share of school `days` with activity in `active` (student, day) as
/// `rate_col` (null when the source has no table).
fn with_digital(
    out: LazyFrame,
    days: &LazyFrame,
    active: Option<LazyFrame>,
    days_col: &str,
    rate_col: &str,
) -> LazyFrame {
    let Some(active) = active else {
        return out.with_column(lit(NULL).cast(DataType::Float64).alias(rate_col));
    };
    let digital = active
        .unique(None, UniqueKeepStrategy::First)
        .join(
            days.clone(),
            [col("student"), col("day")],
            [col("student"), col("day")],
            JoinArgs::new(JoinType::Inner),
        )
        .group_by([col("student")])
        .agg([len().alias(days_col)]);
    out.join(
        digital,
        [col("student")],
        [col("student")],
        JoinArgs::new(JoinType::Left),
    )
    .with_column(
        (col(days_col).fill_null(lit(0)).cast(DataType::Float64)
            / col("school_days").cast(DataType::Float64))
        .alias(rate_col),
    )
}

/// SIS attendance rows in the filter's dates: `student`, `day` and whether the student was
/// `present` (by flag, or by the lake's present codes).
pub(crate) fn attendance_rows(
    lake: &Lake,
    ids: &Resolver,
    f: &Filter,
    metric: &str,
) -> Result<LazyFrame, MetricError> {
    Ok(ids
        .apply(
            require(lake, &tables::attendance(), metric)?,
            IdSource::Sis,
            "student_id_pseudonym",
        )
        .select([
            col("student_id_pseudonym").alias("student"),
            col("attendance_date").cast(DataType::Date).alias("day"),
            PresentCodes::load(lake)?.present().alias("present"),
        ])
        .filter(in_range(col("day"), f).and(col("student").is_not_null())))
}

/// Each source's (`student`, `day`) rows of digital activity: Clever days a student was
/// active, Insights days with any signal (`None` where the lake has no such table).
pub(crate) fn digital_days(
    lake: &Lake,
    ids: &Resolver,
) -> Result<(Option<LazyFrame>, Option<LazyFrame>), MetricError> {
    let clever = table(lake, &tables::clever_dp())?.map(|dp| {
        ids.apply(dp, IdSource::Clever, "sis_id_pseudonym")
            .filter(col("active").and(col("role").eq(lit("students"))))
            .select([
                col("sis_id_pseudonym").alias("student"),
                col("date").alias("day"),
            ])
    });
    let insights = table(lake, &tables::activity())?.map(|act| {
        ids.apply(act, IdSource::Insights, "ActorId_pseudonym")
            .select([
                col("ActorId_pseudonym").alias("student"),
                col("StartTime").dt().date().alias("day"),
            ])
    });
    Ok((clever, insights))
}

/// Each SIS student's (`student`, `grade`) through the identity map (the last row of a student
/// wins); `None` when the lake has no SIS students table.
pub(crate) fn student_grades(
    lake: &Lake,
    ids: &Resolver,
) -> Result<Option<LazyFrame>, MetricError> {
    Ok(table(lake, &tables::students())?.map(|st| {
        ids.apply(st, IdSource::Sis, "SIS_ID_pseudonym")
            .select([
                col("SIS_ID_pseudonym").alias("student"),
                col("Grade").cast(DataType::String).alias("grade"),
            ])
            .unique_stable(Some(cols(["student"])), UniqueKeepStrategy::Last)
    }))
}

/// One row per student: school, grade, days recorded, in-person rate and digital rates.
pub fn per_student(lake: &Lake, f: &Filter, metric: &str) -> Result<LazyFrame, MetricError> {
    let ids = Resolver::load(lake)?;
    let att = attendance_rows(lake, &ids, f, metric)?;
    let days = att
        .clone()
        .select([col("student"), col("day")])
        .unique(None, UniqueKeepStrategy::First);
    let mut out = att
        .group_by([col("student")])
        .agg([
            col("day").n_unique().alias("school_days"),
            col("day")
                .filter(col("present"))
                .n_unique()
                .alias("present_days"),
        ])
        .with_column(
            (col("present_days").cast(DataType::Float64)
                / col("school_days").cast(DataType::Float64))
            .alias("in_person_rate"),
        );
    let (clever, insights) = digital_days(lake, &ids)?;
    out = with_digital(out, &days, clever, "clever_days", "digital_rate_clever");
    out = with_digital(
        out,
        &days,
        insights,
        "insights_days",
        "digital_rate_insights",
    );
    out = match attendance_schools(lake)? {
        Some(s) => out.join(
            s,
            [col("student")],
            [col("student")],
            JoinArgs::new(JoinType::Left),
        ),
        None => out.with_column(lit(NULL).cast(DataType::String).alias("school")),
    };
    out = match student_grades(lake, &ids)? {
        Some(grades) => out.join(
            grades,
            [col("student")],
            [col("student")],
            JoinArgs::new(JoinType::Left),
        ),
        None => out.with_column(lit(NULL).cast(DataType::String).alias("grade")),
    };
    if let Some(s) = &f.school {
        out = out.filter(col("school").eq(lit(s.clone())));
    }
    let out = super::classes::of_class(lake, of_grade(out, f), f, metric)?;
    Ok(out.select([
        col("student"),
        col("school"),
        col("grade"),
        col("school_days").cast(DataType::Int64),
        col("in_person_rate"),
        col("digital_rate_clever"),
        col("digital_rate_insights"),
    ]))
}

fn by(
    lake: &Lake,
    f: &Filter,
    key: &str,
    metric: &str,
    notes: &mut Vec<String>,
) -> Result<DataFrame, MetricError> {
    group_students(per_student(lake, f, metric)?, f, key, notes)
}

/// Students, mean in-person and digital rates per `key`, from per-student rows (shared with
/// the serving data).
pub(crate) fn group_students(
    per_student: LazyFrame,
    f: &Filter,
    key: &str,
    notes: &mut Vec<String>,
) -> Result<DataFrame, MetricError> {
    group_students_by(per_student, f, &[key], notes)
}

/// [`group_students`] per combination of `keys` (school × grade for the matrix).
pub(crate) fn group_students_by(
    per_student: LazyFrame,
    f: &Filter,
    keys: &[&str],
    notes: &mut Vec<String>,
) -> Result<DataFrame, MetricError> {
    let df = per_student
        .group_by(keys.iter().map(|k| col(*k)).collect::<Vec<_>>())
        .agg([
            len().cast(DataType::Int64).alias("students"),
            col("in_person_rate").mean(),
            col("digital_rate_clever").mean(),
            col("digital_rate_insights").mean(),
        ])
        .sort(keys.to_vec(), SortMultipleOptions::default())
        .collect()?;
    Ok(suppress(df, "students", f.min_group, notes)?)
}

/// In-person and digital attendance per class: each class's students (see
/// [`super::classes`]), a student in two classes counted in both.
pub fn by_class(
    lake: &Lake,
    f: &Filter,
    notes: &mut Vec<String>,
) -> Result<DataFrame, MetricError> {
    let metric = "class-engagement";
    let mut p = per_student(lake, f, metric)?.join(
        super::classes::members(lake, metric)?,
        [col("student")],
        [col("student")],
        JoinArgs::new(JoinType::Inner),
    );
    if let Some(c) = &f.class {
        p = p.filter(col("class").eq(lit(c.clone())));
    }
    group_students(p, f, "class", notes)
}

/// In-person and digital attendance per school and grade (the matrix).
pub fn by_school_and_grade(
    lake: &Lake,
    f: &Filter,
    notes: &mut Vec<String>,
) -> Result<DataFrame, MetricError> {
    let p = per_student(lake, f, "school-by-grade")?;
    group_students_by(p, f, &["school", "grade"], notes)
}

/// In-person vs digital attendance per school (the scatter; point size = students).
pub fn by_school(
    lake: &Lake,
    f: &Filter,
    notes: &mut Vec<String>,
) -> Result<DataFrame, MetricError> {
    by(lake, f, "school", "attendance-vs-digital", notes)
}

/// In-person and digital attendance per grade.
pub fn by_grade(
    lake: &Lake,
    f: &Filter,
    notes: &mut Vec<String>,
) -> Result<DataFrame, MetricError> {
    by(lake, f, "grade", "engagement-by-grade", notes)
}

/// Students whose in-person attendance is below the threshold, per school (counts only).
pub fn below_threshold(
    lake: &Lake,
    f: &Filter,
    notes: &mut Vec<String>,
) -> Result<DataFrame, MetricError> {
    count_below(per_student(lake, f, "below-threshold")?, f, notes)
}

/// Students below the threshold per school, from per-student rows (shared with the serving
/// data).
pub(crate) fn count_below(
    per_student: LazyFrame,
    f: &Filter,
    notes: &mut Vec<String>,
) -> Result<DataFrame, MetricError> {
    let df = per_student
        .group_by([col("school")])
        .agg([
            len().cast(DataType::Int64).alias("students"),
            col("in_person_rate")
                .lt(lit(f.threshold))
                .cast(DataType::Int64)
                .sum()
                .alias("below_threshold"),
        ])
        .sort(["school"], SortMultipleOptions::default())
        .collect()?;
    notes.push(format!(
        "threshold: in-person attendance below {:.0}%",
        f.threshold * 100.0
    ));
    Ok(suppress(df, "students", f.min_group, notes)?)
}

/// Hybrid engagement: the report's first-page cards for the range.
pub fn summary(lake: &Lake, f: &Filter, notes: &mut Vec<String>) -> Result<DataFrame, MetricError> {
    summarize(per_student(lake, f, "hybrid-summary")?, f, notes)
}

/// The cards from per-student rows (shared with the serving data): students, schools,
/// grades, mean in-person attendance, students at or above the target (the filter's
/// threshold, 90 % unless changed; a part of the students, suppressed as such) and mean
/// digital attendance from each source.
pub(crate) fn summarize(
    per_student: LazyFrame,
    f: &Filter,
    notes: &mut Vec<String>,
) -> Result<DataFrame, MetricError> {
    let df = per_student
        .select([
            len().cast(DataType::Int64).alias("students"),
            col("school")
                .n_unique()
                .cast(DataType::Int64)
                .alias("schools"),
            col("grade")
                .n_unique()
                .cast(DataType::Int64)
                .alias("grades"),
            col("in_person_rate").mean(),
            col("in_person_rate")
                .gt_eq(lit(f.threshold))
                .cast(DataType::Int64)
                .sum()
                .alias("at_or_above_target"),
            col("digital_rate_clever").mean(),
            col("digital_rate_insights").mean(),
        ])
        .collect()?;
    // An empty range has no students: no row (not a row of blanks).
    let df = df.filter(&df.column("students")?.as_materialized_series().gt(0)?)?;
    Ok(super::suppress_with_parts(
        df,
        "students",
        &["at_or_above_target"],
        f.min_group,
        notes,
    )?)
}
