//! Which lookup rows a run has already kept, so the lookup table holds each mapping once.

use polars::prelude::*;

use super::cache;
// Frames of up to a chunk's rows are kept for the next, as the hasher keeps its chunks.
use super::hasher::MEMO_ROWS;

/// The lookup rows already kept, so each distinct mapping is stored once. Shared by workers.
/// Rows are remembered by a 128-bit fingerprint, not their text: a lookup with a row per record
/// (13.5 M attendance ids in a district year) then takes ~16 bytes a row instead of ~200, and
/// two different rows share a fingerprint with odds around 10^-24.
#[derive(Default)]
pub struct LookupSeen {
    seen: std::sync::Mutex<PlHashSet<u128>>,
    /// The last frame checked, every row of which is in `seen`. Daily files list the same
    /// students in the same order, so row `i` of a frame is usually row `i` of the last one and
    /// known without its fingerprint (which was a twentieth of a Clever year's ingest).
    last: std::sync::Mutex<Option<DataFrame>>,
}

fn poisoned<T>(_: T) -> PolarsError {
    PolarsError::ComputeError("lookup state poisoned".into())
}

impl LookupSeen {
    /// Remembers the rows of an existing lookup table.
    pub fn seed(&self, df: &DataFrame) -> PolarsResult<()> {
        let keys = cache::row_fingerprints(df)?;
        self.seen.lock().map_err(poisoned)?.extend(keys);
        Ok(())
    }

    /// The rows of `df` not seen before (each distinct row once), remembering them.
    pub fn keep_new(&self, df: &DataFrame) -> PolarsResult<DataFrame> {
        let last = self.last.lock().map_err(poisoned)?.clone();
        // Only rows that differ from the same row of the last frame need a fingerprint.
        let rest = match same_rows(df, last.as_ref())? {
            Some(same) => df.filter(&!same)?,
            None => df.clone(),
        };
        let keys = cache::row_fingerprints(&rest)?;
        let mut seen = self.seen.lock().map_err(poisoned)?;
        let mask: BooleanChunked = keys.into_iter().map(|k| Some(seen.insert(k))).collect();
        drop(seen);
        let out = rest.filter(&mask)?;
        if df.height() <= MEMO_ROWS {
            *self.last.lock().map_err(poisoned)? = Some(df.clone());
        }
        Ok(out)
    }
}

/// Per row of `df`, whether every fingerprinted column holds what the same row of `last` holds
/// (null equal to null, as a fingerprint treats it); `None` when `last` has other columns.
fn same_rows(df: &DataFrame, last: Option<&DataFrame>) -> PolarsResult<Option<BooleanChunked>> {
    let Some(last) = last.filter(|l| l.schema() == df.schema()) else {
        return Ok(None);
    };
    let n = df.height().min(last.height());
    let mut same: Option<BooleanChunked> = None;
    for c in cache::fingerprinted(df) {
        let now = c.as_materialized_series().slice(0, n);
        let before = last.column(c.name())?.as_materialized_series().slice(0, n);
        let eq = now.equal_missing(&before)?;
        same = Some(match same {
            Some(s) => s & eq,
            None => eq,
        });
    }
    let Some(mut same) = same else {
        return Ok(None);
    };
    // Rows past the end of `last` are not known.
    same.append(&BooleanChunked::full("same".into(), false, df.height() - n))?;
    Ok(Some(same))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each frame's new rows, computed the slow way: a set of every row's values seen before.
    fn naive(frames: &[DataFrame]) -> Vec<usize> {
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        for df in frames {
            let (id, name) = (
                df.column("id").unwrap().str().unwrap(),
                df.column("n").unwrap(),
            );
            let name = name.i64().unwrap();
            let new = (0..df.height())
                .filter(|&i| seen.insert((id.get(i).map(str::to_string), name.get(i))))
                .count();
            out.push(new);
        }
        out
    }

    #[test]
    fn rows_in_place_and_rows_moved_are_kept_once() {
        let f = |ids: &[Option<&str>], n: &[Option<i64>]| {
            let p: Vec<Option<String>> = ids.iter().map(|v| v.map(|v| format!("{v}#"))).collect();
            df!("id" => ids, "n" => n, "id_pseudonym" => p).unwrap()
        };
        let frames = vec![
            f(&[Some("a"), Some("b"), None], &[Some(1), Some(2), Some(3)]),
            // Same rows in place; then a changed number, a value moved, a null, a new tail.
            f(&[Some("a"), Some("b"), None], &[Some(1), Some(2), Some(3)]),
            f(
                &[Some("a"), Some("a"), None, Some("c"), Some("c")],
                &[Some(9), Some(1), None, Some(4), Some(4)],
            ),
            f(&[Some("b"), Some("a")], &[Some(2), Some(9)]),
            f(&[Some("a"), Some("d"), None], &[Some(9), Some(5), Some(3)]),
        ];
        let seen = LookupSeen::default();
        let got: Vec<usize> = (frames.iter())
            .map(|df| seen.keep_new(df).unwrap().height())
            .collect();
        assert_eq!(got, naive(&frames));
        assert_eq!(got, [3, 0, 3, 0, 1]);
        // The kept rows are the new ones, in their order, pseudonyms with them.
        let seen = LookupSeen::default();
        seen.keep_new(&frames[0]).unwrap();
        let kept = seen.keep_new(&frames[2]).unwrap();
        let ids: Vec<Option<&str>> = kept.column("id").unwrap().str().unwrap().iter().collect();
        assert_eq!(ids, [Some("a"), None, Some("c")]);
        let p = kept.column("id_pseudonym").unwrap().str().unwrap();
        assert_eq!(p.get(2), Some("c#"));
    }
}
