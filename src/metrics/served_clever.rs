//! The Clever aggregates answered from serving data (see [`super::served`]): the cards, the
//! daily sums, the per-school averages and the resource rankings, under the filter's dates,
//! school, app and grade.

use std::collections::{HashMap, HashSet};

use polars::prelude::*;

use super::day_sets::distinct_per_key;
use crate::derive::serving::{Serving, intersects, read_sets};
use crate::metrics::queries::{
    clever_by_school_from, daily_active_rows, filtered, of_app, per_school_top, school_list,
    sort_resources, summary_rest, summary_row,
};
use crate::metrics::{Filter, MetricError, suppress};

pub(crate) fn daily_active(s: &Serving, f: &Filter) -> Result<Option<DataFrame>, MetricError> {
    let Some(daily) = clever_sums(s, f, "clever_daily")? else {
        return Ok(None);
    };
    Ok(Some(
        daily_active_rows(filtered(daily, f, Some("school"))).collect()?,
    ))
}

/// The Clever sums part `part` (`clever_daily`, `resource_accesses`) of the filter's grade
/// (from the part's per-grade version when there is a grade filter).
pub(crate) fn clever_sums(
    s: &Serving,
    f: &Filter,
    part: &str,
) -> Result<Option<LazyFrame>, MetricError> {
    let Some(g) = &f.grade else {
        return Ok(s.part(part)?.map(|df| df.lazy()));
    };
    Ok(s.part(&format!("{part}_grade"))?.map(|df| {
        df.lazy()
            .filter(col("grade").eq(lit(g.clone())))
            .drop(cols(["grade"]))
    }))
}

/// The students of the filter's grade as the day sets of `part`'s source number them
/// (`student_grades` for the identity-mapped ones, `resource_grades` for Clever resource
/// use); `None` without a grade filter, empty when the lake records no grades.
fn grade_set(s: &Serving, f: &Filter, part: &str) -> Result<Option<HashSet<u64>>, MetricError> {
    let Some(g) = &f.grade else {
        return Ok(None);
    };
    let Some(df) = s.part(part)? else {
        return Ok(Some(HashSet::new()));
    };
    let grades = df.column("grade")?.str()?.clone();
    Ok(Some(
        grades
            .iter()
            .zip(df.column("sid")?.u64()?.iter())
            .filter(|(x, _)| *x == Some(g.as_str()))
            .filter_map(|(_, sid)| sid)
            .collect(),
    ))
}

pub(crate) fn clever_summary(s: &Serving, f: &Filter) -> Result<Option<DataFrame>, MetricError> {
    let (Some(daily), Some(sets)) = (clever_sums(s, f, "clever_daily")?, s.part("clever_active")?)
    else {
        return Ok(None);
    };
    let of_grade = grade_set(s, f, "student_grades")?;
    let rest = summary_rest(filtered(daily, f, Some("school")), "logins");
    let (words, mask) = (s.words(), s.range_mask(f.from, f.to));
    let schools = sets.column("school")?.str()?.clone();
    let sids = sets.column("sid")?.u64()?.clone();
    let days = read_sets(&sets, "days", words)?;
    let mut seen: HashSet<u64> = HashSet::new();
    for (r, (school, sid)) in schools.iter().zip(sids.iter()).enumerate() {
        let Some(sid) = sid else { continue };
        if f.school.as_deref().is_some_and(|want| school != Some(want))
            || of_grade.as_ref().is_some_and(|g| !g.contains(&sid))
        {
            continue;
        }
        if intersects(&days[r * words..(r + 1) * words], &mask) {
            seen.insert(sid);
        }
    }
    let students = df!("students" => [seen.len() as i64])?;
    Ok(Some(summary_row(students, rest)?))
}

pub(crate) fn clever_by_school(s: &Serving, f: &Filter) -> Result<Option<DataFrame>, MetricError> {
    let Some(daily) = clever_sums(s, f, "clever_daily")? else {
        return Ok(None);
    };
    let per_day = filtered(daily, f, Some("school"));
    Ok(Some(clever_by_school_from(per_day).collect()?))
}

