//! Ingest and refine: parse landed files into the Ingested table, pseudonymize them into the
//! Refined general and sensitive tables, and keep bad rows in quarantine. Each table changes
//! through one Delta commit that also records the batch ids, so a re-run finishes what a crash or
//! a cancel left and never duplicates rows.

use std::collections::HashSet;
use std::sync::atomic::Ordering;

use polars::prelude::*;

use super::merge::{self, general_keys, is_delete_batch, rewrite};
use super::report::{RowIssue, TableChange};
use super::{Cancel, Event, JobCtx, PipelineError, Progress, RunReport, Stage};
use crate::formats::dayorder::detect_day_order;
use crate::formats::parse::{BadRow, CsvSpec, quarantine_frame, read_csv};
use crate::formats::text_column;
use crate::formats::values::DayOrder;
use crate::lake::delta::{self, CommitKind, NewFile};
use crate::lake::manifest::{LandedFile, Manifest};
use crate::lake::schema::{TableSchema, schema_of};
use crate::lake::settle::{self, Cache};
use crate::lake::{Lake, Layer, TableRef};
use crate::modules::{BatchType, Entity, Module, Partitioning};
use crate::pseudo::{Hasher, LookupSeen, pseudonymize};

#[path = "ingest_commit.rs"]
mod commit;

/// Rows per chunk while reading a file: bounds memory for huge files.
const CHUNK_ROWS: usize = 1 << 20;
/// How many problem rows a report lists (all of them are in the quarantine table).
const MAX_ISSUES: usize = 50;

/// The four tables one entity writes.
struct Targets {
    ingested: TableRef,
    general: TableRef,
    lookup: Option<TableRef>,
    quarantine: TableRef,
}

impl Targets {
    fn new(module: &dyn Module, entity: &Entity) -> Self {
        let t = |layer| TableRef::new(layer, module.source(), module.version(), &entity.name);
        let general = t(Layer::General);
        let needs_lookup = entity
            .metadata
            .attributes
            .iter()
            .any(|a| matches!(a.op, crate::pseudo::Op::Hash | crate::pseudo::Op::Mask));
        Targets {
            ingested: t(Layer::Ingested),
            lookup: needs_lookup.then(|| general.lookup_of()),
            general,
            quarantine: t(Layer::Quarantine),
        }
    }
}

/// Which tables still need a batch.
#[derive(Debug, Clone, Copy)]
struct Needs {
    ingested: bool,
    general: bool,
    lookup: bool,
    quarantine: bool,
}

impl Needs {
    fn any(self) -> bool {
        self.ingested || self.general || self.lookup || self.quarantine
    }
}

/// What processing one landed file produced.
#[derive(Default)]
struct FileOut {
    /// Frames kept in memory instead of written (batch types that rewrite the table).
    ingested_frames: Vec<DataFrame>,
    general_frames: Vec<DataFrame>,
    ingested: Vec<NewFile>,
    ingested_schema: TableSchema,
    general: Vec<NewFile>,
    general_schema: TableSchema,
    /// New lookup rows of the file, until written as one data file at its end.
    lookup_frames: Vec<DataFrame>,
    /// Lookup rows with the entity's key columns, kept for the rewrite (upserted entities).
    lookup_keyed: Vec<DataFrame>,
    lookup: Vec<NewFile>,
    lookup_schema: TableSchema,
    bad: Vec<BadRow>,
    rows: u64,
    warnings: Vec<String>,
    /// How the file was read (for example its date order), for the report.
    notes: Vec<String>,
}

/// Shared state of one entity's processing.
struct EntityRun<'a> {
    lake: &'a Lake,
    module: &'a dyn Module,
    entity: &'a Entity,
    targets: Targets,
    hasher: &'a Hasher,
    lookup_seen: LookupSeen,
    /// Delta and delete batches rewrite the table: keep frames, write after merging.
    rewrite: bool,
    cancel: &'a Cancel,
    progress: &'a Progress,
    done: &'a super::Counters,
}

