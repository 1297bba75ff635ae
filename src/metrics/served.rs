//! The aggregates answered from serving data. Each gives exactly the frame the direct query
//! over the general tables gives (tests compare the two under many filters); the final
//! grouping, sorting and suppression steps are the same functions.

use std::collections::{HashMap, HashSet};

use polars::prelude::*;

use super::day_sets::{KeyIndex, distinct_per_key};
use super::served_clever::{
    clever_by_school, clever_summary, daily_active, resources, resources_by_school,
};
use crate::derive::serving::{Serving, intersects, read_sets};
use crate::metrics::classes::{members_served, of_class_served};
use crate::metrics::engagement::{count_below, group_students, group_students_by, summarize};
use crate::metrics::queries::{
    filtered, insights_rest, sort_apps, summary_row, week_active_days, week_of, weekly_rows,
};
use crate::metrics::{Filter, MetricError, suppress};

/// The metric from serving data, or `None` when this build cannot answer it (the caller then
/// queries the general tables, which also explains what is missing).
pub fn compute(
    s: &Serving,
    name: &str,
    f: &Filter,
    notes: &mut Vec<String>,
) -> Result<Option<DataFrame>, MetricError> {
    let df = match name {
        "clever-summary" => clever_summary(s, f)?,
        "daily-active" => daily_active(s, f)?,
        "clever-by-school" => clever_by_school(s, f)?,
        "top-resources" => resources(s, f, "resource_name", "resource_names")?,
        "resource-types" => resources(s, f, "resource_type", "resource_types")?,
        "top-resources-by-school" => return resources_by_school(s, f, notes),
        "insights-weekly" => insights_weekly(s, f)?,
        "insights-apps" => insights_apps(s, f)?,
        "attendance-vs-digital" => match per_student(s, f)? {
            Some(p) => return Ok(Some(group_students(p, f, "school", notes)?)),
            None => None,
        },
        "engagement-by-grade" => match per_student(s, f)? {
            Some(p) => return Ok(Some(group_students(p, f, "grade", notes)?)),
            None => None,
        },
        "attendance-over-time" => return crate::metrics::daily_attendance::served(s, f, notes),
        "school-by-grade" => match per_student(s, f)? {
            Some(p) => return Ok(Some(group_students_by(p, f, &["school", "grade"], notes)?)),
            None => None,
        },
        "class-engagement" => return class_engagement(s, f, notes),
        "hybrid-summary" => match per_student(s, f)? {
            Some(p) => return Ok(Some(summarize(p, f, notes)?)),
            None => None,
        },
        "below-threshold" => match per_student(s, f)? {
            Some(p) => return Ok(Some(count_below(p, f, notes)?)),
            None => None,
        },
        _ => None,
    };
    match df {
        Some(df) => Ok(Some(suppress(df, "students", f.min_group, notes)?)),
        None => Ok(None),
    }
}

/// Students in the filter's school (from the student-to-school map); `None` = no school filter.
pub(crate) fn school_students(
    s: &Serving,
    f: &Filter,
) -> Result<Option<Option<HashSet<u64>>>, MetricError> {
    let Some(school) = &f.school else {
        return Ok(Some(None));
    };
    let Some(map) = s.part("student_schools")? else {
        return Ok(None);
    };
    let names = map.column("school")?.str()?.clone();
    let sids = map.column("sid")?.u64()?.clone();
    let set = names
        .iter()
        .zip(sids.iter())
        .filter(|(n, _)| *n == Some(school.as_str()))
        .filter_map(|(_, sid)| sid)
        .collect();
    Ok(Some(Some(set)))
}

/// Insights event counts for the filter's dates, school and class.
fn insights_events(s: &Serving, f: &Filter) -> Result<Option<LazyFrame>, MetricError> {
    insights_counts(s, f, f.school.is_some())
}

