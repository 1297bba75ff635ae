//! Writing a data frame as one Parquet file, as polars' own writer does, but choosing each text
//! column's encoding from what the table's earlier files showed.
//!
//! polars decides per column whether a dictionary pays: it estimates the column's distinct
//! values by hashing every one (HyperLogLog), then writes plain when most are distinct and
//! builds the dictionary otherwise. The estimate was 7 % of an ingest's CPU and, file after
//! file of one table, gave the same answer: a daily file's pseudonyms and ids are unique in it,
//! its school names repeat. So a column that came out the same way in the table's last two files
//! is written that way at once (plain, or through a dictionary built without the estimate), and
//! every 16th file it is left to polars again, so a column whose values change character gets
//! polars' choice back. A wrong guess makes a file larger, never a value different: both
//! encodings hold the same values.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{LazyLock, Mutex};

use polars::prelude::*;
use polars_arrow::datatypes::IntegerType;
use polars_parquet::write::{
    CompressionOptions, Compressor, DynIter, DynStreamingIterator, Encoding,
    FallibleStreamingIterator, FileWriter, Page, StatisticsOptions, Version, WriteOptions,
    array_to_columns, get_dtype_encoding, to_parquet_schema,
};

/// Files of a table in a row that must agree before a column's encoding is taken from them.
const SAME_AFTER: u32 = 2;
/// Every this many files a column is left to polars again.
const RECHECK_EVERY: u32 = 16;
/// Rows per row group, as polars' writer.
const ROW_GROUP: usize = 512 * 512;

/// How a text column is written.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Choice {
    /// polars estimates and chooses; the writer learns what it chose.
    Polars,
    Plain,
    Dictionary,
}

/// What the files written so far said of one text column of one table.
#[derive(Default)]
struct History {
    /// Whether polars last wrote it with a dictionary.
    dictionary: bool,
    /// Files in a row in which polars chose that.
    streak: u32,
    /// Files written since the column was last left to polars.
    skipped: u32,
}

/// Which files a history is of: a table folder and a kind of file within it.
type Files<'a> = (&'a Path, &'a str);

/// A history's table folder, kind of file and column name.
type Key = (PathBuf, String, String);

/// Histories for the life of the process.
static HISTORY: LazyLock<Mutex<HashMap<Key, History>>> = LazyLock::new(Default::default);

fn key((table, kind): Files, column: &str) -> Key {
    (table.to_path_buf(), kind.to_string(), column.to_string())
}

/// How to write the column in this file (a choice taken from history counts as a skip).
fn choose(files: Files, column: &str) -> Choice {
    let Ok(mut h) = HISTORY.lock() else {
        return Choice::Polars;
    };
    let Some(c) = h.get_mut(&key(files, column)) else {
        return Choice::Polars;
    };
    if c.streak < SAME_AFTER || c.skipped + 1 >= RECHECK_EVERY {
        return Choice::Polars;
    }
    c.skipped += 1;
    match c.dictionary {
        true => Choice::Dictionary,
        false => Choice::Plain,
    }
}

/// Records how polars encoded a column it was left to.
fn learn(files: Files, column: &str, dictionary: bool) {
    if let Ok(mut h) = HISTORY.lock() {
        let c = h.entry(key(files, column)).or_default();
        c.streak = if c.dictionary == dictionary {
            c.streak + 1
        } else {
            1
        };
        c.dictionary = dictionary;
        c.skipped = 0;
    }
}

/// `array` with a dictionary built as polars builds it after its estimate (the array itself
/// when that fails: polars then writes it plain).
fn with_dictionary(array: &ArrayRef) -> ArrayRef {
    if let Some(d) = super::dict::by_views(array.as_ref()) {
        return d;
    }
    let to = ArrowDataType::Dictionary(IntegerType::UInt32, Box::new(array.dtype().clone()), false);
    polars::polars_compute::cast::cast(array.as_ref(), &to, Default::default())
        .unwrap_or_else(|_| array.clone())
}

