//! Accumulators the serving build folds input files into, one file at a time: day sets per
//! (key, school, student) and sums per (day, key...). Keys are interned, students are hashes.

use foldhash::HashMap;
use foldhash::HashMapExt;

use polars::prelude::*;

use super::word_col;

/// Dates (days since the epoch) → calendar bit.
#[derive(Debug, Clone)]
pub struct Calendar {
    first: i32,
    bits: Vec<Option<u32>>,
    pub days: Vec<i32>,
}

impl Calendar {
    /// A calendar of the given (sorted, distinct) days.
    pub fn new(days: Vec<i32>) -> Self {
        let first = days.first().copied().unwrap_or(0);
        let last = days.last().copied().unwrap_or(0);
        let mut bits = vec![None; (last - first + 1).max(0) as usize];
        for (i, d) in days.iter().enumerate() {
            bits[(d - first) as usize] = Some(i as u32);
        }
        Calendar { first, bits, days }
    }

    /// The bit of a day, when the calendar has it.
    pub fn bit(&self, day: i32) -> Option<usize> {
        let i = usize::try_from(day.checked_sub(self.first)?).ok()?;
        self.bits.get(i).copied().flatten().map(|b| b as usize)
    }

    /// 64-bit words per day set.
    pub fn words(&self) -> usize {
        super::words_for(self.days.len())
    }
}

/// Small-cardinality strings (resource names, schools, apps) as numbers.
#[derive(Debug, Default, Clone)]
pub struct Interner {
    ids: HashMap<String, u32>,
    null: Option<u32>,
    pub values: Vec<Option<String>>,
}

impl Interner {
    /// The number of a value, assigning the next one to a new value.
    pub fn id(&mut self, v: Option<&str>) -> u32 {
        let next = self.values.len() as u32;
        let found = match v {
            // Looked up by `&str`: no allocation for values seen before (nearly every row).
            Some(s) => self.ids.get(s).copied(),
            None => self.null,
        };
        if let Some(i) = found {
            return i;
        }
        match v {
            Some(s) => {
                self.ids.insert(s.to_string(), next);
            }
            None => self.null = Some(next),
        }
        self.values.push(v.map(str::to_string));
        next
    }

    /// The value of a number.
    pub fn get(&self, i: u32) -> Option<&str> {
        self.values.get(i as usize).and_then(|v| v.as_deref())
    }

    /// The values in number order, as a one-column frame (`value`).
    pub fn frame(&self) -> PolarsResult<DataFrame> {
        let v: Vec<Option<&str>> = self.values.iter().map(|v| v.as_deref()).collect();
        df!("value" => v)
    }

    /// The interner [`Interner::frame`] wrote, with the same numbers.
    pub fn from_frame(df: &DataFrame) -> PolarsResult<Interner> {
        let mut out = Interner::default();
        for v in df.column("value")?.str()?.iter() {
            out.id(v);
        }
        Ok(out)
    }
}

/// How many distinct string views a [`ViewCodes`] remembers.
const MEMO_LIMIT: usize = 4096;

/// A text column's rows as an [`Interner`]'s numbers, each distinct value looked up about once
/// per data file: rows whose string views are equal hold equal text (a view is the text itself
/// up to 12 bytes, else its place in the array's buffers, which values decoded from one Parquet
/// dictionary share), so a row costs a 16-byte lookup instead of hashing and comparing its
/// text. A column whose views hardly repeat stops being memoized after [`MEMO_LIMIT`].
pub struct ViewCodes {
    /// The column as one array (views name buffers of their own array only).
    arr: Option<<StringType as PolarsDataType>::Array>,
    memo: HashMap<u128, u32>,
}

impl ViewCodes {
    pub fn new(c: &StringChunked) -> Self {
        let one = c.rechunk();
        ViewCodes {
            arr: one.downcast_iter().next().cloned(),
            memo: HashMap::new(),
        }
    }

    /// Row `i`'s number in `interner` (which must be the same for every call).
    pub fn id(&mut self, interner: &mut Interner, i: usize) -> u32 {
        let Some(arr) = self.arr.as_ref().filter(|a| i < a.len()) else {
            return interner.id(None);
        };
        // `get` is None for a null row.
        if StaticArray::get(arr, i).is_none() {
            return interner.id(None);
        }
        let key = arr.views()[i].as_u128();
        if let Some(id) = self.memo.get(&key) {
            return *id;
        }
        let id = interner.id(Some(arr.value(i)));
        if self.memo.len() < MEMO_LIMIT {
            self.memo.insert(key, id);
        }
        id
    }
}

/// A text column of one data file as numbers into that file's own distinct values, made on the
/// thread that read the file, so the single thread folding every file into the shared
/// [`Interner`]s works with numbers, not text.
pub struct Coded {
    /// Each row's number in `values`.
    pub codes: Vec<u32>,
    /// The file's distinct values, numbered in the order they first appear.
    pub values: Interner,
}

