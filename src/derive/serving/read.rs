//! Reading the general tables for the serving build: one data file at a time, students as
//! 64-bit numbers, typed columns, and the build's timing and memory steps.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use polars::prelude::*;

use super::accum::{Calendar, Sets};
use crate::derive::DeriveError;
use crate::lake::delta::{self, TableState};
use crate::lake::{Lake, TableRef, scan};

/// Students become 64-bit hashes of their pseudonyms: equal pseudonyms give equal numbers, and
/// with ~10^5 students per lake a collision is about as likely as one in 10^9.
pub(super) fn student_key(pseudonym: &str) -> Expr {
    col(pseudonym)
        .hash(0x6564_6c61_6b65, 0x7365_7276, 0x0069_6e67, 0x0001)
        .alias("sid")
}

/// Each table's data files (by table id) a build has already read.
pub(super) type Done = HashMap<String, HashSet<String>>;

/// Reads each data file of table `t` not in `done` with `read` (as many files at a time as
/// the machine has cores: one file's query is too small to keep them busy) and hands the
/// results to `fold` one by one in the table's file order, while the next files are read;
/// `false` when the lake has no such table. Only a few results are held at a time.
pub(super) fn each_file<T: Send>(
    lake: &Lake,
    t: &TableRef,
    done: &Done,
    read: impl Fn(LazyFrame) -> Result<T, DeriveError> + Sync,
    mut fold: impl FnMut(T) -> Result<(), DeriveError>,
) -> Result<bool, DeriveError> {
    let dir = lake.table_dir(t);
    let Some(state) = delta::read_state(&dir)? else {
        return Ok(false);
    };
    let sites = crate::derive::sites::SiteMap::load(lake)?;
    let skip = done.get(&t.id());
    let todo: Vec<_> = (state.files.iter())
        .filter(|f| !skip.is_some_and(|s| s.contains(&f.path)))
        .collect();
    // Later files are read while earlier ones are folded: taking turns left both cores half
    // idle (1.1 of 2 cores busy on a from-scratch build).
    let ahead = std::thread::available_parallelism().map_or(2, |n| n.get()) + 1;
    let read_one = |file: &&crate::lake::delta::DataFile| {
        let one = TableState {
            files: vec![(*file).clone()],
            ..state.clone()
        };
        read(sites.apply(t, scan::lazy(&dir, &one)?))
    };
    crate::pipeline::ordered_map(&todo, ahead, read_one, |r| fold(r?))
        .map_err(|_| DeriveError::WorkerPanicked)??;
    Ok(true)
}

pub(super) fn sids(df: &DataFrame) -> PolarsResult<UInt64Chunked> {
    Ok(df.column("sid")?.u64()?.clone())
}

pub(super) fn days(df: &DataFrame, c: &str) -> PolarsResult<Int32Chunked> {
    Ok(df.column(c)?.cast(&DataType::Int32)?.i32()?.clone())
}

pub(super) fn strs(df: &DataFrame, c: &str) -> PolarsResult<StringChunked> {
    Ok(df.column(c)?.str()?.clone())
}

/// Adds each (sid, day) row of `df` to the single-key sets.
pub(super) fn add_days(sets: &mut Sets, cal: &Calendar, df: &DataFrame) -> PolarsResult<()> {
    for (sid, day) in sids(df)?.iter().zip(days(df, "day")?.iter()) {
        if let (Some(sid), Some(bit)) = (sid, day.and_then(|d| cal.bit(d))) {
            sets.add(0, 0, sid, bit);
        }
    }
    Ok(())
}

/// Re-aggregates per-file partial sums.
pub(super) fn sum_parts(
    parts: Vec<DataFrame>,
    by: &[&str],
    sums: &[&str],
) -> PolarsResult<DataFrame> {
    let lfs: Vec<LazyFrame> = parts.into_iter().map(|d| d.lazy()).collect();
    concat(lfs, UnionArgs::default())?
        .group_by(by.iter().map(|c| col(*c)).collect::<Vec<_>>())
        .agg(sums.iter().map(|c| col(*c).sum()).collect::<Vec<_>>())
        .sort(by.to_vec(), SortMultipleOptions::default())
        .collect()
}

/// Timings and peak memory of each step, for `edlake stage3` and the benchmark.
pub(super) struct Steps {
    pub(super) t: Instant,
    pub(super) done: Vec<(String, f64, Option<u64>)>,
}

impl Steps {
    pub(super) fn new() -> Self {
        Steps {
            t: Instant::now(),
            done: Vec::new(),
        }
    }

    /// The steps so far, leaving none (the clock keeps running).
    pub(super) fn take(&mut self) -> Steps {
        Steps {
            t: self.t,
            done: std::mem::take(&mut self.done),
        }
    }

    pub(super) fn mark(&mut self, what: &str) {
        let mb = crate::progress::peak_rss().map(|b| b / (1 << 20));
        self.done
            .push((what.to_string(), self.t.elapsed().as_secs_f64(), mb));
        self.t = Instant::now();
    }
}
