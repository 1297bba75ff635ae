//! The built-in sources as one list, so the CLI, the GUI and the demo run them the same way:
//! pick the module for a source kind, ingest from a folder, then refresh stage3.

use std::path::Path;

use super::AppError;
use crate::derive::{DeriveError, Stage3Report, build_stage3_with, roster};
use crate::lake::Lake;
use crate::modules::Module;
use crate::pipeline::job::{self, RunOutcome};
use crate::pipeline::{Cancel, Event, PipelineError, Progress, RunReport, RunStatus};
use crate::pseudo::Salt;
use crate::sources::{FolderSource, Source};

/// A built-in source system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    Clever,
    Insights,
    Sis,
}

impl SourceKind {
    /// Every built-in source, in the order setup asks for them.
    pub const ALL: [SourceKind; 3] = [SourceKind::Clever, SourceKind::Insights, SourceKind::Sis];

    /// The name the CLI uses (`edlake ingest clever`).
    pub fn name(self) -> &'static str {
        match self {
            SourceKind::Clever => "clever",
            SourceKind::Insights => "insights",
            SourceKind::Sis => "sis",
        }
    }

    /// The name users see.
    pub fn title(self) -> &'static str {
        match self {
            SourceKind::Clever => "Clever participation reports",
            SourceKind::Insights => "Microsoft Education Insights",
            SourceKind::Sis => "SIS attendance and students",
        }
    }

    /// The source folder name under `stage2` (matches the module's `source()`).
    pub fn lake_source(self) -> &'static str {
        match self {
            SourceKind::Clever => "clever",
            SourceKind::Insights => "ms_insights",
            SourceKind::Sis => "contoso_sis",
        }
    }

    /// Its name in the school-day coverage (`metrics::gaps::coverage`).
    pub fn coverage_name(self) -> &'static str {
        match self {
            SourceKind::Clever => "Clever",
            SourceKind::Insights => "Insights",
            SourceKind::Sis => "SIS attendance",
        }
    }

    /// The built-in source a module name or a coverage name stands for.
    pub fn named(name: &str) -> Option<SourceKind> {
        SourceKind::ALL
            .into_iter()
            .find(|k| k.name() == name || k.coverage_name() == name)
    }

    /// What the folder must look like, in one or two sentences.
    pub fn expected_layout(self) -> &'static str {
        match self {
            SourceKind::Clever => {
                "The Clever SFTP report tree: daily-participation/ and resource-usage/ (with Students/, \
                 Teachers/ subfolders), files named YYYY-MM-DD-<report>-<role>.csv."
            }
            SourceKind::Insights => {
                "The School Data Sync data-lake export: schema/*.cdm.json, activity/<date>/*.csv and \
                 roster/<timestamp>/<Entity>/*.csv (headerless files)."
            }
            SourceKind::Sis => {
                "One subfolder (or file) per entity: studentattendance, students, studentdemographics, \
                 studentsectionmark, as CSV with a header row (Contoso SIS format)."
            }
        }
    }

    /// The module that reads this source's files in `from`.
    pub fn module(self, from: &Path) -> Result<Box<dyn Module>, PipelineError> {
        Ok(match self {
            SourceKind::Clever => Box::new(crate::modules::clever::Clever::default()),
            SourceKind::Insights => {
                Box::new(crate::modules::insights::Insights::from_export(from)?)
            }
            SourceKind::Sis => Box::new(crate::modules::sis::module()?),
        })
    }
}

/// Ingests `kind` from any source and, when rows arrived, rebuilds the stage3 tables.
/// `schema_root` is where a module that reads its schema from the export finds it.
pub fn run_source(
    lake: &Lake,
    kind: SourceKind,
    source: &dyn Source,
    schema_root: &Path,
    salt: &Salt,
    progress: &Progress,
    cancel: &Cancel,
) -> JobOutcome {
    match kind.module(schema_root) {
        Ok(m) => run_module(lake, m, source, salt, progress, cancel),
        Err(e) => JobOutcome::failed(lake, &format!("ingest {}", kind.lake_source()), e.into()),
    }
}

/// What a job did: its run report, the error that stopped it, and the stage3 rebuild it ran
/// (`None` when nothing new needed one).
pub struct JobOutcome {
    pub report: RunReport,
    pub error: Option<AppError>,
    /// The rebuild's figures, or why it failed (the rows stay committed; the lake stays marked
    /// out of date and the next run rebuilds).
    pub stage3: Option<Result<Stage3Report, DeriveError>>,
}