impl Coded {
    pub fn new(c: &StringChunked) -> Self {
        let mut values = Interner::default();
        let mut views = ViewCodes::new(c);
        let codes = (0..c.len()).map(|i| views.id(&mut values, i)).collect();
        Coded { codes, values }
    }

    /// Empty slots for [`Coded::global`], one per distinct value.
    pub fn slots(&self) -> Vec<Option<u32>> {
        vec![None; self.values.values.len()]
    }

    /// Row `i`'s number in `global`, looked up once per distinct value of the file and kept in
    /// `slots`: values get their numbers in the order rows first use them, as numbering row by
    /// row does.
    pub fn global(&self, i: usize, global: &mut Interner, slots: &mut [Option<u32>]) -> u32 {
        let local = self.codes[i];
        *slots[local as usize].get_or_insert_with(|| global.id(self.values.get(local)))
    }
}

/// Day sets keyed by (key, school, student).
#[derive(Debug)]
pub struct Sets {
    words: usize,
    index: HashMap<(u32, u32, u64), usize>,
    rows: Vec<(u32, u32, u64)>,
    bits: Vec<u64>,
    pub keys: Interner,
    pub schools: Interner,
}

impl Sets {
    /// Empty sets of `words` words each.
    pub fn new(words: usize) -> Self {
        Sets {
            words,
            index: HashMap::new(),
            rows: Vec::new(),
            bits: Vec::new(),
            keys: Interner::default(),
            schools: Interner::default(),
        }
    }

    /// Adds calendar bit `bit` to the set of (key, school, student).
    pub fn add(&mut self, key: u32, school: u32, sid: u64, bit: usize) {
        let r = self.row(key, school, sid);
        self.bits[r * self.words + bit / 64] |= 1 << (bit % 64);
    }

    /// The row of (key, school, student), added (with no days) when new.
    fn row(&mut self, key: u32, school: u32, sid: u64) -> usize {
        let next = self.rows.len();
        let r = *self.index.entry((key, school, sid)).or_insert(next);
        if r == next {
            self.rows.push((key, school, sid));
            self.bits.extend(std::iter::repeat_n(0, self.words));
        }
        r
    }

    /// Adds the days `bits` (one set's words) to the set of (key, school, student).
    pub fn add_words(&mut self, key: u32, school: u32, sid: u64, bits: &[u64]) {
        let (r, words) = (self.row(key, school, sid), self.words);
        for (a, b) in self.bits[r * words..(r + 1) * words].iter_mut().zip(bits) {
            *a |= b;
        }
    }

    /// The sets with their numbers — `key`, `school`, `sid` and one column per word — and the
    /// two interners' frames, for [`Sets::from_raw_frames`].
    pub fn raw_frames(&self) -> PolarsResult<(DataFrame, DataFrame, DataFrame)> {
        let mut cols = vec![
            Column::new(
                "key".into(),
                self.rows.iter().map(|r| r.0).collect::<Vec<_>>(),
            ),
            Column::new(
                "school".into(),
                self.rows.iter().map(|r| r.1).collect::<Vec<_>>(),
            ),
            Column::new(
                "sid".into(),
                self.rows.iter().map(|r| r.2).collect::<Vec<_>>(),
            ),
        ];
        for w in 0..self.words {
            let v: Vec<u64> = (0..self.rows.len())
                .map(|r| self.bits[r * self.words + w])
                .collect();
            cols.push(Column::new(format!("w{w}").into(), v));
        }
        let rows = DataFrame::new(self.rows.len(), cols)?;
        Ok((rows, self.keys.frame()?, self.schools.frame()?))
    }

    /// The sets [`Sets::raw_frames`] wrote, with `words` words each (at least as many).
    pub fn from_raw_frames(
        df: &DataFrame,
        keys: Interner,
        schools: Interner,
        words: usize,
    ) -> PolarsResult<Sets> {
        let mut out = Sets::new(words);
        out.keys = keys;
        out.schools = schools;
        let (k, s, sid) = (
            df.column("key")?.u32()?,
            df.column("school")?.u32()?,
            df.column("sid")?.u64()?,
        );
        let mut saved = Vec::new();
        let mut w = 0;
        while let Ok(c) = df.column(&format!("w{w}")) {
            saved.push(c.u64()?.clone());
            w += 1;
        }
        let mut bits = vec![0u64; words];
        for r in 0..df.height() {
            let (Some(k), Some(s), Some(sid)) = (k.get(r), s.get(r), sid.get(r)) else {
                continue;
            };
            for (b, c) in bits.iter_mut().zip(&saved) {
                *b = c.get(r).unwrap_or(0);
            }
            out.add_words(k, s, sid, &bits);
        }
        Ok(out)
    }

    /// The sets merged into one per (new key, student): the new key is `pick(key, school)`,
    /// numbered as in `keys`.
    fn merged(&self, keys: Interner, pick: impl Fn(u32, u32) -> u32) -> Sets {
        let mut out = Sets::new(self.words);
        out.keys = keys;
        for (r, (k, s, sid)) in self.rows.iter().enumerate() {
            let bits = &self.bits[r * self.words..(r + 1) * self.words];
            out.add_words(pick(*k, *s), 0, *sid, bits);
        }
        out
    }

