//! Pseudonymization exactly as OEA's `pseudonymize()`: `sha256(value ‖ salt)` as lowercase hex.
//!
//! Differences from OEA are deliberate and documented: the lookup (sensitive) table holds each
//! distinct mapping once instead of one row per data row, and columns the metadata does not name
//! never reach the general table (an unknown column could hold anything).

mod cache;
mod hasher;
pub mod metadata;
mod seen;

use polars::prelude::*;
use sha2::{Digest, Sha256};

pub use hasher::Hasher;
pub use metadata::{EntityMetadata, Metadata, MetadataError, Op};
pub use seen::LookupSeen;

use crate::lake::schema::fix_column_name;

/// The lake's salt. Kept in the OS keyring only; this type never prints its value.
///
/// Clones share one buffer (no copy of the secret is made), which is wiped from memory when the
/// last clone is dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct Salt(std::sync::Arc<zeroize::Zeroizing<String>>);

/// Fewest random bytes a salt should hold (OEA's `oeaSalt` is base64 of 16).
pub const SALT_MIN_BYTES: usize = 16;

impl Salt {
    /// A new salt: 16 random bytes, base64-encoded, as OEA generates `oeaSalt`.
    pub fn generate() -> Self {
        use base64::Engine;
        let mut bytes: zeroize::Zeroizing<[u8; SALT_MIN_BYTES]> =
            zeroize::Zeroizing::new(rand::random());
        let text = base64::engine::general_purpose::STANDARD.encode(bytes.as_ref());
        zeroize::Zeroize::zeroize(&mut *bytes);
        Self(std::sync::Arc::new(zeroize::Zeroizing::new(text)))
    }

    /// Wraps an existing salt (for example a district's OEA Key Vault `oeaSalt`).
    pub fn from_secret(s: &str) -> Result<Self, PseudoError> {
        let s = s.trim_end_matches(['\r', '\n']);
        if s.is_empty() {
            return Err(PseudoError::EmptySalt);
        }
        Ok(Self(std::sync::Arc::new(zeroize::Zeroizing::new(
            s.to_string(),
        ))))
    }

    /// Why this salt does not look like one, if it does not: OEA's salts are base64 of 16 or
    /// more random bytes; a short or guessable salt lets anyone who guesses it recompute every
    /// pseudonym from a list of student ids.
    pub fn weakness(&self) -> Option<String> {
        use base64::Engine;
        let text = self.0.trim();
        let decoded = zeroize::Zeroizing::new(
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .unwrap_or_default(),
        );
        let distinct_bytes = decoded
            .iter()
            .collect::<std::collections::HashSet<_>>()
            .len();
        if decoded.len() >= SALT_MIN_BYTES && distinct_bytes >= SALT_MIN_BYTES / 2 {
            return None;
        }
        // Not base64: accept a long passphrase-like salt with many different characters.
        let distinct = text.chars().collect::<std::collections::HashSet<_>>().len();
        if text.chars().count() >= 24 && distinct >= 12 {
            return None;
        }
        Some(format!(
            "this salt is not base64 of {SALT_MIN_BYTES} or more random bytes (as OEA's oeaSalt is) \
             and is short or repetitive ({} characters, {distinct} different): anyone who guesses \
             it can recompute every pseudonym from a list of student ids. Use the district's OEA \
             salt or let edlake create one",
            text.chars().count()
        ))
    }

    /// The secret text, for storing in the keyring or an explicit export.
    pub fn expose(&self) -> &str {
        self.0.as_str()
    }
}

impl std::fmt::Debug for Salt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Salt(<redacted>)")
    }
}

