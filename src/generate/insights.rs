//! A School Data Sync data-lake export (Microsoft Education Insights) for the same students:
//! `schema/*.cdm.json`, headerless `activity/<date>/ApplicationUsage.csv` and the roster snapshot
//! `roster/<timestamp>/<Entity>/<entity>.csv`. AadUser.ObjectId is the student's SIS id (as
//! Clever's `sis_id`), AadUser.StudentId the student number, Person.Id the Clever user id, and
//! PersonIdentifier holds each person's state id.

use std::io::Write;
use std::path::Path;

use chrono::Datelike;
use rayon::prelude::*;

use super::{District, GenError, GenSummary, Rng, create};

fn io(path: &Path) -> impl Fn(std::io::Error) -> GenError + '_ {
    move |e| GenError::Io {
        path: path.to_path_buf(),
        source: e,
    }
}

const ACTIVITY_COLUMNS: [(&str, &str); 19] = [
    ("SignalType", "string"),
    ("StartTime", "dateTime"),
    ("UserAgent", "string"),
    ("SignalId", "string"),
    ("SisClassId", "string"),
    ("ClassId", "guid"),
    ("ChannelId", "string"),
    ("AppName", "string"),
    ("ActorId", "guid"),
    ("ActorRole", "string"),
    ("SchemaVersion", "string"),
    ("AssignmentId", "guid"),
    ("SubmissionId", "guid"),
    ("Action", "string"),
    ("DueDate", "dateTime"),
    ("ClassCreationDate", "dateTime"),
    ("Grade", "string"),
    ("SourceFileExtension", "string"),
    ("MeetingDuration", "Integer"),
];

const ROSTER: [(&str, &[(&str, &str)]); 6] = [
    (
        "AadUser",
        &[
            ("ObjectId", "String"),
            ("AnchorId", "String"),
            ("DisplayName", "String"),
            ("FirstSeenDateTime", "DateTime"),
            ("GivenName", "String"),
            ("LastSeenDateTime", "DateTime"),
            ("Mail", "String"),
            ("MailNickname", "String"),
            ("Role", "String"),
            ("Surname", "String"),
            ("UserPrincipalName", "String"),
            ("StudentId", "String"),
            ("TeacherId", "String"),
        ],
    ),
    (
        "AadUserPersonMapping",
        &[
            ("ObjectId", "String"),
            ("FirstSeenDateTime", "DateTime"),
            ("LastSeenDateTime", "DateTime"),
            ("PersonId", "String"),
        ],
    ),
    (
        "Organization",
        &[
            ("Id", "String"),
            ("ExternalId", "String"),
            ("FirstSeenDateTime", "DateTime"),
            ("LastSeenDateTime", "DateTime"),
            ("Name", "String"),
            ("RefOrganizationTypeId", "String"),
            ("SourceSystemId", "String"),
            ("Identifier", "String"),
            ("ParentOrganizationId", "String"),
        ],
    ),
    (
        "Person",
        &[
            ("Id", "String"),
            ("FirstSeenDateTime", "DateTime"),
            ("LastSeenDateTime", "DateTime"),
            ("GivenName", "String"),
            ("MiddleName", "String"),
            ("PreferredGivenName", "String"),
            ("PreferredMiddleName", "String"),
            ("PreferredSurname", "String"),
            ("Surname", "String"),
        ],
    ),
    (
        "Section",
        &[
            ("Id", "String"),
            ("ExternalId", "String"),
            ("FirstSeenDateTime", "DateTime"),
            ("LastSeenDateTime", "DateTime"),
            ("Name", "String"),
            ("OrganizationId", "String"),
            ("SourceSystemId", "String"),
            ("Code", "String"),
            ("CourseId", "String"),
            ("Location", "String"),
        ],
    ),
    (
        "PersonIdentifier",
        &[
            ("Id", "String"),
            ("FirstSeenDateTime", "DateTime"),
            ("Identifier", "String"),
            ("IsPresentInSource", "Boolean"),
            ("PersonId", "String"),
            ("RefIdentifierTypeId", "String"),
            ("SourceSystemId", "String"),
        ],
    ),
];

/// Homeroom sections per school and grade (about 25 students or more each, at most 4, at
/// least 1); a student is in one of them.
fn sections(d: &District) -> usize {
    let per_grade = d.students.len() / (d.schools.len() * 7).max(1);
    (per_grade / 25).clamp(1, 4)
}

/// A homeroom section and its Microsoft 365 class group.
pub struct Class {
    /// The group's id (activity `ClassId`).
    pub group: String,
    /// The roster Section's `Id`.
    pub id: String,
    /// The section's SIS id (activity `SisClassId`, Section `ExternalId`).
    pub sis: String,
    pub name: String,
}

/// A student's class.
pub fn class_of(d: &District, student: usize) -> Class {
    let st = &d.students[student];
    section(d, st.school, st.grade, student % sections(d))
}

