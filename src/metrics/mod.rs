//! Engagement aggregates behind the charts, computed locally from the pseudonymized (general)
//! tables. Every aggregate that counts students hides groups smaller than a minimum (default
//! 10) and says how many it hid, so a chart can never single out a student.

pub mod chart;
pub mod engagement;
pub mod gaps;
pub mod identity;
pub mod micromasters;
pub mod queries;
pub mod serving;
pub mod stage3;

use polars::prelude::*;

use crate::lake::scan;
use crate::lake::{Lake, LakeError, Layer, TableRef};

/// Why an aggregate could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum MetricError {
    #[error(transparent)]
    Lake(#[from] LakeError),
    #[error("{0}")]
    Data(#[from] PolarsError),
    #[error("no data for {metric}: the lake has no {table} table yet. {hint}")]
    Missing {
        metric: String,
        table: String,
        hint: String,
    },
    #[error("unknown metric `{0}`. Run `edlake metrics --help` for the list.")]
    Unknown(String),
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
}

impl Default for Filter {
    fn default() -> Self {
        Filter {
            from: None,
            to: None,
            school: None,
            min_group: 10,
            threshold: 0.9,
        }
    }
}

/// An aggregate's rows plus what the reader must know (suppressed groups and the like).
#[derive(Debug, Clone)]
pub struct MetricOutput {
    pub name: String,
    pub frame: DataFrame,
    pub notes: Vec<String>,
    /// Whether the serving data answered (rather than a scan of the general tables).
    pub served: bool,
}

/// One metric: its name (as the CLI spells it) and what it shows.
pub struct MetricInfo {
    pub name: &'static str,
    pub about: &'static str,
}

/// Every metric, in the order charts show them.
pub const METRICS: &[MetricInfo] = &[
    MetricInfo {
        name: "daily-active",
        about: "Clever: students active and logins per school day and school",
    },
    MetricInfo {
        name: "clever-by-school",
        about: "Clever: average logins and resources per student per day, by school",
    },
    MetricInfo {
        name: "top-resources",
        about: "Clever: resources by distinct students who used them",
    },
    MetricInfo {
        name: "resource-types",
        about: "Clever: accesses and students by resource type",
    },
    MetricInfo {
        name: "insights-weekly",
        about: "Insights: activity per week by signal group (Teams visits, file activity, assignments, OneNote, reading)",
    },
    MetricInfo {
        name: "insights-apps",
        about: "Insights: activity and students by app",
    },
    MetricInfo {
        name: "attendance-vs-digital",
        about: "Hybrid: in-person vs digital attendance per school (students per school)",
    },
    MetricInfo {
        name: "engagement-by-grade",
        about: "Hybrid: in-person and digital attendance per grade",
    },
    MetricInfo {
        name: "below-threshold",
        about: "Hybrid: students below the attendance threshold per school (counts only)",
    },
];

/// Tables the aggregates read.
pub(crate) mod tables {
    use super::*;
    pub fn clever_dp() -> TableRef {
        TableRef::new(Layer::General, "clever", "v1.0", "daily_participation")
    }
    pub fn clever_ru() -> TableRef {
        TableRef::new(Layer::General, "clever", "v1.0", "resource_usage")
    }
    pub fn activity() -> TableRef {
        TableRef::new(Layer::General, "ms_insights", "v0.2", "activity")
    }
    pub fn organization() -> TableRef {
        TableRef::new(Layer::General, "ms_insights", "v0.2", "Organization")
    }
    pub fn attendance() -> TableRef {
        TableRef::new(Layer::General, "contoso_sis", "v0.1", "studentattendance")
    }
    pub fn students() -> TableRef {
        TableRef::new(Layer::General, "contoso_sis", "v0.1", "students")
    }
}

/// A column's values as text (nulls stay `None`).
pub(crate) fn text_values(df: &DataFrame, c: &str) -> PolarsResult<Vec<Option<String>>> {
    Ok(df
        .column(c)?
        .cast(&DataType::String)?
        .str()?
        .iter()
        .map(|v| v.map(str::to_string))
        .collect())
}

/// A lazy scan of a table, or `None` when the lake does not have it.
pub fn table(lake: &Lake, t: &TableRef) -> Result<Option<LazyFrame>, MetricError> {
    let dir = lake.table_dir(t);
    match crate::lake::delta::read_state(&dir)? {
        Some(st) => Ok(Some(scan::lazy(&dir, &st)?)),
        None => Ok(None),
    }
}

/// Like [`table`], but a clear error when the table is missing.
pub fn require(lake: &Lake, t: &TableRef, metric: &str) -> Result<LazyFrame, MetricError> {
    table(lake, t)?.ok_or_else(|| MetricError::Missing {
        metric: metric.into(),
        table: t.id(),
        hint: format!("Ingest {} data first.", t.source),
    })
}

/// Hides rows whose `count_col` is between 1 and `min - 1`, noting how many were hidden.
pub fn suppress(
    df: DataFrame,
    count_col: &str,
    min: u32,
    notes: &mut Vec<String>,
) -> PolarsResult<DataFrame> {
    if min <= 1 {
        return Ok(df);
    }
    let counts = df.column(count_col)?.cast(&DataType::Int64)?;
    let counts = counts.i64()?;
    let keep: BooleanChunked = counts
        .iter()
        .map(|c| Some(!matches!(c, Some(n) if n > 0 && n < min as i64)))
        .collect();
    let hidden = keep.iter().filter(|k| *k == Some(false)).count();
    if hidden > 0 {
        notes.push(format!(
            "{hidden} group(s) with fewer than {min} students hidden to protect privacy"
        ));
    }
    df.filter(&keep)
}

/// Computes one metric by name: from the serving data when it is up to date with the lake's
/// tables, else directly from the general tables.
pub fn compute(lake: &Lake, name: &str, f: &Filter) -> Result<MetricOutput, MetricError> {
    if let Some(s) = serving::Serving::load(lake) {
        let mut notes = Vec::new();
        // A damaged or partial build is not the user's problem: fall back to the tables.
        if let Ok(Some(frame)) = serving::query::compute(&s, name, f, &mut notes) {
            return Ok(MetricOutput {
                name: name.into(),
                frame,
                notes,
                served: true,
            });
        }
    }
    compute_direct(lake, name, f)
}

/// Computes one metric from the general tables, ignoring serving data.
pub fn compute_direct(lake: &Lake, name: &str, f: &Filter) -> Result<MetricOutput, MetricError> {
    let mut notes = Vec::new();
    let frame = match name {
        "daily-active" => queries::daily_active(lake, f, &mut notes)?,
        "clever-by-school" => queries::clever_by_school(lake, f, &mut notes)?,
        "top-resources" => queries::top_resources(lake, f, &mut notes)?,
        "resource-types" => queries::resource_types(lake, f, &mut notes)?,
        "insights-weekly" => queries::insights_weekly(lake, f, &mut notes)?,
        "insights-apps" => queries::insights_apps(lake, f, &mut notes)?,
        "attendance-vs-digital" => engagement::by_school(lake, f, &mut notes)?,
        "engagement-by-grade" => engagement::by_grade(lake, f, &mut notes)?,
        "below-threshold" => engagement::below_threshold(lake, f, &mut notes)?,
        other => return Err(MetricError::Unknown(other.into())),
    };
    Ok(MetricOutput {
        name: name.into(),
        frame,
        notes,
        served: false,
    })
}
