//! Helpers shared by the integration tests.
// Each test crate uses a subset of these.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use edlake::lake::Lake;
use edlake::pipeline::{Cancel, Progress, job};
use edlake::pseudo::Salt;
use edlake::sources::FolderSource;
use polars::prelude::{DataFrame, DataType};

/// Ingests a local folder with `module`, failing the test on a run error.
pub fn ingest(lake: &Lake, module: &dyn edlake::modules::Module, from: &Path, salt: &Salt) {
    let out = job::ingest(
        lake,
        module,
        &FolderSource::new(from),
        salt,
        &Progress::default(),
        &Cancel::default(),
    );
    assert!(out.error.is_none(), "{}: {:?}", from.display(), out.error);
}

/// Every file under `dir`, recursively (an empty list when it does not exist).
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// A column's values as text (nulls stay `None`).
pub fn text_col(df: &DataFrame, c: &str) -> Vec<Option<String>> {
    df.column(c)
        .unwrap()
        .cast(&DataType::String)
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|v| v.map(str::to_string))
        .collect()
}
