//! Builds the serving data from the general tables (after every ingest, with stage3).
//!
//! Input tables are read one data file at a time and folded into accumulators (day sets,
//! sums), so memory stays proportional to the result and one file, not to the tens of millions
//! of rows of a district year.

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use std::time::Instant;

use chrono::NaiveDate;
use polars::prelude::*;

use super::accum::{Calendar, Interner, Sets};
use super::clever_day_sums;
use super::publish;
use super::read::{Steps, add_days, days, each_file, sids, strs, student_key, sum_parts};
use crate::derive::identity::{IdSource, Resolver};
use crate::derive::{DeriveError, table, tables};
use crate::lake::Lake;

/// What a build wrote.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ServingReport {
    pub parts: usize,
    pub bytes: u64,
    pub calendar_days: usize,
    /// Seconds and peak memory (MB, where the OS reports it) after each part, in order.
    pub steps: Vec<(String, f64, Option<u64>)>,
}

/// Rebuilds the serving data of the lake.
pub fn build(lake: &Lake) -> Result<ServingReport, DeriveError> {
    Ok(build_with_students(lake)?.0)
}

/// [`build`], also giving each hybrid row's student number (`sid`) with the student's
/// pseudonym (`student`), in memory only: the files on disk hold no pseudonym, and the stage3
/// hybrid table gets its student column from this.
pub(crate) fn build_with_students(
    lake: &Lake,
) -> Result<(ServingReport, Option<DataFrame>), DeriveError> {
    let _lock = lake.lock("build the chart serving data")?;
    let mut steps = Steps {
        t: Instant::now(),
        done: Vec::new(),
    };
    let cal = calendar(lake)?;
    steps.mark("calendar");
    let mut b = Builder::new(lake, cal, steps)?;
    b.grades()?;
    b.clever_daily()?;
    b.clever_resources()?;
    b.attendance()?;
    b.student_schools()?;
    b.insights_activity()?;
    let student_ids = b.hybrid()?;
    let Builder {
        cal,
        parts,
        mut steps,
        ..
    } = b;
    let calendar: Vec<NaiveDate> = cal
        .days
        .iter()
        .filter_map(|d| NaiveDate::from_num_days_from_ce_opt(d + 719_163))
        .collect();
    let n = parts.len();
    let bytes = publish(lake, calendar.clone(), parts)?;
    steps.mark("written");
    let report = ServingReport {
        parts: n,
        bytes,
        calendar_days: calendar.len(),
        steps: steps.done,
    };
    Ok((report, student_ids))
}

/// The calendar: every date a distinct-student count may need.
fn calendar(lake: &Lake) -> Result<Calendar, DeriveError> {
    let mut all_days = Vec::new();
    let mut dates = |lf: LazyFrame, e: Expr| -> Result<(), DeriveError> {
        let df = lf
            .select([e.cast(DataType::Date).alias("day")])
            .unique(None, UniqueKeepStrategy::Any)
            .collect()?;
        all_days.extend(days(&df, "day")?.iter().flatten());
        Ok(())
    };
    each_file(lake, &tables::clever_ru(), |lf| dates(lf, col("date")))?;
    each_file(lake, &tables::activity(), |lf| {
        dates(lf, col("StartTime").dt().date())
    })?;
    each_file(lake, &tables::attendance(), |lf| {
        dates(lf, col("attendance_date"))
    })?;
    all_days.sort_unstable();
    all_days.dedup();
    Ok(Calendar::new(all_days))
}

/// One build's state: the calendar, the identity map, school names, each source's day sets
/// (which the hybrid part combines) and the parts written so far.
pub(super) struct Builder<'a> {
    pub(super) lake: &'a Lake,
    pub(super) cal: Calendar,
    pub(super) words: usize,
    /// Sources are read through the identity map, so one student is one key across sources.
    pub(super) ids: Resolver,
    /// School names by id: Insights Organization first, then Clever (as the direct queries).
    pub(super) names: HashMap<String, String>,
    pub(super) parts: Vec<(&'static str, DataFrame)>,
    pub(super) steps: Steps,
    /// Students' Clever days, and which school each student was seen at.
    pub(super) clever: Sets,
    pub(super) map_schools: Interner,
    pub(super) map: HashSet<(u64, u32)>,
    /// SIS attendance: days enrolled and present, each student's first school and pseudonym.
    pub(super) enrolled: Sets,
    pub(super) present: Sets,
    pub(super) first_school: HashMap<u64, Option<String>>,
    pub(super) pseudonyms: HashMap<u64, String>,
    /// Students' Insights days.
    pub(super) insights: Sets,
    pub(super) has_dp: bool,
    pub(super) has_att: bool,
    pub(super) has_act: bool,
    /// Which attendance rows count as present.
    pub(super) present_codes: crate::derive::attendance::PresentCodes,
    /// Each SIS student's grade (`sid`, `grade`), when the lake has the students table: the
    /// Clever sums are kept per grade too, for the grade filter.
    pub(super) grades: Option<DataFrame>,
}

