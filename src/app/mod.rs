//! The one place that runs a job: ingest a source and derive what depends on it, or sync a
//! roster and derive, with progress, cancel and the lake lock held throughout. The CLI, the
//! desktop app and the demo all run jobs through here.

pub mod run;
pub mod saved;
