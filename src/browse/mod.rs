//! Browsing a table page by page with an optional sort and text filter, column statistics, and
//! exporting the filtered view. Used by the GUI's preview (on a worker thread) and by tests.

use std::path::Path;
use std::sync::Arc;

use polars::prelude::*;

use crate::lake::delta::TableState;
use crate::lake::{Lake, TableRef, delta, scan};
use crate::preview::{PreviewError, cell_text};

mod masks;
mod quarantine;
mod top;

use masks::{contains_mask, equal_mask};
use quarantine::{quarantine_tables, quarantine_union};

/// How the rows are ordered and filtered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Query {
    /// Column and descending flag.
    pub sort: Option<(String, bool)>,
    /// Column and text every shown row's value contains (case-insensitive).
    pub filter: Option<(String, String)>,
    /// Columns and the values every shown row has (a chart's drill-through, a run's rows): the
    /// value's text exactly, or for a date-time the day it falls on ("2025-09-02"). A column
    /// named twice takes either value (a school the site mapping names from two spellings).
    pub exact: Vec<(String, String)>,
}

impl Query {
    /// The exact values grouped by column, columns in first-named order.
    pub fn exact_by_column(&self) -> Vec<(&str, Vec<&str>)> {
        let mut out: Vec<(&str, Vec<&str>)> = Vec::new();
        for (c, v) in &self.exact {
            match out.iter_mut().find(|(k, _)| k == c) {
                Some((_, vs)) => vs.push(v),
                None => out.push((c, vec![v])),
            }
        }
        out
    }

    /// The rows of `df` the exact values and the text filter keep, in their order.
    fn keep(&self, mut df: DataFrame) -> PolarsResult<DataFrame> {
        for (c, values) in self.exact_by_column() {
            let mut mask = equal_mask(&df, c, values[0])?;
            for v in &values[1..] {
                mask = &mask | &equal_mask(&df, c, v)?;
            }
            df = df.filter(&mask)?;
        }
        if let Some((c, text)) = &self.filter
            && !text.is_empty()
        {
            let mask = contains_mask(&df, c, text)?;
            df = df.filter(&mask)?;
        }
        Ok(df)
    }

    fn is_plain(&self) -> bool {
        self.sort.is_none()
            && self.exact.is_empty()
            && self.filter.as_ref().is_none_or(|(_, t)| t.is_empty())
    }
}

/// One page of rows and how many rows the whole view has.
#[derive(Debug, Clone)]
pub struct Page {
    pub offset: usize,
    pub frame: DataFrame,
    pub total_rows: usize,
}

/// A table being browsed. Keeps the last sorted/filtered view so paging through it is cheap.
pub struct Browser {
    table: TableRef,
    cached: Option<(Query, i64, Arc<DataFrame>)>,
    /// The first rows of the last sorted or filtered view paged through (query, version).
    top: Option<(Query, i64, top::TopRows)>,
}

/// Pages up to this far into a sorted or filtered view are ranked file by file; further on,
/// the whole view is read and kept (as statistics and export always do).
const MAX_RANKED: usize = 100_000;

impl Browser {
    /// Starts browsing a table.
    pub fn new(table: TableRef) -> Self {
        Browser {
            table,
            cached: None,
            top: None,
        }
    }

    /// The table browsed.
    pub fn table(&self) -> &TableRef {
        &self.table
    }

