//! The first pages of a sorted or filtered view without holding the table in memory: every
//! file's filter and sort columns are read and cut to the rows that can still be on the pages
//! asked for, then only the rows of the page are read, each run of nearby rows in a file on its
//! own. A 13.5-million-row table sorted by any column shows its first page in under a second,
//! holding a few files at a time (the whole sorted view, which statistics and export need,
//! takes the full read).

use std::path::Path;

use polars::prelude::*;
use rayon::prelude::*;

use super::Query;
use crate::lake::delta::{self, DataFile, TableState};
use crate::lake::scan;
use crate::preview::PreviewError;

/// The name of the row-number column added while ranking (not a column a table can have:
/// lake column names never start with a NUL).
const ROW: &str = "\u{0}row";

/// Rows of one file at most this far apart are read in one slice (a Parquet page holds a few
/// thousand rows: closer rows share pages, farther ones are cheaper read apart).
const RUN_GAP: u64 = 4096;

/// The first rows of a view, as positions in the table's file order.
#[derive(Debug, Clone, PartialEq)]
pub struct TopRows {
    /// Table row numbers of the view's first rows, in view order.
    pub rows: Vec<u64>,
    /// Rows in the whole view (after the filters).
    pub total: usize,
}

impl TopRows {
    /// Whether the first `n` rows of the view are all here (or the view is shorter).
    pub fn covers(&self, n: usize) -> bool {
        self.rows.len() >= n || self.rows.len() == self.total
    }
}

/// The first `n` rows of `query`'s view of the table: sorted as the full view sorts (stable,
/// nulls last) and filtered by the same masks, so page `k` equals the full view's rows.
pub fn top_rows(
    path: &Path,
    state: &TableState,
    query: &Query,
    n: usize,
) -> Result<TopRows, PreviewError> {
    let mut names: Vec<&str> = Vec::new();
    let sort = query.sort.as_ref();
    let filter = query.filter.as_ref().filter(|(_, t)| !t.is_empty());
    let exact = query.exact_by_column();
    for c in sort
        .map(|(c, _)| c.as_str())
        .into_iter()
        .chain(filter.map(|(c, _)| c.as_str()))
        .chain(exact.iter().map(|(c, _)| *c))
    {
        if !names.contains(&c) {
            names.push(c);
        }
    }
    let mut best: Option<DataFrame> = None;
    let mut total = 0usize;
    // A few files at a time on every core, merged in table order.
    let files = numbered_files(path, state)?;
    for chunk in files.chunks(rayon::current_num_threads().max(1)) {
        let ranking = Ranking {
            path,
            state,
            names: &names,
            query,
            n,
            bar: match (sort, &best) {
                (Some((c, _)), Some(b)) => bar(b, c, n)?,
                _ => None,
            },
        };
        let tops = chunk
            .par_iter()
            .map(|(f, start)| ranking.file_top(f, *start))
            .collect::<Result<Vec<_>, PreviewError>>()?;
        for (kept, df) in tops {
            total += kept;
            // Earlier files first, so the merge keeps ties in table order.
            let both = match best.take() {
                Some(b) => b.vstack(&df)?,
                None => df,
            };
            best = Some(match sort {
                Some((c, desc)) if both.height() > n => ranked(both, c, *desc, Some(n))?,
                Some(_) => both,
                None => both.head(Some(n)),
            });
        }
    }
    let Some(mut best) = best else {
        return Ok(TopRows {
            rows: Vec::new(),
            total,
        });
    };
    if let Some((c, desc)) = sort {
        best = ranked(best, c, *desc, None)?;
    }
    let rows = best
        .column(ROW)?
        .u64()?
        .into_no_null_iter()
        .take(n)
        .collect();
    Ok(TopRows { rows, total })
}

/// What ranking one file needs: the query, how many rows, and the bar a row must reach.
struct Ranking<'a> {
    path: &'a Path,
    state: &'a TableState,
    names: &'a [&'a str],
    query: &'a Query,
    n: usize,
    /// The n-th value found in the files before (see [`bar`]).
    bar: Option<Series>,
}