/// Writes `df` to `w` as one uncompressed Parquet file with statistics; the earlier files of
/// `files` (a table folder, and a kind of file when the table's files come from different
/// inputs) choose the text columns' encodings. Returns the file's size.
pub fn write(w: impl Write, df: &mut DataFrame, files: Files) -> PolarsResult<u64> {
    let df = polars::frame::chunk_df_for_writing(df, ROW_GROUP)?;
    let schema = df.schema().to_arrow(CompatLevel::newest());
    let options = WriteOptions {
        statistics: StatisticsOptions::default(),
        compression: CompressionOptions::Uncompressed,
        version: Version::V1,
        data_page_size: None,
    };
    let parquet_schema = to_parquet_schema(&schema)?;
    // Per text column: how it is written, and (when polars chooses) a flag set when polars
    // wrote a dictionary.
    let columns: Vec<(Option<Choice>, AtomicBool)> = schema
        .iter_values()
        .map(|f| {
            let text = matches!(f.dtype, ArrowDataType::Utf8View | ArrowDataType::BinaryView);
            (text.then(|| choose(files, &f.name)), AtomicBool::new(false))
        })
        .collect();
    let mut writer =
        FileWriter::new_with_parquet_schema(w, schema.clone(), parquet_schema, options);
    let fields = writer.parquet_schema().fields().to_vec();
    for batch in df.iter_chunks(CompatLevel::newest(), false) {
        if batch.is_empty() {
            continue;
        }
        let rows = batch.len() as u64;
        let mut pages = Vec::new();
        for (((array, type_), f), (choice, dict_seen)) in (batch.columns().iter())
            .zip(&fields)
            .zip(schema.iter_values())
            .zip(&columns)
        {
            let (array, encoding) = match choice {
                Some(Choice::Plain) => (array.clone(), vec![Encoding::Plain]),
                Some(Choice::Dictionary) => (with_dictionary(array), get_dtype_encoding(&f.dtype)),
                _ => (array.clone(), get_dtype_encoding(&f.dtype)),
            };
            for leaf in array_to_columns(array, type_.clone(), options, &encoding)? {
                let leaf = leaf.inspect(move |p| {
                    if let Ok(Page::Dict(_)) = p {
                        dict_seen.store(true, Ordering::Relaxed);
                    }
                });
                let compressed = Compressor::new_from_vec(
                    leaf.map(|r| r.map_err(|e| to_parquet_error(&e))),
                    options.compression,
                    vec![],
                )
                .map_err(PolarsError::from);
                pages.push(Ok(DynStreamingIterator::new(compressed)));
            }
        }
        writer.write(rows, DynIter::new(pages.into_iter()))?;
    }
    let size = writer.end(None)?;
    for (f, (choice, dict_seen)) in schema.iter_values().zip(&columns) {
        if *choice == Some(Choice::Polars) {
            learn(files, &f.name, dict_seen.load(Ordering::Relaxed));
        }
    }
    Ok(size)
}

fn to_parquet_error(e: &PolarsError) -> polars_parquet::read::ParquetError {
    polars_parquet::read::ParquetError::FeatureNotSupported(format!("reraised in polars: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes `df` as a file of `table`; reads it back (values must be equal) and says which
    /// columns have a dictionary.
    fn write_and_check(table: &Path, name: &str, df: &mut DataFrame) -> Vec<bool> {
        let path = table.join(name);
        let size = write(std::fs::File::create(&path).unwrap(), df, (table, "")).unwrap();
        assert_eq!(size, std::fs::metadata(&path).unwrap().len());
        let back = ParquetReader::new(std::fs::File::open(&path).unwrap())
            .finish()
            .unwrap();
        assert!(back.equals_missing(df), "{name}: {back} against {df}");
        let meta =
            polars_parquet::read::read_metadata(&mut std::fs::File::open(&path).unwrap()).unwrap();
        let rg = &meta.row_groups[0];
        rg.parquet_columns()
            .iter()
            .map(|c| c.dictionary_page_offset().is_some())
            .collect()
    }

    fn frame(file: usize, ids_repeat: bool) -> DataFrame {
        let id = |i: usize| match ids_repeat {
            true => format!("student-{:040}", i % 10),
            false => format!("student-{file}-{i:040}"),
        };
        df!(
            "id" => (0..2000).map(id).collect::<Vec<_>>(),
            "school" => (0..2000).map(|i| format!("school {}", i % 7)).collect::<Vec<_>>(),
            "n" => (0..2000i32).collect::<Vec<_>>(),
        )
        .unwrap()
    }

    #[test]
    fn columns_written_alike_skip_the_estimate_and_get_polars_choice_back_when_values_change() {
        let dir = tempfile::tempdir().unwrap();
        let table = dir.path();
        let skipped = |column: &str| {
            let h = HISTORY.lock().unwrap();
            h[&key((table, ""), column)].skipped
        };
        // Unique ids come out plain and repeating school names with a dictionary, and after
        // SAME_AFTER such files both skip polars' estimate and come out the same.
        for f in 0..SAME_AFTER as usize + 3 {
            let dict = write_and_check(table, &format!("{f}.parquet"), &mut frame(f, false));
            assert_eq!(dict, [false, true, false], "file {f}");
        }
        assert_eq!((skipped("id"), skipped("school")), (3, 3));
        // Ids that start repeating are written plain (same values, larger file) until the
        // column is left to polars again, which gives it its dictionary back.
        let mut plain_files = 0;
        loop {
            let f = SAME_AFTER as usize + 3 + plain_files;
            let dict = write_and_check(table, &format!("{f}.parquet"), &mut frame(f, true));
            if dict[0] {
                break;
            }
            plain_files += 1;
            assert!(plain_files < RECHECK_EVERY as usize, "no dictionary again");
        }
        assert_eq!(skipped("id"), 0);
        let dict = write_and_check(table, "last.parquet", &mut frame(0, true));
        assert_eq!(dict, [true, true, false]);
    }
}
