//! The stage3 tables: the unified digital activity table (OEA Digital Engagement Schema) and
//! the per-student hybrid engagement table, rebuilt after every ingest, plus the serving data
//! behind the charts.
//!
//! The digital activity table is as large as all activity together (tens of millions of rows
//! for a district year), so it is written one input file at a time: memory stays at the size of
//! one file, and the new version becomes visible in a single commit.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::time::Instant;

use polars::prelude::*;

use super::{DeriveError, tables};
use crate::lake::delta::{self, CommitKind, DataFile, NewFile, TableState};
use crate::lake::schema::TableSchema;
use crate::lake::{Lake, Layer, TableRef, scan};
use crate::pipeline::merge;
use crate::progress::{Cancel, Event, Progress, Stage};

/// The unified digital activity table.
pub fn digital_activity_table() -> TableRef {
    TableRef::new(Layer::Stage3, "engagement", "v1.0", "digital_activity")
}

/// The per-student hybrid engagement table.
pub fn hybrid_table() -> TableRef {
    TableRef::new(Layer::Stage3, "engagement", "v1.0", "hybrid_engagement")
}

fn ts() -> DataType {
    DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC))
}

/// The event's day as `YYYYMMDD`. Rows of one file mostly share their day (a Clever file is
/// one school day), so the text is worked out once per run of equal days: per row, three
/// calendar conversions and a number-to-text cast took a tenth of stage3's CPU (and chrono's
/// strftime on each row, before that, a fifth).
fn day_digits() -> Expr {
    col("date").map(
        |c| {
            let days = c.cast(&DataType::Int32)?;
            let mut out = StringChunkedBuilder::new(c.name().clone(), days.len());
            let mut last: Option<(i32, Option<String>)> = None;
            for d in days.i32()?.iter() {
                let text = d.and_then(|d| {
                    if last.as_ref().is_none_or(|(at, _)| *at != d) {
                        let digits = (d.checked_add(EPOCH_CE_DAYS))
                            .and_then(chrono::NaiveDate::from_num_days_from_ce_opt)
                            .map(|day| day.format("%Y%m%d").to_string());
                        last = Some((d, digits));
                    }
                    last.as_ref().and_then(|(_, t)| t.as_deref())
                });
                match text {
                    Some(t) => out.append_value(t),
                    None => out.append_null(),
                }
            }
            Ok(out.finish().into_column())
        },
        |_, f| Ok(Field::new(f.name().clone(), DataType::String)),
    )
}

/// chrono's day number (0001-01-01 is day 1) of 1970-01-01, a polars date's day 0.
const EPOCH_CE_DAYS: i32 = 719_163;

/// The first 16 hex digits (64 bits) of a pseudonym: enough to tell a district's students apart
/// in an event id (two of a million students share them with a chance of about 3 in 10^8), at a
/// quarter of the bytes. Event ids are unique per row, so no Parquet encoding shares them: the
/// full pseudonym made them the largest column of the lake (85 bytes a row).
fn short_pseudonym(c: &str) -> Expr {
    col(c).str().slice(lit(0), lit(16))
}

/// Clever daily participation as digital activity events.
fn from_daily_participation(dp: LazyFrame) -> LazyFrame {
    let ts = ts();
    dp.select([
        concat_str(
            [
                lit("clever-dp-"),
                day_digits(),
                lit("-"),
                short_pseudonym("sis_id_pseudonym"),
            ],
            "",
            true,
        )
        .alias("event_id"),
        lit("daily_participation")
            .cast(DataType::String)
            .alias("event_type"),
        col("sis_id_pseudonym")
            .cast(DataType::String)
            .alias("actor_id"),
        col("clever_school_id")
            .cast(DataType::String)
            .alias("object_id"),
        col("date")
            .dt()
            .timestamp(TimeUnit::Microseconds)
            .cast(ts.clone())
            .alias("event_time"),
        lit("Clever").cast(DataType::String).alias("app"),
        lit(NULL).cast(DataType::Int64).alias("time_on_task"),
        col("num_logins").cast(DataType::Int64).alias("num_access"),
        col("active").cast(DataType::Boolean).alias("used"),
        lit("clever").cast(DataType::String).alias("source"),
    ])
}