pub(crate) fn resources(
    s: &Serving,
    f: &Filter,
    by: &str,
    part: &str,
) -> Result<Option<DataFrame>, MetricError> {
    let (Some(acc), Some(sets)) = (clever_sums(s, f, "resource_accesses")?, s.part(part)?) else {
        return Ok(None);
    };
    let of_grade = grade_set(s, f, "resource_grades")?;
    let acc = of_app(filtered(acc, f, Some("school")), f, "resource_name")
        .group_by([col(by)])
        .agg([col("accesses").sum()])
        .collect()?;
    let schools = sets.column("school")?.str()?.clone();
    let mask = s.range_mask(f.from, f.to);
    let keys = sets.column("key")?.str()?.clone();
    let counts = distinct_per_key(&sets, s.words(), &mask, |r, sid| {
        let app = f.app.as_deref().is_none_or(|a| keys.get(r) == Some(a));
        let grade = of_grade.as_ref().is_none_or(|g| g.contains(&sid));
        app && grade
            && f.school
                .as_deref()
                .is_none_or(|want| schools.get(r) == Some(want))
    })?;
    let df = resource_rows(acc, by, |k| {
        counts.get(&k.map(str::to_string)).copied().unwrap_or(0)
    })?;
    Ok(Some(df))
}

/// The ranking rows (`by`, `students`, `accesses`) from accesses per `by` and a count of
/// students per value.
fn resource_rows(
    acc: DataFrame,
    by: &str,
    students_of: impl Fn(Option<&str>) -> u32,
) -> PolarsResult<DataFrame> {
    let students: Vec<u32> = acc.column(by)?.str()?.iter().map(students_of).collect();
    let df = acc
        .lazy()
        .with_column(lit(Series::new("students".into(), students)).alias("students"))
        .select([col(by), col("students"), col("accesses")]);
    sort_resources(df, by).collect()
}

/// Each school's top resources, from one read of the parts (the per-school rows as
/// [`resources`] gives them for that school, suppressed as they are picked).
pub(crate) fn resources_by_school(
    s: &Serving,
    f: &Filter,
    notes: &mut Vec<String>,
) -> Result<Option<DataFrame>, MetricError> {
    let (Some(acc), Some(sets)) = (
        clever_sums(s, f, "resource_accesses")?,
        s.part("resource_names")?,
    ) else {
        return Ok(None);
    };
    let of_grade = grade_set(s, f, "resource_grades")?;
    let acc = of_app(filtered(acc, f, Some("school")), f, "resource_name");
    let schools = school_list(acc.clone(), "school")?;
    let sums = acc
        .group_by([col("school"), col("resource_name")])
        .agg([col("accesses").sum()])
        .collect()?;
    // Distinct students per (school, resource): each row is one (resource, school, student).
    let mask = s.range_mask(f.from, f.to);
    let words = s.words();
    let (keys, schools_col) = (
        sets.column("key")?.str()?.clone(),
        sets.column("school")?.str()?.clone(),
    );
    let days = read_sets(&sets, "days", words)?;
    let sids = sets.column("sid")?.u64()?.clone();
    let mut counts: HashMap<(Option<&str>, Option<&str>), u32> = HashMap::new();
    for (r, (k, sc)) in keys.iter().zip(schools_col.iter()).enumerate() {
        let sid = sids.get(r).unwrap_or(0);
        if f.app.as_deref().is_some_and(|a| k != Some(a))
            || of_grade.as_ref().is_some_and(|g| !g.contains(&sid))
            || !intersects(&days[r * words..(r + 1) * words], &mask)
        {
            continue;
        }
        *counts.entry((sc, k)).or_default() += 1;
    }
    Ok(Some(per_school_top(schools, f, notes, |g, notes| {
        let school = g.school.clone().unwrap_or_default();
        let acc = sums
            .clone()
            .lazy()
            .filter(col("school").eq(lit(school.clone())))
            .select([col("resource_name"), col("accesses")])
            .collect()?;
        let df = resource_rows(acc, "resource_name", |k| {
            counts
                .get(&(Some(school.as_str()), k))
                .copied()
                .unwrap_or(0)
        })?;
        Ok(suppress(df, "students", g.min_group, notes)?)
    })?))
}
