//! Gap detection: which school days (weekdays in the span of the data) each source has no rows
//! for, so a missed delivery shows up before anyone reads a chart built on it.

use std::collections::BTreeSet;

use chrono::{Datelike, NaiveDate, Weekday};
use polars::prelude::*;

use super::{MetricError, table, tables};

/// The days one source has data for.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceDays {
    pub source: &'static str,
    pub days: BTreeSet<NaiveDate>,
}

/// Days with data per source over the span of all of them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Coverage {
    pub sources: Vec<SourceDays>,
}

impl Coverage {
    /// Every weekday from the first to the last day any source has.
    pub fn weekdays(&self) -> Vec<NaiveDate> {
        let all = self.sources.iter().flat_map(|s| s.days.iter());
        let (Some(first), Some(last)) = (all.clone().min(), all.max()) else {
            return Vec::new();
        };
        first
            .iter_days()
            .take_while(|d| d <= last)
            .filter(|d| !matches!(d.weekday(), Weekday::Sat | Weekday::Sun))
            .collect()
    }

    /// School days: weekdays that at least one source has data for. A weekday no source has
    /// (a holiday, a closure) is not a gap.
    pub fn school_days(&self) -> Vec<NaiveDate> {
        self.weekdays()
            .into_iter()
            .filter(|d| self.sources.iter().any(|s| s.days.contains(d)))
            .collect()
    }

    /// School days `source` has no data for.
    pub fn missing(&self, source: &SourceDays) -> Vec<NaiveDate> {
        self.school_days()
            .into_iter()
            .filter(|d| !source.days.contains(d))
            .collect()
    }
}

fn days_of(lf: Option<LazyFrame>, day: Expr) -> Result<Option<BTreeSet<NaiveDate>>, MetricError> {
    let Some(lf) = lf else { return Ok(None) };
    let df = lf
        .select([day.cast(DataType::Date).alias("day")])
        .unique(None, UniqueKeepStrategy::Any)
        .collect()?;
    let days = df.column("day")?.cast(&DataType::Int32)?;
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    Ok(Some(
        days.i32()?
            .iter()
            .flatten()
            .filter_map(|d| epoch.checked_add_signed(chrono::Duration::days(d as i64)))
            .collect(),
    ))
}

/// The days each ingested source has data for (sources not in the lake are left out).
pub fn coverage(lake: &crate::lake::Lake) -> Result<Coverage, MetricError> {
    let mut sources = Vec::new();
    let wanted = [
        ("Clever", tables::clever_dp(), col("date")),
        ("Insights", tables::activity(), col("StartTime").dt().date()),
        (
            "SIS attendance",
            tables::attendance(),
            col("attendance_date"),
        ),
    ];
    for (name, t, day) in wanted {
        if let Some(days) = days_of(table(lake, &t)?, day)? {
            sources.push(SourceDays { source: name, days });
        }
    }
    Ok(Coverage { sources })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, m, day).expect("date")
    }

    #[test]
    fn missing_days_are_weekdays_without_data() {
        // Mon 1 Sep .. Tue 9 Sep 2025. Clever misses Wed 3 Sep (Insights has it); SIS has only
        // the ends; nobody has Mon 8 Sep (a closure, not a gap).
        let c = Coverage {
            sources: vec![
                SourceDays {
                    source: "Clever",
                    days: [d(9, 1), d(9, 2), d(9, 4), d(9, 5), d(9, 9)].into(),
                },
                SourceDays {
                    source: "Insights",
                    days: [d(9, 3)].into(),
                },
                SourceDays {
                    source: "SIS attendance",
                    days: [d(9, 1), d(9, 9)].into(),
                },
            ],
        };
        assert_eq!(c.weekdays().len(), 7);
        assert_eq!(c.school_days().len(), 6);
        assert_eq!(c.missing(&c.sources[0]), vec![d(9, 3)]);
        assert_eq!(
            c.missing(&c.sources[2]),
            vec![d(9, 2), d(9, 3), d(9, 4), d(9, 5)]
        );
    }
}
