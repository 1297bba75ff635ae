//! edlake: a school district's own education data lake on its own machine.
//!
//! The library holds everything but the command line, in layers that import only downward:
//! [`lake`] (OEA layout, Delta commits, lock) → [`pseudo`] → [`sources`] → [`formats`] →
//! [`modules`] → [`pipeline`] (land → ingest → refine) → [`derive`] (tables computed from
//! tables) → [`metrics`] (aggregates) → [`app`] (one place that runs a job) → [`ui`]. Small
//! shared pieces sit low: [`secrets`], [`progress`], [`audit`], [`preview`]. `tests/it/layers.rs`
//! keeps it so.

pub mod app;
pub mod audit;
pub mod bench;
pub mod browse;
pub mod demo;
pub mod derive;
pub mod formats;
pub mod generate;
pub mod lake;
pub mod metrics;
pub mod modules;
pub mod pipeline;
pub mod preview;
pub mod progress;
pub mod pseudo;
pub mod secrets;
pub mod settings;
pub mod sources;
#[cfg(feature = "gui")]
pub mod ui;