impl<'a> Builder<'a> {
    fn new(lake: &'a Lake, cal: Calendar, steps: Steps) -> Result<Self, DeriveError> {
        let words = cal.words();
        let mut names: HashMap<String, String> = HashMap::new();
        // An SIS id the district named comes first, then Insights and Clever names of the id.
        for (id, name) in crate::derive::sites::SiteMap::load(lake)?.sis_names() {
            names.insert(id.into(), name.into());
        }
        if let Some(o) = table(lake, &tables::organization())? {
            let df = o.select([col("Id"), col("Name")]).collect()?;
            for (id, name) in strs(&df, "Id")?.iter().zip(strs(&df, "Name")?.iter()) {
                if let (Some(id), Some(name)) = (id, name) {
                    names.entry(id.into()).or_insert_with(|| name.into());
                }
            }
        }
        Ok(Builder {
            lake,
            words,
            ids: Resolver::load(lake)?,
            names,
            parts: Vec::new(),
            steps,
            clever: Sets::new(words),
            map_schools: Interner::default(),
            map: HashSet::new(),
            enrolled: Sets::new(words),
            present: Sets::new(words),
            first_school: HashMap::new(),
            pseudonyms: HashMap::new(),
            insights: Sets::new(words),
            has_dp: false,
            has_att: false,
            has_act: false,
            present_codes: crate::derive::attendance::PresentCodes::load(lake)?,
            grades: None,
            cal,
        })
    }

    /// A school id as its name (the id itself when no source names it).
    pub(super) fn school_of(&self, id: &Option<String>) -> Option<String> {
        id.as_ref()
            .map(|id| self.names.get(id).cloned().unwrap_or_else(|| id.clone()))
    }

    /// The SIS students' grades (the last row of a student wins, as in the direct queries),
    /// also written as the `student_grades` part.
    fn grades(&mut self) -> Result<(), DeriveError> {
        if let Some(st) = table(self.lake, &tables::students())? {
            let df = self
                .ids
                .apply(st, IdSource::Sis, "SIS_ID_pseudonym")
                .select([
                    student_key("SIS_ID_pseudonym"),
                    col("Grade").cast(DataType::String).alias("grade"),
                ])
                .unique_stable(Some(cols(["sid"])), UniqueKeepStrategy::Last)
                .collect()?;
            self.parts.push(("student_grades", df.clone()));
            self.grades = Some(df);
        }
        Ok(())
    }

    /// `lf` (Clever rows after the identity map) with each student's `grade` (null when the
    /// SIS does not record one).
    fn with_grade(grades: &Option<DataFrame>, lf: LazyFrame, c: &str) -> LazyFrame {
        match grades {
            Some(g) => lf.with_column(student_key(c).alias("__sid")).join(
                g.clone().lazy(),
                [col("__sid")],
                [col("sid")],
                JoinArgs::new(JoinType::Left),
            ),
            None => lf.with_column(lit(NULL).cast(DataType::String).alias("grade")),
        }
    }

