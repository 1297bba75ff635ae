//! A whole run: lock, land, ingest, refine, report.

use std::time::Instant;

use super::{
    Cancel, Event, JobCtx, PipelineError, Progress, RunReport, RunStatus, Stage, ingest, land,
};
use crate::lake::Lake;
use crate::lake::manifest::Manifest;
use crate::modules::Module;
use crate::pseudo::{Hasher, Salt};
use crate::secrets::{SecretError, Secrets, salt_key};
use crate::sources::Source;

/// A finished run: its report (also saved in the lake) and the error that stopped it, if any.
#[derive(Debug)]
pub struct RunOutcome {
    pub report: RunReport,
    pub error: Option<PipelineError>,
}

/// The lake's salt from the keyring.
pub fn lake_salt(lake: &Lake, secrets: &Secrets) -> Result<Salt, SecretError> {
    let key = salt_key(&lake.info().id);
    match secrets.get(&key)? {
        Some(s) => Salt::from_secret(&s).map_err(|e| SecretError::Refused(e.to_string())),
        None => Err(SecretError::Missing {
            what: format!("salt for the lake at {}", lake.root().display()),
            hint: "Pseudonyms depend on it. If this lake was made on another machine, import its salt with \
                   `edlake salt import` (reads it from standard input); a new lake gets one from `edlake init`."
                .into(),
        }),
    }
}

/// Makes sure the lake has a salt in the keyring; returns whether a new one was created.
pub fn ensure_salt(lake: &Lake, secrets: &Secrets) -> Result<bool, SecretError> {
    let key = salt_key(&lake.info().id);
    if secrets.get(&key)?.is_some() {
        return Ok(false);
    }
    secrets.set(&key, Salt::generate().expose())?;
    Ok(true)
}

/// Writes `salt` to `path`, readable by its owner only (on Windows the file keeps the folder's
/// permissions), with an audit entry recorded first: a salt never leaves the keyring without
/// one.
pub fn backup_salt(lake: &Lake, salt: &Salt, path: &std::path::Path) -> Result<(), PipelineError> {
    use std::io::Write;
    crate::audit::record_access(
        lake,
        &crate::audit::Access {
            action: "salt-export",
            table: "salt",
            detail: format!("backed up to {}", path.display()),
        },
    )?;
    let io = |e| PipelineError::io(path, e);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        opts.mode(0o600);
        // An existing file keeps its mode on open: narrow it before the secret goes in.
        if path.exists() {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
        }
    }
    let mut f = opts.open(path).map_err(io)?;
    writeln!(f, "{}", salt.expose()).map_err(io)?;
    f.sync_all().map_err(io)
}

/// What files a run would fetch, without changing anything.
pub fn dry_run(
    lake: &Lake,
    module: &dyn Module,
    source: &dyn Source,
) -> Result<land::Plan, PipelineError> {
    let manifest = Manifest::load(lake)?;
    land::plan(module, source, &manifest)
}

/// Lands new files from `source`, then ingests and refines everything pending for `module`.
pub fn ingest(
    lake: &Lake,
    module: &dyn Module,
    source: &dyn Source,
    salt: &Salt,
    progress: &Progress,
    cancel: &Cancel,
) -> RunOutcome {
    let mut report = RunReport::start(&format!("ingest {}", module.source()));
    let t0 = Instant::now();
    let result = run(lake, module, source, salt, &mut report, progress, cancel)
        .map_err(PipelineError::explain_disk_full);
    report.seconds = t0.elapsed().as_secs_f64();
    report.status = match &result {
        Ok(()) => RunStatus::Succeeded,
        Err(PipelineError::Cancelled) => RunStatus::Cancelled,
        Err(e) => RunStatus::Failed(e.to_string()),
    };
    if let Err(e) = report.save(lake) {
        progress.send(Event::Warning(format!(
            "could not save the run report: {e}"
        )));
    }
    progress.log(report.summary());
    RunOutcome {
        report,
        error: result.err(),
    }
}

fn run(
    lake: &Lake,
    module: &dyn Module,
    source: &dyn Source,
    salt: &Salt,
    report: &mut RunReport,
    progress: &Progress,
    cancel: &Cancel,
) -> Result<(), PipelineError> {
    let _lock = lake.lock(&report.job)?;
    let mut manifest = Manifest::load(lake)?;
    let plan = land::plan(module, source, &manifest)?;
    if plan.fetch.is_empty() && plan.unchanged.is_empty() {
        return Err(PipelineError::Input(format!(
            "found no {} files in {} ({} other file(s) ignored)",
            module.title(),
            source.origin().trim_start_matches("folder:"),
            plan.ignored.len()
        )));
    }
    if !plan.ignored.is_empty() {
        progress.log(format!(
            "{} file(s) are not {} files and were ignored",
            plan.ignored.len(),
            module.title()
        ));
    }
    let t = Instant::now();
    let done = super::Counters::default();
    let ctx = JobCtx {
        lake,
        module,
        progress,
        cancel,
        done: &done,
    };
    land::land(ctx, source, &plan, &mut manifest, report)?;
    progress.log(format!(
        "landed {} file(s) in {:.2} s",
        report.files_landed,
        t.elapsed().as_secs_f64()
    ));
    let pending: Vec<_> = manifest
        .landed
        .iter()
        .filter(|f| f.source == module.source() && !f.ingested)
        .collect();
    let (files, bytes) = (pending.len() as u64, pending.iter().map(|f| f.size).sum());
    for stage in [Stage::Ingest, Stage::Refine] {
        progress.send(Event::StageStarted {
            stage,
            files,
            bytes,
        });
    }
    crate::progress::hold_point(lake, Stage::Ingest, cancel)?;
    let hasher = Hasher::new(salt.clone());
    for (i, entity) in module.entities().iter().enumerate() {
        // Between entities: the ones before have committed, the rest wait for the next run.
        if i > 0 {
            crate::progress::hold_point(lake, Stage::Refine, cancel)?;
        }
        cancel.check()?;
        let t = Instant::now();
        let before = report.rows_ingested;
        ingest::ingest_entity(ctx, entity, &mut manifest, &hasher, report)?;
        if report.rows_ingested > before {
            progress.log(format!(
                "{}: {} rows ingested and refined in {:.2} s",
                entity.name,
                report.rows_ingested - before,
                t.elapsed().as_secs_f64()
            ));
        }
    }
    for stage in [Stage::Ingest, Stage::Refine] {
        progress.send(Event::StageFinished { stage });
    }
    Ok(())
}
