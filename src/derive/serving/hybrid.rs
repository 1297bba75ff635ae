//! The serving build's Insights part and the hybrid part that combines every source's day
//! sets (see [`super::build`]).

use foldhash::{HashMap, HashMapExt};

use polars::prelude::*;

use super::accum::Sets;
use super::build::{Builder, CountRow};
use super::read::{days, each_file, sids, strs, student_key};
use super::{signal_group, word_col};
use crate::derive::identity::IdSource;
use crate::derive::{DeriveError, table, tables};

impl Builder<'_> {
    /// Insights activity: event counts (all and per school), students' days per signal group
    /// and app, and every actor's days for the hybrid part.
    pub(super) fn insights_activity(&mut self) -> Result<(), DeriveError> {
        let words = self.words;
        let has_map = self.has_dp || self.has_att;
        let mut schools_of: HashMap<u64, Vec<u32>> = HashMap::new();
        for (sid, s) in &self.map {
            schools_of.entry(*sid).or_default().push(*s);
        }
        let (ids, cal, insights) = (&self.ids, &self.cal, &mut self.insights);
        let mut groups = Sets::new(words);
        let mut apps = Sets::new(words);
        // Students' days per class (section): the classes card counts the classes active in
        // a range, of a school's students under a school filter.
        let mut classes = Sets::new(words);
        let mut counts: HashMap<(Option<i32>, u32, u32), i64> = HashMap::new();
        let mut counts_school: HashMap<(Option<i32>, u32, u32, u32), i64> = HashMap::new();
        let has_act = each_file(self.lake, &tables::activity(), |lf| {
            // One read per file: every actor's days feed the hybrid sets (adding a day twice is a
            // no-op), student rows also feed the counts and the group/app sets.
            let df = ids
                .apply(lf, IdSource::Insights, "ActorId_pseudonym")
                .select([
                    student_key("ActorId_pseudonym"),
                    col("StartTime").dt().date().alias("day"),
                    col("ActorRole")
                        .eq(lit("Student"))
                        .or(col("ActorRole").is_null())
                        .alias("is_student"),
                    signal_group().alias("group"),
                    col("AppName"),
                    col("ClassId").cast(DataType::String).alias("class"),
                ])
                .collect()?;
            let (sid, day) = (sids(&df)?, days(&df, "day")?);
            let (group, app) = (strs(&df, "group")?, strs(&df, "AppName")?);
            let class = strs(&df, "class")?;
            let is_student = df.column("is_student")?.bool()?.clone();
            for i in 0..df.height() {
                let d = day.get(i);
                let bit = d.and_then(|d| cal.bit(d));
                if let (Some(sid), Some(bit)) = (sid.get(i), bit) {
                    insights.add(0, 0, sid, bit);
                }
                if is_student.get(i) != Some(true) {
                    continue;
                }
                let (g, a) = (groups.keys.id(group.get(i)), apps.keys.id(app.get(i)));
                *counts.entry((d, g, a)).or_default() += 1;
                let Some(sid) = sid.get(i) else { continue };
                for s in schools_of.get(&sid).into_iter().flatten() {
                    *counts_school.entry((d, g, a, *s)).or_default() += 1;
                }
                if let Some(bit) = bit {
                    groups.add(g, 0, sid, bit);
                    apps.add(a, 0, sid, bit);
                    if let Some(c) = class.get(i) {
                        let c = classes.keys.id(Some(c));
                        classes.add(c, 0, sid, bit);
                    }
                }
            }
            Ok(())
        })?;
        self.has_act = has_act;
        let map_schools = &self.map_schools;
        if has_act {
            let frame = |rows: Vec<CountRow>| -> PolarsResult<DataFrame> {
                let mut cols = vec![
                    Column::new("date".into(), rows.iter().map(|r| r.0).collect::<Vec<_>>())
                        .cast(&DataType::Date)?,
                    Column::new(
                        "group".into(),
                        rows.iter()
                            .map(|r| groups.keys.get(r.1))
                            .collect::<Vec<_>>(),
                    ),
                    Column::new(
                        "AppName".into(),
                        rows.iter().map(|r| apps.keys.get(r.2)).collect::<Vec<_>>(),
                    ),
                ];
                if rows.first().is_some_and(|r| r.3.is_some()) {
                    cols.push(Column::new(
                        "school".into(),
                        rows.iter()
                            .map(|r| r.3.and_then(|s| map_schools.get(s)))
                            .collect::<Vec<_>>(),
                    ));
                }
                cols.push(Column::new(
                    "events".into(),
                    rows.iter().map(|r| r.4).collect::<Vec<_>>(),
                ));
                DataFrame::new(rows.len(), cols)
            };
            let rows = counts
                .iter()
                .map(|(k, n)| (k.0, k.1, k.2, None, *n))
                .collect();
            self.parts.push(("insights_counts", frame(rows)?));
            if has_map {
                let rows = counts_school
                    .iter()
                    .map(|(k, n)| (k.0, k.1, k.2, Some(k.3), *n))
                    .collect();
                let mut df = frame(rows)?;
                if df.height() == 0 {
                    df.with_column(Column::new_empty("school".into(), &DataType::String))?;
                }
                self.parts.push(("insights_counts_school", df));
            }
            self.parts
                .push(("insights_groups", groups.frame("days", false)?));
            self.parts
                .push(("insights_apps", apps.frame("days", false)?));
            self.parts
                .push(("insights_classes", classes.frame("days", false)?));
            self.steps.mark("Insights activity");
        }
        Ok(())
    }

    /// The hybrid part: each attending student's school, grade and day words per source; returns
    /// the students' pseudonyms by `sid` (kept in memory for the stage3 hybrid table).
    pub(super) fn hybrid(&mut self) -> Result<Option<DataFrame>, DeriveError> {
        if !self.has_att {
            return Ok(None);
        }
        let (ids, words) = (&self.ids, self.words);
        let grades = match table(self.lake, &tables::students())? {
            Some(st) => {
                let df = ids
                    .apply(st, IdSource::Sis, "SIS_ID_pseudonym")
                    .select([
                        student_key("SIS_ID_pseudonym"),
                        col("Grade").cast(DataType::String).alias("grade"),
                    ])
                    .unique_stable(Some(cols(["sid"])), UniqueKeepStrategy::Last)
                    .collect()?;
                sids(&df)?
                    .iter()
                    .zip(strs(&df, "grade")?.iter())
                    .filter_map(|(s, g)| Some((s?, g.map(str::to_string))))
                    .collect()
            }
            None => HashMap::new(),
        };
        let mut students: Vec<u64> = self.enrolled.entries().map(|e| e.2).collect();
        students.sort_unstable();
        // Pseudonyms stay in memory (for the stage3 hybrid table); the serving files hold
        // only what the charts need.
        let student_ids = DataFrame::new(
            students.len(),
            vec![
                Column::new("sid".into(), students.clone()),
                Column::new(
                    "student".into(),
                    students
                        .iter()
                        .map(|s| self.pseudonyms.get(s).cloned())
                        .collect::<Vec<_>>(),
                ),
            ],
        )?;
        let mut cols = vec![
            Column::new("sid".into(), students.clone()),
            Column::new(
                "school".into(),
                students
                    .iter()
                    .map(|s| self.first_school.get(s).and_then(|id| self.school_of(id)))
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "grade".into(),
                students
                    .iter()
                    .map(|s| grades.get(s).cloned().flatten())
                    .collect::<Vec<Option<String>>>(),
            ),
        ];
        let zero = vec![0u64; words];
        let sets: [(&str, &Sets, bool); 4] = [
            ("enrolled", &self.enrolled, true),
            ("present", &self.present, true),
            ("clever", &self.clever, self.has_dp),
            ("insights", &self.insights, self.has_act),
        ];
        for (name, set, wanted) in sets {
            if !wanted {
                continue;
            }
            for w in 0..words {
                let v: Vec<u64> = students
                    .iter()
                    .map(|s| set.get(0, 0, *s).unwrap_or(&zero)[w])
                    .collect();
                cols.push(Column::new(word_col(name, w).into(), v));
            }
        }
        let hybrid = DataFrame::new(students.len(), cols)?;
        self.parts.push(("hybrid", hybrid));
        self.steps.mark("hybrid engagement");
        Ok(Some(student_ids))
    }
}