impl EntityRun<'_> {
    fn partition_columns(&self) -> Vec<String> {
        match &self.entity.partitioning {
            Partitioning::None => Vec::new(),
            Partitioning::YearMonth { .. } => vec!["year".into(), "month".into()],
            Partitioning::Columns(c) => c.clone(),
        }
    }

    fn with_partitions(&self, df: DataFrame) -> PolarsResult<DataFrame> {
        match &self.entity.partitioning {
            Partitioning::None | Partitioning::Columns(_) => Ok(df),
            Partitioning::YearMonth { from } => df
                .lazy()
                .with_columns([
                    col(from.as_str())
                        .dt()
                        .year()
                        .cast(DataType::Int32)
                        .alias("year"),
                    col(from.as_str())
                        .dt()
                        .month()
                        .cast(DataType::Int32)
                        .alias("month"),
                ])
                .collect(),
        }
    }

    fn process(&self, b: &LandedFile, needs: Needs) -> Result<FileOut, PipelineError> {
        super::injected_fault(&b.origin_path);
        let path = self.lake.root().join(&b.stage1_path);
        let size = std::fs::metadata(&path)
            .map_err(|e| PipelineError::io(&path, e))?
            .len();
        if size != b.size {
            return Err(PipelineError::Input(format!(
                "the landed copy {} has {size} bytes, {} were landed: it was damaged after landing. \
                 Delete it and remove its entry from _edlake/manifest.json to land it again.",
                path.display(),
                b.size
            )));
        }
        let constants = self.module.constants(self.entity, &b.sub_path);
        let mut spec = CsvSpec {
            fields: &self.entity.fields,
            what: &self.entity.what,
            order: self.entity.day_order,
            chunk_rows: CHUNK_ROWS,
            headerless: self.entity.headerless,
            layouts: &self.entity.layouts,
        };
        let mut out = FileOut::default();
        if spec.order == DayOrder::Auto {
            let d = detect_day_order(&path, &b.origin_path, &spec, DayOrder::MonthFirst)?;
            spec.order = d.order;
            if !d.reason.is_empty() {
                out.notes.push(d.reason);
            }
        }
        let summary =
            read_csv::<PipelineError>(&path, &b.origin_path, &spec, self.cancel, &mut |df| {
                self.chunk(df, b, needs, &constants, &mut out)
            })?;
        // The landed copy is read once: made durable (its batch commits only then, see
        // `commit_outputs`) and its pages freed for the files written next.
        let f = std::fs::File::open(&path).map_err(|e| PipelineError::io(&path, e))?;
        settle::later(&path, f, Cache::Drop);
        self.flush_lookup(&mut out)?;
        out.bad = summary.bad;
        out.warnings.extend(summary.warnings);
        out.warnings.dedup();
        let files = self.done.files.fetch_add(1, Ordering::Relaxed) + 1;
        let bytes = self.done.bytes.fetch_add(b.size, Ordering::Relaxed) + b.size;
        for stage in [Stage::Ingest, Stage::Refine] {
            self.progress.send(Event::Progress {
                stage,
                files_done: files,
                bytes_done: bytes,
                rows_done: self.done.rows.load(Ordering::Relaxed),
            });
        }
        Ok(out)
    }

    /// Pseudonymizes one chunk of a file's rows and writes (or, for upserted entities, keeps)
    /// its Ingested, general and lookup parts.
    fn chunk(
        &self,
        mut df: DataFrame,
        b: &LandedFile,
        needs: Needs,
        constants: &[(String, Option<String>)],
        out: &mut FileOut,
    ) -> Result<(), PipelineError> {
        self.cancel.check()?;
        let n = df.height();
        for (name, value) in constants {
            df.with_column(text_column(name, value.as_deref(), n))?;
        }
        if needs.ingested {
            let mut ing = df.clone();
            // Parquet (and Spark) want names without spaces and `,;{}()=`, as OEA writes them.
            let fixed: Vec<String> = ing
                .get_column_names()
                .iter()
                .map(|n| crate::lake::schema::fix_column_name(n))
                .collect();
            ing.set_column_names(&fixed)?;
            ing.with_column(text_column("rundate", Some(&b.rundate), n))?;
            out.ingested_schema = out.ingested_schema.merged_with(&schema_of(&ing, &[]));
            if self.rewrite {
                out.ingested_frames.push(ing);
            } else {
                let ing_dir = self.lake.table_dir(&self.targets.ingested);
                out.ingested
                    .push(delta::write_file(&ing_dir, &mut ing, &[])?);
            }
        }
        if needs.general || needs.lookup {
            let df = self.with_partitions(df)?;
            let p = pseudonymize(&df, &self.entity.metadata, self.hasher, &[])?;
            if let (true, Some(l)) = (needs.lookup, &p.lookup) {
                if self.rewrite {
                    // Upserted entities: the lookup follows the general table's keys, so a
                    // corrected value replaces the old one instead of joining beside it.
                    let l = with_key_columns(l, &p.general, &general_keys(self.entity))?;
                    out.lookup_schema = out.lookup_schema.merged_with(&schema_of(&l, &[]));
                    out.lookup_keyed.push(l);
                } else {
                    let l = self.lookup_seen.keep_new(l)?;
                    if l.height() > 0 {
                        out.lookup_frames.push(l);
                    }
                }
            }
            if needs.general {
                let parts = self.partition_columns();
                out.general_schema = out
                    .general_schema
                    .merged_with(&schema_of(&p.general, &parts));
                if self.rewrite {
                    out.general_frames.push(p.general);
                } else {
                    let dir = self.lake.table_dir(&self.targets.general);
                    out.general
                        .extend(merge::write_partitioned(&dir, p.general, &parts)?);
                }
            }
            if !p.dropped.is_empty() {
                out.warnings.push(format!(
                "{}: column{} {} not in the pseudonymization metadata, so kept out of the general table",
                b.origin_path,
                if p.dropped.len() > 1 { "s" } else { "" },
                p.dropped.join(", ")
            ));
            }
        }
        out.rows += n as u64;
        let rows = self.done.rows.fetch_add(n as u64, Ordering::Relaxed) + n as u64;
        for stage in [Stage::Ingest, Stage::Refine] {
            self.progress.send(Event::Progress {
                stage,
                files_done: self.done.files.load(Ordering::Relaxed),
                bytes_done: self.done.bytes.load(Ordering::Relaxed),
                rows_done: rows,
            });
        }
        Ok(())
    }

    /// Writes the file's new id mappings.
    fn flush_lookup(&self, out: &mut FileOut) -> Result<(), PipelineError> {
        // The file's new mappings go to disk now, not at the commit: a lookup with a row per
        // record (attendance ids) would otherwise hold a year of ids in memory.
        if let (Some(t), Some(first)) = (&self.targets.lookup, out.lookup_frames.first()) {
            let mut all = first.clone();
            for f in &out.lookup_frames[1..] {
                all.vstack_mut(f)?;
            }
            out.lookup_frames.clear();
            out.lookup_schema = schema_of(&all, &[]);
            out.lookup
                .push(delta::write_file(&self.lake.table_dir(t), &mut all, &[])?);
        }
        Ok(())
    }
}

