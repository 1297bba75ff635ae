//! Engagement aggregates behind the charts, computed locally from the pseudonymized (general)
//! tables. Every aggregate that counts students hides groups smaller than a minimum (default
//! 10) and says how many it hid, so a chart can never single out a student.

pub mod catalog;
pub mod chart;
pub mod classes;
pub mod clever_views;
pub mod daily_attendance;
mod day_sets;
pub mod engagement;
pub mod gaps;
pub mod insights_views;
pub mod queries;
pub mod served;
mod served_clever;

pub(crate) use crate::derive::tables;
pub use catalog::{GROUPS, METRICS, MetricInfo, info};

use polars::prelude::*;

use crate::derive::DeriveError;
use crate::lake::{Lake, LakeError, TableRef};

impl From<LakeError> for MetricError {
    fn from(e: LakeError) -> Self {
        MetricError::Derive(e.into())
    }
}

impl From<PolarsError> for MetricError {
    fn from(e: PolarsError) -> Self {
        MetricError::Derive(e.into())
    }
}

impl MetricError {
    /// A source table the aggregate needs is not in the lake yet.
    pub fn missing(metric: &str, table: String, hint: String) -> Self {
        MetricError::Derive(DeriveError::Missing {
            metric: metric.into(),
            table,
            hint,
        })
    }
}

/// Why an aggregate could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum MetricError {
    /// Reading the tables or the serving data, or a table that is missing
    /// ([`DeriveError::Missing`]): the same failures as deriving tables.
    #[error(transparent)]
    Derive(#[from] DeriveError),
    #[error("unknown metric `{0}`. Run `edlake metrics --help` for the list.")]
    Unknown(String),
    #[error(
        "the chart data is not built for the lake's current tables: every run rebuilds it when it \
         ends; `edlake stage3` (or running a source again) rebuilds it now"
    )]
    NotBuilt,
}

/// Filters every aggregate takes.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    pub from: Option<chrono::NaiveDate>,
    pub to: Option<chrono::NaiveDate>,
    /// School name (as the sources spell it).
    pub school: Option<String>,
    /// Smallest number of students a shown group may have.
    pub min_group: u32,
    /// Attendance rate below which a student counts for `below-threshold`.
    pub threshold: f64,
    /// Only students of this grade (the hybrid charts; see [`applies`]).
    pub grade: Option<String>,
    /// Only this Clever app (resource) (the resource charts; see [`applies`]).
    pub app: Option<String>,
    /// Only this class (section), by the label the charts show: the class's Insights events,
    /// or its students in the hybrid charts (see [`applies`] and [`classes`]).
    pub class: Option<String>,
}

/// Filters beyond dates and school, which only some charts take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Narrow {
    Grade,
    App,
    Class,
}

/// Whether `metric` takes filter `n`: the grade filter the charts that count students with
/// their grade (in person and digital, and Clever's through the SIS grade), the app filter the charts of Clever resource use
/// (resource types aggregate many apps, so not there), the class filter the Insights charts
/// (the class's events) and those in person and digital (the class's students).
pub fn applies(metric: &str, n: Narrow) -> bool {
    match n {
        Narrow::Grade => matches!(
            metric,
            "clever-summary"
                | "daily-active"
                | "clever-by-school"
                | "top-resources"
                | "top-resources-by-school"
                | "resource-types"
                | "clever-app-share"
                | "clever-apps-daily"
                | "class-engagement"
                | "hybrid-summary"
                | "attendance-vs-digital"
                | "engagement-by-grade"
                | "school-by-grade"
                | "below-threshold"
        ),
        Narrow::App => matches!(
            metric,
            "top-resources" | "top-resources-by-school" | "clever-app-share" | "clever-apps-daily"
        ),
        Narrow::Class => matches!(
            metric,
            "class-engagement"
                | "hybrid-summary"
                | "attendance-vs-digital"
                | "engagement-by-grade"
                | "school-by-grade"
                | "below-threshold"
                | "insights-summary"
                | "insights-weekly"
                | "insights-daily"
                | "insights-apps"
                | "teams-by-school"
        ),
    }
}

impl Filter {
    /// This filter without what `metric` does not take (so every entry point treats an
    /// inapplicable filter the same way: as absent).
    pub fn for_metric(&self, metric: &str) -> Filter {
        let mut f = self.clone();
        if !applies(metric, Narrow::Grade) {
            f.grade = None;
        }
        if !applies(metric, Narrow::App) {
            f.app = None;
        }
        if !applies(metric, Narrow::Class) {
            f.class = None;
        }
        f
    }
}

impl Default for Filter {
    fn default() -> Self {
        Filter {
            from: None,
            to: None,
            school: None,
            min_group: 10,
            threshold: 0.9,
            grade: None,
            app: None,
            class: None,
        }
    }
}

/// An aggregate's rows plus what the reader must know (suppressed groups and the like).
#[derive(Debug, Clone)]
pub struct MetricOutput {
    pub name: String,
    pub frame: DataFrame,
    pub notes: Vec<String>,
}