    /// Clever daily participation: per-school day sums, students' days and schools.
    fn clever_daily(&mut self) -> Result<(), DeriveError> {
        let mut daily = Vec::new();
        // Active days per (school, student): the "students active" card, by school.
        let mut by_school = Sets::new(self.words);
        let (ids, cal) = (&self.ids, &self.cal);
        let (clever, map, map_schools, names) = (
            &mut self.clever,
            &mut self.map,
            &mut self.map_schools,
            &mut self.names,
        );
        let grades = &self.grades;
        self.has_dp = each_file(self.lake, &tables::clever_dp(), |lf| {
            let lf = ids.apply(lf, IdSource::Clever, "sis_id_pseudonym");
            let students = col("role").eq(lit("students"));
            daily.push(
                Self::with_grade(grades, lf.clone(), "sis_id_pseudonym")
                    .filter(students.clone().or(col("role").is_null()))
                    .group_by([
                        col("date"),
                        col("school_name").alias("school"),
                        col("grade"),
                    ])
                    .agg(clever_day_sums())
                    .collect()?,
            );
            let active = lf
                .clone()
                .filter(col("active").and(students.clone()))
                .select([
                    student_key("sis_id_pseudonym"),
                    col("date").alias("day"),
                    col("school_name"),
                ])
                .collect()?;
            add_days(clever, cal, &active)?;
            let (sid, day, school) = (
                sids(&active)?,
                days(&active, "day")?,
                strs(&active, "school_name")?,
            );
            for i in 0..active.height() {
                if let (Some(sid), Some(bit)) = (sid.get(i), day.get(i).and_then(|d| cal.bit(d))) {
                    let sc = by_school.schools.id(school.get(i));
                    by_school.add(0, sc, sid, bit);
                }
            }
            let pairs = lf
                .clone()
                .filter(students)
                .select([student_key("sis_id_pseudonym"), col("school_name")])
                .unique(None, UniqueKeepStrategy::Any)
                .collect()?;
            for (sid, school) in sids(&pairs)?
                .iter()
                .zip(strs(&pairs, "school_name")?.iter())
            {
                if let Some(sid) = sid {
                    map.insert((sid, map_schools.id(school)));
                }
            }
            let ids = lf
                .select([col("clever_school_id"), col("school_name")])
                .filter(col("school_name").is_not_null())
                .unique_stable(Some(cols(["clever_school_id"])), UniqueKeepStrategy::First)
                .collect()?;
            let id_col = strs(&ids, "clever_school_id")?;
            for (id, name) in id_col.iter().zip(strs(&ids, "school_name")?.iter()) {
                if let (Some(id), Some(name)) = (id, name) {
                    names.entry(id.into()).or_insert_with(|| name.into());
                }
            }
            Ok(())
        })?;
        if self.has_dp {
            let sums = ["students", "active_students", "logins", "resources"];
            let by_grade = sum_parts(daily, &["date", "school", "grade"], &sums)?;
            let df = sum_parts(vec![by_grade.clone()], &["date", "school"], &sums)?;
            self.parts.push(("clever_daily", df));
            self.parts.push(("clever_daily_grade", by_grade));
            self.parts
                .push(("clever_active", by_school.frame("days", true)?));
            self.steps.mark("Clever daily participation");
        }
        Ok(())
    }

    /// Clever resource usage: accesses, and students' days per resource and resource type.
    fn clever_resources(&mut self) -> Result<(), DeriveError> {
        let mut accesses = Vec::new();
        let mut by_name = Sets::new(self.words);
        let mut by_type = Sets::new(self.words);
        let mut source_grades: HashMap<u64, String> = HashMap::new();
        let (cal, ids, grades) = (&self.cal, &self.ids, &self.grades);
        let has_ru = each_file(self.lake, &tables::clever_ru(), |lf| {
            let lf = lf.filter(col("role").eq(lit("students")).or(col("role").is_null()));
            // The grade through the identity map (the day sets below keep the source's ids,
            // as the direct queries count them).
            let mapped = ids.apply(
                lf.clone()
                    .with_column(col("sis_id_pseudonym").alias("__student")),
                IdSource::Clever,
                "__student",
            );
            let graded = Self::with_grade(grades, mapped, "__student");
            if grades.is_some() {
                // The grade of each student as the resource day sets number them (the source's
                // ids), for the grade filter on those sets.
                let pairs = graded
                    .clone()
                    .select([student_key("sis_id_pseudonym"), col("grade")])
                    .unique(None, UniqueKeepStrategy::Any)
                    .collect()?;
                for (sid, g) in sids(&pairs)?.iter().zip(strs(&pairs, "grade")?.iter()) {
                    if let (Some(sid), Some(g)) = (sid, g) {
                        source_grades.insert(sid, g.to_string());
                    }
                }
            }
            accesses.push(
                graded
                    .group_by([
                        col("date"),
                        col("school_name").alias("school"),
                        col("resource_name"),
                        col("resource_type"),
                        col("grade"),
                    ])
                    .agg([col("num_access")
                        .sum()
                        .cast(DataType::Int64)
                        .alias("accesses")])
                    .collect()?,
            );
            let df = lf
                .select([
                    col("resource_name"),
                    col("resource_type"),
                    col("school_name"),
                    student_key("sis_id_pseudonym"),
                    col("date").alias("day"),
                ])
                .collect()?;
            let (n, t, s) = (
                strs(&df, "resource_name")?,
                strs(&df, "resource_type")?,
                strs(&df, "school_name")?,
            );
            let (sid, day) = (sids(&df)?, days(&df, "day")?);
            for i in 0..df.height() {
                let (Some(sid), Some(bit)) = (sid.get(i), day.get(i).and_then(|d| cal.bit(d)))
                else {
                    continue;
                };
                let (k, sc) = (by_name.keys.id(n.get(i)), by_name.schools.id(s.get(i)));
                by_name.add(k, sc, sid, bit);
                let (k, sc) = (by_type.keys.id(t.get(i)), by_type.schools.id(s.get(i)));
                by_type.add(k, sc, sid, bit);
            }
            Ok(())
        })?;
        if has_ru {
            let by = ["date", "school", "resource_name", "resource_type"];
            let by_grade = sum_parts(accesses, &[&by[..], &["grade"]].concat(), &["accesses"])?;
            self.parts.push((
                "resource_accesses",
                sum_parts(vec![by_grade.clone()], &by, &["accesses"])?,
            ));
            self.parts.push(("resource_accesses_grade", by_grade));
            if self.grades.is_some() {
                let (sid, grade): (Vec<u64>, Vec<String>) = source_grades.into_iter().unzip();
                let df = DataFrame::new(
                    sid.len(),
                    vec![
                        Column::new("sid".into(), sid),
                        Column::new("grade".into(), grade),
                    ],
                )?;
                self.parts.push(("resource_grades", df));
            }
            self.parts
                .push(("resource_names", by_name.frame("days", true)?));
            self.parts
                .push(("resource_types", by_type.frame("days", true)?));
            self.steps.mark("Clever resource usage");
        }
        Ok(())
    }

