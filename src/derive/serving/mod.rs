//! Serving data: compact pre-aggregates the charts read instead of the general tables, so each
//! aggregate answers in well under a second on a district year (tens of millions of rows).
//!
//! Distinct-student counts over any date range cannot be summed from daily counts, so besides
//! per-day sums the serving data keeps, per (group, student), a *day set*: one bit per date of
//! the lake's calendar. A date range is then a bit mask, and "did this student do X in the range"
//! is an AND. Students are 64-bit hashes of their pseudonyms here (no pseudonym is stored: the
//! stage3 hybrid table gets its student column in memory, see `build::build_with_students`).
//! That is still per-student data: the files are as protected as the general tables.
//!
//! The serving data lives under `_edlake/serving/<build>/` as Parquet files; `current.json`
//! names the build and the versions of the general tables it was built from. A build that does
//! not match the tables' current versions is ignored, and the aggregates are computed directly
//! from the general tables instead (same results, just slower).

pub mod accum;
pub mod build;
mod clever;
mod counts;
mod hybrid;
mod read;
mod resume;
mod state;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::{DeriveError, tables};
use crate::lake::{Lake, LakeError, TableRef};

/// Bumped whenever the layout of the serving files changes (older builds are then ignored).
const FORMAT: u32 = 6;
/// Serving files stay in the OS cache once durable: the charts read them next.
const KEEP: crate::lake::settle::Cache = crate::lake::settle::Cache::Keep;

/// The general tables the serving data is derived from.
fn inputs() -> Vec<TableRef> {
    vec![
        tables::clever_dp(),
        tables::clever_ru(),
        tables::activity(),
        tables::organization(),
        tables::section(),
        tables::attendance(),
        tables::students(),
        super::identity::map_table(),
    ]
}

/// Each input table's current version (`-1` when the lake does not have it).
fn input_versions(lake: &Lake) -> Result<BTreeMap<String, i64>, LakeError> {
    let mut out = BTreeMap::new();
    for t in inputs() {
        let v = crate::lake::delta::read_state(&lake.table_dir(&t))?.map_or(-1, |s| s.version);
        out.insert(t.id(), v);
    }
    // The present codes decide the attendance sets: other codes, another build.
    let codes = super::attendance::PresentCodes::load(lake)?.codes.join(",");
    out.insert(format!("attendance present codes: {codes}"), 0);
    // The school mapping decides the names: another mapping, another build.
    let sites = super::sites::SiteMap::load(lake)?.fingerprint();
    out.insert(format!("school mapping: {sites}"), 0);
    Ok(out)
}

/// What `current.json` records about a build.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Manifest {
    format: u32,
    /// Folder name of the build under `_edlake/serving/`.
    build: String,
    inputs: BTreeMap<String, i64>,
    /// The dates bit `i` of every day set stands for, ascending.
    calendar: Vec<NaiveDate>,
    /// Parts written (file stem → rows).
    parts: BTreeMap<String, u64>,
    /// What the build read, when it saved its accumulators (`state/`) for the next build to
    /// continue from.
    #[serde(default)]
    resume: Option<resume::Read>,
}

/// A loaded, up-to-date serving build; parts are read on demand.
#[derive(Debug, Clone)]
pub struct Serving {
    dir: PathBuf,
    manifest: Manifest,
}

fn root(lake: &Lake) -> PathBuf {
    lake.meta_dir().join("serving")
}

impl Serving {
    /// The current build, when there is one and it matches the lake's tables.
    pub fn load(lake: &Lake) -> Option<Serving> {
        let text = std::fs::read_to_string(root(lake).join("current.json")).ok()?;
        let manifest: Manifest = serde_json::from_str(&text).ok()?;
        if manifest.format != FORMAT || input_versions(lake).ok()? != manifest.inputs {
            return None;
        }
        Some(Serving {
            dir: root(lake).join(&manifest.build),
            manifest,
        })
    }

    /// The names of the build's parts.
    pub fn part_names(&self) -> Vec<String> {
        self.manifest.parts.keys().cloned().collect()
    }

    /// The calendar the day sets index.
    pub fn calendar(&self) -> &[NaiveDate] {
        &self.manifest.calendar
    }

