//! Clever roster files (the SFTP roster CSV format: schools, students, teachers, sections,
//! enrollments), as three dated snapshots over the term so syncs show new students, transfers,
//! updates and a reactivation.
//!
//! Who is where: students with `i % 50 == 49` enrol late (absent from the first snapshot);
//! `i % 50 == 7` leave before the second snapshot, and of those `i % 100 == 7` come back in the
//! third; `i % 97 == 3` get a new email in the second. Every 40th student (`i % 40 == 11`) has
//! no state id. `Student_id` is the SIS id that Clever participation, the SIS and Insights carry;
//! `Student_number` and `State_id` match the SIS student list.

use std::io::Write;
use std::path::Path;

use chrono::NaiveDate;

use super::insights::student_name;
use super::{District, GenError, GenSummary, create};

/// Roster file headers, in Clever's SFTP column order.
pub const STUDENTS_HEADER: &str = "School_id,Student_id,Student_number,State_id,Last_name,Middle_name,First_name,Grade,Gender,DOB,Race,Hispanic_Latino,Ell_status,Frl_status,IEP_status,Student_street,Student_city,Student_state,Student_zip,Student_email,Contact_relationship,Contact_type,Contact_name,Contact_phone,Contact_email,Username,Password";

fn io(path: &Path) -> impl Fn(std::io::Error) -> GenError + '_ {
    move |e| GenError::Io {
        path: path.to_path_buf(),
        source: e,
    }
}

/// The dates of the three snapshots (first, middle and last school day).
pub fn snapshot_dates(d: &District) -> Vec<NaiveDate> {
    let n = d.days.len();
    let mut v = vec![d.days[0], d.days[n / 2], d.days[n - 1]];
    v.dedup();
    v
}

/// Whether student `i` is on the roster of snapshot `k` (0, 1, 2).
pub fn on_roster(i: usize, k: usize) -> bool {
    match k {
        0 => i % 50 != 49,
        1 => i % 50 != 7,
        _ => i % 50 != 7 || i % 100 == 7,
    }
}

/// Writes `<date>/{schools,students,teachers,sections,enrollments}.csv` under `out`.
pub fn write(d: &District, out: &Path) -> Result<GenSummary, GenError> {
    let mut s = GenSummary::default();
    for (k, date) in snapshot_dates(d).into_iter().enumerate() {
        let dir = out.join(date.format("%Y-%m-%d").to_string());
        let mut file = |name: &str, header: &str, rows: Vec<String>| -> Result<(), GenError> {
            let p = dir.join(name);
            let mut w = create(&p)?;
            writeln!(w, "{header}").map_err(io(&p))?;
            for r in &rows {
                writeln!(w, "{r}").map_err(io(&p))?;
            }
            w.flush().map_err(io(&p))?;
            s.files += 1;
            s.rows += rows.len() as u64;
            s.bytes += std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
            Ok(())
        };
        file("schools.csv", SCHOOLS_HEADER, school_rows(d))?;
        file("teachers.csv", TEACHERS_HEADER, teacher_rows(d))?;
        file("sections.csv", SECTIONS_HEADER, section_rows(d))?;
        let enrolled: Vec<usize> = (0..d.students.len()).filter(|&i| on_roster(i, k)).collect();
        file(
            "students.csv",
            STUDENTS_HEADER,
            student_rows(d, &enrolled, k),
        )?;
        file(
            "enrollments.csv",
            "School_id,Section_id,Student_id",
            enrollment_rows(d, &enrolled),
        )?;
    }
    Ok(s)
}

const SCHOOLS_HEADER: &str = "School_id,School_name,School_number,State_id,Low_grade,High_grade,Principal,Principal_email,School_address,School_city,School_state,School_zip,School_phone";
const TEACHERS_HEADER: &str = "School_id,Teacher_id,Teacher_number,State_teacher_id,Last_name,Middle_name,First_name,Teacher_email,Title,Username,Password";
const SECTIONS_HEADER: &str = "School_id,Section_id,Teacher_id,Teacher_2_id,Name,Section_number,Grade,Course_name,Course_number,Course_description,Period,Subject,Term_name,Term_start,Term_end";

