//! Reading source files: CSV with or without a header, JSON lines and Parquet, field specs and
//! typed values, day-order detection and the layouts of headerless exports. What the modules
//! describe and the pipeline runs, below both.

mod builder;
pub mod dayorder;
pub mod layout;
pub mod parse;
pub mod records;
pub mod spec;
pub mod values;

use std::path::{Path, PathBuf};

pub use builder::text_column;

/// Why a file could not be read. Bad rows are not errors: they are reported and quarantined.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    #[error("{path}: {source}", path = .path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{file} is not a {what}: {detail}")]
    WrongFormat {
        file: String,
        what: String,
        detail: String,
    },
    #[error("{file}, line {line}: {message}")]
    Read {
        file: String,
        line: u64,
        message: String,
    },
    #[error("data processing failed: {0}")]
    Data(#[from] polars::error::PolarsError),
    #[error("cancelled")]
    Cancelled,
}

impl FormatError {
    /// Wraps an I/O error with its path.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

impl From<crate::progress::Cancelled> for FormatError {
    fn from(_: crate::progress::Cancelled) -> Self {
        FormatError::Cancelled
    }
}
