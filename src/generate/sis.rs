//! SIS files in the OEA Contoso SIS formats for the same students: daily attendance (one file a
//! day) and the student list with grades.

use std::io::Write;
use std::path::Path;

use super::insights::student_name;
use super::{District, GenError, GenSummary, create};

fn io(path: &Path) -> impl Fn(std::io::Error) -> GenError + '_ {
    move |e| GenError::Io {
        path: path.to_path_buf(),
        source: e,
    }
}

/// Writes `students/students.csv` and `studentattendance/<date>.csv` under `out`.
pub fn write(d: &District, out: &Path) -> Result<GenSummary, GenError> {
    let mut s = GenSummary::default();
    let p = out.join("students/students.csv");
    let mut w = create(&p)?;
    writeln!(w, "SIS ID,School SIS ID,Username,First Name,Last Name,Middle Name,Secondary Email,Student Number,Grade,State ID,Status,Birthdate").map_err(io(&p))?;
    for (i, st) in d.students.iter().enumerate() {
        let (g, f) = student_name(i);
        let school = &d.schools[st.school];
        writeln!(
            w,
            "{},{},{}{}{},{g},{f},,,{},{},ST{:07},Active,{}/{}/{}",
            st.sis_id,
            school.sis_id,
            g.to_lowercase(),
            f.to_lowercase(),
            i + 1,
            i + 1,
            st.grade,
            i + 1,
            1 + i % 12,
            1 + i % 28,
            2025 - 6 - st.grade as usize
        )
        .map_err(io(&p))?;
        s.rows += 1;
    }
    w.flush().map_err(io(&p))?;
    s.files += 1;
    let mut id = 0u64;
    for (day, date) in d.days.iter().enumerate() {
        let p = out.join(format!("studentattendance/{}.csv", date.format("%Y-%m-%d")));
        let mut w = create(&p)?;
        writeln!(w, "id,student_id,school_year,school_id,attendance_date,all_day,Period,section_id,AttendanceCode,PresenceFlag,attendance_status,attendance_type,attendance_sequence").map_err(io(&p))?;
        for (i, st) in d.students.iter().enumerate() {
            id += 1;
            let present = d.present(i, day);
            writeln!(
                w,
                "{id},{},2026,{},{},Yes,,,{},{},{},DailyAttendance,",
                st.sis_id,
                d.schools[st.school].clever_id,
                date.format("%Y-%m-%d"),
                if present { "P" } else { "A" },
                if present { 1 } else { 0 },
                if present { "Present" } else { "Absent" }
            )
            .map_err(io(&p))?;
            s.rows += 1;
        }
        w.flush().map_err(io(&p))?;
        s.files += 1;
    }
    s.bytes = dir_size(out);
    Ok(s)
}

fn dir_size(p: &Path) -> u64 {
    std::fs::read_dir(p)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| {
            let p = e.path();
            if p.is_dir() {
                dir_size(&p)
            } else {
                e.metadata().map(|m| m.len()).unwrap_or(0)
            }
        })
        .sum()
}