/// A lookup frame with the general table's key columns it lacks (a no-op key, or the pseudonym of
/// a hash-no-lookup key), taken from the general frame of the same rows.
fn with_key_columns(
    lookup: &DataFrame,
    general: &DataFrame,
    keys: &[String],
) -> PolarsResult<DataFrame> {
    let mut out = lookup.clone();
    for k in keys {
        if out.column(k).is_err() {
            out.with_column(general.column(k)?.clone())?;
        }
    }
    Ok(out)
}

/// Ingests and refines every landed, not yet ingested batch of one entity.
pub fn ingest_entity(
    ctx: JobCtx,
    entity: &Entity,
    manifest: &mut Manifest,
    hasher: &Hasher,
    report: &mut RunReport,
) -> Result<(), PipelineError> {
    let (lake, module, progress, cancel) = (ctx.lake, ctx.module, ctx.progress, ctx.cancel);
    let Some((pending, superseded)) = pending_batches(manifest, module.source(), entity)? else {
        return Ok(());
    };
    let targets = Targets::new(module, entity);
    let work = work_list(lake, &targets, &pending)?;

    let rewrite = matches!(entity.batch, BatchType::Delta | BatchType::Delete);
    let lookup_seen = LookupSeen::default();
    if let Some(t) = &targets.lookup
        && !rewrite
        && work.iter().any(|(_, n)| n.lookup)
        && delta::is_table(&lake.table_dir(t))
    {
        lookup_seen.seed(&delta::read_table(&lake.table_dir(t), None)?)?;
    }
    let run = EntityRun {
        lake,
        module,
        entity,
        targets,
        hasher,
        lookup_seen,
        rewrite,
        cancel,
        progress,
        done: ctx.done,
    };
    progress.log(format!(
        "{}: {} batch(es) to ingest and refine",
        entity.name,
        work.len()
    ));
    let t = std::time::Instant::now();
    let outs: Vec<FileOut> = super::parallel_map(&work, |(f, n)| run.process(f, *n))?
        .into_iter()
        .collect::<Result<_, _>>()?;
    cancel.check()?;
    progress.log(format!(
        "{}: files processed in {:.2} s",
        entity.name,
        t.elapsed().as_secs_f64()
    ));

    let bad = commit::commit_outputs(&run, &work, &outs, report)?;
    commit::record(progress, report, &outs, &bad);
    let finished: HashSet<String> = pending
        .iter()
        .chain(&superseded)
        .map(LandedFile::batch_id)
        .collect();
    for f in manifest.landed.iter_mut() {
        if f.source == module.source()
            && f.entity == entity.name
            && finished.contains(&f.batch_id())
        {
            f.ingested = true;
        }
    }
    manifest.save(lake)?;
    Ok(())
}

