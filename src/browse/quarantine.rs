//! The quarantine as one view: every quarantine table's rows, each saying which table holds it.

use polars::prelude::*;

use crate::lake::delta::TableState;
use crate::lake::{Lake, Layer, TableRef, scan};
use crate::preview::PreviewError;

/// The quarantine tables that hold rows, with their states.
pub(super) fn quarantine_tables(lake: &Lake) -> Result<Vec<(TableRef, TableState)>, PreviewError> {
    let mut out = Vec::new();
    for t in lake.tables() {
        if t.layer == Layer::Quarantine {
            let state = lake.table_state(&t)?;
            if state.rows() > 0 {
                out.push((t, state));
            }
        }
    }
    Ok(out)
}

/// Every quarantine table's rows, one after another, each with a first column `table`
/// (`source/entity`) saying which table it is in. Quarantine tables share one schema (run,
/// file, line, column, reason, raw row), so the rows line up column by column.
pub(super) fn quarantine_union(
    lake: &Lake,
    tables: &[(TableRef, TableState)],
) -> Result<DataFrame, PreviewError> {
    let mut frames = Vec::with_capacity(tables.len());
    for (t, state) in tables {
        let name = format!("{}/{}", t.source, t.entity);
        frames.push(
            scan::lazy(&lake.table_dir(t), state)?
                .select([lit(name).alias("table"), all().as_expr()]),
        );
    }
    if frames.is_empty() {
        let mut empty = crate::formats::parse::quarantine_frame("", &[])?;
        empty.insert_column(0, Column::new("table".into(), Vec::<String>::new()))?;
        return Ok(empty);
    }
    Ok(concat(frames, UnionArgs::default())?.collect()?)
}
