//! Insights event counts of the serving build, keyed by numbers of its interners.

use foldhash::{HashMap, HashMapExt};

use polars::prelude::*;

use super::accum::Interner;

/// An Insights event count: day, signal group, app, school (per-school counts), class, events
/// (names as numbers of [`CountKeys`]).
pub(super) type CountRow = (Option<i32>, u32, u32, Option<u32>, u32, i64);

/// A [`CountRow`]'s key, with the school and class only where a frame keeps them.
type CountKey = (Option<i32>, u32, u32, Option<u32>, Option<u32>);

/// The names behind the numbers of [`CountRow`]s.
pub(super) struct CountKeys<'a> {
    pub(super) groups: &'a Interner,
    pub(super) apps: &'a Interner,
    pub(super) schools: &'a Interner,
    pub(super) classes: &'a Interner,
}

impl CountKeys<'_> {
    /// The counts as a frame — `date`, `group`, `AppName`, `school` (with `school`), `class`
    /// (with `class`) and `events` — summed over what is left out.
    pub(super) fn frame(
        &self,
        rows: &[CountRow],
        school: bool,
        class: bool,
    ) -> PolarsResult<DataFrame> {
        let mut sums: HashMap<CountKey, i64> = HashMap::new();
        for r in rows {
            let key = (r.0, r.1, r.2, r.3.filter(|_| school), class.then_some(r.4));
            *sums.entry(key).or_default() += r.5;
        }
        let mut keys: Vec<_> = sums.into_iter().collect();
        keys.sort_unstable();
        let mut cols = vec![
            Column::new(
                "date".into(),
                keys.iter().map(|r| r.0.0).collect::<Vec<_>>(),
            )
            .cast(&DataType::Date)?,
            Column::new(
                "group".into(),
                keys.iter()
                    .map(|r| self.groups.get(r.0.1))
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "AppName".into(),
                keys.iter()
                    .map(|r| self.apps.get(r.0.2))
                    .collect::<Vec<_>>(),
            ),
        ];
        if school {
            cols.push(Column::new(
                "school".into(),
                keys.iter()
                    .map(|r| r.0.3.and_then(|s| self.schools.get(s)))
                    .collect::<Vec<_>>(),
            ));
        }
        if class {
            cols.push(Column::new(
                "class".into(),
                keys.iter()
                    .map(|r| r.0.4.and_then(|c| self.classes.get(c)))
                    .collect::<Vec<_>>(),
            ));
        }
        cols.push(Column::new(
            "events".into(),
            keys.iter().map(|r| r.1).collect::<Vec<_>>(),
        ));
        DataFrame::new(keys.len(), cols)
    }
}
