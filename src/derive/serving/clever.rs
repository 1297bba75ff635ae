//! The serving build's Clever parts: daily participation and resource usage (see
//! [`super::build`]).

use polars::prelude::*;

use super::accum::ViewCodes;
use super::build::Builder;
use super::clever_day_sums;
use super::read::{add_days, days, each_file, sids, strs, student_key, sum_parts};
use crate::derive::identity::{IdSource, Resolver};
use crate::derive::{DeriveError, tables};

impl Builder<'_> {
    /// `lf` (Clever rows after the identity map) with each student's number (`sid`, of column
    /// `c`) and `grade` (null when the SIS does not record one).
    fn with_grade(grades: &Option<DataFrame>, lf: LazyFrame, c: &str) -> LazyFrame {
        let lf = lf.with_column(student_key(c));
        match grades {
            // In the file's row order: the first name of a school and the numbering of schools
            // follow it.
            Some(g) => lf.join(
                g.clone().lazy(),
                [col("sid")],
                [col("sid")],
                JoinArgs {
                    maintain_order: MaintainOrderJoin::Left,
                    ..JoinArgs::new(JoinType::Left)
                },
            ),
            None => lf.with_column(lit(NULL).cast(DataType::String).alias("grade")),
        }
    }

    /// Clever daily participation: per-school day sums, students' days and schools.
    pub(super) fn clever_daily(&mut self) -> Result<(), DeriveError> {
        let (ids, cal, grades) = (&self.ids, &self.cal, &self.grades);
        // Active days per (school, student) are the "students active" card, by school.
        let f = &mut self.f;
        let (daily, by_school) = (&mut f.daily, &mut f.clever_schools);
        let (clever, map, map_schools, names) =
            (&mut f.clever, &mut f.map, &mut f.map_schools, &mut f.names);
        let read = |lf: LazyFrame| -> Result<DailyFile, DeriveError> {
            // One read per file (students hashed once); the views below work in memory.
            let lf = ids.apply(lf, IdSource::Clever, "sis_id_pseudonym");
            let df = Self::with_grade(grades, lf, "sis_id_pseudonym")
                .select([
                    col("sid"),
                    col("date"),
                    col("school_name"),
                    col("clever_school_id"),
                    col("role"),
                    col("active"),
                    col("num_logins"),
                    col("num_resources_accessed"),
                    col("grade"),
                ])
                .collect()?;
            let students = col("role").eq(lit("students"));
            let sums = (df.clone().lazy())
                .filter(students.clone().or(col("role").is_null()))
                .group_by([
                    col("date"),
                    col("school_name").alias("school"),
                    col("grade"),
                ])
                .agg(clever_day_sums())
                .collect()?;
            let active = (df.clone().lazy())
                .filter(col("active").and(students.clone()))
                .select([col("sid"), col("date").alias("day"), col("school_name")])
                .collect()?;
            // Not made unique here: the fold keeps a set, and a student is on one row of a
            // day's file, so hashing every row here as well only doubled the work.
            let pairs = (df.clone().lazy())
                .filter(students)
                .select([col("sid"), col("school_name")])
                .collect()?;
            let names = (df.lazy())
                .select([col("clever_school_id"), col("school_name")])
                .filter(col("school_name").is_not_null())
                .unique_stable(Some(cols(["clever_school_id"])), UniqueKeepStrategy::First)
                .collect()?;
            Ok(DailyFile {
                sums,
                active,
                pairs,
                names,
            })
        };
        let fold = |file: DailyFile| -> Result<(), DeriveError> {
            daily.push(file.sums);
            let active = &file.active;
            add_days(clever, cal, active)?;
            let (sid, day) = (sids(active)?, days(active, "day")?);
            let mut school = ViewCodes::new(&strs(active, "school_name")?);
            for i in 0..active.height() {
                if let (Some(sid), Some(bit)) = (sid.get(i), day.get(i).and_then(|d| cal.bit(d))) {
                    let sc = school.id(&mut by_school.schools, i);
                    by_school.add(0, sc, sid, bit);
                }
            }
            let pairs = &file.pairs;
            let mut school = ViewCodes::new(&strs(pairs, "school_name")?);
            for (i, sid) in sids(pairs)?.iter().enumerate() {
                if let Some(sid) = sid {
                    map.insert((sid, school.id(map_schools, i)));
                }
            }
            let id_col = strs(&file.names, "clever_school_id")?;
            for (id, name) in id_col.iter().zip(strs(&file.names, "school_name")?.iter()) {
                if let (Some(id), Some(name)) = (id, name) {
                    names.entry(id.into()).or_insert_with(|| name.into());
                }
            }
            Ok(())
        };
        self.has_dp = each_file(self.lake, &tables::clever_dp(), &self.done, read, fold)?;
        if self.has_dp {
            let sums = ["students", "active_students", "logins", "resources"];
            let by_grade = sum_parts(
                std::mem::take(&mut self.f.daily),
                &["date", "school", "grade"],
                &sums,
            )?;
            self.f.daily = vec![by_grade.clone()];
            let df = sum_parts(vec![by_grade.clone()], &["date", "school"], &sums)?;
            self.parts.push(("clever_daily", df));
            self.parts.push(("clever_daily_grade", by_grade));
            self.parts
                .push(("clever_active", self.f.clever_schools.frame("days", true)?));
            self.steps.mark("Clever daily participation");
        }
        Ok(())
    }

    /// Clever resource usage: accesses, and students' days per resource and resource type.
    pub(super) fn clever_resources(&mut self) -> Result<(), DeriveError> {
        let (cal, ids, grades) = (&self.cal, &self.ids, &self.grades);
        let f = &mut self.f;
        let (accesses, by_name, by_type, source_grades) = (
            &mut f.accesses,
            &mut f.by_name,
            &mut f.by_type,
            &mut f.source_grades,
        );
        let read = |lf| read_resources(ids, grades, lf);
        let fold = |file: ResourceFile| -> Result<(), DeriveError> {
            if let Some(pairs) = &file.pairs {
                for (sid, g) in sids(pairs)?.iter().zip(strs(pairs, "grade")?.iter()) {
                    if let (Some(sid), Some(g)) = (sid, g) {
                        source_grades.insert(sid, g.to_string());
                    }
                }
            }
            accesses.push(file.accesses);
            let df = &file.rows;
            let (n, t, s) = (
                strs(df, "resource_name")?,
                strs(df, "resource_type")?,
                strs(df, "school_name")?,
            );
            let (sid, day) = (sids(df)?, days(df, "date")?);
            let (mut name_k, mut name_s) = (ViewCodes::new(&n), ViewCodes::new(&s));
            let (mut type_k, mut type_s) = (ViewCodes::new(&t), ViewCodes::new(&s));
            for i in 0..df.height() {
                let (Some(sid), Some(bit)) = (sid.get(i), day.get(i).and_then(|d| cal.bit(d)))
                else {
                    continue;
                };
                let k = name_k.id(&mut by_name.keys, i);
                let sc = name_s.id(&mut by_name.schools, i);
                by_name.add(k, sc, sid, bit);
                let k = type_k.id(&mut by_type.keys, i);
                let sc = type_s.id(&mut by_type.schools, i);
                by_type.add(k, sc, sid, bit);
            }
            Ok(())
        };
        let has_ru = each_file(self.lake, &tables::clever_ru(), &self.done, read, fold)?;
        if has_ru {
            let by = ["date", "school", "resource_name", "resource_type"];
            let by_grade = sum_parts(
                std::mem::take(&mut self.f.accesses),
                &[&by[..], &["grade"]].concat(),
                &["accesses"],
            )?;
            self.f.accesses = vec![by_grade.clone()];
            self.parts.push((
                "resource_accesses",
                sum_parts(vec![by_grade.clone()], &by, &["accesses"])?,
            ));
            self.parts.push(("resource_accesses_grade", by_grade));
            if self.grades.is_some() {
                let mut pairs: Vec<(u64, &str)> = (self.f.source_grades.iter())
                    .map(|(s, g)| (*s, g.as_str()))
                    .collect();
                // In student order: a build from the last one's state writes the same part.
                pairs.sort_unstable();
                let (sid, grade): (Vec<u64>, Vec<&str>) = pairs.into_iter().unzip();
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
                .push(("resource_names", self.f.by_name.frame("days", true)?));
            self.parts
                .push(("resource_types", self.f.by_type.frame("days", true)?));
            self.steps.mark("Clever resource usage");
        }
        Ok(())
    }
}

