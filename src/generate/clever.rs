//! Clever Participation Reports as Clever's SFTP delivers them: one file per day per report and
//! role. Daily participation is unquoted with zero-padded dates; resource usage quotes every
//! text field and does not pad dates (`2022-01-9`), like the real files.

use std::io::Write;
use std::path::Path;

use chrono::Datelike;
use rayon::prelude::*;

use super::{District, GenError, GenSummary, Rng, create};

/// A resource students open through Clever.
pub struct Resource {
    pub name: &'static str,
    pub kind: &'static str,
    /// Relative popularity.
    pub weight: u32,
}

/// The resource catalog (names of real products are avoided).
pub const RESOURCES: [Resource; 12] = [
    Resource {
        name: "MathSpace Practice",
        kind: "app",
        weight: 30,
    },
    Resource {
        name: "ReadAlong Library",
        kind: "app",
        weight: 25,
    },
    Resource {
        name: "Science Lab Sims",
        kind: "app",
        weight: 12,
    },
    Resource {
        name: "Typing Coach",
        kind: "app",
        weight: 8,
    },
    Resource {
        name: "District LMS",
        kind: "app",
        weight: 40,
    },
    Resource {
        name: "Quiz Arena",
        kind: "app",
        weight: 15,
    },
    Resource {
        name: "Code Studio",
        kind: "app",
        weight: 6,
    },
    Resource {
        name: "World Atlas",
        kind: "link",
        weight: 5,
    },
    Resource {
        name: "Library Catalog",
        kind: "link",
        weight: 4,
    },
    Resource {
        name: "Spanish Daily",
        kind: "app",
        weight: 9,
    },
    Resource {
        name: "History Archive",
        kind: "link",
        weight: 3,
    },
    Resource {
        name: "Video Lessons",
        kind: "resource",
        weight: 18,
    },
];

/// Stable id of a catalog resource.
pub fn resource_id(i: usize) -> String {
    Rng::fork(0xC1E7E4, i as u64).hex32()
}

fn pick(r: &mut Rng) -> usize {
    let total: u32 = RESOURCES.iter().map(|x| x.weight).sum();
    let mut t = r.range(0, total as u64 - 1) as u32;
    for (i, x) in RESOURCES.iter().enumerate() {
        if t < x.weight {
            return i;
        }
        t -= x.weight;
    }
    0
}

/// Which resources a student used on a day and how often (empty when not active).
pub fn usage(d: &District, student: usize, day: usize) -> Vec<(usize, u32)> {
    if !d.digitally_active(student, day) {
        return Vec::new();
    }
    let mut r = Rng::fork(d.seed ^ 0x5E5, (student as u64) << 20 | day as u64);
    let n = r.range(1, 4) as usize;
    let mut out: Vec<(usize, u32)> = Vec::with_capacity(n);
    for _ in 0..n {
        let i = pick(&mut r);
        let count = r.range(1, 9) as u32;
        match out.iter_mut().find(|(j, _)| *j == i) {
            Some(e) => e.1 += count,
            None => out.push((i, count)),
        }
    }
    out
}

/// Logins of a student on a day (0 when not active).
pub fn logins(d: &District, student: usize, day: usize) -> u32 {
    if !d.digitally_active(student, day) {
        return 0;
    }
    Rng::fork(d.seed ^ 0x1061, (student as u64) << 20 | day as u64).range(1, 5) as u32
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> GenError + '_ {
    move |e| GenError::Io {
        path: path.to_path_buf(),
        source: e,
    }
}

