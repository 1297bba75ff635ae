//! Deterministic demo data in the exact vendor formats, at any scale (`edlake gen-test-data`).
//!
//! The same seed always gives byte-identical files. Patterns are realistic enough to chart:
//! school days only (weekends and a few holidays skipped), absences, and schools that differ.

pub mod clever;
pub mod district;
pub mod edx;
pub mod insights;
pub mod roster;
pub mod sis;

use std::path::{Path, PathBuf};

pub use district::{District, GenOptions};

/// A small, fast, portable PRNG (SplitMix64): its output never changes between versions, which
/// keeps generated data byte-identical across platforms and releases.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// Seeds a generator.
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    /// A generator for a sub-stream (stable for the same parent seed and label).
    pub fn fork(seed: u64, label: u64) -> Self {
        let mut r = Rng::new(seed.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ label);
        r.next_u64();
        r
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform integer in `[lo, hi]`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }

    /// 32 lowercase hex characters (Clever-style `sis_id`).
    pub fn hex32(&mut self) -> String {
        format!("{:016x}{:016x}", self.next_u64(), self.next_u64())
    }

    /// A random UUID (version 4 layout).
    pub fn uuid(&mut self) -> String {
        let a = self.next_u64();
        let b = self.next_u64();
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | ((b >> 48) & 0x3fff),
            b & 0xffff_ffff_ffff
        )
    }
}

/// Errors writing generated files.
#[derive(Debug, thiserror::Error)]
pub enum GenError {
    #[error("{path}: {source}", path = .path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(String),
}

/// What the generator wrote.
#[derive(Debug, Clone, Default)]
pub struct GenSummary {
    pub files: u64,
    pub bytes: u64,
    pub rows: u64,
}

pub(crate) fn create(path: &Path) -> Result<std::io::BufWriter<std::fs::File>, GenError> {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).map_err(|e| GenError::Io {
            path: d.to_path_buf(),
            source: e,
        })?;
    }
    let f = std::fs::File::create(path).map_err(|e| GenError::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    Ok(std::io::BufWriter::with_capacity(1 << 20, f))
}

/// Writes every source's demo files for one district under `out`.
pub fn generate(out: &Path, opts: &GenOptions) -> Result<GenSummary, GenError> {
    let district = District::new(opts)?;
    let mut s = GenSummary::default();
    let mut parts = vec![clever::write(&district, &out.join("clever"))?];
    if !opts.participation_only {
        parts.push(insights::write(&district, &out.join("insights"))?);
        parts.push(sis::write(&district, &out.join("sis"))?);
        parts.push(roster::write(&district, &out.join("clever_roster"))?);
        parts.push(edx::write(
            &out.join("edx"),
            (opts.students as usize / 2).max(60),
            opts.seed,
        )?);
    }
    for c in parts {
        s.files += c.files;
        s.bytes += c.bytes;
        s.rows += c.rows;
    }
    Ok(s)
}
