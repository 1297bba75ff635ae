//! The one place that runs a job: ingest a source and derive what depends on it, or sync a
//! roster and derive, with progress, cancel and the lake lock held throughout. The CLI, the
//! desktop app and the demo all run jobs through here.

pub mod notify;
pub mod run;
pub mod runlog;
pub mod saved;
pub mod schedule;
pub mod scheduler;
pub mod status;

use crate::pipeline::{Outcome, PipelineError};
use crate::sources::saved::SavedError;

/// Why a saved source could not be opened for a run.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Saved(#[from] SavedError),
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    #[error(
        "`{0}` is not a module: use clever, insights, sis, edx, roster or a custom module defined \
         with `edlake module add`"
    )]
    UnknownModule(String),
    #[error(
        "the source `{0}` does not say which module reads it: save it again with `edlake source \
         add folder {0} --module MODULE --path DIR --replace`"
    )]
    NoModule(String),
    #[error(
        "the source `{0}` has no accepted host key yet: run `edlake source test {0}` to see the \
         server's fingerprint and accept it"
    )]
    HostKeyNotPinned(String),
    #[error(
        "no source called `{0}` is set up in this lake (see `edlake source list`; a source is \
         named by its own name or its module's)"
    )]
    NotSetUp(String),
    #[error(
        "no source is set up in this lake yet: add one with `edlake source add` or in the app's \
         Setup"
    )]
    NothingSetUp,
    #[error("the source `{name}` is {what}; the {module} module reads {wants}")]
    WrongKind {
        name: String,
        what: &'static str,
        module: String,
        wants: &'static str,
    },
}

impl AppError {
    /// How this error ends a run (and so the CLI's exit code).
    pub fn outcome(&self) -> Outcome {
        match self {
            AppError::Pipeline(e) => e.outcome(),
            AppError::Saved(SavedError::Lake(l)) => Outcome::of_lake(l),
            AppError::Saved(SavedError::Secret(_) | SavedError::Corrupt { .. }) => Outcome::Failed,
            AppError::Saved(_)
            | AppError::UnknownModule(_)
            | AppError::NoModule(_)
            | AppError::HostKeyNotPinned(_)
            | AppError::WrongKind { .. }
            | AppError::NotSetUp(_)
            | AppError::NothingSetUp => Outcome::BadInput,
        }
    }
}