/// Insights event counts for the filter's dates, school and class, with a `school` column
/// when `per_school`.
pub(crate) fn insights_counts(
    s: &Serving,
    f: &Filter,
    per_school: bool,
) -> Result<Option<LazyFrame>, MetricError> {
    let part = match (per_school, f.class.is_some()) {
        (false, false) => "insights_counts",
        (true, false) => "insights_counts_school",
        (false, true) => "insights_counts_class",
        (true, true) => "insights_counts_school_class",
    };
    Ok(s.part(part)?.map(|df| {
        let lf = filtered(df.lazy(), f, f.school.as_ref().map(|_| "school"));
        of_class(lf, f)
    }))
}

/// Rows of the filter's class (all without one).
fn of_class(lf: LazyFrame, f: &Filter) -> LazyFrame {
    match &f.class {
        Some(c) => lf.filter(col("class").eq(lit(c.clone()))),
        None => lf,
    }
}

/// The Insights day sets of `part` (`insights_groups`, `insights_apps`), of the filter's class
/// when it has one (from the part's per-class version).
pub(crate) fn insights_sets(
    s: &Serving,
    f: &Filter,
    part: &str,
) -> Result<Option<DataFrame>, MetricError> {
    if f.class.is_none() {
        return Ok(s.part(part)?);
    }
    Ok(s.part(&format!("{part}_class"))?
        .map(|df| of_class(df.lazy(), f).collect())
        .transpose()?)
}

/// What an Insights aggregate reads: the filtered event counts, the day sets of `part` and the
/// students of the filter's school (`None` inside when there is no school filter).
pub(crate) type InsightsInputs = (LazyFrame, DataFrame, Option<HashSet<u64>>);

pub(crate) fn insights_inputs(
    s: &Serving,
    f: &Filter,
    part: &str,
) -> Result<Option<InsightsInputs>, MetricError> {
    Ok(
        match (
            insights_events(s, f)?,
            insights_sets(s, f, part)?,
            school_students(s, f)?,
        ) {
            (Some(e), Some(sets), Some(only)) => Some((e, sets, only)),
            _ => None,
        },
    )
}

fn insights_weekly(s: &Serving, f: &Filter) -> Result<Option<DataFrame>, MetricError> {
    let Some((events, sets, only)) = insights_inputs(s, f, "insights_groups")? else {
        return Ok(None);
    };
    let events = events.with_column(week_of(col("date")).alias("week"));
    let active_days = week_active_days(events.clone());
    let events = events
        .group_by([col("week"), col("group")])
        .agg([col("events").sum()])
        .collect()?;
    // One mask per week: the range's calendar days in that week.
    let words = s.words();
    let range = s.range_mask(f.from, f.to);
    let mut weeks: Vec<(i32, Vec<u64>)> = Vec::new();
    for (i, d) in s.calendar().iter().enumerate() {
        if range[i / 64] & (1 << (i % 64)) == 0 {
            continue;
        }
        let day = (*d - chrono::NaiveDate::default()).num_days() as i32;
        let week = day - (day + 3).rem_euclid(7);
        if weeks.last().is_none_or(|(w, _)| *w != week) {
            weeks.push((week, vec![0; words]));
        }
        if let Some((_, m)) = weeks.last_mut() {
            m[i / 64] |= 1 << (i % 64);
        }
    }
    let keys = sets.column("key")?.str()?.clone();
    let sids = sets.column("sid")?.u64()?.clone();
    let days = read_sets(&sets, "days", words)?;
    // Counted per (key, week) in vectors: a district year has millions of (student, week)s.
    let mut per_key: KeyIndex = KeyIndex::default();
    let mut by_week: Vec<Vec<u32>> = Vec::new();
    for (r, (k, sid)) in keys.iter().zip(sids.iter()).enumerate() {
        if let (Some(only), Some(sid)) = (&only, sid)
            && !only.contains(&sid)
        {
            continue;
        }
        let i = per_key.index(k, &mut by_week, weeks.len());
        let row = &days[r * words..(r + 1) * words];
        for (n, (_, m)) in weeks.iter().enumerate() {
            if intersects(row, m) {
                by_week[i][n] += 1;
            }
        }
    }
    let mut counts: HashMap<(i32, Option<&str>), u32> = HashMap::new();
    for (i, k) in per_key.keys.iter().enumerate() {
        for (n, (w, _)) in weeks.iter().enumerate() {
            counts.insert((*w, *k), by_week[i][n]);
        }
    }
    let week_days = events.column("week")?.cast(&DataType::Int32)?;
    let students: Vec<u32> = week_days
        .i32()?
        .iter()
        .zip(events.column("group")?.str()?.iter())
        .map(|(w, g)| counts.get(&(w.unwrap_or(0), g)).copied().unwrap_or(0))
        .collect();
    let df = events
        .lazy()
        .with_column(lit(Series::new("students".into(), students)).alias("students"))
        .select([col("week"), col("group"), col("students"), col("events")]);
    Ok(Some(weekly_rows(df, active_days).collect()?))
}

