//! Lazy scans of Delta tables for aggregates: only the needed columns are read.

use std::path::Path;

use polars::prelude::*;

use super::delta::TableState;
use super::schema::TableSchema;

/// A lazy frame over a table's current files, partition values restored as typed columns and
/// every schema column present (missing in older files means null).
pub fn lazy(path: &Path, state: &TableState) -> PolarsResult<LazyFrame> {
    let schema: &TableSchema = &state.schema;
    let data_schema: Schema = schema
        .data_columns()
        .map(|c| Field::new(c.name.as_str().into(), c.ty.polars()))
        .collect();
    let data_schema = std::sync::Arc::new(data_schema);
    // Files sharing partition values are scanned together.
    type PartitionValues = Vec<(String, Option<String>)>;
    let mut groups: Vec<(PartitionValues, Vec<PlRefPath>)> = Vec::new();
    for f in &state.files {
        let p = PlRefPath::new(path.join(&f.path).to_string_lossy().to_string());
        match groups.iter_mut().find(|(pv, _)| *pv == f.partition_values) {
            Some((_, v)) => v.push(p),
            None => groups.push((f.partition_values.clone(), vec![p])),
        }
    }
    let mut frames = Vec::new();
    for (pv, paths) in groups {
        let args = ScanArgsParquet {
            schema: Some(data_schema.clone()),
            allow_missing_columns: true,
            hive_options: HiveOptions {
                enabled: Some(false),
                ..Default::default()
            },
            ..Default::default()
        };
        let mut lf = LazyFrame::scan_parquet_files(paths.into_iter().collect(), args)?;
        for c in &schema.columns {
            if let Some((_, v)) = pv.iter().find(|(k, _)| k == &c.name) {
                let value = match v {
                    Some(v) => lit(v.clone()),
                    None => lit(NULL).cast(DataType::String),
                };
                lf = lf.with_column(value.cast(c.ty.polars()).alias(c.name.as_str()));
            }
        }
        frames.push(
            lf.select(
                schema
                    .columns
                    .iter()
                    .map(|c| col(c.name.as_str()))
                    .collect::<Vec<_>>(),
            ),
        );
    }
    if frames.is_empty() {
        let empty = super::delta::empty_frame(schema)?;
        return Ok(empty.lazy());
    }
    concat(frames, UnionArgs::default())
}