impl Ranking<'_> {
    /// One file's rows the query keeps (how many) and the first `n` of them in view order, with
    /// their table row numbers; text copied out of the file's string buffers (a string view keeps
    /// its whole buffer alive, and every file's would pile up).
    fn file_top(&self, f: &DataFile, start: u64) -> Result<(usize, DataFrame), PreviewError> {
        let Ranking {
            path,
            state,
            names,
            query,
            n,
            ..
        } = *self;
        let mut df = delta::read_file(path, state, f, None, Some(names))?;
        let h = df.height() as u64;
        df.with_column(Column::new(
            ROW.into(),
            (start..start + h).collect::<Vec<u64>>(),
        ))?;
        df = query.keep(df)?;
        let kept = df.height();
        // Rows that do not rank above the n-th row found so far cannot make the pages (a tie
        // comes later in table order): compared in one vectorised pass, so only the few that
        // can are sorted.
        if let (Some((c, desc)), Some(t)) = (&query.sort, &self.bar)
            && kept > n
        {
            let key = df.column(c)?.as_materialized_series();
            let mask = match desc {
                true => key.gt(t)?,
                false => key.lt(t)?,
            };
            df = df.filter(&mask)?;
        }
        if let Some((c, desc)) = &query.sort
            && df.height() > n
        {
            // Within a file rows are in table order, so a stable sort by the column alone ranks
            // ties as the table does (cheaper than encoding the column with the row number). No
            // sort limit: polars' limited sort does not keep ties in order.
            let options = SortOptions {
                descending: *desc,
                nulls_last: true,
                multithreaded: false,
                maintain_order: true,
                limit: None,
            };
            let idx = df.column(c)?.as_materialized_series().arg_sort(options);
            df = df.take(&idx.slice(0, n))?;
        }
        Ok((kept, compact(df.head(Some(n)))?))
    }
}

/// The table's files in the order the whole view reads them, each with the table row number
/// of its first row.
fn numbered_files<'a>(
    path: &Path,
    state: &'a TableState,
) -> Result<Vec<(&'a DataFile, u64)>, PreviewError> {
    let mut out = Vec::new();
    let mut start = 0u64;
    for f in scan::partition_groups(state).into_iter().flatten() {
        out.push((f, start));
        start += match f.rows {
            Some(h) => h.max(0) as u64,
            // A file whose row count the log lacks is read to count it (edlake records it).
            None => delta::read_files(path, state, std::slice::from_ref(f), None)?.height() as u64,
        };
    }
    Ok(out)
}

/// The n-th row's value of `c` in `best` (ranked), when `best` is full and that value is not
/// null: a row of a later file makes the first `n` only by ranking above it.
fn bar(best: &DataFrame, c: &str, n: usize) -> PolarsResult<Option<Series>> {
    if best.height() < n || n == 0 {
        return Ok(None);
    }
    let v = best
        .column(c)?
        .as_materialized_series()
        .slice(n as i64 - 1, 1);
    // NaN sorts above every number yet compares above none: no bar to hold rows to.
    let nan = v.dtype().is_float() && v.is_nan()?.any();
    Ok((v.null_count() == 0 && !nan).then_some(v))
}

/// `df` in view order: by column `c`, nulls last, ties by table row (as a stable sort of the
/// whole table keeps them); the first `limit` rows only, when given.
fn ranked(df: DataFrame, c: &str, desc: bool, limit: Option<usize>) -> PolarsResult<DataFrame> {
    let by = vec![df.column(c)?.clone(), df.column(ROW)?.clone()];
    let options = SortMultipleOptions::default()
        .with_order_descending_multi([desc, false])
        .with_nulls_last(true);
    // A slice from 0 makes polars pick the first rows without sorting the others.
    df.sort_impl(by, options, limit.map(|n| (0, n)))
}

/// `df` with its text columns copied into buffers of their own (see [`top_rows`]).
fn compact(df: DataFrame) -> PolarsResult<DataFrame> {
    let mut cols = Vec::with_capacity(df.width());
    for c in df.columns() {
        let c = match c.dtype() {
            DataType::String => {
                let fresh: StringChunked = c.str()?.iter().collect();
                fresh.with_name(c.name().clone()).into_column()
            }
            _ => c.clone(),
        };
        cols.push(c);
    }
    DataFrame::new(df.height(), cols)
}

/// The table's rows `rows` (table row numbers), in that order: only the files that hold one
/// are read, each only from its first such row to its last.
pub fn fetch_rows(
    path: &Path,
    state: &TableState,
    rows: &[u64],
) -> Result<DataFrame, PreviewError> {
    let files = numbered_files(path, state)?;
    // (position in `rows`, row within its file) per file, files in table order.
    let mut wanted: Vec<Vec<(usize, u64)>> = vec![Vec::new(); files.len()];
    let mut order: Vec<(u64, usize)> = rows.iter().enumerate().map(|(i, r)| (*r, i)).collect();
    order.sort_unstable();
    let mut k = 0;
    for (i, (_, start)) in files.iter().enumerate() {
        let end = files.get(i + 1).map_or(u64::MAX, |(_, s)| *s);
        while k < order.len() && order[k].0 < end {
            wanted[i].push((order[k].1, order[k].0 - start));
            k += 1;
        }
    }
    let hits: Vec<(&DataFile, &Vec<(usize, u64)>)> = files
        .iter()
        .zip(&wanted)
        .filter(|(_, w)| !w.is_empty())
        .map(|((f, _), w)| (*f, w))
        .collect();
    // A few files at a time: polars' reader waits on the same thread pool, and a waiting
    // thread would otherwise start the next file, piling decoded files up (0.35 GB on a page
    // sorted by student, whose rows lie in every file).
    let mut frames = Vec::with_capacity(hits.len());
    for chunk in hits.chunks(rayon::current_num_threads().max(1)) {
        let done = chunk
            .par_iter()
            .map(|(f, w)| file_rows(path, state, f, w))
            .collect::<Result<Vec<_>, PreviewError>>()?;
        frames.extend(done);
    }
    let mut frames = frames.into_iter();
    let Some(mut out) = frames.next() else {
        return Ok(delta::empty_frame(&state.schema)?);
    };
    for f in frames {
        out.vstack_mut_owned(f)?;
    }
    // Back into view order: the row at view position p is the one `positions` names p.
    let positions = hits.iter().flat_map(|(_, w)| w.iter().map(|(p, _)| *p));
    let mut inverse = vec![0 as IdxSize; rows.len()];
    for (at, p) in positions.enumerate() {
        inverse[p] = at as IdxSize;
    }
    Ok(out.take(&IdxCa::from_vec("".into(), inverse))?)
}