fn section(d: &District, school: usize, grade: u32, k: usize) -> Class {
    let label = ((school as u64) << 16) | (u64::from(grade) << 4) | k as u64;
    let letter = char::from(b'A' + k as u8);
    Class {
        group: Rng::fork(d.seed ^ 0xC1A5, label).uuid(),
        id: Rng::fork(d.seed ^ 0x5EC7, label).uuid(),
        sis: format!("SEC{school:02}{grade:02}{letter}"),
        name: format!("Homeroom {grade}{letter}"),
    }
}

/// The (app, signal type) pairs students produce, with weights.
pub const SIGNALS: [(&str, &str, u32); 10] = [
    ("Teams", "VisitTeamChannel", 30),
    ("Teams", "PostChannelMessage", 10),
    ("Teams", "CallRecordSummarized", 8),
    ("SharePoint Online", "FileAccessed", 15),
    ("OneDrive for Business", "FileModified", 10),
    ("Assignments", "SubmissionEvent", 12),
    ("Assignments", "VisitAssignment", 10),
    ("OneNote", "FileAccessed", 8),
    ("Reading Progress", "ReadingSubmission", 5),
    ("Reflect", "ReflectCheckInResponse", 4),
];

const FIRST: [&str; 16] = [
    "Ava", "Liam", "Maya", "Noah", "Zoe", "Ethan", "Isla", "Omar", "Lena", "Mateo", "Aria", "Kai",
    "Nora", "Ravi", "Elena", "Jonah",
];
const LAST: [&str; 16] = [
    "Garcia",
    "Nguyen",
    "Smith",
    "Okafor",
    "Kowalski",
    "Haddad",
    "Rossi",
    "Tanaka",
    "Silva",
    "Murphy",
    "Johansson",
    "Patel",
    "Dubois",
    "Novak",
    "Reyes",
    "Kim",
];

/// A student's name (deterministic from the index).
pub fn student_name(i: usize) -> (&'static str, &'static str) {
    (
        FIRST[i % FIRST.len()],
        LAST[(i / FIRST.len() + i * 7) % LAST.len()],
    )
}

/// The signals a student produced on a school day (empty when not active in Microsoft 365).
pub fn signals(d: &District, student: usize, day: usize) -> Vec<(usize, u32)> {
    let s = &d.students[student];
    let mut r = Rng::fork(d.seed ^ 0x1A51, (student as u64) << 20 | day as u64);
    let p = (d.schools[s.school].digital * s.propensity * 0.9).min(0.95)
        * if d.present(student, day) { 1.0 } else { 0.2 };
    if r.f64() >= p {
        return Vec::new();
    }
    let n = r.range(1, 6) as usize;
    let total: u32 = SIGNALS.iter().map(|x| x.2).sum();
    (0..n)
        .map(|_| {
            let mut t = r.range(0, total as u64 - 1) as u32;
            let mut k = 0;
            for (i, x) in SIGNALS.iter().enumerate() {
                if t < x.2 {
                    k = i;
                    break;
                }
                t -= x.2;
            }
            (k, r.range(8 * 3600, 15 * 3600) as u32)
        })
        .collect()
}

fn cdm(name: &str, cols: &[(&str, &str)], data_type_ref: bool) -> serde_json::Value {
    let attrs: Vec<serde_json::Value> = cols
        .iter()
        .map(|(n, t)| {
            if data_type_ref {
                serde_json::json!({"name": n, "dataType": {"dataTypeReference": t}})
            } else {
                serde_json::json!({"name": n, "dataFormat": t})
            }
        })
        .collect();
    serde_json::json!({"entityName": name, "hasAttributes": attrs})
}

fn write_json(path: &Path, v: &serde_json::Value) -> Result<u64, GenError> {
    let mut w = create(path)?;
    let text = serde_json::to_string_pretty(v).unwrap_or_default();
    w.write_all(text.as_bytes()).map_err(io(path))?;
    w.flush().map_err(io(path))?;
    Ok(text.len() as u64)
}