fn school_rows(d: &District) -> Vec<String> {
    d.schools
        .iter()
        .enumerate()
        .map(|(i, sc)| {
            format!(
                "{},{},{},SCH{:04},9,12,Principal {},principal{}@district.example,{} Main St,Springfield,IL,6270{},555-010{}",
                sc.clever_id, sc.name, sc.sis_id, i + 1, i + 1, i + 1, 100 + i, i % 10, i % 10
            )
        })
        .collect()
}

fn teacher_rows(d: &District) -> Vec<String> {
    d.teachers
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let (g, f) = student_name(i + 7);
            format!(
                "{},{},{},STT{:06},{f},,{g},{}.{}@district.example,Teacher,{},",
                d.schools[t.school].clever_id,
                t.sis_id,
                i + 1,
                i + 1,
                g.to_lowercase(),
                f.to_lowercase(),
                t.sis_id.to_lowercase()
            )
        })
        .collect()
}

/// One homeroom section per teacher.
fn section_rows(d: &District) -> Vec<String> {
    d.teachers
        .iter()
        .enumerate()
        .map(|(i, t)| {
            format!(
                "{},SEC{:05},{},,Homeroom {},{},,Homeroom,HR{:03},,{},homeroom,Term 1,{},{}",
                d.schools[t.school].clever_id,
                i + 1,
                t.sis_id,
                i + 1,
                i + 1,
                i % 1000,
                1 + i % 8,
                d.days[0].format("%Y-%m-%d"),
                d.days[d.days.len() - 1].format("%Y-%m-%d")
            )
        })
        .collect()
}

/// The students on the roster of snapshot `k` (a few change their email in later snapshots).
fn student_rows(d: &District, enrolled: &[usize], k: usize) -> Vec<String> {
    enrolled
        .iter()
        .map(|&i| {
            let st = &d.students[i];
            let (g, f) = student_name(i);
            let email = if k > 0 && i % 97 == 3 {
                format!(
                    "{}.{}{}@students.example",
                    g.to_lowercase(),
                    f.to_lowercase(),
                    i + 1
                )
            } else {
                format!(
                    "{}{}{}@students.example",
                    g.to_lowercase(),
                    f.to_lowercase(),
                    i + 1
                )
            };
            let state = if i % 40 == 11 {
                String::new()
            } else {
                format!("ST{:07}", i + 1)
            };
            format!(
                "{},{},{},{state},{f},,{g},{},{},{:02}/{:02}/{},,,N,N,N,,,,,{email},,,,,,{}{}{},",
                d.schools[st.school].clever_id,
                st.sis_id,
                i + 1,
                st.grade,
                if i % 2 == 0 { "F" } else { "M" },
                1 + i % 12,
                1 + i % 28,
                2025 - 6 - st.grade as usize,
                g.to_lowercase(),
                f.to_lowercase(),
                i + 1
            )
        })
        .collect()
}

/// Each student in the homeroom of a teacher at their school.
fn enrollment_rows(d: &District, enrolled: &[usize]) -> Vec<String> {
    let mut by_school: Vec<Vec<usize>> = vec![Vec::new(); d.schools.len()];
    for (t, teacher) in d.teachers.iter().enumerate() {
        by_school[teacher.school].push(t);
    }
    enrolled
        .iter()
        .filter_map(|&i| {
            let st = &d.students[i];
            let rooms = &by_school[st.school];
            let t = *rooms.get(i % rooms.len().max(1))?;
            Some(format!(
                "{},SEC{:05},{}",
                d.schools[st.school].clever_id,
                t + 1,
                st.sis_id
            ))
        })
        .collect()
}