/// A lazy scan of a table as the charts read it (schools named by the site mapping), or
/// `None` when the lake does not have it.
pub fn table(lake: &Lake, t: &TableRef) -> Result<Option<LazyFrame>, MetricError> {
    Ok(crate::derive::table(lake, t)?)
}

/// Like [`table`], but a clear error when the table is missing.
pub fn require(lake: &Lake, t: &TableRef, metric: &str) -> Result<LazyFrame, MetricError> {
    table(lake, t)?.ok_or_else(|| {
        MetricError::missing(metric, t.id(), format!("Ingest {} data first.", t.source))
    })
}

/// The smallest group size anyone may choose: below it, suppression would not protect.
pub const MIN_GROUP_FLOOR: u32 = 5;

/// The group size suppression uses for a requested `min` (never below [`MIN_GROUP_FLOOR`]).
pub fn effective_min_group(min: u32) -> u32 {
    min.max(MIN_GROUP_FLOOR)
}

/// Columns of the aggregates that count part of a group's students.
pub const STUDENT_PARTS: &[&str] = &["active_students", "below_threshold", "teams_students"];

/// Hides rows whose `count_col` (a group's students) is between 1 and k − 1, noting how many
/// were hidden, where k is [`effective_min_group`]`(min)`; blanks the small counts of the
/// frame's [`STUDENT_PARTS`] columns (see [`suppress_with_parts`]).
pub fn suppress(
    df: DataFrame,
    count_col: &str,
    min: u32,
    notes: &mut Vec<String>,
) -> PolarsResult<DataFrame> {
    let parts: Vec<&str> = STUDENT_PARTS
        .iter()
        .copied()
        .filter(|p| df.column(p).is_ok())
        .collect();
    suppress_with_parts(df, count_col, &parts, min, notes)
}

/// [`suppress`], and blanks every count of `parts` (students of the group with some property,
/// like those below a threshold) that is between 1 and k − 1, or whose complement in the
/// group (the group's students less the part) is: a part of 2 would single out two students,
/// and a part of 28 in a group of 29 would single out the one left.
pub fn suppress_with_parts(
    df: DataFrame,
    count_col: &str,
    parts: &[&str],
    min: u32,
    notes: &mut Vec<String>,
) -> PolarsResult<DataFrame> {
    let k = i64::from(effective_min_group(min));
    let small = |n: i64| n > 0 && n < k;
    let counts = df.column(count_col)?.cast(&DataType::Int64)?;
    let counts = counts.i64()?;
    let keep: BooleanChunked = counts.iter().map(|c| Some(!c.is_some_and(small))).collect();
    let hidden = keep.iter().filter(|k| *k == Some(false)).count();
    if hidden > 0 {
        notes.push(format!(
            "{hidden} group(s) with fewer than {k} students hidden to protect privacy"
        ));
    }
    let mut df = df.filter(&keep)?;
    let totals = df.column(count_col)?.cast(&DataType::Int64)?;
    for part in parts {
        let values = df.column(part)?.cast(&DataType::Int64)?;
        let mut blanked = 0;
        let masked: Int64Chunked = values
            .i64()?
            .iter()
            .zip(totals.i64()?.iter())
            .map(|(v, total)| match (v, total) {
                (Some(v), Some(t)) if small(v) || small(t - v) => {
                    blanked += 1;
                    None
                }
                (v, _) => v,
            })
            .collect();
        if blanked > 0 {
            notes.push(format!(
                "{blanked} value(s) of {part} left blank: they or the rest of their group are \
                 fewer than {k} students"
            ));
        }
        df.replace(part, masked.with_name((*part).into()).into_series().into())?;
    }
    Ok(df)
}

/// Computes one metric by name from the serving data (which every run rebuilds when it ends).
/// When the build lacks the metric's part, the error names the source table that is missing.
pub fn compute(lake: &Lake, name: &str, f: &Filter) -> Result<MetricOutput, MetricError> {
    if !METRICS.iter().any(|m| m.name == name) {
        return Err(MetricError::Unknown(name.into()));
    }
    let s = crate::derive::serving::Serving::load(lake).ok_or(MetricError::NotBuilt)?;
    let f = &f.for_metric(name);
    let mut notes = Vec::new();
    // The views beyond the first charts build on the served aggregates (never the reverse).
    let served = match name {
        "insights-summary" | "insights-daily" | "teams-by-school" => {
            insights_views::served(&s, name, f, &mut notes)?
        }
        "clever-app-share" | "clever-apps-daily" => clever_views::served(&s, name, f, &mut notes)?,
        _ => served::compute(&s, name, f, &mut notes)?,
    };
    match served {
        Some(frame) => Ok(MetricOutput {
            name: name.into(),
            frame,
            notes,
        }),
        None => Err(missing(lake, name)),
    }
}

