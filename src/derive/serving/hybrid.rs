//! The serving build's Insights part and the hybrid part that combines every source's day
//! sets (see [`super::build`]).

use foldhash::{HashMap, HashMapExt};

use polars::prelude::*;

use super::accum::{Coded, Sets};
use super::build::Builder;
use super::counts::{CountKeys, CountRow};
use super::read::{days, each_file, sids, strs, student_key};
use super::state::{CountKey, SchoolCountKey};
use super::{signal_group, word_col};
use crate::derive::classes::ClassNames;
use crate::derive::identity::{IdSource, Resolver};
use crate::derive::{DeriveError, tables};

/// One Insights activity file as the fold needs it: student key, day and role per row, and its
/// text columns numbered.
struct Activity {
    df: DataFrame,
    group: Coded,
    app: Coded,
    class: Coded,
    sis_class: Coded,
}

impl Activity {
    /// Reads one file's rows: every actor's student key and day, whether the actor is a
    /// student, and the texts numbered — here, on the reading threads: the fold runs on one
    /// thread and hashing these texts row by row was most of its time.
    fn read(ids: &Resolver, lf: LazyFrame) -> Result<Activity, DeriveError> {
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
                col("ClassId").cast(DataType::String),
                col("SisClassId").cast(DataType::String),
            ])
            .collect()?;
        let coded = |c: &str| -> PolarsResult<Coded> { Ok(Coded::new(&strs(&df, c)?)) };
        Ok(Activity {
            group: coded("group")?,
            app: coded("AppName")?,
            class: coded("ClassId")?,
            sis_class: coded("SisClassId")?,
            df,
        })
    }
}

