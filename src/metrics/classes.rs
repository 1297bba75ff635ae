//! Classes (sections): the class filter and engagement per class.
//!
//! Insights charts under a class filter count the class's events (those whose class is the
//! chosen one). The in-person and digital charts count students, so there a class is its
//! students: those whose Insights events name the class, on any date (the class list of the
//! whole lake, so comparing two terms compares the same students).

use polars::prelude::*;

use super::{Filter, MetricError, require, tables};
use crate::derive::classes::ClassNames;
use crate::derive::identity::{IdSource, Resolver};
use crate::derive::serving::Serving;
use crate::lake::Lake;

/// Insights activity with its class label as `class` (see [`ClassNames`]).
pub(crate) fn with_class(lake: &Lake, act: LazyFrame) -> Result<LazyFrame, MetricError> {
    let act = act.with_columns([
        col("ClassId").cast(DataType::String),
        col("SisClassId").cast(DataType::String),
    ]);
    let labels = ClassNames::load(lake)?.frame(act.clone())?;
    // An event without a SIS class id still takes its group's label.
    let mut args = JoinArgs::new(JoinType::Left);
    args.nulls_equal = true;
    Ok(act.join(
        labels.lazy(),
        [col("ClassId"), col("SisClassId")],
        [col("ClassId"), col("SisClassId")],
        args,
    ))
}

/// Direct: each (`student`, `class`) of the students' Insights events.
pub(crate) fn members(lake: &Lake, metric: &str) -> Result<LazyFrame, MetricError> {
    let act = Resolver::load(lake)?
        .apply(
            require(lake, &tables::activity(), metric)?,
            IdSource::Insights,
            "ActorId_pseudonym",
        )
        .filter(
            col("ActorRole")
                .eq(lit("Student"))
                .or(col("ActorRole").is_null()),
        );
    Ok(with_class(lake, act)?
        .select([col("ActorId_pseudonym").alias("student"), col("class")])
        .filter(col("class").is_not_null())
        .unique(None, UniqueKeepStrategy::Any))
}

/// Direct per-student rows (`student` column) of the filter's class (all without one).
pub(crate) fn of_class(
    lake: &Lake,
    per_student: LazyFrame,
    f: &Filter,
    metric: &str,
) -> Result<LazyFrame, MetricError> {
    let Some(class) = &f.class else {
        return Ok(per_student);
    };
    let m = members(lake, metric)?
        .filter(col("class").eq(lit(class.clone())))
        .select([col("student")]);
    Ok(per_student.join(
        m,
        [col("student")],
        [col("student")],
        JoinArgs::new(JoinType::Semi),
    ))
}

/// Served: each (`sid`, `class`) of the serving data's per-class day sets; `None` when the
/// build has no Insights activity.
pub(crate) fn members_served(s: &Serving) -> Result<Option<DataFrame>, MetricError> {
    Ok(s.part("insights_classes")?
        .map(|df| {
            df.lazy()
                .select([col("sid"), col("key").alias("class")])
                .filter(col("class").is_not_null())
                .unique(None, UniqueKeepStrategy::Any)
                .collect()
        })
        .transpose()?)
}

/// Served per-student rows (`sid` column) of the filter's class; `None` when a class is chosen
/// and the build has no Insights activity.
pub(crate) fn of_class_served(
    s: &Serving,
    per_student: LazyFrame,
    f: &Filter,
) -> Result<Option<LazyFrame>, MetricError> {
    let Some(class) = &f.class else {
        return Ok(Some(per_student));
    };
    let Some(m) = members_served(s)? else {
        return Ok(None);
    };
    let m = m
        .lazy()
        .filter(col("class").eq(lit(class.clone())))
        .select([col("sid")]);
    Ok(Some(per_student.join(
        m,
        [col("sid")],
        [col("sid")],
        JoinArgs::new(JoinType::Semi),
    )))
}

/// The class labels of the serving data, sorted (none when it is not built or has no Insights
/// activity): what the class filter offers. Class names are not student data.
pub fn labels(lake: &Lake) -> Result<Vec<String>, MetricError> {
    let Some(s) = Serving::load(lake) else {
        return Ok(Vec::new());
    };
    let Some(m) = members_served(&s)? else {
        return Ok(Vec::new());
    };
    let mut out: Vec<String> = m
        .column("class")?
        .str()?
        .iter()
        .flatten()
        .map(String::from)
        .collect();
    out.sort();
    out.dedup();
    Ok(out)
}
