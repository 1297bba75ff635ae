//! Reading the serving data's day sets: distinct students per key in a date range, and the
//! few keys of sorted rows as numbers (shared by the Clever and Insights aggregates).

use std::collections::HashMap;

use polars::prelude::*;

use crate::derive::serving::{intersects, read_sets};

/// Distinct students per key among day-set rows sorted by (key, student), counting a row when
/// it passes `keep` and its days meet `mask`.
pub(crate) fn distinct_per_key(
    sets: &DataFrame,
    words: usize,
    mask: &[u64],
    keep: impl Fn(usize, u64) -> bool,
) -> PolarsResult<HashMap<Option<String>, u32>> {
    let keys = sets.column("key")?.str()?.clone();
    let sids = sets.column("sid")?.u64()?.clone();
    let days = read_sets(sets, "days", words)?;
    // Counted under borrowed keys (no allocation per row); owned once per key at the end.
    let mut out: HashMap<Option<&str>, u32> = HashMap::new();
    let mut last: Option<(Option<&str>, u64)> = None;
    for (r, (k, sid)) in keys.iter().zip(sids.iter()).enumerate() {
        let sid = sid.unwrap_or(0);
        if !keep(r, sid) || !intersects(&days[r * words..(r + 1) * words], mask) {
            continue;
        }
        // Rows of one (key, student) are adjacent: count the student once.
        if last == Some((k, sid)) {
            continue;
        }
        last = Some((k, sid));
        *out.entry(k).or_default() += 1;
    }
    Ok(out
        .into_iter()
        .map(|(k, n)| (k.map(str::to_string), n))
        .collect())
}

/// The few keys (activity types) of day-set rows sorted by key, numbered as they come.
#[derive(Default)]
pub(crate) struct KeyIndex<'a> {
    pub(crate) keys: Vec<Option<&'a str>>,
}

impl<'a> KeyIndex<'a> {
    /// The number of `k`, adding it (and a row of `width` zeros to `counts`) when new.
    pub(crate) fn index<T: Clone + Default>(
        &mut self,
        k: Option<&'a str>,
        counts: &mut Vec<Vec<T>>,
        width: usize,
    ) -> usize {
        // Rows come sorted by key: the last key is nearly always the one.
        if let Some(i) = self.keys.iter().rposition(|x| *x == k) {
            return i;
        }
        self.keys.push(k);
        counts.push(vec![T::default(); width]);
        self.keys.len() - 1
    }
}
