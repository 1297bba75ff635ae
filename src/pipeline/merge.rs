//! Table-level operations for batch types that rewrite a table: upserts (delta batches) and
//! deletes, plus writing a frame as partitioned Delta data files.

use std::path::Path;

use polars::prelude::*;

use super::PipelineError;
use crate::lake::delta::{self, NewFile};
use crate::modules::{BatchType, Entity};

/// Writes `df` into the table folder, one file per combination of partition values.
pub fn write_partitioned(
    dir: &Path,
    df: DataFrame,
    parts: &[String],
) -> Result<Vec<NewFile>, PipelineError> {
    let mut out = Vec::new();
    if parts.is_empty() {
        let mut df = df;
        out.push(delta::write_file(dir, &mut df, &[])?);
        return Ok(out);
    }
    let keys = df.select(parts.iter().map(|s| s.as_str()))?.unique_stable(
        None,
        UniqueKeepStrategy::First,
        None,
    )?;
    // The value itself, not its display: a text value prints quoted, and trimming the quotes
    // would also cut quotes that belong to the value (`Zoë's "club"`).
    let text = |v: &AnyValue| match v {
        AnyValue::Null => None,
        AnyValue::String(s) => Some(s.to_string()),
        AnyValue::StringOwned(s) => Some(s.to_string()),
        other => Some(other.to_string()),
    };
    if keys.height() == 1 {
        let values = parts
            .iter()
            .map(|p| Ok((p.clone(), text(&keys.column(p)?.get(0)?))))
            .collect::<PolarsResult<Vec<_>>>()?;
        let mut part = df.drop_many(parts.iter().map(|s| s.as_str()));
        out.push(delta::write_file(dir, &mut part, &values)?);
        return Ok(out);
    }
    for i in 0..keys.height() {
        let mut mask: Option<BooleanChunked> = None;
        let mut values = Vec::new();
        for p in parts {
            let v = keys.column(p)?.get(i)?;
            let col = df.column(p)?.as_materialized_series().clone();
            let m = if v.is_null() {
                col.is_null()
            } else {
                col.equal(&Series::new("v".into(), [v.clone()]).cast(col.dtype())?)?
                    & col.is_not_null()
            };
            mask = Some(match mask {
                Some(prev) => prev & m,
                None => m,
            });
            values.push((p.clone(), text(&v)));
        }
        let Some(mask) = mask else { continue };
        let mut part = df
            .filter(&mask)?
            .drop_many(parts.iter().map(|s| s.as_str()));
        out.push(delta::write_file(dir, &mut part, &values)?);
    }
    Ok(out)
}

/// Stacks frames whose columns may differ: the result has every column (first type wins);
/// missing ones are null.
pub fn union(frames: Vec<DataFrame>) -> PolarsResult<DataFrame> {
    let mut cols: Vec<(PlSmallStr, DataType)> = Vec::new();
    for f in &frames {
        for c in f.columns() {
            if !cols.iter().any(|(n, _)| n == c.name()) {
                cols.push((c.name().clone(), c.dtype().clone()));
            }
        }
    }
    let mut out: Option<DataFrame> = None;
    for f in frames {
        let n = f.height();
        let aligned: Vec<Column> = cols
            .iter()
            .map(|(name, dt)| match f.column(name) {
                Ok(c) if c.dtype() == dt => Ok(c.clone()),
                Ok(c) => c.cast(dt),
                Err(_) => Ok(Column::full_null(name.clone(), n, dt)),
            })
            .collect::<PolarsResult<_>>()?;
        let f = DataFrame::new(n, aligned)?;
        match &mut out {
            Some(o) => {
                o.vstack_mut_owned(f)?;
            }
            None => out = Some(f),
        }
    }
    Ok(out.unwrap_or_default())
}

/// The newest row per key: later frames win, and within a frame later rows win.
pub fn latest_per_key(batch: DataFrame, keys: &[String]) -> PolarsResult<DataFrame> {
    batch.unique_stable(Some(keys), UniqueKeepStrategy::Last, None)
}

/// Upsert: rows of `existing` whose key appears in `batch` are replaced by the batch's rows.
pub fn upsert(existing: DataFrame, batch: DataFrame, keys: &[String]) -> PolarsResult<DataFrame> {
    let batch = latest_per_key(batch, keys)?;
    let kept = remove_keys(existing, &batch, keys)?;
    union(vec![kept, batch])
}