/// Clever resource usage as digital activity events.
fn from_resource_usage(ru: LazyFrame) -> LazyFrame {
    let ts = ts();
    ru.select([
        concat_str(
            [
                lit("clever-ru-"),
                day_digits(),
                lit("-"),
                col("resource_id"),
                lit("-"),
                short_pseudonym("sis_id_pseudonym"),
            ],
            "",
            true,
        )
        .alias("event_id"),
        lit("resource_usage")
            .cast(DataType::String)
            .alias("event_type"),
        col("sis_id_pseudonym")
            .cast(DataType::String)
            .alias("actor_id"),
        col("resource_id").cast(DataType::String).alias("object_id"),
        col("date")
            .dt()
            .timestamp(TimeUnit::Microseconds)
            .cast(ts.clone())
            .alias("event_time"),
        col("resource_name").cast(DataType::String).alias("app"),
        lit(NULL).cast(DataType::Int64).alias("time_on_task"),
        col("num_access").cast(DataType::Int64).alias("num_access"),
        lit(true).cast(DataType::Boolean).alias("used"),
        lit("clever").cast(DataType::String).alias("source"),
    ])
}

/// Insights activity signals as digital activity events.
fn from_insights(act: LazyFrame) -> LazyFrame {
    let ts = ts();
    let names = act.clone().collect_schema().ok();
    let duration = ["MeetingDuration", "Meeting_Duration"]
        .into_iter()
        .find(|n| names.as_ref().is_some_and(|s| s.get(n).is_some()))
        .map(|n| col(n).cast(DataType::Int64))
        .unwrap_or_else(|| lit(NULL).cast(DataType::Int64));
    act.select([
        col("SignalId").cast(DataType::String).alias("event_id"),
        col("SignalType").cast(DataType::String).alias("event_type"),
        col("ActorId_pseudonym")
            .cast(DataType::String)
            .alias("actor_id"),
        col("ClassId").cast(DataType::String).alias("object_id"),
        col("StartTime")
            .dt()
            .timestamp(TimeUnit::Microseconds)
            .cast(ts.clone())
            .alias("event_time"),
        col("AppName").cast(DataType::String).alias("app"),
        duration.alias("time_on_task"),
        lit(1i64).cast(DataType::Int64).alias("num_access"),
        lit(true).cast(DataType::Boolean).alias("used"),
        lit("insights").cast(DataType::String).alias("source"),
    ])
}

/// What a stage3 rebuild wrote.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Stage3Report {
    pub digital_activity_rows: Option<u64>,
    pub hybrid_students: Option<u64>,
    /// The charts' pre-aggregates (see [`super::serving`]).
    pub serving: Option<super::serving::build::ServingReport>,
    /// Seconds each step took, in order.
    pub steps: Vec<(String, f64)>,
    /// Seconds the whole rebuild took.
    pub seconds: f64,
}

fn write_error(t: &TableRef, e: impl std::fmt::Display) -> DeriveError {
    DeriveError::Missing {
        metric: "stage3".into(),
        table: t.id(),
        hint: e.to_string(),
    }
}

/// Which output file holds each input file's events (and for which table version), so that a
/// rebuild maps only the input files that are new since the last one.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct ActivityFiles {
    version: i64,
    /// `<input table id>/<input file path>` → output file path.
    files: BTreeMap<String, String>,
}

fn activity_files_path(lake: &Lake) -> std::path::PathBuf {
    lake.meta_dir().join("stage3").join("digital_activity.json")
}

