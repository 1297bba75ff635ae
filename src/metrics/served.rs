//! The aggregates answered from serving data. Each gives exactly the frame the direct query
//! over the general tables gives (tests compare the two under many filters); the final
//! grouping, sorting and suppression steps are the same functions.

use std::collections::{HashMap, HashSet};

use polars::prelude::*;

use crate::derive::serving::{Serving, intersects, read_sets};
use crate::metrics::engagement::{count_below, group_students, group_students_by, summarize};
use crate::metrics::queries::{
    clever_by_school_from, daily_active_rows, filtered, insights_rest, of_app, per_school_top,
    school_list, sort_apps, sort_resources, summary_rest, summary_row, week_active_days, week_of,
    weekly_rows,
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
        "top-resources-by-school" => {
            let Some(acc) = s.part("resource_accesses")? else {
                return Ok(None);
            };
            let acc = of_app(filtered(acc.lazy(), f, Some("school")), f, "resource_name");
            let schools = school_list(acc, "school")?;
            // Each school's rows are suppressed as they are picked (as the direct query does).
            return Ok(Some(per_school_top(schools, f, notes, |g, notes| {
                let df = resources(s, g, "resource_name", "resource_names")?
                    .ok_or(MetricError::NotBuilt)?;
                Ok(suppress(df, "students", g.min_group, notes)?)
            })?));
        }
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

fn daily_active(s: &Serving, f: &Filter) -> Result<Option<DataFrame>, MetricError> {
    let Some(daily) = s.part("clever_daily")? else {
        return Ok(None);
    };
    Ok(Some(
        daily_active_rows(filtered(daily.lazy(), f, Some("school"))).collect()?,
    ))
}

fn clever_summary(s: &Serving, f: &Filter) -> Result<Option<DataFrame>, MetricError> {
    let (Some(daily), Some(sets)) = (s.part("clever_daily")?, s.part("clever_active")?) else {
        return Ok(None);
    };
    let rest = summary_rest(filtered(daily.lazy(), f, Some("school")), "logins");
    let (words, mask) = (s.words(), s.range_mask(f.from, f.to));
    let schools = sets.column("school")?.str()?.clone();
    let sids = sets.column("sid")?.u64()?.clone();
    let days = read_sets(&sets, "days", words)?;
    let mut seen: HashSet<u64> = HashSet::new();
    for (r, (school, sid)) in schools.iter().zip(sids.iter()).enumerate() {
        let Some(sid) = sid else { continue };
        if f.school.as_deref().is_some_and(|want| school != Some(want)) {
            continue;
        }
        if intersects(&days[r * words..(r + 1) * words], &mask) {
            seen.insert(sid);
        }
    }
    let students = df!("students" => [seen.len() as i64])?;
    Ok(Some(summary_row(students, rest)?))
}

fn clever_by_school(s: &Serving, f: &Filter) -> Result<Option<DataFrame>, MetricError> {
    let Some(daily) = s.part("clever_daily")? else {
        return Ok(None);
    };
    let per_day = filtered(daily.lazy(), f, Some("school"));
    Ok(Some(clever_by_school_from(per_day).collect()?))
}

/// Distinct students per key among day-set rows sorted by (key, student), counting a row when
/// it passes `keep` and its days meet `mask`.
pub(crate) fn distinct_per_key(
    sets: &DataFrame,
    words: usize,
    mask: &[u64],
    keep: impl Fn(usize, u64) -> bool,
) -> PolarsResult<HashMap<Option<String>, u32>> {
    let keys = sets.column("key")?.str()?.clone();
    let sids = sets.column("sid")?.u64()?.clone();
    let days = read_sets(sets, "days", words)?;
    // Counted under borrowed keys (no allocation per row); owned once per key at the end.
    let mut out: HashMap<Option<&str>, u32> = HashMap::new();
    let mut last: Option<(Option<&str>, u64)> = None;
    for (r, (k, sid)) in keys.iter().zip(sids.iter()).enumerate() {
        let sid = sid.unwrap_or(0);
        if !keep(r, sid) || !intersects(&days[r * words..(r + 1) * words], mask) {
            continue;
        }
        // Rows of one (key, student) are adjacent: count the student once.
        if last == Some((k, sid)) {
            continue;
        }
        last = Some((k, sid));
        *out.entry(k).or_default() += 1;
    }
    Ok(out
        .into_iter()
        .map(|(k, n)| (k.map(str::to_string), n))
        .collect())
}

pub(crate) fn resources(
    s: &Serving,
    f: &Filter,
    by: &str,
    part: &str,
) -> Result<Option<DataFrame>, MetricError> {
    let (Some(acc), Some(sets)) = (s.part("resource_accesses")?, s.part(part)?) else {
        return Ok(None);
    };
    let acc = of_app(filtered(acc.lazy(), f, Some("school")), f, "resource_name")
        .group_by([col(by)])
        .agg([col("accesses").sum()])
        .collect()?;
    let schools = sets.column("school")?.str()?.clone();
    let mask = s.range_mask(f.from, f.to);
    let keys = sets.column("key")?.str()?.clone();
    let counts = distinct_per_key(&sets, s.words(), &mask, |r, _| {
        let app = f.app.as_deref().is_none_or(|a| keys.get(r) == Some(a));
        app && f
            .school
            .as_deref()
            .is_none_or(|want| schools.get(r) == Some(want))
    })?;
    let names = acc.column(by)?.str()?.clone();
    let students: Vec<u32> = names
        .iter()
        .map(|k| counts.get(&k.map(str::to_string)).copied().unwrap_or(0))
        .collect();
    let df = acc
        .lazy()
        .with_column(lit(Series::new("students".into(), students)).alias("students"))
        .select([col(by), col("students"), col("accesses")]);
    Ok(Some(sort_resources(df, by).collect()?))
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

/// Insights events per (`by` key), for the filter's dates and school.
fn insights_events(s: &Serving, f: &Filter) -> Result<Option<LazyFrame>, MetricError> {
    let part = if f.school.is_some() {
        "insights_counts_school"
    } else {
        "insights_counts"
    };
    Ok(s.part(part)?
        .map(|df| filtered(df.lazy(), f, f.school.as_ref().map(|_| "school"))))
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
            s.part(part)?,
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
    let mut counts: HashMap<(i32, Option<&str>), u32> = HashMap::new();
    for (r, (k, sid)) in keys.iter().zip(sids.iter()).enumerate() {
        if let (Some(only), Some(sid)) = (&only, sid)
            && !only.contains(&sid)
        {
            continue;
        }
        let row = &days[r * words..(r + 1) * words];
        for (w, m) in &weeks {
            if intersects(row, m) {
                *counts.entry((*w, k)).or_default() += 1;
            }
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

/// Per-student rows from the hybrid day sets under `f`'s dates and school (see
/// [`crate::derive::serving::per_student`]).
pub fn per_student(s: &Serving, f: &Filter) -> Result<Option<LazyFrame>, MetricError> {
    let p = crate::derive::serving::per_student(s, f.from, f.to, f.school.as_deref())?;
    Ok(p.map(|p| crate::metrics::engagement::of_grade(p, f)))
}