impl Builder<'_> {
    /// Insights activity: event counts (all, per school, and both per class), students' days
    /// per signal group and app (all and per class) and per class, and every actor's days for
    /// the hybrid part.
    pub(super) fn insights_activity(&mut self) -> Result<(), DeriveError> {
        let has_map = self.has_dp || self.has_att;
        let mut schools_of: HashMap<u64, Vec<u32>> = HashMap::new();
        for (sid, s) in &self.f.map {
            schools_of.entry(*sid).or_default().push(*s);
        }
        let names = ClassNames::load(self.lake)?;
        let (ids, cal) = (&self.ids, &self.cal);
        // Each event's class (section) label is the second slot of the day sets: the sets per
        // signal group, per app and per class are folded from these at the end.
        let f = &mut self.f;
        let (insights, groups, apps, classes) =
            (&mut f.insights, &mut f.groups, &mut f.apps, &mut f.classes);
        let (counts, counts_school) = (&mut f.counts, &mut f.counts_school);
        // One read per file: every actor's days feed the hybrid sets (adding a day twice is a
        // no-op), student rows also feed the counts and the group/app sets.
        let read = |lf: LazyFrame| Activity::read(ids, lf);
        let fold = |a: Activity| -> Result<(), DeriveError> {
            let df = &a.df;
            let (sid, day) = (sids(df)?, days(df, "day")?);
            let (mut group_ids, mut app_ids) = (a.group.slots(), a.app.slots());
            // Labels per distinct (ClassId, SisClassId) of the file, numbered once.
            let mut class_of: HashMap<(u32, u32), u32> = HashMap::new();
            let is_student = df.column("is_student")?.bool()?.clone();
            // The file's counts first: a file is about one day, so its keys are a few thousand
            // and stay in the CPU's cache, where the year's millions did not; added to the
            // year's counts once per key at the end.
            let mut file_counts: HashMap<CountKey, i64> = HashMap::new();
            let mut file_counts_school: HashMap<SchoolCountKey, i64> = HashMap::new();
            for i in 0..df.height() {
                let d = day.get(i);
                let bit = d.and_then(|d| cal.bit(d));
                if let (Some(sid), Some(bit)) = (sid.get(i), bit) {
                    insights.add(0, 0, sid, bit);
                }
                if is_student.get(i) != Some(true) {
                    continue;
                }
                let pair = (a.class.codes[i], a.sis_class.codes[i]);
                let c = *class_of.entry(pair).or_insert_with(|| {
                    let (class, sis) = (a.class.values.get(pair.0), a.sis_class.values.get(pair.1));
                    classes.id(names.label(class, sis).as_deref())
                });
                let g = a.group.global(i, &mut groups.keys, &mut group_ids);
                let ap = a.app.global(i, &mut apps.keys, &mut app_ids);
                *file_counts.entry((d, g, ap, c)).or_default() += 1;
                let Some(sid) = sid.get(i) else { continue };
                for s in schools_of.get(&sid).into_iter().flatten() {
                    *file_counts_school.entry((d, g, ap, *s, c)).or_default() += 1;
                }
                if let Some(bit) = bit {
                    groups.add(g, c, sid, bit);
                    apps.add(ap, c, sid, bit);
                }
            }
            for (k, n) in file_counts {
                *counts.entry(k).or_default() += n;
            }
            for (k, n) in file_counts_school {
                *counts_school.entry(k).or_default() += n;
            }
            Ok(())
        };
        let has_act = each_file(self.lake, &tables::activity(), &self.done, read, fold)?;
        self.has_act = has_act;
        if has_act {
            let f = &mut self.f;
            f.groups.schools = f.classes.clone();
            f.apps.schools = f.classes.clone();
            let (groups, apps, counts, counts_school) =
                (&f.groups, &f.apps, &f.counts, &f.counts_school);
            let k = CountKeys {
                groups: &groups.keys,
                apps: &apps.keys,
                schools: &f.map_schools,
                classes: &f.classes,
            };
            let rows: Vec<CountRow> = counts
                .iter()
                .map(|(x, n)| (x.0, x.1, x.2, None, x.3, *n))
                .collect();
            self.parts
                .push(("insights_counts_class", k.frame(&rows, false, true)?));
            self.parts
                .push(("insights_counts", k.frame(&rows, false, false)?));
            if has_map {
                let rows: Vec<CountRow> = counts_school
                    .iter()
                    .map(|(x, n)| (x.0, x.1, x.2, Some(x.3), x.4, *n))
                    .collect();
                self.parts
                    .push(("insights_counts_school_class", k.frame(&rows, true, true)?));
                self.parts
                    .push(("insights_counts_school", k.frame(&rows, true, false)?));
            }
            let by_class = |sets: &Sets| -> PolarsResult<DataFrame> {
                let mut df = sets.frame("days", true)?;
                df.rename("school", "class".into())?;
                Ok(df)
            };
            self.parts
                .push(("insights_groups_class", by_class(groups)?));
            self.parts.push(("insights_apps_class", by_class(apps)?));
            self.parts
                .push(("insights_classes", groups.by_school().frame("days", false)?));
            self.parts.push((
                "insights_groups",
                groups.without_school().frame("days", false)?,
            ));
            self.parts
                .push(("insights_apps", apps.without_school().frame("days", false)?));
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
        let grades: HashMap<u64, Option<String>> = match &self.grades {
            Some(df) => sids(df)?
                .iter()
                .zip(strs(df, "grade")?.iter())
                .filter_map(|(s, g)| Some((s?, g.map(str::to_string))))
                .collect(),
            None => HashMap::new(),
        };
        let mut students: Vec<u64> = self.f.enrolled.entries().map(|e| e.2).collect();
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
                    .map(|s| (self.f.first_school.get(s)).and_then(|id| self.school_of(id)))
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
        let words = self.words;
        let zero = vec![0u64; words];
        let sets: [(&str, &Sets, bool); 4] = [
            ("enrolled", &self.f.enrolled, true),
            ("present", &self.f.present, true),
            ("clever", &self.f.clever, self.has_dp),
            ("insights", &self.f.insights, self.has_act),
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