/// Rows `hits` (position in view, row in file; rows ascending) of one file, in that order:
/// each run of nearby rows read on its own, so rows far apart in a file do not decode all the
/// rows between them.
fn file_rows(
    path: &Path,
    state: &TableState,
    f: &DataFile,
    hits: &[(usize, u64)],
) -> Result<DataFrame, PreviewError> {
    let mut out: Option<DataFrame> = None;
    for run in hits.chunk_by(|a, b| b.1 - a.1 <= RUN_GAP) {
        let (first, last) = (run[0].1, run[run.len() - 1].1);
        let rows = Some((first as usize, (last - first + 1) as usize));
        let df = delta::read_file(path, state, f, rows, None)?;
        let idx = IdxCa::from_vec(
            "".into(),
            run.iter().map(|(_, r)| (r - first) as IdxSize).collect(),
        );
        let part = compact(df.take(&idx)?)?;
        match out.as_mut() {
            Some(o) => {
                o.vstack_mut_owned(part)?;
            }
            None => out = Some(part),
        }
    }
    match out {
        Some(o) => Ok(o),
        None => Ok(delta::empty_frame(&state.schema)?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lake::delta::CommitKind;
    use crate::lake::schema::{ColType, Column as SchemaColumn, TableSchema};

    /// The first rows sorted by a text column lie far apart inside large files (further than
    /// [`RUN_GAP`]): the page fetched equals the whole table sorted, row for row.
    #[test]
    fn a_page_whose_rows_lie_far_apart_in_big_files_equals_the_sorted_table() {
        let dir = tempfile::tempdir().unwrap();
        let schema = TableSchema::new(vec![
            SchemaColumn::new("s", ColType::String),
            SchemaColumn::new("n", ColType::Long),
        ]);
        let rows = 3 * RUN_GAP as usize;
        let mut files = Vec::new();
        for k in 0..2i64 {
            // Mostly "a…" values; "z…" ones at the start, middle and end of each file.
            let s: Vec<String> = (0..rows)
                .map(|i| match i {
                    3 | 4500 | 12_000 => format!("z{k}-{i}-{}", "x".repeat(40)),
                    _ => format!("a{:06}-{}", i, "y".repeat(40)),
                })
                .collect();
            let n: Vec<i64> = (0..rows as i64).map(|i| k * 100_000 + i).collect();
            let mut df = DataFrame::new(
                rows,
                vec![Column::new("s".into(), s), Column::new("n".into(), n)],
            )
            .unwrap();
            files.push(delta::write_file(dir.path(), &mut df, &[]).unwrap());
        }
        delta::commit(dir.path(), &schema, CommitKind::Append, &files, &[]).unwrap();
        let state = delta::read_state(dir.path()).unwrap().unwrap();
        let query = Query {
            sort: Some(("s".into(), true)),
            ..Query::default()
        };
        let top = top_rows(dir.path(), &state, &query, 10).unwrap();
        assert_eq!(top.total, 2 * rows);
        let page = fetch_rows(dir.path(), &state, &top.rows).unwrap();
        let whole = delta::read_table(dir.path(), None).unwrap();
        let sorted = whole
            .sort(
                ["s"],
                SortMultipleOptions::default().with_order_descending(true),
            )
            .unwrap()
            .head(Some(10));
        assert!(page.equals_missing(&sorted), "{page}\n{sorted}");
        let n: Vec<i64> = page
            .column("n")
            .unwrap()
            .i64()
            .unwrap()
            .into_no_null_iter()
            .collect();
        assert_eq!(
            &n[..6],
            [
                100_000 + 4500,
                100_000 + 3,
                100_000 + 12_000,
                4500,
                3,
                12_000
            ]
        );
    }
}