    /// Rows `offset..offset + limit` of the view.
    pub fn page(
        &mut self,
        lake: &Lake,
        query: &Query,
        offset: usize,
        limit: usize,
    ) -> Result<Page, PreviewError> {
        if self.table.is_all_quarantine() {
            return self.view_page(lake, query, offset, limit);
        }
        let state = lake.table_state(&self.table)?;
        if query.is_plain() {
            let frame = delta::read_range(&lake.table_dir(&self.table), &state, offset, limit)?;
            return Ok(Page {
                offset,
                frame,
                total_rows: state.rows().max(0) as usize,
            });
        }
        let full_view_cached = self
            .cached
            .as_ref()
            .is_some_and(|(q, v, _)| q == query && *v == state.version);
        if full_view_cached || offset + limit > MAX_RANKED {
            return self.view_page(lake, query, offset, limit);
        }
        let need = offset + limit;
        let top = match self.top.take() {
            Some((q, v, t)) if q == *query && v == state.version && t.covers(need) => t,
            // Later pages of the same view rank twice as far ahead, so paging costs few reads.
            prev => {
                let n = match prev {
                    Some((q, v, t)) if q == *query && v == state.version => {
                        need.max(2 * t.rows.len())
                    }
                    _ => need,
                };
                let dir = lake.table_dir(&self.table);
                top::top_rows(&dir, &state, query, n.min(MAX_RANKED))?
            }
        };
        let end = need.min(top.rows.len());
        let rows = top.rows.get(offset.min(end)..end).unwrap_or_default();
        let frame = top::fetch_rows(&lake.table_dir(&self.table), &state, rows)?;
        let total_rows = top.total;
        self.top = Some((query.clone(), state.version, top));
        Ok(Page {
            offset,
            frame,
            total_rows,
        })
    }

    /// Rows `offset..offset + limit` cut from the whole view.
    fn view_page(
        &mut self,
        lake: &Lake,
        query: &Query,
        offset: usize,
        limit: usize,
    ) -> Result<Page, PreviewError> {
        let view = self.view(lake, query)?;
        Ok(Page {
            offset,
            frame: view.slice(offset as i64, limit),
            total_rows: view.height(),
        })
    }

    /// The whole sorted/filtered view (cached per query and table version).
    pub fn view(&mut self, lake: &Lake, query: &Query) -> Result<Arc<DataFrame>, PreviewError> {
        let (version, read) = if self.table.is_all_quarantine() {
            let tables = quarantine_tables(lake)?;
            // Any table's new version changes the sum: the cache key of the whole view.
            let version = tables.iter().map(|(_, s)| s.version + 1).sum::<i64>();
            (version, Source::Quarantine(tables))
        } else {
            let state = lake.table_state(&self.table)?;
            (state.version, Source::Table(state))
        };
        if let Some((q, v, df)) = &self.cached
            && q == query
            && *v == version
        {
            return Ok(df.clone());
        }
        let mut df = match read {
            Source::Table(state) => scan::lazy(&lake.table_dir(&self.table), &state)?.collect()?,
            Source::Quarantine(tables) => quarantine_union(lake, &tables)?,
        };
        df = query.keep(df)?;
        if let Some((c, desc)) = &query.sort {
            df = df.sort(
                [c.as_str()],
                SortMultipleOptions::default()
                    .with_order_descending(*desc)
                    .with_nulls_last(true)
                    .with_maintain_order(true),
            )?;
        }
        let df = Arc::new(df);
        self.cached = Some((query.clone(), version, df.clone()));
        Ok(df)
    }
}

/// What a view reads: one table, or every quarantine table.
enum Source {
    Table(TableState),
    Quarantine(Vec<(TableRef, TableState)>),
}

/// What a column holds.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnStats {
    pub column: String,
    pub rows: usize,
    pub nulls: usize,
    pub distinct: usize,
    pub min: Option<String>,
    pub max: Option<String>,
    /// Most frequent values with their counts.
    pub top: Vec<(String, usize)>,
}