/// The Insights cards' first row (students, days, events, apps, before suppression), the
/// students seen in the range and the school filter's students.
pub(crate) type SummaryParts = (DataFrame, HashSet<u64>, Option<HashSet<u64>>);

/// Served Insights cards' students, days, events and apps (see [`SummaryParts`]).
pub(crate) fn insights_summary(
    s: &Serving,
    f: &Filter,
) -> Result<Option<SummaryParts>, MetricError> {
    let Some((events, sets, only)) = insights_inputs(s, f, "insights_groups")? else {
        return Ok(None);
    };
    let rest = insights_rest(events);
    let (words, mask) = (s.words(), s.range_mask(f.from, f.to));
    let sids = sets.column("sid")?.u64()?.clone();
    let days = read_sets(&sets, "days", words)?;
    let mut seen: HashSet<u64> = HashSet::new();
    for (r, sid) in sids.iter().enumerate() {
        let Some(sid) = sid else { continue };
        if only.as_ref().is_some_and(|o| !o.contains(&sid)) {
            continue;
        }
        if intersects(&days[r * words..(r + 1) * words], &mask) {
            seen.insert(sid);
        }
    }
    let students = df!("students" => [seen.len() as i64])?;
    Ok(Some((summary_row(students, rest)?, seen, only)))
}

fn insights_apps(s: &Serving, f: &Filter) -> Result<Option<DataFrame>, MetricError> {
    let Some((events, sets, only)) = insights_inputs(s, f, "insights_apps")? else {
        return Ok(None);
    };
    let events = events
        .group_by([col("AppName").alias("app")])
        .agg([col("events").sum()])
        .collect()?;
    let mask = s.range_mask(f.from, f.to);
    let counts = distinct_per_key(&sets, s.words(), &mask, |_, sid| {
        only.as_ref().is_none_or(|o| o.contains(&sid))
    })?;
    let students: Vec<u32> = events
        .column("app")?
        .str()?
        .iter()
        .map(|k| counts.get(&k.map(str::to_string)).copied().unwrap_or(0))
        .collect();
    let df = events
        .lazy()
        .with_column(lit(Series::new("students".into(), students)).alias("students"))
        .select([col("app"), col("students"), col("events")]);
    Ok(Some(sort_apps(df).collect()?))
}

/// Per-student rows from the hybrid day sets under `f`'s dates, school, grade and class (see
/// [`crate::derive::serving::per_student`]).
pub fn per_student(s: &Serving, f: &Filter) -> Result<Option<LazyFrame>, MetricError> {
    let p = crate::derive::serving::per_student(s, f.from, f.to, f.school.as_deref())?;
    match p {
        Some(p) => of_class_served(s, crate::metrics::engagement::of_grade(p, f), f),
        None => Ok(None),
    }
}

/// Served: engagement per class, from the per-student rows and the classes' students.
fn class_engagement(
    s: &Serving,
    f: &Filter,
    notes: &mut Vec<String>,
) -> Result<Option<DataFrame>, MetricError> {
    let (Some(p), Some(m)) = (per_student(s, f)?, members_served(s)?) else {
        return Ok(None);
    };
    let p = p.join(
        m.lazy(),
        [col("sid")],
        [col("sid")],
        JoinArgs::new(JoinType::Inner),
    );
    Ok(Some(group_students(of_class(p, f), f, "class", notes)?))
}