/// Why the serving data has no part for `name`: the source table it is computed from.
fn missing(lake: &Lake, name: &str) -> MetricError {
    let t = match name {
        "clever-summary" | "daily-active" | "clever-by-school" => tables::clever_dp(),
        "top-resources"
        | "top-resources-by-school"
        | "resource-types"
        | "clever-app-share"
        | "clever-apps-daily" => tables::clever_ru(),
        "insights-summary" | "insights-weekly" | "insights-apps" | "insights-daily"
        | "teams-by-school" => tables::activity(),
        // Classes come from Insights, their students' attendance from the SIS.
        "class-engagement" if require(lake, &tables::attendance(), name).is_ok() => {
            tables::activity()
        }
        _ => tables::attendance(),
    };
    match require(lake, &t, name) {
        Err(e) => e,
        Ok(_) => MetricError::NotBuilt,
    }
}

/// The test oracle: the same aggregate computed directly from the general tables with polars
/// queries, independently of the serving data (slow on a district year; neither the app nor
/// the CLI uses it). The tests check the serving data against it under many filters.
pub fn compute_direct(lake: &Lake, name: &str, f: &Filter) -> Result<MetricOutput, MetricError> {
    let f = &f.for_metric(name);
    let mut notes = Vec::new();
    let frame = match name {
        "clever-summary" => queries::clever_summary(lake, f, &mut notes)?,
        "daily-active" => queries::daily_active(lake, f, &mut notes)?,
        "clever-by-school" => queries::clever_by_school(lake, f, &mut notes)?,
        "top-resources" => queries::top_resources(lake, f, &mut notes)?,
        "resource-types" => queries::resource_types(lake, f, &mut notes)?,
        "clever-app-share" => clever_views::app_share(lake, f, &mut notes)?,
        "clever-apps-daily" => clever_views::apps_daily(lake, f)?,
        "top-resources-by-school" => queries::top_resources_by_school(lake, f, &mut notes)?,
        "insights-weekly" => queries::insights_weekly(lake, f, &mut notes)?,
        "insights-apps" => queries::insights_apps(lake, f, &mut notes)?,
        "insights-summary" => insights_views::summary(lake, f, &mut notes)?,
        "insights-daily" => insights_views::daily(lake, f, &mut notes)?,
        "teams-by-school" => insights_views::teams(lake, f, &mut notes)?,
        "hybrid-summary" => engagement::summary(lake, f, &mut notes)?,
        "attendance-over-time" => daily_attendance::direct(lake, f, &mut notes)?,
        "school-by-grade" => engagement::by_school_and_grade(lake, f, &mut notes)?,
        "attendance-vs-digital" => engagement::by_school(lake, f, &mut notes)?,
        "engagement-by-grade" => engagement::by_grade(lake, f, &mut notes)?,
        "below-threshold" => engagement::below_threshold(lake, f, &mut notes)?,
        "class-engagement" => engagement::by_class(lake, f, &mut notes)?,
        other => return Err(MetricError::Unknown(other.into())),
    };
    Ok(MetricOutput {
        name: name.into(),
        frame,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame() -> DataFrame {
        df!(
            "school" => ["A", "B", "C", "D", "E", "F"],
            "students" => [3i64, 29, 29, 40, 0, 10],
            "below_threshold" => [1i64, 2, 28, 12, 0, 0],
        )
        .unwrap()
    }

    fn ints(df: &DataFrame, c: &str) -> Vec<Option<i64>> {
        df.column(c).unwrap().i64().unwrap().iter().collect()
    }

    #[test]
    fn small_groups_small_parts_and_small_complements_are_suppressed() {
        let mut notes = Vec::new();
        let df = suppress(frame(), "students", 10, &mut notes).unwrap();
        // A (3 students) is hidden; B's 2 and C's 28 of 29 (one left) are blanked; D's 12 of
        // 40 and the zeros stay.
        assert_eq!(
            ints(&df, "students"),
            [Some(29), Some(29), Some(40), Some(0), Some(10)]
        );
        assert_eq!(
            ints(&df, "below_threshold"),
            [None, None, Some(12), Some(0), Some(0)]
        );
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(
            notes[0].starts_with("1 group(s) with fewer than 10"),
            "{notes:?}"
        );
        assert!(
            notes[1].starts_with("2 value(s) of below_threshold"),
            "{notes:?}"
        );
    }

    #[test]
    fn no_minimum_goes_below_the_floor() {
        let mut notes = Vec::new();
        let df = suppress(frame(), "students", 1, &mut notes).unwrap();
        // k = 5: A (3) is still hidden, B's 2 still blank; C's complement (1) too.
        assert_eq!(ints(&df, "students").len(), 5);
        assert_eq!(ints(&df, "below_threshold")[0], None);
        assert_eq!(ints(&df, "below_threshold")[1], None);
        assert_eq!(effective_min_group(0), MIN_GROUP_FLOOR);
        assert_eq!(effective_min_group(12), 12);
    }
}
