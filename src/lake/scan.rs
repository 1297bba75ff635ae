//! Lazy scans of Delta tables for aggregates: only the needed columns are read.

use std::path::Path;

use polars::prelude::*;

use super::delta::{DataFile, TableState};
use super::schema::TableSchema;

/// The table's files grouped by partition values (groups in order of first appearance, files
/// in log order within each): the order [`lazy`] reads rows in, which a sorted view keeps for
/// rows that tie.
pub fn partition_groups(state: &TableState) -> Vec<Vec<&DataFile>> {
    let mut groups: Vec<Vec<&DataFile>> = Vec::new();
    for f in &state.files {
        match groups
            .iter_mut()
            .find(|g| g[0].partition_values == f.partition_values)
        {
            Some(g) => g.push(f),
            None => groups.push(vec![f]),
        }
    }
    groups
}

/// A lazy frame over a table's current files, partition values restored as typed columns and
/// every schema column present (missing in older files means null).
pub fn lazy(path: &Path, state: &TableState) -> PolarsResult<LazyFrame> {
    let schema: &TableSchema = &state.schema;
    let data_schema: Schema = schema
        .data_columns()
        .map(|c| Field::new(c.name.as_str().into(), c.ty.polars()))
        .collect();
    let data_schema = std::sync::Arc::new(data_schema);
    let mut frames = Vec::new();
    for group in partition_groups(state) {
        let pv = &group[0].partition_values;
        let paths: Vec<PlRefPath> = group
            .iter()
            .map(|f| PlRefPath::new(path.join(&f.path).to_string_lossy().to_string()))
            .collect();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lake::delta::{self, CommitKind};
    use crate::lake::schema::{ColType, Column as SchemaColumn};

    /// Lakes written before timestamps were stored as UTC instants hold zone-less files: they
    /// read back as the same instants, beside files written since, by every reader.
    #[test]
    fn zone_less_timestamp_files_of_older_lakes_read_as_utc_instants() {
        let dir = tempfile::tempdir().unwrap();
        let schema = TableSchema::new(vec![
            SchemaColumn::new("t", ColType::Timestamp),
            SchemaColumn::new("n", ColType::Long),
        ]);
        let utc = ColType::Timestamp.polars();
        let naive = DataType::Datetime(TimeUnit::Microseconds, None);
        let frame = |micros: i64, ty: &DataType| {
            let t = Series::new("t".into(), [micros]).cast(ty).unwrap();
            DataFrame::new(
                1,
                vec![t.into(), Column::new("n".into(), [micros / 1_000_000])],
            )
            .unwrap()
        };
        let mut old = frame(1_000_000, &naive);
        let mut new = frame(2_000_000, &utc);
        let files = [
            delta::write_file(dir.path(), &mut old, &[]).unwrap(),
            delta::write_file(dir.path(), &mut new, &[]).unwrap(),
        ];
        delta::commit(dir.path(), &schema, CommitKind::Append, &files, &[]).unwrap();
        let state = delta::read_state(dir.path()).unwrap().unwrap();
        let scanned = lazy(dir.path(), &state).unwrap().collect().unwrap();
        let read = delta::read_table(dir.path(), None).unwrap();
        for df in [scanned, read] {
            let t = df.column("t").unwrap();
            assert_eq!(t.dtype(), &utc);
            let mut v: Vec<i64> = t
                .cast(&DataType::Int64)
                .unwrap()
                .i64()
                .unwrap()
                .into_no_null_iter()
                .collect();
            v.sort();
            assert_eq!(v, [1_000_000, 2_000_000]);
        }
    }
}