/// Statistics of one column of a frame (the browsed view).
pub fn column_stats(df: &DataFrame, column: &str) -> Result<ColumnStats, PreviewError> {
    let s = df.column(column)?.as_materialized_series().clone();
    let text = |v: Option<AnyValue>| v.filter(|v| !v.is_null()).map(|v| cell_text(&v));
    let (min, max) = if s.dtype().is_nested() {
        (None, None)
    } else {
        let min = s.min_reduce()?.into_value();
        let max = s.max_reduce()?.into_value();
        (text(Some(min)), text(Some(max)))
    };
    let counts = df
        .clone()
        .lazy()
        .group_by([col(column)])
        .agg([len().alias("__n")])
        .sort(
            ["__n"],
            SortMultipleOptions::default().with_order_descending(true),
        )
        .collect()?;
    let top = counts
        .head(Some(5))
        .column(column)?
        .as_materialized_series()
        .iter()
        .zip(counts.column("__n")?.u32()?.iter())
        .map(|(v, n)| (cell_text(&v), n.unwrap_or(0) as usize))
        .collect();
    Ok(ColumnStats {
        column: column.into(),
        rows: s.len(),
        nulls: s.null_count(),
        distinct: counts.height(),
        min,
        max,
        top,
    })
}

/// File formats the view exports to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Parquet,
}

impl ExportFormat {
    /// From a file name's extension (`.parquet` → Parquet, anything else → CSV).
    pub fn from_path(p: &Path) -> Self {
        match p.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("parquet") => ExportFormat::Parquet,
            _ => ExportFormat::Csv,
        }
    }
}

/// Writes a frame to `path` (complete or not at all: written beside it, then renamed).
pub fn export(df: &DataFrame, path: &Path, format: ExportFormat) -> Result<usize, PreviewError> {
    let io = |e: std::io::Error| PreviewError::Lake(crate::lake::LakeError::io(path, e));
    let tmp = path.with_extension("partial");
    let file = std::fs::File::create(&tmp).map_err(io)?;
    let mut df = df.clone();
    let written = match format {
        ExportFormat::Csv => crate::preview::formula_safe(&df)
            .and_then(|mut safe| CsvWriter::new(file).finish(&mut safe))
            .map(|_| ()),
        ExportFormat::Parquet => ParquetWriter::new(file).finish(&mut df).map(|_| ()),
    };
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e.into());
    }
    std::fs::rename(&tmp, path).map_err(io)?;
    Ok(df.height())
}

