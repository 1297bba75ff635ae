//! Tables computed from tables: the stage3 engagement tables, the identity map across
//! sources, the roster status, the MicroMasters reports and the chart serving data. Each is
//! replaced in one commit under the lake lock; the aggregates in `metrics` read them.

pub mod attendance;
pub mod classes;
pub mod identity;
pub mod micromasters;
pub mod people_status;
pub mod program;
pub mod roster;
mod roster_status;
pub mod serving;
pub mod sites;
pub mod stage3;

use polars::prelude::*;

use crate::lake::{Lake, LakeError, Layer, TableRef, scan};

pub use stage3::{
    Stage3Report, build_stage3, build_stage3_with, digital_activity_table, hybrid_table,
};

/// Why a derived table could not be built.
#[derive(Debug, thiserror::Error)]
pub enum DeriveError {
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
    #[error("cancelled; the derived tables stay marked out of date and the next run rebuilds them")]
    Cancelled,
    /// A definition (the MicroMasters program, say) that cannot be used as given.
    #[error("{0}")]
    Invalid(String),
    /// A worker reading files in parallel panicked: the build keeps nothing of its work.
    #[error(
        "a worker reading the tables stopped unexpectedly; nothing was written, and the next \
         run builds the derived tables again"
    )]
    WorkerPanicked,
}

/// The general tables the derived tables and the aggregates read.
pub mod tables {
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
    pub fn section() -> TableRef {
        TableRef::new(Layer::General, "ms_insights", "v0.2", "Section")
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

/// A date column's values (nulls stay `None`).
pub(crate) fn date_values(df: &DataFrame, c: &str) -> PolarsResult<Vec<Option<chrono::NaiveDate>>> {
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    Ok(df
        .column(c)?
        .date()?
        .physical()
        .iter()
        .map(|d| d.map(|d| epoch + chrono::Days::new(d as u64)))
        .collect())
}

/// A lazy scan of a table, or `None` when the lake does not have it.
pub fn table(lake: &Lake, t: &TableRef) -> Result<Option<LazyFrame>, DeriveError> {
    let dir = lake.table_dir(t);
    match crate::lake::delta::read_state(&dir)? {
        Some(st) => Ok(Some(
            sites::SiteMap::load(lake)?.apply(t, scan::lazy(&dir, &st)?),
        )),
        None => Ok(None),
    }
}
