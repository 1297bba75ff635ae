//! The per-run memory of pseudonymization: each distinct value's pseudonym, and fingerprints of
//! the lookup rows already kept.
//!
//! Both are consulted once per row of every file (13.5 M times in a district year of daily
//! participation), so they are laid out to cost about one cache miss a lookup: short values are
//! keys in the table itself instead of behind a pointer, and a row's fingerprint is hashed from
//! its column values without building a joined string first.

use std::hash::{BuildHasher, Hasher as _};

use polars::prelude::*;

/// A pseudonym: `sha256(value ‖ salt)` as 64 lowercase hex characters.
pub(super) type Hex = [u8; 64];

/// The text of a pseudonym (always ASCII hex).
pub(super) fn hex_str(h: &Hex) -> &str {
    std::str::from_utf8(h).unwrap_or_default()
}

/// Words of an inline key.
const WORDS: usize = 3;
/// Longest value kept inline in the table (SIS and state ids). Longer keys cost more than they
/// save: with five words, so that the 32-hex-digit and UUID ids of Clever and Insights fit, key
/// comparisons went through `memcmp` and pseudonymizing took half as long again (perf,
/// 2026-12-04).
const INLINE: usize = WORDS * 8 - 1;

/// Each distinct value's pseudonym. Values of up to [`INLINE`] bytes are stored in the hash table
/// itself (their length in the last byte), longer ones as boxed text.
#[derive(Default)]
pub(super) struct Cache {
    short: PlHashMap<[u64; WORDS], Hex>,
    long: PlHashMap<Box<str>, Hex>,
}

/// A short value as [`WORDS`] words (compared as integers, not with `memcmp`).
fn short_key(v: &str) -> Option<[u64; WORDS]> {
    let b = v.as_bytes();
    (b.len() <= INLINE).then(|| {
        let mut k = [0u8; INLINE + 1];
        k[..b.len()].copy_from_slice(b);
        // The length tells "a" from "a\0": both are padded with zero bytes.
        k[INLINE] = b.len() as u8;
        std::array::from_fn(|i| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&k[i * 8..i * 8 + 8]);
            u64::from_le_bytes(w)
        })
    })
}

impl Cache {
    /// The pseudonym of `v`, if computed before.
    pub(super) fn get(&self, v: &str) -> Option<&Hex> {
        match short_key(v) {
            Some(k) => self.short.get(&k),
            None => self.long.get(v),
        }
    }

    /// Remembers the pseudonym of `v`.
    pub(super) fn insert(&mut self, v: &str, h: Hex) {
        match short_key(v) {
            Some(k) => {
                self.short.insert(k, h);
            }
            None => {
                self.long.insert(v.into(), h);
            }
        }
    }

    /// Number of values held.
    pub(super) fn len(&self) -> usize {
        self.short.len() + self.long.len()
    }

    /// Forgets every value.
    pub(super) fn clear(&mut self) {
        self.short.clear();
        self.long.clear();
    }
}

/// The columns of a lookup frame that tell its rows apart: all but each `X_pseudonym` beside its
/// column `X` (see [`row_fingerprints`]).
pub(super) fn fingerprinted(df: &DataFrame) -> Vec<&Column> {
    let derived = |name: &str| {
        name.strip_suffix("_pseudonym")
            .is_some_and(|raw| df.column(raw).is_ok())
    };
    (df.columns().iter())
        .filter(|c| !derived(c.name().as_str()))
        .collect()
}