    /// SIS attendance: the hybrid day sets, each student's first school and pseudonym.
    fn attendance(&mut self) -> Result<(), DeriveError> {
        let (ids, cal) = (&self.ids, &self.cal);
        let present_expr = self.present_codes.present();
        let (enrolled, present, first_school, pseudonyms) = (
            &mut self.enrolled,
            &mut self.present,
            &mut self.first_school,
            &mut self.pseudonyms,
        );
        self.has_att = each_file(self.lake, &tables::attendance(), |lf| {
            let df = ids
                .apply(lf, IdSource::Sis, "student_id_pseudonym")
                .select([
                    student_key("student_id_pseudonym"),
                    col("student_id_pseudonym").alias("student"),
                    col("attendance_date").cast(DataType::Date).alias("day"),
                    present_expr.clone().alias("present"),
                    col("school_id").cast(DataType::String),
                ])
                .filter(col("student").is_not_null())
                .collect()?;
            let (sid, day) = (sids(&df)?, days(&df, "day")?);
            let (student, school) = (strs(&df, "student")?, strs(&df, "school_id")?);
            let flag = df.column("present")?.bool()?.clone();
            for i in 0..df.height() {
                let Some(sid) = sid.get(i) else { continue };
                first_school
                    .entry(sid)
                    .or_insert_with(|| school.get(i).map(str::to_string));
                if let Some(p) = student.get(i) {
                    pseudonyms.entry(sid).or_insert_with(|| p.to_string());
                }
                if let Some(bit) = day.get(i).and_then(|d| cal.bit(d)) {
                    enrolled.add(0, 0, sid, bit);
                    if flag.get(i) == Some(true) {
                        present.add(0, 0, sid, bit);
                    }
                }
            }
            Ok(())
        })?;
        Ok(())
    }

    /// Student → school for Insights: from Clever, else from attendance (as the direct queries).
    fn student_schools(&mut self) -> Result<(), DeriveError> {
        if !self.has_dp && self.has_att {
            for (sid, id) in &self.first_school {
                let s = self.school_of(id);
                self.map.insert((*sid, self.map_schools.id(s.as_deref())));
            }
        }
        if self.has_dp || self.has_att {
            let mut rows: Vec<(u64, u32)> = self.map.iter().copied().collect();
            rows.sort_unstable();
            let df = DataFrame::new(
                rows.len(),
                vec![
                    Column::new("sid".into(), rows.iter().map(|r| r.0).collect::<Vec<_>>()),
                    Column::new(
                        "school".into(),
                        rows.iter()
                            .map(|r| self.map_schools.get(r.1))
                            .collect::<Vec<_>>(),
                    ),
                ],
            )?;
            self.parts.push(("student_schools", df));
        }
        Ok(())
    }
}
