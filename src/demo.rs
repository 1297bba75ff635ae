//! The offline demo: a working lake built from the bundled `test_data/` (Clever, Insights, SIS
//! and roster files for the same students, plus edX course reports) in a folder of its own, with a salt that lives only in memory.

use std::path::{Path, PathBuf};

use crate::app::AppError;
use crate::app::run::SourceKind;
use crate::app::saved::run_all;
use crate::generate::{GenOptions, generate};
use crate::lake::Lake;
use crate::pipeline::{Cancel, PipelineError, Progress, RunReport};
use crate::pseudo::Salt;
use crate::sources::saved::{SavedSource, SourceDef};

/// The parameters `test_data/` was generated with (also in `test_data/PARAMS`).
pub const DEMO_STUDENTS: u32 = 200;
/// School days in the demo data.
pub const DEMO_DAYS: u32 = 15;
/// Generator seed of the demo data.
pub const DEMO_SEED: u64 = 42;

/// Why the demo could not be built.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("could not write the demo data: {0}")]
    Generate(#[from] crate::generate::GenError),
    #[error(transparent)]
    Lake(#[from] crate::lake::LakeError),
    #[error(transparent)]
    Sources(#[from] crate::sources::saved::SavedError),
    #[error("{what} demo ingestion failed: {error}")]
    Run { what: &'static str, error: AppError },
}

/// A built demo lake; its salt is random and kept only for this session.
pub struct Demo {
    pub lake: Lake,
    pub salt: Salt,
    pub reports: Vec<RunReport>,
}

/// Where the bundled demo files are: `EDLAKE_DEMO_DATA`, where the installers put them
/// (`share/edlake/test_data` beside the program's `bin/`, `Resources/test_data` in a macOS app
/// bundle, `test_data` beside the program on Windows), a `test_data` folder next to the
/// program (or two levels up, as in a cargo `target/release`), or the source checkout.
pub fn bundled_data() -> Option<PathBuf> {
    let ok = |p: &Path| p.join("clever").is_dir() && p.join("insights").is_dir();
    if let Some(d) = std::env::var_os("EDLAKE_DEMO_DATA") {
        return Some(PathBuf::from(d)).filter(|p| ok(p));
    }
    let mut candidates = Vec::new();
    if let Ok(exe) = std::env::current_exe() {
        let ups: Vec<&Path> = exe.ancestors().skip(1).take(3).collect();
        candidates.extend(ups.iter().map(|up| up.join("share/edlake/test_data")));
        // A macOS app bundle keeps them in Contents/Resources.
        candidates.extend(ups.iter().map(|up| up.join("Resources/test_data")));
        candidates.extend(ups.iter().map(|up| up.join("test_data")));
    }
    candidates.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data"));
    candidates.into_iter().find(|p| ok(p))
}

/// Builds the demo lake under `dir` (which should be empty or missing). Uses the bundled files,
/// or regenerates identical ones with the same seed when the program runs without them.
pub fn build(dir: &Path, progress: &Progress, cancel: &Cancel) -> Result<Demo, DemoError> {
    let data = match bundled_data() {
        Some(d) => {
            progress.log(format!("using the bundled demo files in {}", d.display()));
            d
        }
        None => {
            let d = dir.join("demo-files");
            progress.log("bundled demo files not found; generating them (same seed)");
            let opts = GenOptions {
                students: DEMO_STUDENTS,
                days: DEMO_DAYS,
                seed: DEMO_SEED,
                ..GenOptions::default()
            };
            generate(&d, &opts)?;
            d
        }
    };
    let (lake, _) = Lake::init(&dir.join("lake"))?;
    let salt = Salt::generate();
    let setup = save_sources(&lake, &data)?;
    // Folders have no secrets; the demo never touches the OS keyring.
    let secrets = crate::secrets::Secrets::session_only();
    let kinds: Vec<SourceKind> = SourceKind::ALL
        .into_iter()
        .filter(|k| setup.contains_key(k.name()))
        .collect();
    let sources: Vec<SavedSource> = kinds.iter().map(|k| setup[k.name()].clone()).collect();
    progress.log("demo: ingesting Clever, Insights and SIS, then deriving once");
    let mut reports = Vec::new();
    for (out, kind) in run_all(&lake, &sources, &secrets, &salt, progress, cancel)
        .into_iter()
        .zip(kinds)
    {
        reports.push(out.report);
        if let Some(error) = out.error {
            return Err(DemoError::Run {
                what: kind.title(),
                error,
            });
        }
    }
    extras(&lake, &data, &salt, progress, cancel, &mut reports)?;
    Ok(Demo {
        lake,
        salt,
        reports,
    })
}

/// Saves the demo's folders as the lake's sources, as setup would, so Setup and Ingestion show
/// them and a run repeats from them.
fn save_sources(
    lake: &Lake,
    data: &Path,
) -> Result<std::collections::BTreeMap<String, SavedSource>, DemoError> {
    for (module, folder) in [
        ("clever", "clever"),
        ("insights", "insights"),
        ("sis", "sis"),
        ("roster", "clever_roster"),
        ("edx", "edx"),
    ] {
        let path = data.join(folder);
        if path.is_dir() {
            SavedSource {
                name: module.into(),
                module: Some(module.into()),
                def: SourceDef::Folder { path },
            }
            .save(lake)?;
        }
    }
    Ok(SavedSource::setup(lake)?)
}

/// The roster (with the identity map) and the edX program reports, so every page has data.
fn extras(
    lake: &Lake,
    data: &Path,
    salt: &Salt,
    progress: &Progress,
    cancel: &Cancel,
    reports: &mut Vec<RunReport>,
) -> Result<(), DemoError> {
    let failed = |what, error: PipelineError| DemoError::Run {
        what,
        error: error.into(),
    };
    let roster_dir = data.join("clever_roster");
    if roster_dir.is_dir() {
        progress.log("demo: syncing the Clever roster");
        let out = crate::derive::roster::sync(lake, &roster_dir, None, salt, progress, cancel);
        reports.extend(out.reports);
        if let Some(e) = out.error {
            return Err(failed("Clever roster", e));
        }
        crate::derive::build_stage3(lake)
            .map_err(|e| failed("Clever roster", PipelineError::Input(e.to_string())))?;
    }
    let edx_dir = data.join("edx");
    if edx_dir.is_dir() {
        progress.log("demo: ingesting the edX reports");
        let module =
            crate::modules::edx::Edx::new().map_err(|e| failed("edX", PipelineError::from(e)))?;
        let source = crate::sources::FolderSource::new(&edx_dir);
        let out = crate::pipeline::job::ingest(lake, &module, &source, salt, progress, cancel);
        reports.push(out.report);
        if let Some(e) = out.error {
            return Err(failed("edX", e));
        }
        let text = std::fs::read_to_string(edx_dir.join("program.json"))
            .map_err(|e| failed("edX", PipelineError::io(&edx_dir.join("program.json"), e)))?;
        let program: crate::derive::micromasters::ProgramDef = serde_json::from_str(&text)
            .map_err(|e| failed("edX", PipelineError::Input(e.to_string())))?;
        program.save(lake)?;
        crate::derive::micromasters::build(lake, &program, salt)
            .map_err(|e| failed("edX", PipelineError::Input(e.to_string())))?;
    }
    Ok(())
}