impl JobOutcome {
    /// A job that stopped before it began, recorded in the run history (best effort: the error
    /// is returned to the caller as well).
    pub fn failed(lake: &Lake, operation: &str, error: AppError) -> JobOutcome {
        let mut report = RunReport::start(operation);
        report.status = RunStatus::Failed(error.to_string());
        let _ = report.save(lake);
        JobOutcome {
            report,
            error: Some(error),
            stage3: None,
        }
    }
}

/// The job every run goes through: `module` (with this lake's pseudonymization overrides) from
/// `source`, then the stage3 rebuild when rows arrived or an earlier run left it undone. The
/// lake lock is held from landing to the rebuild; the lake is marked out of date in between, so
/// a run stopped anywhere is finished by the next one.
pub fn run_module(
    lake: &Lake,
    module: Box<dyn Module>,
    source: &dyn Source,
    salt: &Salt,
    progress: &Progress,
    cancel: &Cancel,
) -> JobOutcome {
    let operation = format!("ingest {}", module.source());
    run_modules(lake, vec![(module, source)], salt, progress, cancel)
        .pop()
        .unwrap_or_else(|| JobOutcome::failed(lake, &operation, PipelineError::Cancelled.into()))
}

/// Several sources as one job ("Run all", the demo): each module ingested from its source in
/// order under one lock, stopping at the first that fails, then the derived tables rebuilt
/// once for all of them. One outcome per source that ran; the rebuild's is on the last.
pub fn run_modules(
    lake: &Lake,
    jobs: Vec<(Box<dyn Module>, &dyn Source)>,
    salt: &Salt,
    progress: &Progress,
    cancel: &Cancel,
) -> Vec<JobOutcome> {
    let names: Vec<String> = jobs
        .iter()
        .map(|(m, _)| format!("ingest {}", m.source()))
        .collect();
    let operation = names.join(", ");
    // Held from landing to the stage3 rebuild (each job takes it again, nested). When another
    // run holds it, the job reports the busy lake itself.
    let lock = lake.lock(&operation).ok();
    // Marked out of date until stage3 is rebuilt (see `Lake::mark_derived_stale`).
    let was_stale = lake.derived_stale();
    if lock.is_some()
        && let Err(e) = lake.mark_derived_stale()
    {
        return vec![JobOutcome::failed(
            lake,
            &operation,
            PipelineError::from(e).into(),
        )];
    }
    let mut outs: Vec<JobOutcome> = Vec::new();
    for ((module, source), op) in jobs.into_iter().zip(&names) {
        let module = match crate::modules::overrides::apply(lake, module) {
            Ok(m) => m,
            Err(e) => {
                outs.push(JobOutcome::failed(lake, op, PipelineError::from(e).into()));
                break;
            }
        };
        let RunOutcome { report, error } =
            job::ingest(lake, module.as_ref(), source, salt, progress, cancel);
        let stop = error.is_some();
        outs.push(JobOutcome {
            report,
            error: error.map(AppError::from),
            stage3: None,
        });
        if stop {
            break;
        }
    }
    let rows: u64 = outs.iter().map(|o| o.report.rows_ingested).sum();
    let cancelled = outs
        .iter()
        .any(|o| matches!(o.error, Some(AppError::Pipeline(PipelineError::Cancelled))));
    if outs.iter().all(|o| o.error.is_none()) && rows == 0 && !was_stale {
        let _ = lake.clear_derived_stale();
    }
    // What committed is derived, even when a later source failed; a cancel stops here.
    if !cancelled
        && (rows > 0 || was_stale)
        && let Some(last) = outs.last_mut()
    {
        derive_into(lake, last, progress, cancel);
    }
    outs
}

/// Rebuilds the derived tables after `out`'s ingest, recording the result in it.
fn derive_into(lake: &Lake, out: &mut JobOutcome, progress: &Progress, cancel: &Cancel) {
    let t = std::time::Instant::now();
    let built = build_stage3_with(lake, progress, cancel);
    match &built {
        Ok(r) => progress.log(format!(
            "stage3 engagement tables rebuilt ({} events, {} students) in {:.2} s",
            r.digital_activity_rows.unwrap_or(0),
            r.hybrid_students.unwrap_or(0),
            t.elapsed().as_secs_f64()
        )),
        Err(DeriveError::Cancelled) => {
            out.report.status = RunStatus::Cancelled;
            let _ = out.report.save(lake);
            out.error.get_or_insert(PipelineError::Cancelled.into());
        }
        Err(e) => {
            let w = format!("the stage3 engagement tables were not rebuilt: {e}");
            progress.send(Event::Warning(w.clone()));
            out.report.warnings.push(w);
        }
    }
    out.stage3 = Some(built);
}

