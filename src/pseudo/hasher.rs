//! The pseudonym of each value, computed once per distinct value and remembered for a run.

use polars::prelude::*;

use super::cache;
use super::{Salt, hash_hex};

/// Hashes each distinct value once: IDs repeat every day, hashing them per row would waste time.
/// Shared between worker threads; lookups take a read lock once per column chunk.
pub struct Hasher {
    salt: Salt,
    cache: std::sync::RwLock<cache::Cache>,
    /// What the run learned of each column, by column name.
    columns: std::sync::Mutex<PlHashMap<String, ColumnState>>,
}

/// Most rows of a chunk kept for the next one (a school day of a large district is well below):
/// a chunk of a million rows would hold about 100 MB per hashed column until the next.
pub(super) const MEMO_ROWS: usize = 1 << 18;

/// A chunk's values and their pseudonyms.
type Previous = std::sync::Arc<(StringChunked, StringChunked)>;

/// One column's cache lookups and hits so far, and its last chunk with its pseudonyms: daily
/// files list the same students in the same order (Clever's reports do, the OEA samples
/// included), so row `i` usually holds the value row `i` held the day before and takes its
/// pseudonym without a lookup. Only an equal value does.
#[derive(Default, Clone)]
struct ColumnState {
    looked: u64,
    hit: u64,
    last: Option<Previous>,
}

/// Lookups after which a column whose values seldom repeat stops using the cache.
const UNIQUE_AFTER: u64 = 1 << 18;

impl ColumnState {
    /// Whether the column's values are record ids (hardly any seen twice): caching them only
    /// fills the cache, so they are hashed directly. A wrong guess costs time, never a value.
    fn unique(&self) -> bool {
        self.looked >= UNIQUE_AFTER && self.hit < self.looked / 16
    }
}

impl Hasher {
    /// A hasher with an empty cache.
    pub fn new(salt: Salt) -> Self {
        Self {
            salt,
            cache: std::sync::RwLock::new(cache::Cache::default()),
            columns: std::sync::Mutex::new(PlHashMap::default()),
        }
    }

    /// Number of distinct values hashed so far.
    pub fn distinct(&self) -> usize {
        self.cache.read().map(|c| c.len()).unwrap_or(0)
    }

    /// Hashes a column; nulls stay null. Non-string columns are hashed from their Spark text form.
    pub fn hash_series(&self, s: &Series) -> Result<Series, PolarsError> {
        let text = if s.dtype() == &DataType::String {
            s.clone()
        } else {
            s.cast(&DataType::String)?
        };
        let ca = text.str()?;
        let poisoned = || PolarsError::ComputeError("pseudonym cache poisoned".into());
        let mut b = StringChunkedBuilder::new(s.name().clone(), ca.len());
        let name = s.name().as_str();
        let seen = (self.columns.lock().map_err(|_| poisoned())?)
            .get(name)
            .cloned()
            .unwrap_or_default();
        if seen.unique() {
            for v in ca.iter() {
                match v {
                    None => b.append_null(),
                    Some(v) => b.append_value(cache::hex_str(&hash_hex(v, &self.salt))),
                }
            }
            return Ok(b.finish().into_series());
        }
        let mut same_row = (seen.last.as_deref()).map(|(v, h)| v.iter().zip(h.iter()));
        // This chunk's values the cache does not hold, hashed once each.
        let mut fresh: PlHashMap<&str, cache::Hex> = PlHashMap::default();
        let mut looked = 0u64;
        {
            let cache = self.cache.read().map_err(|_| poisoned())?;
            for v in ca.iter() {
                let before = same_row.as_mut().and_then(Iterator::next);
                match v {
                    None => b.append_null(),
                    Some(v) => {
                        looked += 1;
                        if let Some((Some(pv), Some(ph))) = before
                            && pv == v
                        {
                            b.append_value(ph);
                            continue;
                        }
                        let h = match cache.get(v) {
                            Some(h) => h,
                            None => fresh.entry(v).or_insert_with(|| hash_hex(v, &self.salt)),
                        };
                        b.append_value(cache::hex_str(h));
                    }
                }
            }
        }
        let hit = looked - fresh.len() as u64;
        if !fresh.is_empty() {
            let mut cache = self.cache.write().map_err(|_| poisoned())?;
            // Ids that repeat (students) stay cached; ids unique per row (an attendance record
            // id) would grow the cache with the table, so it starts over past a bound.
            if cache.len() + fresh.len() > CACHE_MAX {
                cache.clear();
            }
            for (k, v) in fresh {
                cache.insert(k, v);
            }
        }
        let out = b.finish();
        let mut columns = self.columns.lock().map_err(|_| poisoned())?;
        let c = columns.entry(name.to_string()).or_default();
        c.looked += looked;
        c.hit += hit;
        // Record ids never match row for row either; a huge chunk is not worth holding.
        c.last = (!c.unique() && ca.len() <= MEMO_ROWS)
            .then(|| std::sync::Arc::new((ca.clone(), out.clone())));
        Ok(out.into_series())
    }
}

