//! Running a source saved in the lake's configuration (`_edlake/sources/`): which module reads
//! it, opening it (the secret from the keyring, Insights' schema files from the share), then the
//! same job as every other run. The CLI (`ingest ... --source NAME`), the app's Ingestion page
//! and its "Run all" go through here, so a lake set up in one runs in the other.

use std::path::Path;

use super::AppError;
use super::run::{JobOutcome, run_module, run_modules};
use crate::lake::Lake;
use crate::modules::Module;
use crate::pipeline::{Cancel, PipelineError, Progress, RunReport, RunStatus};
use crate::pseudo::Salt;
use crate::secrets::Secrets;
use crate::sources::Source;
use crate::sources::saved::{SavedSource, SourceDef};

/// The built-in modules a saved source can name, in the order "Run all" runs them (a roster
/// first, so the day's activity is matched against the newest roster).
pub const BUILT_IN: [&str; 5] = ["roster", "clever", "insights", "sis", "edx"];

/// The module called `name` (a built-in or a custom module of this lake). Insights reads its
/// columns from the export's schema files under `schema_root`.
pub fn module_named(
    lake: &Lake,
    name: &str,
    schema_root: &Path,
) -> Result<Box<dyn Module>, AppError> {
    use crate::modules::{clever, edx, insights, sis};
    Ok(match name {
        "clever" => Box::new(clever::Clever::default()),
        "insights" => {
            Box::new(insights::Insights::from_export(schema_root).map_err(PipelineError::from)?)
        }
        "sis" => Box::new(sis::module().map_err(PipelineError::from)?),
        "edx" => Box::new(edx::Edx::new().map_err(PipelineError::from)?),
        other => {
            use crate::modules::definition::{DefError, ModuleDef};
            let def = match ModuleDef::load(lake, other) {
                Ok(d) => d,
                Err(DefError::Unknown(_)) => return Err(AppError::UnknownModule(other.into())),
                Err(e) => return Err(PipelineError::Input(e.to_string()).into()),
            };
            Box::new(
                def.module()
                    .map_err(|e| PipelineError::Input(e.to_string()))?,
            )
        }
    })
}

/// A saved source opened for a run: the module that reads it and the source itself.
pub struct Opened {
    pub module: Box<dyn Module>,
    pub source: Box<dyn Source>,
    /// Where the share's schema files were downloaded (removed with this value).
    _schema: Option<tempfile::TempDir>,
}

/// Opens `saved` for a run of its module: checks that an SFTP server's host key was accepted,
/// reads the secret from the keyring and, for Insights on a storage account, downloads the
/// export's schema files first.
pub fn open(lake: &Lake, saved: &SavedSource, secrets: &Secrets) -> Result<Opened, AppError> {
    let name = &saved.name;
    let module = saved
        .module()
        .ok_or_else(|| AppError::NoModule(name.clone()))?;
    if module == "roster" {
        return Err(AppError::WrongKind {
            name: name.clone(),
            what: "a roster",
            module: "roster".into(),
            wants: "its snapshots in a roster sync (`edlake roster sync`, the roster page)",
        });
    }
    if let SourceDef::Sftp(c) = &saved.def
        && c.host_key.is_none()
    {
        return Err(AppError::HostKeyNotPinned(name.clone()));
    }
    let mut schema = None;
    let schema_root = match (&saved.def, module) {
        (SourceDef::Folder { path }, _) => path.clone(),
        (SourceDef::Azure(_), "insights") => {
            let dir =
                tempfile::tempdir().map_err(|e| PipelineError::io(&std::env::temp_dir(), e))?;
            if let Some(az) = saved.open_azure(lake, secrets)? {
                az.download_dir("schema", dir.path())
                    .map_err(PipelineError::Source)?;
            }
            let root = dir.path().to_path_buf();
            schema = Some(dir);
            root
        }
        (SourceDef::Sftp(_), "insights") => {
            return Err(AppError::WrongKind {
                name: name.clone(),
                what: "an SFTP server",
                module: module.into(),
                wants: "a folder or an Azure storage account",
            });
        }
        _ => std::path::PathBuf::new(),
    };
    let module = module_named(lake, module, &schema_root)?;
    let source = saved.open(lake, secrets)?;
    Ok(Opened {
        module,
        source,
        _schema: schema,
    })
}

/// Runs a saved source: opens it ([`open`]) and runs its module ([`run_module`]). A source that
/// cannot be opened is recorded in the run history as a failed run with the reason.
pub fn run_saved(
    lake: &Lake,
    saved: &SavedSource,
    secrets: &Secrets,
    salt: &Salt,
    progress: &Progress,
    cancel: &Cancel,
) -> JobOutcome {
    match open(lake, saved, secrets) {
        Ok(o) => {
            progress.log(format!("{}: reading {}", saved.name, o.source.origin()));
            run_module(lake, o.module, o.source.as_ref(), salt, progress, cancel)
        }
        Err(e) => {
            let mut report = RunReport::start(&format!("ingest {}", saved.name));
            report.status = RunStatus::Failed(e.to_string());
            // Best effort: the failure is also returned to the caller, who shows it.
            let _ = report.save(lake);
            JobOutcome {
                report,
                error: Some(e),
                stage3: None,
            }
        }
    }
}

