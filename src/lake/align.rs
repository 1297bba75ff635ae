//! Lines a data file's frame up with the table's columns: partition values restored as typed
//! columns, columns older files lack as nulls, each column in the schema's type.

use polars::prelude::*;

use super::schema::Column as SchemaColumn;

/// `df` (one data file's rows) as `columns`, in that order; `partition_values` are the file's.
pub fn align_columns(
    df: DataFrame,
    columns: &[&SchemaColumn],
    partition_values: &[(String, Option<String>)],
) -> PolarsResult<DataFrame> {
    let n = df.height();
    let mut cols = Vec::with_capacity(columns.len());
    for c in columns {
        let dtype = c.ty.polars();
        let col = if let Some((_, v)) = partition_values.iter().find(|(k, _)| k == &c.name) {
            let s = Series::new(c.name.as_str().into(), vec![v.clone(); n]);
            s.cast(&dtype)?
        } else if let Ok(existing) = df.column(&c.name) {
            if existing.dtype() == &dtype {
                existing.as_materialized_series().clone()
            } else {
                existing.as_materialized_series().cast(&dtype)?
            }
        } else {
            Series::full_null(c.name.as_str().into(), n, &dtype)
        };
        cols.push(col.into());
    }
    DataFrame::new(n, cols)
}