    /// Words per day set.
    pub fn words(&self) -> usize {
        words_for(self.manifest.calendar.len())
    }

    /// A part, or `None` when the build has none (its source table was missing).
    pub fn part(&self, name: &str) -> Result<Option<DataFrame>, DeriveError> {
        if !self.manifest.parts.contains_key(name) {
            return Ok(None);
        }
        let path = self.dir.join(format!("{name}.parquet"));
        let f = std::fs::File::open(&path).map_err(|e| LakeError::io(&path, e))?;
        Ok(Some(ParquetReader::new(f).finish()?))
    }

    /// The bit mask of the calendar dates within `[from, to]`.
    pub fn range_mask(&self, from: Option<NaiveDate>, to: Option<NaiveDate>) -> Vec<u64> {
        let mut m = vec![0u64; self.words()];
        for (i, d) in self.manifest.calendar.iter().enumerate() {
            if from.is_none_or(|f| *d >= f) && to.is_none_or(|t| *d <= t) {
                m[i / 64] |= 1 << (i % 64);
            }
        }
        m
    }
}

/// 64-bit words needed for `days` bits (at least one, so frames always have a word column).
pub fn words_for(days: usize) -> usize {
    days.div_ceil(64).max(1)
}

/// Column name of word `i` of the day set `set`.
pub fn word_col(set: &str, i: usize) -> String {
    format!("{set}_w{i}")
}

/// Reads the day sets `set` of a part as one flat vector (`words` per row).
pub fn read_sets(df: &DataFrame, set: &str, words: usize) -> PolarsResult<Vec<u64>> {
    let n = df.height();
    let mut out = vec![0u64; n * words];
    for w in 0..words {
        let c = df.column(&word_col(set, w))?.u64()?.clone();
        for (r, v) in c.iter().enumerate() {
            out[r * words + w] = v.unwrap_or(0);
        }
    }
    Ok(out)
}

/// [`read_sets`], or `None` when the part has no such sets (a source the lake lacks).
pub fn read_optional_sets(
    df: &DataFrame,
    set: &str,
    words: usize,
) -> PolarsResult<Option<Vec<u64>>> {
    if df.column(&word_col(set, 0)).is_ok() {
        Ok(Some(read_sets(df, set, words)?))
    } else {
        Ok(None)
    }
}

/// Whether two day sets share a day.
pub fn intersects(a: &[u64], b: &[u64]) -> bool {
    a.iter().zip(b).any(|(x, y)| x & y != 0)
}

/// Days in `a ∩ b`.
pub fn count_common(a: &[u64], b: &[u64]) -> u32 {
    a.iter().zip(b).map(|(x, y)| (x & y).count_ones()).sum()
}

/// Writes a build's parts and accumulators (`folds`, having read `read`) and then,
/// atomically, `current.json`; older builds are removed.
fn publish(
    lake: &Lake,
    calendar: Vec<NaiveDate>,
    parts: Vec<(&str, DataFrame)>,
    folds: &state::Folds,
    read: resume::Read,
) -> Result<u64, DeriveError> {
    let inputs = input_versions(lake)?;
    let build = uuid::Uuid::new_v4().simple().to_string();
    let dir = root(lake).join(&build);
    std::fs::create_dir_all(&dir).map_err(|e| LakeError::io(&dir, e))?;
    let mut written = BTreeMap::new();
    let mut bytes = 0;
    for (name, mut df) in parts {
        let path = dir.join(format!("{name}.parquet"));
        bytes +=
            crate::lake::write_buffered(&path, KEEP, |w| ParquetWriter::new(w).finish(&mut df))?;
        written.insert(name.to_string(), df.height() as u64);
    }
    bytes += folds.save(&dir.join("state"))?;
    // Durable before `current.json` names the build (see `lake::settle`).
    crate::lake::settle::wait_for(&dir)?;
    let manifest = Manifest {
        format: FORMAT,
        build: build.clone(),
        inputs,
        calendar,
        parts: written,
        resume: Some(read),
    };
    let text = serde_json::to_vec_pretty(&manifest).map_err(|e| DeriveError::Missing {
        metric: "serving data".into(),
        table: "current.json".into(),
        hint: e.to_string(),
    })?;
    crate::lake::write_atomic(&root(lake).join("current.json"), &text)?;
    remove_old_builds(&root(lake), &build);
    Ok(bytes)
}

