//! Insights views beyond the weekly chart: signals per day by activity type, Teams use by
//! school, and the schools and classes cards. Each is computed twice — by a direct query over
//! the general tables (the test oracle) and from the serving data (what the app reads) — and
//! the tests compare the two.

use std::collections::{HashMap, HashSet};

use polars::prelude::*;

use super::day_sets::{KeyIndex, distinct_per_key};
use super::queries::{activity, student_schools};
use super::served::{insights_counts, insights_inputs, insights_sets};
use super::{Filter, MetricError, suppress, suppress_with_parts};
use crate::derive::serving::{Serving, intersects, read_sets};
use crate::lake::Lake;

/// The activity type Teams use is counted under (see `signal_group`).
pub const TEAMS: &str = "Teams visits";

/// Direct: signals (events) and distinct students per day and activity type.
pub fn daily(lake: &Lake, f: &Filter, notes: &mut Vec<String>) -> Result<DataFrame, MetricError> {
    let df = activity(lake, f, "insights-daily")?
        .group_by([col("date"), col("group")])
        .agg([
            col("student").n_unique().alias("students"),
            len().cast(DataType::Int64).alias("events"),
        ]);
    Ok(suppress(
        daily_rows(df).collect()?,
        "students",
        f.min_group,
        notes,
    )?)
}

fn daily_rows(lf: LazyFrame) -> LazyFrame {
    lf.select([
        col("date"),
        col("group"),
        col("students").cast(DataType::Int64),
        col("events").cast(DataType::Int64),
    ])
    .sort(["date", "group"], SortMultipleOptions::default())
}

/// Served: [`daily`] from the event counts and the students' day sets per activity type.
pub fn daily_served(s: &Serving, f: &Filter) -> Result<Option<DataFrame>, MetricError> {
    let Some((events, sets, only)) = insights_inputs(s, f, "insights_groups")? else {
        return Ok(None);
    };
    let events = events
        .group_by([col("date"), col("group")])
        .agg([col("events").sum()])
        .collect()?;
    let (words, mask) = (s.words(), s.range_mask(f.from, f.to));
    let keys = sets.column("key")?.str()?.clone();
    let sids = sets.column("sid")?.u64()?.clone();
    let days = read_sets(&sets, "days", words)?;
    // Students per (type, calendar bit): each set bit of a student's row in the range,
    // counted in vectors (a district year has tens of millions of student-days).
    let width = words * 64;
    let mut per_key = KeyIndex::default();
    let mut by_bit: Vec<Vec<i64>> = Vec::new();
    for (r, (k, sid)) in keys.iter().zip(sids.iter()).enumerate() {
        if only
            .as_ref()
            .is_some_and(|o| !sid.is_some_and(|s| o.contains(&s)))
        {
            continue;
        }
        let i = per_key.index(k, &mut by_bit, width);
        for (w, (word, m)) in days[r * words..(r + 1) * words]
            .iter()
            .zip(&mask)
            .enumerate()
        {
            let mut bits = word & m;
            while bits != 0 {
                by_bit[i][w * 64 + bits.trailing_zeros() as usize] += 1;
                bits &= bits - 1;
            }
        }
    }
    let mut counts: HashMap<(usize, Option<&str>), i64> = HashMap::new();
    for (i, k) in per_key.keys.iter().enumerate() {
        for (b, n) in by_bit[i].iter().enumerate() {
            if *n > 0 {
                counts.insert((b, *k), *n);
            }
        }
    }
    let bit_of: HashMap<i32, usize> = s
        .calendar()
        .iter()
        .enumerate()
        .map(|(i, d)| ((*d - chrono::NaiveDate::default()).num_days() as i32, i))
        .collect();
    let dates = events.column("date")?.cast(&DataType::Int32)?;
    let students: Vec<i64> = dates
        .i32()?
        .iter()
        .zip(events.column("group")?.str()?.iter())
        .map(|(d, g)| {
            d.and_then(|d| bit_of.get(&d))
                .and_then(|b| counts.get(&(*b, g)))
                .copied()
                .unwrap_or(0)
        })
        .collect();
    let df = events
        .lazy()
        .with_column(lit(Series::new("students".into(), students)).alias("students"));
    Ok(Some(daily_rows(df).collect()?))
}

fn teams_rows(lf: LazyFrame) -> LazyFrame {
    lf.select([
        col("school"),
        col("students").cast(DataType::Int64),
        col("teams_students").cast(DataType::Int64),
        col("teams_events").cast(DataType::Int64),
    ])
    .sort(["school"], SortMultipleOptions::default())
}

