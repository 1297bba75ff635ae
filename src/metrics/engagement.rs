//! Hybrid engagement: in-person attendance (SIS) next to digital attendance (share of a
//! student's school days with Clever or Insights activity), joined on pseudonymized ids
//! (Insights AadUser.ObjectId = Clever sis_id = SIS student_id, hashed with the same salt).
//! Also builds the stage3 tables: the unified digital activity table and the hybrid student table.

use polars::prelude::*;

use super::{Filter, MetricError, require, suppress, table, tables};
use crate::lake::delta::{self, CommitKind};
use crate::lake::{Lake, Layer, TableRef};
use crate::pipeline::merge;

/// The stage3 tables edlake builds.
pub fn digital_activity_table() -> TableRef {
    TableRef::new(Layer::Stage3, "engagement", "v1.0", "digital_activity")
}

/// The per-student hybrid engagement table.
pub fn hybrid_table() -> TableRef {
    TableRef::new(Layer::Stage3, "engagement", "v1.0", "hybrid_engagement")
}

/// School id → name, from Insights Organization or Clever.
fn school_names(lake: &Lake) -> Result<Option<LazyFrame>, MetricError> {
    let mut parts = Vec::new();
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
    let mut lf = att
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

fn in_range(e: Expr, f: &Filter) -> Expr {
    let mut cond = lit(true);
    if let Some(d) = f.from {
        cond = cond.and(e.clone().gt_eq(lit(d).cast(DataType::Date)));
    }
    if let Some(d) = f.to {
        cond = cond.and(e.lt_eq(lit(d).cast(DataType::Date)));
    }
    cond
}

/// One row per student: school, grade, days recorded, in-person rate and digital rates.
pub fn per_student(lake: &Lake, f: &Filter, metric: &str) -> Result<LazyFrame, MetricError> {
    let att = require(lake, &tables::attendance(), metric)?
        .select([
            col("student_id_pseudonym").alias("student"),
            col("attendance_date").cast(DataType::Date).alias("day"),
            col("PresenceFlag").alias("present"),
        ])
        .filter(in_range(col("day"), f).and(col("student").is_not_null()));
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
    let digital = |src: LazyFrame, name: &str| {
        src.unique(None, UniqueKeepStrategy::First)
            .join(
                days.clone(),
                [col("student"), col("day")],
                [col("student"), col("day")],
                JoinArgs::new(JoinType::Inner),
            )
            .group_by([col("student")])
            .agg([len().alias(name)])
    };
    let rate = |days_col: &str, rate: &str| {
        (col(days_col).fill_null(lit(0)).cast(DataType::Float64)
            / col("school_days").cast(DataType::Float64))
        .alias(rate)
    };
    if let Some(dp) = table(lake, &tables::clever_dp())? {
        let active = dp
            .filter(col("active").and(col("role").eq(lit("students"))))
            .select([
                col("sis_id_pseudonym").alias("student"),
                col("date").alias("day"),
            ]);
        out = out
            .join(
                digital(active, "clever_days"),
                [col("student")],
                [col("student")],
                JoinArgs::new(JoinType::Left),
            )
            .with_column(rate("clever_days", "digital_rate_clever"));
    } else {
        out = out.with_column(
            lit(NULL)
                .cast(DataType::Float64)
                .alias("digital_rate_clever"),
        );
    }
    if let Some(act) = table(lake, &tables::activity())? {
        let active = act.select([
            col("ActorId_pseudonym").alias("student"),
            col("StartTime").dt().date().alias("day"),
        ]);
        out = out
            .join(
                digital(active, "insights_days"),
                [col("student")],
                [col("student")],
                JoinArgs::new(JoinType::Left),
            )
            .with_column(rate("insights_days", "digital_rate_insights"));
    } else {
        out = out.with_column(
            lit(NULL)
                .cast(DataType::Float64)
                .alias("digital_rate_insights"),
        );
    }
    out = match attendance_schools(lake)? {
        Some(s) => out.join(
            s,
            [col("student")],
            [col("student")],
            JoinArgs::new(JoinType::Left),
        ),
        None => out.with_column(lit(NULL).cast(DataType::String).alias("school")),
    };
    out = match table(lake, &tables::students())? {
        Some(st) => out.join(
            st.select([
                col("SIS_ID_pseudonym").alias("student"),
                col("Grade").cast(DataType::String).alias("grade"),
            ])
            .unique_stable(Some(cols(["student"])), UniqueKeepStrategy::Last),
            [col("student")],
            [col("student")],
            JoinArgs::new(JoinType::Left),
        ),
        None => out.with_column(lit(NULL).cast(DataType::String).alias("grade")),
    };
    if let Some(s) = &f.school {
        out = out.filter(col("school").eq(lit(s.clone())));
    }
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
    let df = per_student(lake, f, metric)?
        .group_by([col(key)])
        .agg([
            len().cast(DataType::Int64).alias("students"),
            col("in_person_rate").mean(),
            col("digital_rate_clever").mean(),
            col("digital_rate_insights").mean(),
        ])
        .sort([key], SortMultipleOptions::default())
        .collect()?;
    Ok(suppress(df, "students", f.min_group, notes)?)
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
    let df = per_student(lake, f, "below-threshold")?
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

/// The unified digital activity table (OEA Digital Engagement Schema) from whatever sources the
/// lake holds; `None` when it holds none.
pub fn digital_activity(lake: &Lake) -> Result<Option<LazyFrame>, MetricError> {
    let ts = DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC));
    let text = |e: Expr| e.cast(DataType::String);
    let mut parts = Vec::new();
    if let Some(dp) = table(lake, &tables::clever_dp())? {
        parts.push(
            dp.select([
                concat_str(
                    [
                        lit("clever-dp-"),
                        text(col("date")),
                        lit("-"),
                        col("sis_id_pseudonym"),
                    ],
                    "",
                    true,
                )
                .alias("event_id"),
                lit("daily_participation")
                    .cast(DataType::String)
                    .alias("event_type"),
                col("sis_id_pseudonym")
                    .cast(DataType::String)
                    .alias("actor_id"),
                col("clever_school_id")
                    .cast(DataType::String)
                    .alias("object_id"),
                col("date")
                    .dt()
                    .timestamp(TimeUnit::Microseconds)
                    .cast(ts.clone())
                    .alias("event_time"),
                lit("Clever").cast(DataType::String).alias("app"),
                lit(NULL).cast(DataType::Int64).alias("time_on_task"),
                col("num_logins").cast(DataType::Int64).alias("num_access"),
                col("active").cast(DataType::Boolean).alias("used"),
                lit("clever").cast(DataType::String).alias("source"),
            ]),
        );
    }
    if let Some(ru) = table(lake, &tables::clever_ru())? {
        parts.push(
            ru.select([
                concat_str(
                    [
                        lit("clever-ru-"),
                        text(col("date")),
                        lit("-"),
                        col("resource_id"),
                        lit("-"),
                        col("sis_id_pseudonym"),
                    ],
                    "",
                    true,
                )
                .alias("event_id"),
                lit("resource_usage")
                    .cast(DataType::String)
                    .alias("event_type"),
                col("sis_id_pseudonym")
                    .cast(DataType::String)
                    .alias("actor_id"),
                col("resource_id").cast(DataType::String).alias("object_id"),
                col("date")
                    .dt()
                    .timestamp(TimeUnit::Microseconds)
                    .cast(ts.clone())
                    .alias("event_time"),
                col("resource_name").cast(DataType::String).alias("app"),
                lit(NULL).cast(DataType::Int64).alias("time_on_task"),
                col("num_access").cast(DataType::Int64).alias("num_access"),
                lit(true).cast(DataType::Boolean).alias("used"),
                lit("clever").cast(DataType::String).alias("source"),
            ]),
        );
    }
    if let Some(act) = table(lake, &tables::activity())? {
        let names = act.clone().collect_schema()?;
        let duration = ["MeetingDuration", "Meeting_Duration"]
            .into_iter()
            .find(|n| names.get(n).is_some())
            .map(|n| col(n).cast(DataType::Int64))
            .unwrap_or_else(|| lit(NULL).cast(DataType::Int64));
        parts.push(
            act.select([
                col("SignalId").cast(DataType::String).alias("event_id"),
                col("SignalType").cast(DataType::String).alias("event_type"),
                col("ActorId_pseudonym")
                    .cast(DataType::String)
                    .alias("actor_id"),
                col("ClassId").cast(DataType::String).alias("object_id"),
                col("StartTime")
                    .dt()
                    .timestamp(TimeUnit::Microseconds)
                    .cast(ts.clone())
                    .alias("event_time"),
                col("AppName").cast(DataType::String).alias("app"),
                duration.alias("time_on_task"),
                lit(1i64).cast(DataType::Int64).alias("num_access"),
                lit(true).cast(DataType::Boolean).alias("used"),
                lit("insights").cast(DataType::String).alias("source"),
            ]),
        );
    }
    if parts.is_empty() {
        return Ok(None);
    }
    Ok(Some(concat(parts, UnionArgs::default())?))
}