/// Brings the digital activity table up to date with every source the lake holds, mapping only
/// input files it has not mapped before and dropping events of input files that are gone;
/// `None` when the lake holds no activity source.
fn write_digital_activity(lake: &Lake) -> Result<Option<u64>, DeriveError> {
    type Mapping = fn(LazyFrame) -> LazyFrame;
    let sources: [(TableRef, Mapping); 3] = [
        (tables::clever_dp(), from_daily_participation),
        (tables::clever_ru(), from_resource_usage),
        (tables::activity(), from_insights),
    ];
    let out = digital_activity_table();
    let out_dir = lake.table_dir(&out);
    let previous = delta::read_state(&out_dir)?;
    let live: HashSet<String> = previous
        .iter()
        .flat_map(|p| p.files.iter().map(|f| f.path.clone()))
        .collect();
    // A map written for another version than the table's is not trusted: map everything again.
    let known = std::fs::read(activity_files_path(lake))
        .ok()
        .and_then(|b| serde_json::from_slice::<ActivityFiles>(&b).ok())
        .filter(|m| previous.as_ref().is_some_and(|p| p.version == m.version))
        .unwrap_or_default();
    let mut map = BTreeMap::new();
    let mut kept = HashSet::new();
    let mut any = false;
    // Files not mapped before: (key, table id, table folder, the file alone, mapping).
    let mut todo: Vec<(String, String, PathBuf, TableState, Mapping)> = Vec::new();
    for (t, to_events) in sources {
        let dir = lake.table_dir(&t);
        let Some(state) = delta::read_state(&dir)? else {
            continue;
        };
        any = true;
        for f in &state.files {
            let key = format!("{}/{}", t.id(), f.path);
            if let Some(done) = known.files.get(&key).filter(|p| live.contains(*p)) {
                kept.insert(done.clone());
                map.insert(key, done.clone());
                continue;
            }
            let one = TableState {
                files: vec![DataFile::clone(f)],
                ..state.clone()
            };
            todo.push((key, t.id(), dir.clone(), one, to_events));
        }
    }
    // One file per core at a time: a single file's query leaves the other core idle.
    // Each source's events are a kind of file of their own: their columns repeat differently.
    let written = crate::pipeline::parallel_map(&todo, |(_, id, dir, one, to_events)| {
        let mut df = to_events(scan::lazy(dir, one)?).collect()?;
        Ok::<_, DeriveError>(delta::write_file_of(&out_dir, &mut df, &[], id)?)
    })
    .map_err(|_| DeriveError::WorkerPanicked)?;
    let mut files: Vec<NewFile> = Vec::with_capacity(written.len());
    for ((key, ..), new) in todo.iter().zip(written) {
        let new = new?;
        map.insert(key.clone(), new.path.clone());
        files.push(new);
    }
    if !any {
        return Ok(None);
    }
    let removed: HashSet<String> = live.difference(&kept).cloned().collect();
    if previous.is_none() || !files.is_empty() || !removed.is_empty() {
        let version = delta::commit_swap(&out_dir, &digital_activity_schema(), &files, &removed)?;
        let text = serde_json::to_vec(&ActivityFiles {
            version,
            files: map,
        })
        .map_err(|e| write_error(&out, e))?;
        crate::lake::write_atomic(&activity_files_path(lake), &text)?;
        delta::vacuum_derived(&out_dir, previous.as_ref())?;
    }
    Ok(delta::read_state(&out_dir)?.map(|s| s.rows().max(0) as u64))
}

/// The digital activity table's columns.
fn digital_activity_schema() -> TableSchema {
    use crate::lake::schema::{ColType, Column};
    let c = Column::new;
    TableSchema::new(vec![
        c("event_id", ColType::String),
        c("event_type", ColType::String),
        c("actor_id", ColType::String),
        c("object_id", ColType::String),
        c("event_time", ColType::Timestamp),
        c("app", ColType::String),
        c("time_on_task", ColType::Long),
        c("num_access", ColType::Long),
        c("used", ColType::Boolean),
        c("source", ColType::String),
    ])
}

/// Per-student rows keyed by serving number, with the student's pseudonym in its place (the
/// column order of the direct query).
fn with_pseudonyms(per_student: LazyFrame, ids: DataFrame) -> LazyFrame {
    let cols: Vec<Expr> = [
        "student",
        "school",
        "grade",
        "school_days",
        "in_person_rate",
    ]
    .into_iter()
    .chain(["digital_rate_clever", "digital_rate_insights"])
    .map(col)
    .collect();
    per_student
        .join(
            ids.lazy(),
            [col("sid")],
            [col("sid")],
            JoinArgs::new(JoinType::Left),
        )
        .select(cols)
}

