//! edlake: a school district's own education data lake on its own machine.
//!
//! The library holds everything but the user interface: the OEA-layout Delta lake ([`lake`]),
//! pseudonymization ([`pseudo`]), where raw files come from ([`sources`]), what each source
//! system's files mean ([`modules`]), the land → ingest → refine jobs ([`pipeline`]), the demo
//! data generator ([`generate`]) and the benchmark ([`bench`]). The `edlake` binary puts a CLI and
//! a desktop app on top; nothing here depends on the GUI toolkit.

pub mod audit;
pub mod bench;
pub mod browse;
pub mod demo;
pub mod generate;
pub mod lake;
pub mod metrics;
pub mod modules;
pub mod pipeline;
pub mod preview;
pub mod pseudo;
pub mod secrets;
pub mod settings;
pub mod sources;
pub mod ui;