/// Direct: per school, the students active in Insights, those who used Teams and their Teams
/// events (a student seen at two schools counts at both, as everywhere in edlake).
pub fn teams(lake: &Lake, f: &Filter, notes: &mut Vec<String>) -> Result<DataFrame, MetricError> {
    let all = Filter {
        school: None,
        ..f.clone()
    };
    let map = student_schools(lake)?.ok_or_else(|| {
        MetricError::missing(
            "teams-by-school",
            "a student-to-school map".into(),
            "Ingest Clever or SIS attendance data to see Insights activity by school.".into(),
        )
    })?;
    let mut lf = activity(lake, &all, "teams-by-school")?.join(
        map,
        [col("student")],
        [col("student")],
        JoinArgs::new(JoinType::Inner),
    );
    if let Some(school) = &f.school {
        lf = lf.filter(col("school").eq(lit(school.clone())));
    }
    let is_teams = col("group").eq(lit(TEAMS));
    let df = lf
        .filter(col("school").is_not_null())
        .group_by([col("school")])
        .agg([
            col("student").n_unique().alias("students"),
            col("student")
                .filter(is_teams.clone())
                .n_unique()
                .alias("teams_students"),
            is_teams.cast(DataType::Int64).sum().alias("teams_events"),
        ]);
    let df = teams_rows(df).collect()?;
    Ok(suppress_with_parts(
        df,
        "students",
        &["teams_students"],
        f.min_group,
        notes,
    )?)
}

/// Each school's students in the serving data's student-to-school map.
fn school_map(s: &Serving) -> Result<Option<HashMap<String, HashSet<u64>>>, MetricError> {
    let Some(map) = s.part("student_schools")? else {
        return Ok(None);
    };
    let mut out: HashMap<String, HashSet<u64>> = HashMap::new();
    let names = map.column("school")?.str()?.clone();
    for (n, sid) in names.iter().zip(map.column("sid")?.u64()?.iter()) {
        if let (Some(n), Some(sid)) = (n, sid) {
            out.entry(n.to_string()).or_default().insert(sid);
        }
    }
    Ok(Some(out))
}

/// Served: [`teams`] from the day sets per activity type and the per-school event counts.
pub fn teams_served(
    s: &Serving,
    f: &Filter,
    notes: &mut Vec<String>,
) -> Result<Option<DataFrame>, MetricError> {
    let (Some(map), Some(sets), Some(events)) = (
        school_map(s)?,
        insights_sets(s, f, "insights_groups")?,
        insights_counts(s, f, true)?,
    ) else {
        return Ok(None);
    };
    let (words, mask) = (s.words(), s.range_mask(f.from, f.to));
    let sids = sets.column("sid")?.u64()?.clone();
    let keys = sets.column("key")?.str()?.clone();
    let days = read_sets(&sets, "days", words)?;
    let (mut active, mut teams_users) = (HashSet::new(), HashSet::new());
    for (r, (k, sid)) in keys.iter().zip(sids.iter()).enumerate() {
        if let Some(sid) = sid
            && intersects(&days[r * words..(r + 1) * words], &mask)
        {
            active.insert(sid);
            if k == Some(TEAMS) {
                teams_users.insert(sid);
            }
        }
    }
    let ev = super::queries::filtered(events, f, Some("school"))
        .filter(col("group").eq(lit(TEAMS)))
        .group_by([col("school")])
        .agg([col("events").sum().alias("teams_events")])
        .collect()?;
    let ev: HashMap<Option<&str>, i64> = ev
        .column("school")?
        .str()?
        .iter()
        .zip(
            ev.column("teams_events")?
                .cast(&DataType::Int64)?
                .i64()?
                .iter(),
        )
        .map(|(s, n)| (s, n.unwrap_or(0)))
        .collect();
    let mut rows: Vec<(String, i64, i64, i64)> = Vec::new();
    for (school, students) in &map {
        if f.school.as_ref().is_some_and(|x| x != school) {
            continue;
        }
        let n = students.iter().filter(|s| active.contains(*s)).count() as i64;
        if n == 0 {
            continue;
        }
        let t = students.iter().filter(|s| teams_users.contains(*s)).count() as i64;
        let e = ev.get(&Some(school.as_str())).copied().unwrap_or(0);
        rows.push((school.clone(), n, t, e));
    }
    let df = df!(
        "school" => rows.iter().map(|r| r.0.clone()).collect::<Vec<_>>(),
        "students" => rows.iter().map(|r| r.1).collect::<Vec<_>>(),
        "teams_students" => rows.iter().map(|r| r.2).collect::<Vec<_>>(),
        "teams_events" => rows.iter().map(|r| r.3).collect::<Vec<_>>(),
    )?;
    let df = teams_rows(df.lazy()).collect()?;
    Ok(Some(suppress_with_parts(
        df,
        "students",
        &["teams_students"],
        f.min_group,
        notes,
    )?))
}