/// Most values the pseudonym cache holds (about 150 MB).
const CACHE_MAX: usize = 1 << 20;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pseudo::hash_value;

    #[test]
    fn record_ids_stop_filling_the_cache_and_keep_their_pseudonyms() {
        let salt = Salt::from_secret("s4lt").unwrap();
        let hasher = Hasher::new(salt.clone());
        let chunk = |name: &str, from: u64, n: u64| {
            let v: Vec<String> = (from..from + n).map(|i| format!("{name}{i}")).collect();
            Series::new(name.into(), v)
        };
        let half = UNIQUE_AFTER / 2;
        // Two chunks of ids never seen twice: cached while the column is being learned.
        for k in 0..2 {
            let _ = hasher.hash_series(&chunk("id", k * half, half)).unwrap();
        }
        assert_eq!(hasher.distinct() as u64, UNIQUE_AFTER);
        // Past the bound they are hashed directly, the cache no longer grows, and the pseudonyms
        // are still sha256(value ‖ salt) — including a value that is in the cache.
        let out = hasher
            .hash_series(&chunk("id", UNIQUE_AFTER - 1, 3))
            .unwrap();
        assert_eq!(hasher.distinct() as u64, UNIQUE_AFTER);
        let out = out.str().unwrap();
        for (i, v) in out.iter().enumerate() {
            let raw = format!("id{}", UNIQUE_AFTER - 1 + i as u64);
            assert_eq!(v, Some(hash_value(&raw, &salt).as_str()));
        }
        // A column whose values repeat keeps being cached under the same load.
        for _ in 0..4 {
            let _ = hasher.hash_series(&chunk("student", 0, half)).unwrap();
        }
        let _ = hasher.hash_series(&chunk("student", half, 5)).unwrap();
        assert_eq!(hasher.distinct() as u64, UNIQUE_AFTER + half + 5);
    }

    #[test]
    fn a_row_takes_the_previous_chunks_pseudonym_only_for_an_equal_value() {
        let salt = Salt::from_secret("s4lt").unwrap();
        let hasher = Hasher::new(salt.clone());
        let col = |v: &[Option<&str>]| Series::new("sis_id".into(), v.to_vec());
        let day1 = [Some("a1"), Some("b2"), None, Some("c3")];
        // Same order, then one student changed, one null where a value was, a value where a
        // null was, and more rows than the day before.
        let day2 = [
            Some("a1"),
            Some("zz"),
            Some("n0"),
            None,
            Some("c3"),
            Some("d4"),
        ];
        let _ = hasher.hash_series(&col(&day1)).unwrap();
        let out = hasher.hash_series(&col(&day2)).unwrap();
        let out = out.str().unwrap();
        for (v, got) in day2.iter().zip(out.iter()) {
            assert_eq!(got, v.map(|v| hash_value(v, &salt)).as_deref(), "{v:?}");
        }
        // A shorter chunk after it.
        let out = hasher.hash_series(&col(&[Some("zz")])).unwrap();
        assert_eq!(
            out.str().unwrap().get(0),
            Some(hash_value("zz", &salt).as_str())
        );
    }
}