fn write_day(d: &District, out: &Path, day: usize) -> Result<GenSummary, GenError> {
    let date = d.days[day];
    let padded = date.format("%Y-%m-%d").to_string();
    let unpadded = format!("{}-{:02}-{}", date.year(), date.month(), date.day());
    let mut s = GenSummary::default();

    let p = out.join(format!(
        "daily-participation/Students/{padded}-daily-participation-students.csv"
    ));
    let mut w = create(&p)?;
    writeln!(w, "date,sis_id,clever_user_id,clever_school_id,school_name,active,num_logins,num_resources_accessed").map_err(io(&p))?;
    if d.participation_only {
        for st in d.students.iter() {
            let school = &d.schools[st.school];
            let i = s.rows as usize;
            let used = usage(d, i, day).len();
            writeln!(
                w,
                "{padded},{},{},{},{},{},{},{used}",
                st.sis_id,
                st.clever_id,
                school.clever_id,
                school.name,
                if used == 0 { "False" } else { "True" },
                logins(d, i, day),
            )
            .map_err(io(&p))?;
            s.rows += 1;
        }
        w.flush().map_err(io(&p))?;
        s.files = 1;
        s.bytes = std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
        return Ok(s);
    }
    let p2 = out.join(format!(
        "resource-usage/Students/{padded}-resource-usage-students.csv"
    ));
    let mut w2 = create(&p2)?;
    writeln!(w2, "\"date\",\"sis_id\",\"clever_user_id\",\"clever_school_id\",\"school_name\",\"resource_type\",\"resource_name\",\"resource_id\",\"num_access\"").map_err(io(&p2))?;
    let ids: Vec<String> = (0..RESOURCES.len()).map(resource_id).collect();
    for (i, st) in d.students.iter().enumerate() {
        let school = &d.schools[st.school];
        let used = usage(d, i, day);
        let n = logins(d, i, day);
        writeln!(
            w,
            "{padded},{},{},{},{},{},{},{}",
            st.sis_id,
            st.clever_id,
            school.clever_id,
            school.name,
            if used.is_empty() { "False" } else { "True" },
            n,
            used.len()
        )
        .map_err(io(&p))?;
        s.rows += 1;
        for (r, count) in used {
            writeln!(
                w2,
                "\"{unpadded}\",\"{}\",\"{}\",\"{}\",\"{}\",\"{}\",\"{}\",\"{}\",{count}",
                st.sis_id,
                st.clever_id,
                school.clever_id,
                school.name,
                RESOURCES[r].kind,
                RESOURCES[r].name,
                ids[r]
            )
            .map_err(io(&p2))?;
            s.rows += 1;
        }
    }
    let p3 = out.join(format!(
        "daily-participation/Teachers/{padded}-daily-participation-teachers.csv"
    ));
    let mut w3 = create(&p3)?;
    writeln!(w3, "date,sis_id,clever_user_id,clever_school_id,school_name,active,num_logins,num_resources_accessed").map_err(io(&p3))?;
    for (i, t) in d.teachers.iter().enumerate() {
        let mut r = Rng::fork(d.seed ^ 0x7EAC, (i as u64) << 20 | day as u64);
        let active = r.f64() < 0.9;
        let school = &d.schools[t.school];
        writeln!(
            w3,
            "{padded},{},{},{},{},{},{},{}",
            t.sis_id,
            t.clever_id,
            school.clever_id,
            school.name,
            if active { "True" } else { "False" },
            if active { r.range(1, 6) } else { 0 },
            if active { r.range(1, 5) } else { 0 }
        )
        .map_err(io(&p3))?;
        s.rows += 1;
    }
    for (mut w, p) in [(w, &p), (w2, &p2), (w3, &p3)] {
        w.flush().map_err(io(p))?;
        s.files += 1;
        s.bytes += std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    }
    Ok(s)
}

/// Writes the Clever reports for every school day under `out` (the Clever SFTP root).
pub fn write(d: &District, out: &Path) -> Result<GenSummary, GenError> {
    let parts: Vec<GenSummary> = (0..d.days.len())
        .into_par_iter()
        .map(|day| write_day(d, out, day))
        .collect::<Result<_, _>>()?;
    Ok(parts
        .into_iter()
        .fold(GenSummary::default(), |a, b| GenSummary {
            files: a.files + b.files,
            bytes: a.bytes + b.bytes,
            rows: a.rows + b.rows,
        }))
}