/// Best effort: a reader still holding an old build simply falls back to direct queries.
fn remove_old_builds(root: &Path, keep: &str) {
    let Ok(rd) = std::fs::read_dir(root) else {
        return;
    };
    for e in rd.flatten() {
        if e.path().is_dir() && e.file_name().to_string_lossy() != keep {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// Per school-day sums of Clever daily participation rows: `students`, `active_students`,
/// `logins`, `resources` (shared by the direct queries and the serving data).
pub fn clever_day_sums() -> Vec<Expr> {
    let sum = |c: &str, name: &str| col(c).cast(DataType::Int64).sum().alias(name);
    vec![
        // Clever's report has one row per student and day: count rows rather than hashing
        // 64-character pseudonyms.
        len().cast(DataType::Int64).alias("students"),
        sum("active", "active_students"),
        sum("num_logins", "logins"),
        sum("num_resources_accessed", "resources"),
    ]
}

/// Which activity type (signal group) an Insights event belongs to: Reflect and Reading
/// Progress are their own types, as in Insights' own reports.
pub fn signal_group() -> Expr {
    when(col("AppName").eq(lit("Assignments")))
        .then(lit("Assignments"))
        .when(col("AppName").eq(lit("OneNote")))
        .then(lit("OneNote"))
        .when(col("AppName").str().starts_with(lit("Reading")))
        .then(lit("Reading Progress"))
        .when(col("AppName").str().starts_with(lit("Reflect")))
        .then(lit("Reflect"))
        .when(col("SignalType").str().starts_with(lit("File")))
        .then(lit("File activity"))
        .when(col("AppName").str().starts_with(lit("Teams")))
        .then(lit("Teams visits"))
        .otherwise(lit("Other"))
}

/// Per-student rows (as the direct query's `per_student`, with the student's serving number
/// `sid` instead of a pseudonym, which the serving data does not hold) from the hybrid day
/// sets; `None` when the build has no attendance.
pub fn per_student(
    s: &Serving,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    school: Option<&str>,
) -> Result<Option<LazyFrame>, DeriveError> {
    let Some(h) = s.part("hybrid")? else {
        return Ok(None);
    };
    let words = s.words();
    let mask = s.range_mask(from, to);
    let enrolled = read_sets(&h, "enrolled", words)?;
    let present = read_sets(&h, "present", words)?;
    let clever = read_optional_sets(&h, "clever", words)?;
    let insights = read_optional_sets(&h, "insights", words)?;
    let n = h.height();
    let (mut keep, mut days, mut in_person) = (Vec::new(), Vec::new(), Vec::new());
    let (mut rc, mut ri) = (Vec::new(), Vec::new());
    for r in 0..n {
        let span = r * words..(r + 1) * words;
        let mut m: Vec<u64> = enrolled[span.clone()].to_vec();
        m.iter_mut().zip(&mask).for_each(|(a, b)| *a &= b);
        let sd = m.iter().map(|w| w.count_ones()).sum::<u32>();
        keep.push(sd > 0);
        if sd == 0 {
            continue;
        }
        let rate = |set: &Option<Vec<u64>>| {
            set.as_ref()
                .map(|v| f64::from(count_common(&v[span.clone()], &m)) / f64::from(sd))
        };
        days.push(i64::from(sd));
        in_person.push(f64::from(count_common(&present[span.clone()], &m)) / f64::from(sd));
        rc.push(rate(&clever));
        ri.push(rate(&insights));
    }
    let keep = BooleanChunked::from_slice("keep".into(), &keep);
    let mut df = h.select(["sid", "school", "grade"])?.filter(&keep)?;
    df.with_column(Column::new("school_days".into(), days))?;
    df.with_column(Column::new("in_person_rate".into(), in_person))?;
    df.with_column(Column::new("digital_rate_clever".into(), rc))?;
    df.with_column(Column::new("digital_rate_insights".into(), ri))?;
    let mut lf = df.lazy();
    if let Some(school) = school {
        lf = lf.filter(col("school").eq(lit(school.to_string())));
    }
    Ok(Some(lf))
}
