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