/// Delete: rows of `existing` whose key appears in `batch` are removed.
pub fn remove_keys(
    existing: DataFrame,
    batch: &DataFrame,
    keys: &[String],
) -> PolarsResult<DataFrame> {
    if existing.height() == 0 {
        return Ok(existing);
    }
    let on: Vec<Expr> = keys.iter().map(|k| col(k.as_str())).collect();
    let batch_keys = batch.select(keys.iter().map(|s| s.as_str()))?;
    // Compare keys as text so a key typed differently in old and new data still matches.
    let cast = |lf: LazyFrame| {
        lf.with_columns(
            keys.iter()
                .map(|k| col(k.as_str()).cast(DataType::String))
                .collect::<Vec<_>>(),
        )
    };
    let original_types: Vec<(String, DataType)> = keys
        .iter()
        .map(|k| Ok((k.clone(), existing.column(k)?.dtype().clone())))
        .collect::<PolarsResult<_>>()?;
    let out = cast(existing.lazy())
        .join(
            cast(batch_keys.lazy()),
            on.clone(),
            on,
            JoinArgs::new(JoinType::Anti),
        )
        .with_columns(
            original_types
                .iter()
                .map(|(k, t)| col(k.as_str()).cast(t.clone()))
                .collect::<Vec<_>>(),
        )
        .collect()?;
    Ok(out)
}

/// The primary key's column names in the general table (hashed keys carry `_pseudonym`).
pub fn general_keys(entity: &Entity) -> Vec<String> {
    entity
        .primary_key
        .iter()
        .map(|k| {
            let fixed = crate::lake::schema::fix_column_name(k);
            match entity.metadata.op(k) {
                Some(crate::pseudo::Op::Hash | crate::pseudo::Op::HashNoLookup) => {
                    format!("{fixed}_pseudonym")
                }
                _ => fixed,
            }
        })
        .collect()
}

/// The table's rows after applying a delta (upsert) or delete batch.
pub fn rewrite(
    dir: &std::path::Path,
    batches: Vec<(DataFrame, bool)>,
    keys: &[String],
) -> Result<DataFrame, PipelineError> {
    let mut table = if crate::lake::delta::is_table(dir) {
        crate::lake::delta::read_table(dir, None)?
    } else {
        DataFrame::default()
    };
    // Batches apply in landing order: a later upsert wins, a later delete removes.
    for (batch, is_delete) in batches {
        if batch.height() == 0 {
            continue;
        }
        for k in keys {
            if batch.column(k).is_err() {
                return Err(PipelineError::Input(format!(
                    "the batch has no key column `{k}`; its columns are {}",
                    batch
                        .get_column_names()
                        .iter()
                        .map(|c| c.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
        table = if is_delete {
            remove_keys(table, &batch, keys)?
        } else if table.height() == 0 {
            latest_per_key(batch, keys)?
        } else {
            upsert(table, batch, keys)?
        };
    }
    Ok(table)
}

/// Whether a landed file is a delete batch: the entity's batch type says so, or the file sits in
/// a `delete/` (OEA: `delete_batch_data/`) folder of an upserted entity.
pub fn is_delete_batch(entity: &Entity, sub_path: &str) -> bool {
    entity.batch == BatchType::Delete
        || sub_path.split('/').any(|p| {
            p.eq_ignore_ascii_case("delete") || p.eq_ignore_ascii_case("delete_batch_data")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts<'a>(df: &'a DataFrame, c: &str) -> Vec<&'a str> {
        df.column(c)
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .flatten()
            .collect()
    }

    #[test]
    fn upsert_replaces_by_key_and_keeps_the_rest() {
        let old = df!("id" => ["a", "b", "c"], "v" => [1, 2, 3]).unwrap();
        let new =
            df!("id" => ["b", "d", "b"], "v" => [20, 40, 21], "extra" => ["x", "y", "z"]).unwrap();
        let out = upsert(old, new, &["id".to_string()]).unwrap();
        let out = out.sort(["id"], SortMultipleOptions::default()).unwrap();
        let ids = texts(&out, "id");
        assert_eq!(ids, ["a", "b", "c", "d"]);
        let v: Vec<i32> = out
            .column("v")
            .unwrap()
            .i32()
            .unwrap()
            .iter()
            .flatten()
            .collect();
        assert_eq!(v, [1, 21, 3, 40], "the last row of a key wins");
        assert_eq!(out.column("extra").unwrap().null_count(), 2);
    }

    #[test]
    fn delete_removes_listed_keys() {
        let old = df!("id" => ["a", "b", "c"], "v" => [1, 2, 3]).unwrap();
        let del = df!("id" => ["b", "zz"]).unwrap();
        let out = remove_keys(old, &del, &["id".to_string()]).unwrap();
        let ids = texts(&out, "id");
        assert_eq!(ids, ["a", "c"]);
    }

    #[test]
    fn partition_values_keep_every_character() {
        let dir = tempfile::tempdir().unwrap();
        let values = ["Zoë's \"club\"", "\"quoted\"", "A:B", "50% off", "a/b"];
        let df = df!("school" => values, "n" => [1, 2, 3, 4, 5]).unwrap();
        let files = write_partitioned(dir.path(), df, &["school".to_string()]).unwrap();
        let mut got: Vec<String> = files
            .iter()
            .map(|f| f.partition_values[0].1.clone().unwrap())
            .collect();
        got.sort();
        let mut want: Vec<String> = values.iter().map(|v| v.to_string()).collect();
        want.sort();
        assert_eq!(got, want);
    }
}