/// A 128-bit fingerprint of each row of a lookup frame: every column's value as text, each
/// written with its length (so no two different rows write the same bytes), nulls as a marker no
/// text writes. A column `X_pseudonym` beside its column `X` is left out: it is `X` hashed with
/// the lake's salt, which never changes once the lake holds data (`edlake salt import` refuses),
/// so it tells no rows apart that `X` does not — and its 64 characters were most of the bytes
/// hashed for each of a year's 13.5 M rows.
pub(super) fn row_fingerprints(df: &DataFrame) -> PolarsResult<Vec<u128>> {
    let a = foldhash::quality::FixedState::with_seed(0x6564_6c61_6b65_0001);
    let b = foldhash::quality::FixedState::with_seed(0x6c6f_6f6b_7570_0002);
    let texts: Vec<StringChunked> = fingerprinted(df)
        .into_iter()
        .map(|c| {
            Ok(c.as_materialized_series()
                .cast(&DataType::String)?
                .str()?
                .clone())
        })
        .collect::<PolarsResult<_>>()?;
    let mut ha: Vec<_> = (0..df.height()).map(|_| a.build_hasher()).collect();
    let mut hb: Vec<_> = (0..df.height()).map(|_| b.build_hasher()).collect();
    // Column by column: each column's values are read in order, as they lie in memory.
    for t in &texts {
        for ((v, x), y) in t.iter().zip(ha.iter_mut()).zip(hb.iter_mut()) {
            match v {
                Some(v) => {
                    x.write_usize(v.len());
                    x.write(v.as_bytes());
                    y.write_usize(v.len());
                    y.write(v.as_bytes());
                }
                None => {
                    x.write_usize(usize::MAX);
                    y.write_usize(usize::MAX);
                }
            }
        }
    }
    Ok(ha
        .into_iter()
        .zip(hb)
        .map(|(x, y)| (u128::from(x.finish()) << 64) | u128::from(y.finish()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_values_are_told_apart() {
        let mut c = Cache::default();
        let long = "x".repeat(40);
        c.insert("a", [b'1'; 64]);
        c.insert("a\0", [b'2'; 64]);
        c.insert(&long, [b'3'; 64]);
        assert_eq!(c.get("a"), Some(&[b'1'; 64]));
        assert_eq!(c.get("a\0"), Some(&[b'2'; 64]));
        assert_eq!(c.get(&long), Some(&[b'3'; 64]));
        assert_eq!(c.get(&"x".repeat(INLINE)), None);
        // The longest inline value and the shortest boxed one are told apart too.
        let (edge, boxed) = ("y".repeat(INLINE), "y".repeat(INLINE + 1));
        c.insert(&edge, [b'4'; 64]);
        c.insert(&boxed, [b'5'; 64]);
        assert_eq!(c.get(&edge), Some(&[b'4'; 64]));
        assert_eq!(c.get(&boxed), Some(&[b'5'; 64]));
        assert_eq!(c.get(""), None);
        assert_eq!(c.len(), 5);
        c.clear();
        assert_eq!(c.get("a"), None);
    }

    #[test]
    fn fingerprints_tell_rows_apart_by_value_boundary_and_null() {
        let df = df![
            "a" => [Some("ab"), Some("a"), None, Some(""), Some("ab")],
            "b" => [Some("c"), Some("bc"), Some("c"), Some("c"), Some("c")],
        ]
        .unwrap();
        let f = row_fingerprints(&df).unwrap();
        // Rows 0 and 4 are equal; every other pair differs (in particular "ab|c" and "a|bc", and
        // null and the empty text).
        assert_eq!(f[0], f[4]);
        for i in 0..4 {
            for j in (i + 1)..4 {
                assert_ne!(f[i], f[j], "rows {i} and {j}");
            }
        }
    }

    #[test]
    fn a_pseudonym_beside_its_value_adds_nothing_to_the_fingerprint() {
        let raw = df!["id" => ["s1", "s2"]].unwrap();
        let with = df![
            "id" => ["s1", "s2"],
            "id_pseudonym" => ["aa", "bb"],
        ]
        .unwrap();
        assert_eq!(
            row_fingerprints(&raw).unwrap(),
            row_fingerprints(&with).unwrap()
        );
        // Without its value beside it, a column named like a pseudonym is an ordinary column.
        let alone = df!["x_pseudonym" => ["aa", "bb"]].unwrap();
        let other = df!["x_pseudonym" => ["aa", "cc"]].unwrap();
        let (f, g) = (
            row_fingerprints(&alone).unwrap(),
            row_fingerprints(&other).unwrap(),
        );
        assert_eq!(f[0], g[0]);
        assert_ne!(f[1], g[1]);
    }
}
