//! In-person and digital attendance per school day (the hybrid report's "attendance over
//! time"): of the students with attendance recorded that day, the share present, and the
//! shares with Clever or Insights activity that day. The direct query over the general tables
//! and the answer from the serving data's day sets give the same frame.

use std::collections::BTreeMap;

use polars::prelude::*;

use super::engagement::{attendance_rows, attendance_schools, digital_days};
use super::{Filter, MetricError, suppress};
use crate::derive::identity::Resolver;
use crate::derive::serving::{Serving, read_optional_sets, read_sets};
use crate::lake::Lake;

/// Per day: students recorded, present, with Clever activity, with Insights activity (the
/// last two `None` when the lake has no such source).
type DayCounts = BTreeMap<i32, (i64, i64, Option<i64>, Option<i64>)>;

/// The frame (`date`, `students`, `in_person_rate`, `digital_rate_clever`,
/// `digital_rate_insights`) from day counts, days with too few students hidden.
fn frame(counts: DayCounts, f: &Filter, notes: &mut Vec<String>) -> Result<DataFrame, MetricError> {
    let n = |v: i64| v as f64;
    let rate = |part: Option<i64>, all: i64| part.map(|p| n(p) / n(all));
    let df = df!(
        "date" => counts.keys().copied().collect::<Vec<i32>>(),
        "students" => counts.values().map(|c| c.0).collect::<Vec<i64>>(),
        "in_person_rate" => counts.values().map(|c| n(c.1) / n(c.0)).collect::<Vec<f64>>(),
        "digital_rate_clever" => counts.values().map(|c| rate(c.2, c.0)).collect::<Vec<_>>(),
        "digital_rate_insights" => counts.values().map(|c| rate(c.3, c.0)).collect::<Vec<_>>(),
    )?
    .lazy()
    .with_column(col("date").cast(DataType::Date))
    .collect()?;
    Ok(suppress(df, "students", f.min_group, notes)?)
}

/// From the general tables.
pub fn direct(lake: &Lake, f: &Filter, notes: &mut Vec<String>) -> Result<DataFrame, MetricError> {
    let metric = "attendance-over-time";
    let ids = Resolver::load(lake)?;
    let mut att = attendance_rows(lake, &ids, f, metric)?;
    if let Some(school) = &f.school {
        let Some(map) = attendance_schools(lake)? else {
            return frame(DayCounts::new(), f, notes);
        };
        att = att
            .join(
                map,
                [col("student")],
                [col("student")],
                JoinArgs::new(JoinType::Inner),
            )
            .filter(col("school").eq(lit(school.clone())));
    }
    let mut days = att
        .group_by([col("student"), col("day")])
        .agg([col("present").max()]);
    let (clever, insights) = digital_days(lake, &ids)?;
    let (has_clever, has_insights) = (clever.is_some(), insights.is_some());
    for (active, flag) in [(clever, "clever"), (insights, "insights")] {
        let flagged = match active {
            Some(a) => a
                .unique(None, UniqueKeepStrategy::First)
                .with_column(lit(true).alias(flag)),
            None => continue,
        };
        days = days.join(
            flagged,
            [col("student"), col("day")],
            [col("student"), col("day")],
            JoinArgs::new(JoinType::Left),
        );
    }
    let count = |c: &str| {
        col(c)
            .fill_null(lit(false))
            .cast(DataType::Int64)
            .sum()
            .alias(c)
    };
    let mut aggs = vec![
        len().cast(DataType::Int64).alias("students"),
        count("present"),
    ];
    if has_clever {
        aggs.push(count("clever"));
    }
    if has_insights {
        aggs.push(count("insights"));
    }
    let df = days
        .group_by([col("day")])
        .agg(aggs)
        .with_column(col("day").cast(DataType::Int32))
        .collect()?;
    let ints = |c: &str| -> PolarsResult<Vec<Option<i64>>> {
        Ok(df
            .column(c)?
            .cast(&DataType::Int64)?
            .i64()?
            .iter()
            .collect())
    };
    let (day, students, present) = (ints("day")?, ints("students")?, ints("present")?);
    let optional = |has: bool, c: &str| -> PolarsResult<Vec<Option<i64>>> {
        if has {
            ints(c)
        } else {
            Ok(vec![None; df.height()])
        }
    };
    let (cl, ins) = (
        optional(has_clever, "clever")?,
        optional(has_insights, "insights")?,
    );
    let mut counts = DayCounts::new();
    for i in 0..df.height() {
        if let (Some(d), Some(n), Some(p)) = (day[i], students[i], present[i]) {
            counts.insert(d as i32, (n, p, cl[i], ins[i]));
        }
    }
    frame(counts, f, notes)
}

/// From the serving data's hybrid day sets; `None` when the build has no attendance.
pub fn served(
    s: &Serving,
    f: &Filter,
    notes: &mut Vec<String>,
) -> Result<Option<DataFrame>, MetricError> {
    let Some(h) = s.part("hybrid")? else {
        return Ok(None);
    };
    let (words, mask) = (s.words(), s.range_mask(f.from, f.to));
    let enrolled = read_sets(&h, "enrolled", words)?;
    let present = read_sets(&h, "present", words)?;
    let clever = read_optional_sets(&h, "clever", words)?;
    let insights = read_optional_sets(&h, "insights", words)?;
    let schools = h.column("school")?.str()?.clone();
    // Counted per calendar bit in a vector (no map lookup per student-day: a district year
    // has tens of millions of them).
    let n_days = s.calendar().len();
    let (mut enrolled_n, mut present_n) = (vec![0i64; n_days], vec![0i64; n_days]);
    let (mut clever_n, mut insights_n) = (vec![0i64; n_days], vec![0i64; n_days]);
    let has = |set: &Option<Vec<u64>>, at: usize, bit: u64| {
        set.as_ref().is_some_and(|v| v[at] & bit != 0)
    };
    for (r, school) in schools.iter().enumerate() {
        if f.school.as_deref().is_some_and(|want| school != Some(want)) {
            continue;
        }
        for (w, range) in mask.iter().enumerate() {
            let at = r * words + w;
            let mut m = enrolled[at] & range;
            while m != 0 {
                let b = m.trailing_zeros() as usize;
                let bit = 1u64 << b;
                m &= m - 1;
                let i = w * 64 + b;
                if i >= n_days {
                    continue;
                }
                enrolled_n[i] += 1;
                present_n[i] += i64::from(present[at] & bit != 0);
                clever_n[i] += i64::from(has(&clever, at, bit));
                insights_n[i] += i64::from(has(&insights, at, bit));
            }
        }
    }
    let epoch = chrono::NaiveDate::default();
    let mut counts = DayCounts::new();
    for (i, date) in s.calendar().iter().enumerate() {
        if enrolled_n[i] > 0 {
            counts.insert(
                (*date - epoch).num_days() as i32,
                (
                    enrolled_n[i],
                    present_n[i],
                    clever.as_ref().map(|_| clever_n[i]),
                    insights.as_ref().map(|_| insights_n[i]),
                ),
            );
        }
    }
    Ok(Some(frame(counts, f, notes)?))
}
