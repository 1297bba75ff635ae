//! What a serving build folded its input files into, kept beside the build's parts so that the
//! next build after an append (a new school day) folds only the new files.
//!
//! Every accumulator is saved with its numbering (interned keys as numbers, the interners as
//! value lists), so a reloaded fold continues exactly where the last one stopped. Students are
//! the build's 64-bit numbers, as in the parts; no pseudonym is saved.

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use std::path::Path;

use polars::prelude::*;

use super::accum::{Interner, Sets};
use crate::derive::DeriveError;
use crate::lake::LakeError;

/// An Insights event count's key: day, signal group, app, class.
pub(super) type CountKey = (Option<i32>, u32, u32, u32);
/// The same per school: day, signal group, app, school, class.
pub(super) type SchoolCountKey = (Option<i32>, u32, u32, u32, u32);

/// The accumulators of a build, each fed one input file at a time.
pub(super) struct Folds {
    /// School names by id (the district's, Insights', then Clever's).
    pub(super) names: HashMap<String, String>,
    /// Students' active Clever days, overall and per school.
    pub(super) clever: Sets,
    pub(super) clever_schools: Sets,
    /// Which school each student was seen at (Clever), schools numbered by `map_schools`.
    pub(super) map_schools: Interner,
    pub(super) map: HashSet<(u64, u32)>,
    /// Clever daily sums by date, school and grade (partial frames, summed at the end).
    pub(super) daily: Vec<DataFrame>,
    /// Resource accesses by date, school, resource and grade (partial frames).
    pub(super) accesses: Vec<DataFrame>,
    pub(super) by_name: Sets,
    pub(super) by_type: Sets,
    /// Each Clever resource user's grade (the source's student numbers).
    pub(super) source_grades: HashMap<u64, String>,
    /// SIS attendance: days enrolled and present, each student's first school.
    pub(super) enrolled: Sets,
    pub(super) present: Sets,
    pub(super) first_school: HashMap<u64, Option<String>>,
    /// Insights: every actor's days; students' days per signal group and app, by class.
    pub(super) insights: Sets,
    pub(super) groups: Sets,
    pub(super) apps: Sets,
    pub(super) classes: Interner,
    pub(super) counts: HashMap<CountKey, i64>,
    pub(super) counts_school: HashMap<SchoolCountKey, i64>,
}

impl Folds {
    /// Empty accumulators of `words` words per day set.
    pub(super) fn new(words: usize, names: HashMap<String, String>) -> Self {
        Folds {
            names,
            clever: Sets::new(words),
            clever_schools: Sets::new(words),
            map_schools: Interner::default(),
            map: HashSet::new(),
            daily: Vec::new(),
            accesses: Vec::new(),
            by_name: Sets::new(words),
            by_type: Sets::new(words),
            source_grades: HashMap::new(),
            enrolled: Sets::new(words),
            present: Sets::new(words),
            first_school: HashMap::new(),
            insights: Sets::new(words),
            groups: Sets::new(words),
            apps: Sets::new(words),
            classes: Interner::default(),
            counts: HashMap::new(),
            counts_school: HashMap::new(),
        }
    }