pub(crate) fn replace(lake: &Lake, t: &TableRef, df: DataFrame) -> Result<u64, DeriveError> {
    let dir = lake.table_dir(t);
    let n = df.height() as u64;
    let schema = crate::lake::schema::schema_of(&df, &[]);
    let previous = delta::read_state(&dir)?;
    let files = merge::write_partitioned(&dir, df, &[]).map_err(|e| write_error(t, e))?;
    delta::commit(&dir, &schema, CommitKind::Overwrite, &files, &[])?;
    delta::vacuum_derived(&dir, previous.as_ref())?;
    Ok(n)
}

/// Rebuilds the stage3 tables and the serving data from the general tables (each table
/// replaced in one commit).
pub fn build_stage3(lake: &Lake) -> Result<Stage3Report, DeriveError> {
    build_stage3_with(lake, &Progress::default(), &Cancel::default())
}

/// The steps of a rebuild, as the progress of the `derive` stage counts them.
const STEPS: u64 = 4;

/// [`build_stage3`] reporting a `derive` stage to `progress`. `cancel` is honoured between steps:
/// each step replaces its table in one commit, and the lake stays marked out of date
/// ([`Lake::derived_stale`]) until the last one, so the next run finishes the rebuild.
pub fn build_stage3_with(
    lake: &Lake,
    progress: &Progress,
    cancel: &Cancel,
) -> Result<Stage3Report, DeriveError> {
    let _lock = lake.lock("rebuild stage3")?;
    let started = Instant::now();
    let stage = Stage::Derive;
    progress.send(Event::StageStarted {
        stage,
        files: STEPS,
        bytes: 0,
    });
    let step = |done: u64| -> Result<(), DeriveError> {
        progress.send(Event::Progress {
            stage,
            files_done: done,
            bytes_done: 0,
            rows_done: 0,
        });
        crate::progress::hold_point(lake, stage, cancel).map_err(|_| DeriveError::Cancelled)
    };
    step(0)?;
    let mut r = Stage3Report::default();
    let t = Instant::now();
    // Sources may have new students: match them to the roster first (a lake without a roster
    // has no identity map, and nothing changes).
    if super::identity::rebuild(lake, &super::identity::IdentityConfig::load(lake)?)?.is_some() {
        r.steps
            .push(("identity map".into(), t.elapsed().as_secs_f64()));
    }
    step(1)?;
    let t = Instant::now();
    r.digital_activity_rows = write_digital_activity(lake)?;
    r.steps
        .push(("digital activity".into(), t.elapsed().as_secs_f64()));
    step(2)?;
    let t = Instant::now();
    let (serving, student_ids) = super::serving::build::build_with_students(lake, &hybrid_table())?;
    r.serving = Some(serving);
    r.steps
        .push(("chart serving data".into(), t.elapsed().as_secs_f64()));
    step(3)?;
    // The hybrid table is the serving data's per-student view over all dates (the direct query
    // over the general tables, `metrics::engagement::per_student`, is the test oracle).
    let t = Instant::now();
    let per_student = match (super::serving::Serving::load(lake), student_ids) {
        (Some(s), Some(ids)) => {
            super::serving::per_student(&s, None, None, None)?.map(|lf| with_pseudonyms(lf, ids))
        }
        // Attendance was served, yet the build does not read back: never keep an old table.
        (None, Some(_)) => {
            return Err(DeriveError::Missing {
                metric: "hybrid engagement".into(),
                table: "chart serving data".into(),
                hint: "It was just built but does not read back; run the rebuild again.".into(),
            });
        }
        (_, None) => None,
    };
    if let Some(lf) = per_student {
        let df = lf.collect()?;
        r.hybrid_students = Some(replace(lake, &hybrid_table(), df)?);
        r.steps
            .push(("hybrid engagement".into(), t.elapsed().as_secs_f64()));
    }
    lake.clear_derived_stale()?;
    r.seconds = started.elapsed().as_secs_f64();
    progress.send(Event::Progress {
        stage,
        files_done: STEPS,
        bytes_done: 0,
        rows_done: 0,
    });
    progress.send(Event::StageFinished { stage });
    Ok(r)
}