/// Direct: Insights' cards — students, days, events, apps, schools and classes.
pub fn summary(lake: &Lake, f: &Filter, notes: &mut Vec<String>) -> Result<DataFrame, MetricError> {
    let mut row = super::queries::insights_summary(lake, f)?;
    let more = schools_and_classes(lake, f, "insights-summary")?;
    row.hstack_mut(more.columns())?;
    Ok(suppress(row, "students", f.min_group, notes)?)
}

/// Served: the Insights views by name (suppressed like the direct ones); `None` when the
/// build cannot answer.
pub fn served(
    s: &Serving,
    name: &str,
    f: &Filter,
    notes: &mut Vec<String>,
) -> Result<Option<DataFrame>, MetricError> {
    let df = match name {
        "insights-summary" => {
            let Some((mut row, seen, only)) = super::served::insights_summary(s, f)? else {
                return Ok(None);
            };
            let Some(more) = schools_and_classes_served(s, f, &seen, &only)? else {
                return Ok(None);
            };
            row.hstack_mut(more.columns())?;
            Some(row)
        }
        "insights-daily" => daily_served(s, f)?,
        "teams-by-school" => return teams_served(s, f, notes),
        _ => None,
    };
    Ok(df
        .map(|df| suppress(df, "students", f.min_group, notes))
        .transpose()?)
}

/// Direct: the schools of the students active in the range and the classes (sections) their
/// events name, as two one-value columns (`schools` null without a student-to-school map).
fn schools_and_classes(lake: &Lake, f: &Filter, metric: &str) -> Result<DataFrame, MetricError> {
    let act = activity(lake, f, metric)?;
    let classes = act
        .clone()
        .select([col("class")
            .drop_nulls()
            .n_unique()
            .cast(DataType::Int64)
            .alias("classes")])
        .collect()?;
    let schools: Option<i64> = if f.school.is_some() {
        // The activity is already joined to the map and limited to the school.
        let n = act
            .select([col("school").drop_nulls().n_unique().alias("n")])
            .collect()?;
        n.column("n")?.cast(&DataType::Int64)?.i64()?.get(0)
    } else {
        match student_schools(lake)? {
            Some(map) => {
                let n = act
                    .join(
                        map,
                        [col("student")],
                        [col("student")],
                        JoinArgs::new(JoinType::Inner),
                    )
                    .select([col("school").drop_nulls().n_unique().alias("n")])
                    .collect()?;
                n.column("n")?.cast(&DataType::Int64)?.i64()?.get(0)
            }
            None => None,
        }
    };
    let n_classes = classes.column("classes")?.i64()?.get(0);
    Ok(df!("schools" => [schools], "classes" => [n_classes])?)
}

/// Served: [`schools_and_classes`] for the students `seen` active in the range.
fn schools_and_classes_served(
    s: &Serving,
    f: &Filter,
    seen: &HashSet<u64>,
    only: &Option<HashSet<u64>>,
) -> Result<Option<DataFrame>, MetricError> {
    let Some(classes) = s.part("insights_classes")? else {
        return Ok(None);
    };
    let mask = s.range_mask(f.from, f.to);
    let per_class = distinct_per_key(&classes, s.words(), &mask, |_, sid| {
        only.as_ref().is_none_or(|o| o.contains(&sid))
    })?;
    let n_classes = per_class
        .iter()
        .filter(|(k, n)| k.is_some() && **n > 0)
        .filter(|(k, _)| f.class.is_none() || **k == f.class)
        .count() as i64;
    let schools = match school_map(s)? {
        Some(_) if f.school.is_some() => Some(i64::from(!seen.is_empty())),
        Some(map) => Some(
            map.values()
                .filter(|students| students.iter().any(|x| seen.contains(x)))
                .count() as i64,
        ),
        None => None,
    };
    Ok(Some(df!("schools" => [schools], "classes" => [n_classes])?))
}