    /// The sets merged over the second slot: one set per (key, student).
    pub fn without_school(&self) -> Sets {
        self.merged(self.keys.clone(), |k, _| k)
    }

    /// The sets merged over the key, the second slot becoming the key: one set per
    /// (second slot, student).
    pub fn by_school(&self) -> Sets {
        self.merged(self.schools.clone(), |_, s| s)
    }

    /// The set of (key, school, student), when it has one.
    pub fn get(&self, key: u32, school: u32, sid: u64) -> Option<&[u64]> {
        let r = *self.index.get(&(key, school, sid))?;
        Some(&self.bits[r * self.words..(r + 1) * self.words])
    }

    /// Every (key, school, student) with a set.
    pub fn entries(&self) -> impl Iterator<Item = (u32, u32, u64)> + '_ {
        self.rows.iter().copied()
    }

    /// The sets as a frame — `key`, `school` (when `with_school`), `sid` and the words of day
    /// set `set` — sorted by key, student and school, so that a student's rows under one key
    /// are adjacent.
    pub fn frame(&self, set: &str, with_school: bool) -> PolarsResult<DataFrame> {
        let mut order: Vec<usize> = (0..self.rows.len()).collect();
        order.sort_by(|a, b| {
            let (ka, sa, ia) = self.rows[*a];
            let (kb, sb, ib) = self.rows[*b];
            (self.keys.get(ka), ia, self.schools.get(sa)).cmp(&(
                self.keys.get(kb),
                ib,
                self.schools.get(sb),
            ))
        });
        let mut cols = vec![
            Column::new(
                "key".into(),
                order
                    .iter()
                    .map(|r| self.keys.get(self.rows[*r].0))
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "sid".into(),
                order.iter().map(|r| self.rows[*r].2).collect::<Vec<_>>(),
            ),
        ];
        if with_school {
            cols.push(Column::new(
                "school".into(),
                order
                    .iter()
                    .map(|r| self.schools.get(self.rows[*r].1))
                    .collect::<Vec<_>>(),
            ));
        }
        for w in 0..self.words {
            cols.push(Column::new(
                word_col(set, w).into(),
                order
                    .iter()
                    .map(|r| self.bits[r * self.words + w])
                    .collect::<Vec<_>>(),
            ));
        }
        DataFrame::new(order.len(), cols)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Row by row, the memoized numbers equal the interner's own: short and long values,
    /// nulls, equal values stored apart, a column of several chunks, and more distinct values
    /// than the memo keeps.
    #[test]
    fn view_codes_number_rows_as_the_interner_does() {
        let long = |i: usize| format!("a school name longer than twelve bytes {}", i % 7);
        let mut values: Vec<Option<String>> = (0..MEMO_LIMIT + 500)
            .map(|i| match i % 5 {
                0 => None,
                1 => Some(format!("s{}", i % 3)),
                2 => Some(long(i)),
                _ => Some(format!("distinct value number {i:06}")),
            })
            .collect();
        values.push(Some(long(2)));
        let mut c: StringChunked = values[..100].iter().map(|v| v.as_deref()).collect();
        let rest: StringChunked = values[100..].iter().map(|v| v.as_deref()).collect();
        c.append(&rest).unwrap();
        assert!(c.chunks().len() > 1);
        let (mut memoized, mut plain) = (Interner::default(), Interner::default());
        let mut codes = ViewCodes::new(&c);
        for (i, v) in values.iter().enumerate() {
            assert_eq!(
                codes.id(&mut memoized, i),
                plain.id(v.as_deref()),
                "row {i}"
            );
        }
        assert_eq!(memoized.values, plain.values);
    }

    #[test]
    fn coded_files_number_used_rows_as_the_interner_does() {
        // Two files folded into one interner that already holds a value; only some rows are
        // used (as only student rows are), and a value only unused rows hold gets no number.
        let files: [Vec<Option<&str>>; 2] = [
            vec![
                Some("Teams"),
                None,
                Some("skipped"),
                Some("Reflect"),
                Some("Teams"),
            ],
            vec![Some("OneNote"), Some("Teams"), None, Some("OneNote")],
        ];
        let used = |f: usize, i: usize| !(f == 0 && i == 2);
        let (mut coded_ids, mut plain) = (Interner::default(), Interner::default());
        coded_ids.id(Some("Reflect"));
        plain.id(Some("Reflect"));
        for (f, rows) in files.iter().enumerate() {
            let c: StringChunked = rows.iter().copied().collect();
            let coded = Coded::new(&c);
            let mut slots = coded.slots();
            for (i, v) in rows.iter().enumerate() {
                if used(f, i) {
                    assert_eq!(
                        coded.global(i, &mut coded_ids, &mut slots),
                        plain.id(*v),
                        "file {f} row {i}"
                    );
                }
            }
        }
        assert_eq!(coded_ids.values, plain.values);
        assert!(!coded_ids.values.contains(&Some("skipped".to_string())));
    }
}