    fn sets(&self) -> [(&'static str, &Sets); 9] {
        [
            ("clever", &self.clever),
            ("clever_schools", &self.clever_schools),
            ("by_name", &self.by_name),
            ("by_type", &self.by_type),
            ("enrolled", &self.enrolled),
            ("present", &self.present),
            ("insights", &self.insights),
            ("groups", &self.groups),
            ("apps", &self.apps),
        ]
    }

    fn sets_mut(&mut self) -> [(&'static str, &mut Sets); 9] {
        [
            ("clever", &mut self.clever),
            ("clever_schools", &mut self.clever_schools),
            ("by_name", &mut self.by_name),
            ("by_type", &mut self.by_type),
            ("enrolled", &mut self.enrolled),
            ("present", &mut self.present),
            ("insights", &mut self.insights),
            ("groups", &mut self.groups),
            ("apps", &mut self.apps),
        ]
    }

    /// The frames `save` writes, by file stem (the partial sums summed first).
    fn frames(&self) -> PolarsResult<Vec<(String, DataFrame)>> {
        let mut out = Vec::new();
        for (name, s) in self.sets() {
            let (rows, keys, schools) = s.raw_frames()?;
            out.push((name.to_string(), rows));
            out.push((format!("{name}.keys"), keys));
            out.push((format!("{name}.schools"), schools));
        }
        out.push(("map_schools".into(), self.map_schools.frame()?));
        out.push(("classes".into(), self.classes.frame()?));
        let (sid, school): (Vec<u64>, Vec<u32>) = self.map.iter().copied().unzip();
        out.push(("map".into(), df!("sid" => sid, "school" => school)?));
        let (id, name): (Vec<&str>, Vec<&str>) = self
            .names
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .unzip();
        out.push(("names".into(), df!("id" => id, "name" => name)?));
        let (sid, grade): (Vec<u64>, Vec<&str>) = self
            .source_grades
            .iter()
            .map(|(s, g)| (*s, g.as_str()))
            .unzip();
        out.push(("source_grades".into(), df!("sid" => sid, "grade" => grade)?));
        let (sid, school): (Vec<u64>, Vec<Option<&str>>) = self
            .first_school
            .iter()
            .map(|(s, g)| (*s, g.as_deref()))
            .unzip();
        out.push((
            "first_school".into(),
            df!("sid" => sid, "school" => school)?,
        ));
        let c = &self.counts;
        out.push((
            "counts".into(),
            df!(
                "day" => c.keys().map(|k| k.0).collect::<Vec<_>>(),
                "group" => c.keys().map(|k| k.1).collect::<Vec<_>>(),
                "app" => c.keys().map(|k| k.2).collect::<Vec<_>>(),
                "class" => c.keys().map(|k| k.3).collect::<Vec<_>>(),
                "n" => c.values().copied().collect::<Vec<_>>(),
            )?,
        ));
        let c = &self.counts_school;
        out.push((
            "counts_school".into(),
            df!(
                "day" => c.keys().map(|k| k.0).collect::<Vec<_>>(),
                "group" => c.keys().map(|k| k.1).collect::<Vec<_>>(),
                "app" => c.keys().map(|k| k.2).collect::<Vec<_>>(),
                "school" => c.keys().map(|k| k.3).collect::<Vec<_>>(),
                "class" => c.keys().map(|k| k.4).collect::<Vec<_>>(),
                "n" => c.values().copied().collect::<Vec<_>>(),
            )?,
        ));
        for (name, parts) in [("daily", &self.daily), ("accesses", &self.accesses)] {
            if let Some(first) = parts.first() {
                let mut all = first.clone();
                for p in &parts[1..] {
                    all.vstack_mut(p)?;
                }
                out.push((name.into(), all));
            }
        }
        Ok(out)
    }

    /// Writes the accumulators under `dir`.
    pub(super) fn save(&self, dir: &Path) -> Result<u64, DeriveError> {
        std::fs::create_dir_all(dir).map_err(|e| LakeError::io(dir, e))?;
        let mut bytes = 0;
        for (name, mut df) in self.frames()? {
            let path = dir.join(format!("{name}.parquet"));
            bytes += crate::lake::write_buffered(&path, super::KEEP, |w| {
                ParquetWriter::new(w).finish(&mut df)
            })?;
        }
        Ok(bytes)
    }

    /// Reads what [`Folds::save`] wrote, with day sets of `words` words.
    pub(super) fn load(dir: &Path, words: usize) -> Result<Folds, DeriveError> {
        let read = |name: &str| -> Result<DataFrame, DeriveError> {
            let path = dir.join(format!("{name}.parquet"));
            let f = std::fs::File::open(&path).map_err(|e| LakeError::io(&path, e))?;
            Ok(ParquetReader::new(f).finish()?)
        };
        let optional = |name: &str| -> Result<Vec<DataFrame>, DeriveError> {
            match dir.join(format!("{name}.parquet")).exists() {
                true => Ok(vec![read(name)?]),
                false => Ok(Vec::new()),
            }
        };
        let mut f = Folds::new(words, HashMap::new());
        for (name, s) in f.sets_mut() {
            let rows = read(name)?;
            let keys = Interner::from_frame(&read(&format!("{name}.keys"))?)?;
            let schools = Interner::from_frame(&read(&format!("{name}.schools"))?)?;
            *s = Sets::from_raw_frames(&rows, keys, schools, words)?;
        }
        f.map_schools = Interner::from_frame(&read("map_schools")?)?;
        f.classes = Interner::from_frame(&read("classes")?)?;
        let df = read("map")?;
        let (sid, school) = (df.column("sid")?.u64()?, df.column("school")?.u32()?);
        f.map = sid
            .iter()
            .zip(school.iter())
            .filter_map(|(a, b)| Some((a?, b?)))
            .collect();
        let df = read("names")?;
        let (id, name) = (df.column("id")?.str()?, df.column("name")?.str()?);
        f.names = id
            .iter()
            .zip(name.iter())
            .filter_map(|(a, b)| Some((a?.to_string(), b?.to_string())))
            .collect();
        let df = read("source_grades")?;
        let (sid, grade) = (df.column("sid")?.u64()?, df.column("grade")?.str()?);
        f.source_grades = sid
            .iter()
            .zip(grade.iter())
            .filter_map(|(a, b)| Some((a?, b?.to_string())))
            .collect();
        let df = read("first_school")?;
        let (sid, school) = (df.column("sid")?.u64()?, df.column("school")?.str()?);
        f.first_school = sid
            .iter()
            .zip(school.iter())
            .filter_map(|(a, b)| Some((a?, b.map(str::to_string))))
            .collect();
        let df = read("counts")?;
        let day = df.column("day")?.i32()?;
        let [g, a, c] = ["group", "app", "class"].map(|n| df.column(n).and_then(|c| c.u32()));
        let (g, a, c, n) = (g?, a?, c?, df.column("n")?.i64()?);
        for i in 0..df.height() {
            if let (Some(g), Some(a), Some(c), Some(n)) = (g.get(i), a.get(i), c.get(i), n.get(i)) {
                f.counts.insert((day.get(i), g, a, c), n);
            }
        }
        let df = read("counts_school")?;
        let day = df.column("day")?.i32()?;
        let [g, a, s, c] =
            ["group", "app", "school", "class"].map(|n| df.column(n).and_then(|c| c.u32()));
        let (g, a, s, c, n) = (g?, a?, s?, c?, df.column("n")?.i64()?);
        for i in 0..df.height() {
            if let (Some(g), Some(a), Some(s), Some(c), Some(n)) =
                (g.get(i), a.get(i), s.get(i), c.get(i), n.get(i))
            {
                f.counts_school.insert((day.get(i), g, a, s, c), n);
            }
        }
        f.daily = optional("daily")?;
        f.accesses = optional("accesses")?;
        Ok(f)
    }
}
