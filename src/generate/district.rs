//! The simulated district: schools, students, teachers and the school calendar.

use chrono::{Datelike, NaiveDate, Weekday};

use super::{GenError, Rng};

/// Generator settings.
#[derive(Debug, Clone)]
pub struct GenOptions {
    pub students: u32,
    pub days: u32,
    pub seed: u64,
    /// First calendar day considered (the first school day is the first weekday from here).
    pub start: NaiveDate,
    /// Only the students' daily-participation report (what `edlake bench` times).
    pub participation_only: bool,
}

impl Default for GenOptions {
    fn default() -> Self {
        GenOptions {
            students: 600,
            days: 20,
            seed: 42,
            start: NaiveDate::from_ymd_opt(2025, 8, 25).unwrap_or_default(),
            participation_only: false,
        }
    }
}

/// A school.
#[derive(Debug, Clone)]
pub struct School {
    pub name: String,
    pub clever_id: String,
    pub sis_id: String,
    /// How engaged its students are with digital tools (0..1).
    pub digital: f64,
    /// How often its students attend in person (0..1).
    pub attendance: f64,
}

/// A student.
#[derive(Debug, Clone)]
pub struct Student {
    /// The SIS id; Clever `sis_id` and Insights `AadUser.ObjectId` carry the same value.
    pub sis_id: String,
    /// Clever's user id; Insights `PersonId` carries the same value.
    pub clever_id: String,
    pub school: usize,
    pub grade: u32,
    /// Personal engagement factor around 1.0.
    pub propensity: f64,
    /// Personal attendance factor around 1.0.
    pub presence: f64,
}

/// A teacher.
#[derive(Debug, Clone)]
pub struct Teacher {
    pub sis_id: String,
    pub clever_id: String,
    pub school: usize,
}

/// The whole simulated district.
#[derive(Debug, Clone)]
pub struct District {
    pub seed: u64,
    pub schools: Vec<School>,
    pub students: Vec<Student>,
    pub teachers: Vec<Teacher>,
    pub days: Vec<NaiveDate>,
    pub participation_only: bool,
}

const SCHOOL_NAMES: [&str; 20] = [
    "Mitchell High",
    "Maple Ridge High",
    "Redwood Academy",
    "Waterfall Academy",
    "Lincoln Middle",
    "Cedar Grove Elementary",
    "Riverside Elementary",
    "Oak Hill Middle",
    "Summit High",
    "Lakeview Elementary",
    "Pine Valley Middle",
    "Harbor Point High",
    "Sunnyside Elementary",
    "Brookfield Middle",
    "Westwood High",
    "Eastgate Elementary",
    "Northview Academy",
    "Southridge Middle",
    "Hillcrest Elementary",
    "Valley Forge High",
];

/// Days with no school (fixed US-style holidays of the 2025-26 school year).
fn holiday(d: NaiveDate) -> bool {
    let (m, day) = (d.month(), d.day());
    matches!((m, day), (9, 1) | (11, 27) | (11, 28) | (1, 19) | (2, 16))
        || (m == 12 && day >= 22)
        || (m == 1 && day <= 2)
        || (m == 3 && (23..=27).contains(&day))
}

fn school_days(start: NaiveDate, n: u32) -> Vec<NaiveDate> {
    let mut out = Vec::with_capacity(n as usize);
    let mut d = start;
    while out.len() < n as usize {
        if !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) && !holiday(d) {
            out.push(d);
        }
        d = d.succ_opt().unwrap_or(d);
    }
    out
}

impl District {
    /// Builds the district for these options.
    pub fn new(o: &GenOptions) -> Result<District, GenError> {
        if o.students == 0 || o.days == 0 {
            return Err(GenError::Invalid(
                "students and days must be at least 1".into(),
            ));
        }
        let mut rng = Rng::fork(o.seed, 1);
        // About 750 students per school, between 2 and 20 schools.
        let n_schools = (o.students as usize / 750).clamp(2, SCHOOL_NAMES.len());
        let n_schools = n_schools.min(o.students as usize).max(1);
        let schools: Vec<School> = (0..n_schools)
            .map(|i| School {
                name: SCHOOL_NAMES[i].to_string(),
                clever_id: rng.hex32(),
                sis_id: format!("{}", 100 + i),
                digital: 0.35 + 0.5 * rng.f64(),
                attendance: 0.86 + 0.11 * rng.f64(),
            })
            .collect();
        let students = (0..o.students)
            .map(|i| {
                let school = (rng.next_u64() % n_schools as u64) as usize;
                Student {
                    sis_id: rng.hex32(),
                    clever_id: rng.hex32(),
                    school,
                    grade: 6 + (i % 7),
                    propensity: 0.4 + 1.2 * rng.f64(),
                    presence: 0.85 + 0.3 * rng.f64(),
                }
            })
            .collect();
        let teachers = (0..(o.students / 25).max(1))
            .map(|i| Teacher {
                sis_id: format!("T{:06}", i + 1),
                clever_id: rng.hex32(),
                school: (i as usize) % n_schools,
            })
            .collect();
        Ok(District {
            seed: o.seed,
            schools,
            students,
            teachers,
            days: school_days(o.start, o.days),
            participation_only: o.participation_only,
        })
    }

    /// Whether a student attends in person on school day `day` (deterministic).
    pub fn present(&self, student: usize, day: usize) -> bool {
        let s = &self.students[student];
        let mut r = Rng::fork(self.seed ^ 0xA77E, (student as u64) << 20 | day as u64);
        r.f64() < (self.schools[s.school].attendance * s.presence).min(0.995)
    }

    /// Whether a student uses digital tools on school day `day` (deterministic). Absent students
    /// rarely do; Mondays and Fridays are quieter.
    pub fn digitally_active(&self, student: usize, day: usize) -> bool {
        let s = &self.students[student];
        let weekday = self.days[day].weekday();
        let wd = match weekday {
            Weekday::Mon | Weekday::Fri => 0.85,
            _ => 1.0,
        };
        let base = (self.schools[s.school].digital * s.propensity * wd).min(0.97);
        let p = if self.present(student, day) {
            base
        } else {
            base * 0.15
        };
        let mut r = Rng::fork(self.seed ^ 0xD161, (student as u64) << 20 | day as u64);
        r.f64() < p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_skips_weekends_and_holidays() {
        let o = GenOptions {
            days: 180,
            ..GenOptions::default()
        };
        let d = District::new(&o).unwrap();
        assert_eq!(d.days.len(), 180);
        assert!(
            d.days
                .iter()
                .all(|d| !matches!(d.weekday(), Weekday::Sat | Weekday::Sun))
        );
        assert!(
            !d.days
                .contains(&NaiveDate::from_ymd_opt(2025, 12, 24).unwrap())
        );
    }

    #[test]
    fn same_seed_same_district() {
        let a = District::new(&GenOptions::default()).unwrap();
        let b = District::new(&GenOptions::default()).unwrap();
        assert_eq!(a.students[17].sis_id, b.students[17].sis_id);
        assert_eq!(a.present(5, 3), b.present(5, 3));
        let c = District::new(&GenOptions {
            seed: 7,
            ..GenOptions::default()
        })
        .unwrap();
        assert_ne!(a.students[17].sis_id, c.students[17].sis_id);
    }
}