/// Runs several saved sources as one job ([`run_modules`]: ingested in order, derived once).
/// A source that cannot be opened ends the job there, recorded as a failed run.
pub fn run_all(
    lake: &Lake,
    saved: &[SavedSource],
    secrets: &Secrets,
    salt: &Salt,
    progress: &Progress,
    cancel: &Cancel,
) -> Vec<JobOutcome> {
    let mut opened = Vec::new();
    let mut failed = None;
    for s in saved {
        match open(lake, s, secrets) {
            Ok(o) => {
                progress.log(format!("{}: reading {}", s.name, o.source.origin()));
                opened.push(o);
            }
            Err(e) => {
                failed = Some(JobOutcome::failed(lake, &format!("ingest {}", s.name), e));
                break;
            }
        }
    }
    // The modules go to the job; the sources (and downloaded schema files) stay here until it
    // ends.
    let mut modules = Vec::new();
    let mut kept = Vec::new();
    for Opened {
        module,
        source,
        _schema,
    } in opened
    {
        modules.push(module);
        kept.push((source, _schema));
    }
    let jobs = modules
        .into_iter()
        .zip(&kept)
        .map(|(m, (s, _))| (m, s.as_ref()))
        .collect();
    let mut outs = run_modules(lake, jobs, salt, progress, cancel);
    outs.extend(failed);
    outs
}

/// The lake's sources in the order "Run all" runs them: the built-in modules first (roster,
/// Clever, Insights, SIS, edX), then custom modules by name.
pub fn run_order(setup: &std::collections::BTreeMap<String, SavedSource>) -> Vec<&SavedSource> {
    let mut out: Vec<&SavedSource> = BUILT_IN.iter().filter_map(|m| setup.get(*m)).collect();
    out.extend(
        setup
            .iter()
            .filter(|(m, _)| !BUILT_IN.contains(&m.as_str()))
            .map(|(_, s)| s),
    );
    out
}

/// Runs every source set up in the lake, or those named in `only` (by source or module name), as
/// one job: the roster first (synced from its folder), then the others in [`run_order`],
/// ingested under one lock and derived once. What `edlake run`, the app's "Run all" and a
/// scheduled run do.
pub fn run_configured(
    lake: &Lake,
    only: Option<&[String]>,
    secrets: &Secrets,
    salt: &Salt,
    progress: &Progress,
    cancel: &Cancel,
) -> Result<Vec<JobOutcome>, AppError> {
    let setup = SavedSource::setup(lake)?;
    let mut chosen: Vec<SavedSource> = run_order(&setup).into_iter().cloned().collect();
    if let Some(names) = only {
        for n in names {
            if !chosen.iter().any(|s| s.name == *n || s.module() == Some(n)) {
                return Err(AppError::NotSetUp(n.clone()));
            }
        }
        chosen.retain(|s| names.iter().any(|n| s.name == *n || s.module() == Some(n)));
    }
    if chosen.is_empty() {
        return Err(AppError::NothingSetUp);
    }
    run_sources(lake, chosen, secrets, salt, progress, cancel)
}

/// Runs these saved sources as one job (see [`run_configured`]): a roster among them first,
/// then the others in the order given, under one lock, derived once.
pub fn run_sources(
    lake: &Lake,
    mut chosen: Vec<SavedSource>,
    secrets: &Secrets,
    salt: &Salt,
    progress: &Progress,
    cancel: &Cancel,
) -> Result<Vec<JobOutcome>, AppError> {
    let roster = chosen
        .iter()
        .position(|s| s.module() == Some("roster"))
        .map(|i| chosen.remove(i));
    let Some(roster) = roster else {
        return Ok(run_all(lake, &chosen, secrets, salt, progress, cancel));
    };
    // A folder, or Clever's Secure Sync drop on its SFTP server (its password from the keyring).
    if let SourceDef::Sftp(c) = &roster.def
        && c.host_key.is_none()
    {
        return Err(AppError::HostKeyNotPinned(roster.name.clone()));
    }
    let source = roster.open(lake, secrets)?;
    progress.log(format!("{}: reading {}", roster.name, source.origin()));
    if chosen.is_empty() {
        return Ok(roster_outcomes(super::run::sync_roster(
            lake,
            source.as_ref(),
            salt,
            progress,
            cancel,
        )));
    }
    // One lock for the roster and the sources after it (taken again, nested, by each); the
    // lake stays marked out of date until the sources' job has rebuilt the derived tables.
    let _lock = lake.lock("run").map_err(PipelineError::from)?;
    lake.mark_derived_stale().map_err(PipelineError::from)?;
    let synced =
        crate::derive::roster::sync_from(lake, source.as_ref(), None, salt, progress, cancel);
    let failed = synced.error.is_some();
    let mut outs = roster_outcomes(synced);
    if !failed {
        outs.extend(run_all(lake, &chosen, secrets, salt, progress, cancel));
    }
    Ok(outs)
}

/// A roster sync's runs as job outcomes (its error on the last).
fn roster_outcomes(out: crate::derive::roster::SyncOutcome) -> Vec<JobOutcome> {
    let mut outs: Vec<JobOutcome> = out
        .reports
        .into_iter()
        .map(|report| JobOutcome {
            report,
            error: None,
            stage3: None,
        })
        .collect();
    if let Some(e) = out.error {
        match outs.last_mut() {
            Some(last) => last.error = Some(e.into()),
            None => outs.push(JobOutcome {
                report: RunReport::start("ingest clever_roster"),
                error: Some(e.into()),
                stage3: None,
            }),
        }
    }
    outs
}
