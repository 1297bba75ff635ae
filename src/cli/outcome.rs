//! How a command ends: the exit code of an error (from the typed outcome of the library's
//! errors), a failure with an explicit code, and Ctrl-C as a cancel.

use std::process::ExitCode;

/// Exit code: some input was bad (arguments, missing folders, wrong file formats).
pub const EXIT_BAD_INPUT: u8 = 2;
/// Exit code: finished, but rows went to quarantine or files were rejected.
pub const EXIT_PARTIAL: u8 = 3;
/// Exit code: cancelled (Ctrl-C).
pub const EXIT_CANCELLED: u8 = 130;

/// A cancel token that Ctrl-C sets: the job stops at its next safe point and the command exits
/// 130, with the lake at its last version.
pub(crate) fn cancel_on_ctrl_c() -> edlake::pipeline::Cancel {
    let cancel = edlake::pipeline::Cancel::default();
    let c = cancel.clone();
    let _ = ctrlc::set_handler(move || {
        eprintln!("\nCancelling at the next safe point…");
        c.cancel();
    });
    cancel
}

/// A failure with the exit code it should produce.
#[derive(Debug)]
pub struct Coded(pub u8, pub String);

impl std::fmt::Display for Coded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.1)
    }
}

impl std::error::Error for Coded {}

/// The exit code for an error that reached `main`.
pub fn exit_code_for(e: &anyhow::Error) -> ExitCode {
    use edlake::pipeline::{Outcome, PipelineError};
    // The first typed cause decides, wherever it sits in the chain (a busy lake wrapped in a
    // pipeline error is still busy).
    for cause in e.chain() {
        if let Some(c) = cause.downcast_ref::<Coded>() {
            return ExitCode::from(c.0);
        }
        if let Some(a) = cause.downcast_ref::<edlake::app::AppError>() {
            return ExitCode::from(a.outcome().code());
        }
        if let Some(p) = cause.downcast_ref::<PipelineError>() {
            return ExitCode::from(p.outcome().code());
        }
        if let Some(l) = cause.downcast_ref::<edlake::lake::LakeError>() {
            return ExitCode::from(Outcome::of_lake(l).code());
        }
        // Errors that carry a lake error transparently (so it is not a cause of its own).
        if let Some(edlake::bench::BenchError::Derive(edlake::derive::DeriveError::Cancelled)) =
            cause.downcast_ref()
        {
            return ExitCode::from(Outcome::Cancelled.code());
        }
        if let Some(edlake::derive::DeriveError::Cancelled) = cause.downcast_ref() {
            return ExitCode::from(Outcome::Cancelled.code());
        }
        if let Some(edlake::metrics::MetricError::Derive(edlake::derive::DeriveError::Lake(l))) =
            cause.downcast_ref()
        {
            return ExitCode::from(Outcome::of_lake(l).code());
        }
        if let Some(edlake::modules::definition::DefError::Lake(l)) = cause.downcast_ref() {
            return ExitCode::from(Outcome::of_lake(l).code());
        }
        if let Some(edlake::sources::saved::SavedError::Lake(l)) = cause.downcast_ref() {
            return ExitCode::from(Outcome::of_lake(l).code());
        }
        if let Some(edlake::bench::BenchError::Pipeline(p)) = cause.downcast_ref() {
            return ExitCode::from(p.outcome().code());
        }
    }
    ExitCode::FAILURE
}