/// One read of a Clever resource usage file (students' rows only); the views work in memory.
fn read_resources(
    ids: &Resolver,
    grades: &Option<DataFrame>,
    lf: LazyFrame,
) -> Result<ResourceFile, DeriveError> {
    let lf = lf.filter(col("role").eq(lit("students")).or(col("role").is_null()));
    // The grade through the identity map (the day sets below keep the source's ids,
    // as the direct queries count them). One read per file; the views work in memory.
    let mapped = ids.apply(
        lf.with_column(col("sis_id_pseudonym").alias("__student")),
        IdSource::Clever,
        "__student",
    );
    let df = Builder::with_grade(grades, mapped, "__student")
        .select([
            col("resource_name"),
            col("resource_type"),
            col("school_name"),
            student_key("sis_id_pseudonym"),
            col("date"),
            col("grade"),
            col("num_access"),
        ])
        .collect()?;
    // The grade of each student as the resource day sets number them (the source's
    // ids), for the grade filter on those sets.
    let pairs = match grades {
        Some(_) => Some(
            (df.clone().lazy())
                .select([col("sid"), col("grade")])
                .unique(None, UniqueKeepStrategy::Any)
                .collect()?,
        ),
        None => None,
    };
    let accesses = (df.clone().lazy())
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
        .collect()?;
    Ok(ResourceFile {
        rows: df,
        pairs,
        accesses,
    })
}

/// What one Clever daily participation file adds: its per-school day sums, active students'
/// days, students' schools and school names.
struct DailyFile {
    sums: DataFrame,
    active: DataFrame,
    pairs: DataFrame,
    names: DataFrame,
}

/// What one Clever resource usage file adds: its rows (students by the source's ids), the
/// grade of each of those students (when the SIS has grades) and its access sums.
struct ResourceFile {
    rows: DataFrame,
    pairs: Option<DataFrame>,
    accesses: DataFrame,
}
