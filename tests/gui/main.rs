//! The real desktop app driven through egui_kittest, as one test binary (needs the `gui`
//! feature): one link instead of one per file. The helpers (`harness`) build the app on a lake,
//! wait on its worker threads and find widgets by their labels.

#[path = "../common/mod.rs"]
mod common;
#[path = "../common/gui.rs"]
mod harness;

mod access;
mod charts;
mod operations;
mod privacy;
mod runs;
mod setup;
mod sites;
mod sources;