/// Errors while pseudonymizing.
#[derive(Debug, thiserror::Error)]
pub enum PseudoError {
    #[error("the salt is empty")]
    EmptySalt,
    #[error("cannot pseudonymize column `{column}`: {source}")]
    Column { column: String, source: PolarsError },
    #[error("cannot build the pseudonymized table: {0}")]
    Frame(#[from] PolarsError),
}

/// `sha256(value ‖ salt)` as 64 lowercase hex characters, as Spark's `sha2(concat(col, salt), 256)`.
pub fn hash_value(value: &str, salt: &Salt) -> String {
    cache::hex_str(&hash_hex(value, salt)).to_string()
}

/// [`hash_value`] as bytes, without an allocation.
pub(super) fn hash_hex(value: &str, salt: &Salt) -> cache::Hex {
    let mut h = Sha256::new();
    h.update(value.as_bytes());
    h.update(salt.expose().as_bytes());
    let digest = h.finalize();
    let mut out = [0u8; 64];
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (i, b) in digest.iter().enumerate() {
        out[2 * i] = HEX[(b >> 4) as usize];
        out[2 * i + 1] = HEX[(b & 15) as usize];
    }
    out
}

/// What pseudonymization produced for one batch.
pub struct Pseudonymized {
    /// Safe to share: hashed ids, masked fields, kept columns.
    pub general: DataFrame,
    /// Restricted: original ids next to their pseudonyms and the originals of masked fields,
    /// one row per input row (keep only new mappings with [`LookupSeen::keep_new`]).
    /// `None` when no column needs a lookup.
    pub lookup: Option<DataFrame>,
    /// Columns in the data the metadata does not name; they stay out of the general table.
    pub dropped: Vec<String>,
}

/// Splits a batch into its general and lookup parts following the entity's metadata.
/// `keep` names extra columns edlake itself adds (such as `rundate`) that pass through as no-op.
pub fn pseudonymize(
    df: &DataFrame,
    meta: &EntityMetadata,
    hasher: &Hasher,
    keep: &[&str],
) -> Result<Pseudonymized, PseudoError> {
    let mut general: Vec<Column> = Vec::new();
    let mut lookup: Vec<Column> = Vec::new();
    let mut dropped = Vec::new();
    let col_err = |column: &str| {
        let column = column.to_string();
        move |source| PseudoError::Column { column, source }
    };
    for col in df.columns() {
        let name = col.name().as_str();
        let op = match meta.op(name) {
            Some(op) => op,
            None if keep.contains(&name) => Op::NoOp,
            None => {
                dropped.push(name.to_string());
                continue;
            }
        };
        let fixed = fix_column_name(name);
        match op {
            Op::Hash | Op::HashNoLookup => {
                let hashed = hasher
                    .hash_series(col.as_materialized_series())
                    .map_err(col_err(name))?
                    .with_name(format!("{fixed}_pseudonym").into());
                if op == Op::Hash {
                    lookup.push(col.clone().with_name(fixed.clone().into()));
                    lookup.push(hashed.clone().into());
                }
                general.push(hashed.into());
            }
            Op::Mask => {
                // OEA replaces every value, null included, with a literal `*`.
                let masked = Series::new(fixed.clone().into(), vec!["*"; col.len()]);
                general.push(masked.into());
                lookup.push(col.clone().with_name(fixed.into()));
            }
            Op::NoOp | Op::PartitionBy => {
                general.push(col.clone().with_name(fixed.into()));
            }
        }
    }
    let general = DataFrame::new(df.height(), general)?;
    let lookup = if lookup.is_empty() {
        None
    } else {
        Some(DataFrame::new(df.height(), lookup)?)
    };
    Ok(Pseudonymized {
        general,
        lookup,
        dropped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lake::schema::ColType;
    use crate::pseudo::metadata::Attribute;

    fn meta() -> EntityMetadata {
        let a = |n: &str, op| Attribute {
            name: n.into(),
            ty: ColType::String,
            op,
        };
        EntityMetadata {
            name: "students".into(),
            attributes: vec![
                a("SIS ID", Op::Hash),
                a("Actor", Op::HashNoLookup),
                a("First Name", Op::Mask),
                a("Grade", Op::NoOp),
            ],
        }
    }

    #[test]
    fn hash_matches_sha256_of_value_then_salt() {
        // Reference computed independently: printf 'abcsalt' | sha256sum
        let salt = Salt::from_secret("salt").unwrap();
        assert_eq!(
            hash_value("abc", &salt),
            "169b3a2b0977ebee2eb1fd392c6aa470a3281d439ff32f20baea7309d7f40eec"
        );
    }

    #[test]
    fn splits_general_and_lookup_like_oea() {
        let salt = Salt::from_secret("s4lt").unwrap();
        let df = df!(
            "SIS ID" => [Some("1"), Some("2"), None, Some("1")],
            "Actor" => ["a", "b", "c", "a"],
            "First Name" => [Some("Ann"), Some("Bo"), None, Some("Ann")],
            "Grade" => ["9", "10", "11", "9"],
            "Secret" => ["x", "y", "z", "x"],
        )
        .unwrap();
        let hasher = Hasher::new(salt.clone());
        let out = pseudonymize(&df, &meta(), &hasher, &[]).unwrap();
        let g = &out.general;
        let names: Vec<&str> = g.get_column_names().iter().map(|s| s.as_str()).collect();
        assert_eq!(
            names,
            ["SIS_ID_pseudonym", "Actor_pseudonym", "First_Name", "Grade"]
        );
        let ids = g.column("SIS_ID_pseudonym").unwrap().str().unwrap();
        assert_eq!(ids.get(0), Some(hash_value("1", &salt).as_str()));
        assert_eq!(ids.get(2), None, "null stays null");
        let masked = g.column("First_Name").unwrap().str().unwrap();
        assert!(masked.iter().all(|v| v == Some("*")));
        assert_eq!(out.dropped, vec!["Secret".to_string()]);
        let seen = LookupSeen::default();
        let l = seen.keep_new(&out.lookup.unwrap()).unwrap();
        let lnames: Vec<&str> = l.get_column_names().iter().map(|s| s.as_str()).collect();
        assert_eq!(lnames, ["SIS_ID", "SIS_ID_pseudonym", "First_Name"]);
        assert_eq!(l.height(), 3, "one lookup row per distinct mapping");
        assert_eq!(
            hasher.distinct(),
            5,
            "each distinct value hashed once (2 ids + 3 actors)"
        );
        assert_eq!(
            seen.keep_new(&l).unwrap().height(),
            0,
            "seen rows are not kept twice"
        );
    }

    #[test]
    fn salt_debug_never_shows_the_secret() {
        let s = Salt::generate();
        assert!(!format!("{s:?}").contains(s.expose()));
        assert_eq!(s.expose().len(), 24, "16 bytes in base64");
        assert_eq!(s.weakness(), None);
        // Clones share the one buffer that is wiped on drop.
        let c = s.clone();
        assert!(std::ptr::eq(c.expose(), s.expose()));
    }

    #[test]
    fn salts_that_do_not_look_like_one_are_named() {
        for weak in [
            "s4lt",
            "Pa55word",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "c2FsdA==",
        ] {
            let w = Salt::from_secret(weak).unwrap().weakness();
            assert!(
                w.as_deref().is_some_and(|w| w.contains("16")),
                "{weak}: {w:?}"
            );
            assert!(
                !w.unwrap().contains(weak),
                "the warning never repeats the salt"
            );
        }
        // OEA's form (base64 of 16+ bytes) and a long varied passphrase pass.
        for good in ["q3Jk7bWm0yq6d1V3kqz2Dg==", "cli-test-salt-0123456789abcdef"] {
            assert_eq!(Salt::from_secret(good).unwrap().weakness(), None, "{good}");
        }
    }
}