/// The landed batches of `entity` not ingested yet (each file once), oldest first, and those a
/// newer snapshot replaces; `None` when there is nothing to do.
type Pending = (Vec<LandedFile>, Vec<LandedFile>);
fn pending_batches(
    manifest: &Manifest,
    source: &str,
    entity: &Entity,
) -> Result<Option<Pending>, PipelineError> {
    let mut pending: Vec<LandedFile> = Vec::new();
    for f in manifest
        .landed
        .iter()
        .filter(|f| f.source == source && f.entity == entity.name && !f.ingested)
    {
        if !pending.iter().any(|p| p.sha256 == f.sha256) {
            pending.push(f.clone());
        }
    }
    if pending.is_empty() {
        return Ok(None);
    }
    let mut superseded = Vec::new();
    match entity.batch {
        BatchType::Additive => {}
        BatchType::Snapshot => {
            // Only the newest run's files make up the snapshot; older pending ones are replaced.
            let newest = pending
                .iter()
                .map(|f| f.rundate.clone())
                .max()
                .unwrap_or_default();
            let (keep, old): (Vec<_>, Vec<_>) =
                pending.into_iter().partition(|f| f.rundate == newest);
            pending = keep;
            superseded = old;
        }
        BatchType::Delta | BatchType::Delete => {
            if entity.primary_key.is_empty() {
                return Err(PipelineError::Input(format!(
                    "{} batches of {} need a primary key",
                    entity.batch.name(),
                    entity.name
                )));
            }
        }
    }
    // Oldest first: for upserts the newest batch must win.
    pending.sort_by(|a, b| (&a.rundate, &a.origin_path).cmp(&(&b.rundate, &b.origin_path)));
    Ok(Some((pending, superseded)))
}

/// Each pending batch with the tables it still has to reach (a run stopped after some commits
/// finishes only the rest).
fn work_list<'a>(
    lake: &Lake,
    targets: &Targets,
    pending: &'a [LandedFile],
) -> Result<Vec<(&'a LandedFile, Needs)>, PipelineError> {
    let ids: Vec<String> = pending.iter().map(LandedFile::batch_id).collect();
    let done_ing = delta::batches_in(&lake.table_dir(&targets.ingested), &ids)?;
    let done_gen = delta::batches_in(&lake.table_dir(&targets.general), &ids)?;
    let done_lk = match &targets.lookup {
        Some(t) => delta::batches_in(&lake.table_dir(t), &ids)?,
        None => ids.iter().cloned().collect(),
    };
    let done_q = delta::batches_in(&lake.table_dir(&targets.quarantine), &ids)?;
    let needs = |id: &String| Needs {
        ingested: !done_ing.contains(id),
        general: !done_gen.contains(id),
        lookup: !done_lk.contains(id),
        quarantine: !done_q.contains(id),
    };
    Ok(pending
        .iter()
        .map(|f| (f, needs(&f.batch_id())))
        .filter(|(_, n)| n.any())
        .collect())
}