/// What pseudonymization did to each column of a table, read off the tables themselves
/// (so it is true for the data, whatever metadata was used): `hash`, `hash-no-lookup`, `mask`,
/// `no-op`, or for restricted tables `raw (restricted)`.
pub fn column_ops(lake: &Lake, t: &TableRef) -> Vec<(String, &'static str)> {
    use crate::lake::Layer;
    let cols = |t: &TableRef| -> Vec<String> {
        lake.table_state(t)
            .map(|s| s.schema.columns.iter().map(|c| c.name.clone()).collect())
            .unwrap_or_default()
    };
    let mine = cols(t);
    let general_ref = TableRef {
        layer: Layer::General,
        ..t.clone()
    };
    let general = cols(&general_ref);
    let lookup = cols(&general_ref.lookup_of());
    // What happened to a raw column on its way to the general table.
    let op_of = |raw: &str| {
        let in_lookup = lookup.iter().any(|l| l == raw);
        if general.contains(&format!("{raw}_pseudonym")) {
            if in_lookup { "hash" } else { "hash-no-lookup" }
        } else if in_lookup {
            "mask"
        } else {
            "no-op"
        }
    };
    match t.layer {
        Layer::General => mine
            .into_iter()
            .map(|c| {
                let op = op_of(c.strip_suffix("_pseudonym").unwrap_or(&c));
                (c, op)
            })
            .collect(),
        Layer::Ingested => mine
            .into_iter()
            .map(|c| {
                let op = op_of(&c);
                (c, op)
            })
            .collect(),
        Layer::Sensitive => mine.into_iter().map(|c| (c, "raw (restricted)")).collect(),
        Layer::Quarantine | Layer::Stage3 => mine.into_iter().map(|c| (c, "")).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame() -> DataFrame {
        df!(
            "school" => ["Mitchell High", "Oak Middle", "mitchell elementary", "Pine"],
            "n" => [Some(3i64), None, Some(1), Some(3)],
        )
        .expect("frame")
    }

    #[test]
    fn filter_ignores_case_and_keeps_only_matches() {
        let df = frame();
        let mask = contains_mask(&df, "school", "MITCHELL").expect("mask");
        let got = df.filter(&mask).expect("filter");
        assert_eq!(got.height(), 2);
        let mask = contains_mask(&df, "n", "3").expect("mask");
        assert_eq!(df.filter(&mask).expect("filter").height(), 2);
    }

    #[test]
    fn an_exact_filter_matches_whole_values_and_days() {
        let df = frame();
        let got = df
            .filter(&equal_mask(&df, "school", "Mitchell High").expect("mask"))
            .expect("filter");
        assert_eq!(got.height(), 1);
        assert_eq!(
            df.filter(&equal_mask(&df, "n", "3").expect("mask"))
                .expect("filter")
                .height(),
            2
        );
        let days = df!("d" => ["2025-09-02T08:00:00", "2025-09-02", "2025-09-12"])
            .expect("frame")
            .lazy()
            .with_column(col("d").str().to_datetime(
                Some(TimeUnit::Microseconds),
                None,
                StrptimeOptions::default(),
                lit("raise"),
            ))
            .collect()
            .expect("dates");
        let mask = equal_mask(&days, "d", "2025-09-02").expect("mask");
        assert_eq!(days.filter(&mask).expect("filter").height(), 2);
    }

    #[test]
    fn stats_count_nulls_distinct_and_top_values() {
        let s = column_stats(&frame(), "n").expect("stats");
        assert_eq!((s.rows, s.nulls, s.distinct), (4, 1, 3));
        assert_eq!(s.min.as_deref(), Some("1"));
        assert_eq!(s.max.as_deref(), Some("3"));
        assert_eq!(s.top[0], ("3".to_string(), 2));
    }

    #[test]
    fn column_ops_are_read_off_the_tables() {
        use crate::lake::Layer;
        let dir = tempfile::tempdir().expect("tmp");
        let (lake, _) = Lake::init(dir.path()).expect("lake");
        let src = crate::sources::FolderSource::new(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data/clever"),
        );
        let out = crate::app::run::run_source(
            &lake,
            crate::app::run::SourceKind::Clever,
            &src,
            dir.path(),
            &crate::pseudo::Salt::generate(),
            &crate::pipeline::Progress::default(),
            &crate::pipeline::Cancel::default(),
        );
        assert!(out.error.is_none(), "{:?}", out.error);
        let op = |layer, col: &str| {
            let t = TableRef::new(layer, "clever", "v1.0", "daily_participation");
            column_ops(&lake, &t)
                .into_iter()
                .find(|(c, _)| c == col)
                .map(|(_, o)| o)
        };
        assert_eq!(op(Layer::General, "sis_id_pseudonym"), Some("hash"));
        assert_eq!(op(Layer::General, "school_name"), Some("no-op"));
        assert_eq!(op(Layer::Ingested, "sis_id"), Some("hash"));
        assert_eq!(op(Layer::General, "sis_id"), None);
    }

    #[test]
    fn export_round_trips_csv_and_parquet() {
        let dir = tempfile::tempdir().expect("tmp");
        let df = frame();
        let csv = dir.path().join("v.csv");
        assert_eq!(
            export(&df, &csv, ExportFormat::from_path(&csv)).expect("csv"),
            4
        );
        let text = std::fs::read_to_string(&csv).expect("read");
        assert!(text.starts_with("school,n\nMitchell High,3\n"), "{text}");
        let pq = dir.path().join("v.parquet");
        export(&df, &pq, ExportFormat::from_path(&pq)).expect("parquet");
        let back = ParquetReader::new(std::fs::File::open(&pq).expect("open"))
            .finish()
            .expect("read parquet");
        assert!(back.equals_missing(&df));
        assert!(!dir.path().join("v.partial").exists());
    }
}