/// Writes the export under `out`.
pub fn write(d: &District, out: &Path) -> Result<GenSummary, GenError> {
    let mut s = GenSummary::default();
    let schema = out.join("schema");
    s.bytes += write_json(
        &schema.join("activity.v0.1.0.cdm.json"),
        &serde_json::json!({"jsonSchemaSemanticVersion": "1.0.0", "definitions": [cdm("TechActivity", &ACTIVITY_COLUMNS, true)]}),
    )?;
    let defs: Vec<serde_json::Value> = ROSTER.iter().map(|(n, c)| cdm(n, c, false)).collect();
    s.bytes += write_json(
        &schema.join("roster.v0.3.2.cdm.json"),
        &serde_json::json!({"jsonSchemaSemanticVersion": "1.0.0", "definitions": defs}),
    )?;
    s.files += 2;

    let first = d.days.first().copied().unwrap_or_default();
    let last = d.days.last().copied().unwrap_or_default();
    let stamp = format!("{}T06-16-22", last.format("%Y-%m-%d"));
    let roster = out.join("roster").join(&stamp);
    let seen = first.format("%Y-%m-%d").to_string();
    let mut rows = 0u64;
    let p = roster.join("AadUser/aaduser.csv");
    let mut w = create(&p)?;
    for (i, st) in d.students.iter().enumerate() {
        let (g, f) = student_name(i);
        let nick = format!("{g}{f}{}", i + 1);
        writeln!(
            w,
            "{},{},{g} {f},{seen},{g},,{nick}@district.example,{nick},student,{f},{nick}@district.example,{},",
            st.sis_id,
            st.sis_id,
            i + 1
        )
        .map_err(io(&p))?;
        rows += 1;
    }
    w.flush().map_err(io(&p))?;
    let p = roster.join("AadUserPersonMapping/aaduserpersonmapping.csv");
    let mut w = create(&p)?;
    for st in &d.students {
        writeln!(w, "{},{seen},,{}", st.sis_id, st.clever_id).map_err(io(&p))?;
        rows += 1;
    }
    w.flush().map_err(io(&p))?;
    let p = roster.join("Organization/organization.csv");
    let mut w = create(&p)?;
    for sc in &d.schools {
        writeln!(
            w,
            "{},{},{seen},,{},School,sis,{},district",
            sc.clever_id, sc.sis_id, sc.name, sc.sis_id
        )
        .map_err(io(&p))?;
        rows += 1;
    }
    w.flush().map_err(io(&p))?;
    let p = roster.join("Person/person.csv");
    let mut w = create(&p)?;
    for (i, st) in d.students.iter().enumerate() {
        let (g, f) = student_name(i);
        writeln!(w, "{},{seen},,{g},,{g},,{f},{f}", st.clever_id).map_err(io(&p))?;
        rows += 1;
    }
    w.flush().map_err(io(&p))?;
    // The state id of each student (as the SIS and the roster have it), linked to the Person.
    let p = roster.join("PersonIdentifier/personidentifier.csv");
    let mut w = create(&p)?;
    for (i, st) in d.students.iter().enumerate() {
        writeln!(
            w,
            "PI{:07},{seen},ST{:07},TRUE,{},StateId,sis",
            i + 1,
            i + 1,
            st.clever_id
        )
        .map_err(io(&p))?;
        rows += 1;
    }
    w.flush().map_err(io(&p))?;
    // One homeroom section per school, grade and letter, under its school's Organization.
    let p = roster.join("Section/section.csv");
    let mut w = create(&p)?;
    let grades: std::collections::BTreeSet<u32> = d.students.iter().map(|s| s.grade).collect();
    for (i, sc) in d.schools.iter().enumerate() {
        for g in &grades {
            for k in 0..sections(d) {
                let c = section(d, i, *g, k);
                writeln!(
                    w,
                    "{},{},{seen},,{},{},sis,{},,",
                    c.id, c.sis, c.name, sc.clever_id, c.sis
                )
                .map_err(io(&p))?;
                rows += 1;
            }
        }
    }
    w.flush().map_err(io(&p))?;
    s.files += 6;
    s.rows += rows;

    let parts: Vec<GenSummary> = (0..d.days.len())
        .into_par_iter()
        .map(|day| write_activity_day(d, out, day))
        .collect::<Result<_, _>>()?;
    for p in parts {
        s.files += p.files;
        s.bytes += p.bytes;
        s.rows += p.rows;
    }
    Ok(s)
}

fn write_activity_day(d: &District, out: &Path, day: usize) -> Result<GenSummary, GenError> {
    let date = d.days[day];
    let p = out.join(format!(
        "activity/{}/ApplicationUsage.csv",
        date.format("%Y-%m-%d")
    ));
    let mut w = create(&p)?;
    let mut s = GenSummary::default();
    for (i, st) in d.students.iter().enumerate() {
        let Class {
            group: class,
            sis: sis_class,
            ..
        } = class_of(d, i);
        for (n, (k, secs)) in signals(d, i, day).into_iter().enumerate() {
            let (app, signal, _) = SIGNALS[k];
            let mut r = Rng::fork(
                d.seed ^ 0x516,
                ((i as u64) << 24) | ((day as u64) << 4) | n as u64,
            );
            let time = format!(
                "{}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
                date.year(),
                date.month(),
                date.day(),
                secs / 3600,
                secs / 60 % 60,
                secs % 60
            );
            let meeting = if signal == "CallRecordSummarized" {
                r.range(600, 3000).to_string()
            } else {
                String::new()
            };
            let (assignment, action) = if app == "Assignments" {
                (
                    r.uuid(),
                    if signal == "SubmissionEvent" {
                        "Submitted"
                    } else {
                        "Visited"
                    },
                )
            } else {
                (String::new(), "")
            };
            writeln!(
                w,
                "{signal},{time},Mozilla/5.0,{},{sis_class},{class},,{app},{},Student,1.0,{assignment},,{action},,,,,{meeting}",
                r.uuid(),
                st.sis_id
            )
            .map_err(io(&p))?;
            s.rows += 1;
        }
    }
    w.flush().map_err(io(&p))?;
    s.files = 1;
    s.bytes = std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
    Ok(s)
}