/// A roster sync as the app runs it: under one lock, the derived tables marked out of date
/// until stage3 is rebuilt (reporting to `progress`, stopping at `cancel`).
pub fn sync_roster(
    lake: &Lake,
    source: &dyn Source,
    salt: &Salt,
    progress: &Progress,
    cancel: &Cancel,
) -> roster::SyncOutcome {
    let mut out = roster::SyncOutcome::default();
    let started = lake.lock("roster sync").and_then(|lock| {
        let was_stale = lake.derived_stale();
        lake.mark_derived_stale()?;
        Ok((lock, was_stale))
    });
    let (_lock, was_stale) = match started {
        Ok(s) => s,
        Err(e) => {
            out.error = Some(e.into());
            return out;
        }
    };
    out = roster::sync_from(lake, source, None, salt, progress, cancel);
    if out.error.is_some() {
        return out;
    }
    let ingested: u64 = out.reports.iter().map(|r| r.rows_ingested).sum();
    if ingested == 0 && out.entries.is_empty() && !was_stale {
        if let Err(e) = lake.clear_derived_stale() {
            out.error = Some(e.into());
        }
        return out;
    }
    match build_stage3_with(lake, progress, cancel) {
        Ok(_) => {}
        Err(DeriveError::Cancelled) => out.error = Some(PipelineError::Cancelled),
        Err(e) => out.error = Some(PipelineError::Derive(e.to_string())),
    }
    out
}

/// What a source folder holds, as setup shows it before the first run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Inspection {
    /// Entity, files new since the last run, files already ingested.
    pub entities: Vec<(String, usize, usize)>,
    /// Files no entity takes.
    pub ignored: usize,
    /// Insights: the activity date folders found (first, last, how many).
    pub activity_dates: Option<(String, String, usize)>,
    /// Insights: the roster snapshot that would be used.
    pub roster_snapshot: Option<String>,
}

impl Inspection {
    /// A one-paragraph summary for people.
    pub fn summary(&self) -> String {
        let mut parts: Vec<String> = self
            .entities
            .iter()
            .map(|(e, new, old)| format!("{e}: {new} new file(s), {old} already ingested"))
            .collect();
        if let Some((a, b, n)) = &self.activity_dates {
            parts.push(format!("activity for {n} day(s) from {a} to {b}"));
        }
        if let Some(s) = &self.roster_snapshot {
            parts.push(format!("latest roster snapshot {s}"));
        }
        if self.ignored > 0 {
            parts.push(format!("{} other file(s) ignored", self.ignored));
        }
        if self.entities.is_empty() {
            parts.insert(0, "no files this source understands".into());
        }
        parts.join("; ")
    }
}

/// Lists what `kind` would ingest from `from`, without changing anything.
pub fn inspect(lake: &Lake, kind: SourceKind, from: &Path) -> Result<Inspection, PipelineError> {
    if !from.is_dir() {
        return Err(PipelineError::NoInput(from.to_path_buf()));
    }
    let module = crate::modules::overrides::apply(lake, kind.module(from)?)?;
    let source = FolderSource::new(from);
    let plan = job::dry_run(lake, module.as_ref(), &source)?;
    let mut out = Inspection {
        ignored: plan.ignored.len(),
        ..Default::default()
    };
    for p in &plan.fetch {
        match out.entities.iter_mut().find(|(e, ..)| *e == p.entity) {
            Some(e) => e.1 += 1,
            None => out.entities.push((p.entity.clone(), 1, 0)),
        }
    }
    for f in &plan.unchanged {
        if let Some(c) = module.classify(&f.path) {
            match out.entities.iter_mut().find(|(e, ..)| *e == c.entity) {
                Some(e) => e.2 += 1,
                None => out.entities.push((c.entity, 0, 1)),
            }
        }
    }
    out.entities.sort();
    let paths = plan
        .fetch
        .iter()
        .map(|p| &p.file)
        .chain(plan.unchanged.iter())
        .map(|f| f.path.as_str());
    let mut dates = std::collections::BTreeSet::new();
    let mut rosters = std::collections::BTreeSet::new();
    for p in paths {
        let mut parts = p.split('/');
        match (parts.next(), parts.next()) {
            (Some("activity"), Some(d)) => {
                dates.insert(d.to_string());
            }
            (Some("roster"), Some(s)) => {
                rosters.insert(s.to_string());
            }
            _ => {}
        }
    }
    if let (Some(a), Some(b)) = (dates.first(), dates.last()) {
        out.activity_dates = Some((a.clone(), b.clone(), dates.len()));
    }
    out.roster_snapshot = rosters.last().cloned();
    Ok(out)
}