/// What a stage3 rebuild wrote.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Stage3Report {
    pub digital_activity_rows: Option<u64>,
    pub hybrid_students: Option<u64>,
}

fn replace(lake: &Lake, t: &TableRef, df: DataFrame, parts: &[String]) -> Result<u64, MetricError> {
    let dir = lake.table_dir(t);
    let n = df.height() as u64;
    let schema = crate::lake::schema::schema_of(&df, parts);
    let files = merge::write_partitioned(&dir, df, parts).map_err(|e| MetricError::Missing {
        metric: "stage3".into(),
        table: t.id(),
        hint: e.to_string(),
    })?;
    delta::commit(&dir, &schema, CommitKind::Overwrite, &files, &[])?;
    Ok(n)
}

/// Rebuilds the stage3 tables from the general tables (each replaced in one commit).
pub fn build_stage3(lake: &Lake) -> Result<Stage3Report, MetricError> {
    let mut r = Stage3Report::default();
    if let Some(lf) = digital_activity(lake)? {
        let df = lf.collect()?;
        r.digital_activity_rows = Some(replace(lake, &digital_activity_table(), df, &[])?);
    }
    if table(lake, &tables::attendance())?.is_some() {
        let df = per_student(lake, &Filter::default(), "hybrid engagement")?.collect()?;
        r.hybrid_students = Some(replace(lake, &hybrid_table(), df, &[])?);
    }
    Ok(r)
}
