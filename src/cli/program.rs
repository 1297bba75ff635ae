//! `edlake ingest edx` follow-up and `edlake program …`: the MicroMasters program definition,
//! its reports, and the audited export of the outreach lists.

use std::process::ExitCode;

use anyhow::{Context, Result};
use edlake::derive::micromasters::{self, OUTREACH, ProgramDef, ProgramReport};
use edlake::lake::{Lake, Layer};
use polars::prelude::SerWriter;

use super::ctx::{Ctx, print_json};
use super::{Coded, EXIT_BAD_INPUT, ProgramAction};

fn print_report(r: &ProgramReport) {
    println!(
        "program reports: {} learners, {} course-run enrolments; {} passed a course, {} completed the program",
        r.learners, r.enrolments, r.passed_any, r.completed
    );
    println!(
        "outreach (sensitive): {} upgrade candidates, {} next-course candidates",
        r.upgrade_candidates, r.next_course_candidates
    );
    if !r.other_courses.is_empty() {
        println!(
            "left out (not in the program): {}",
            r.other_courses.join(", ")
        );
    }
}

/// Rebuilds the reports when a program is defined (after an edX ingest).
pub(super) fn rebuild(ctx: &Ctx, lake: &Lake) -> Result<()> {
    let Some(program) = ProgramDef::load(lake)? else {
        if !ctx.json {
            println!(
                "No MicroMasters program defined yet: `edlake program set --file program.json` builds the reports."
            );
        }
        return Ok(());
    };
    let salt = ctx.salt(lake)?;
    if let Some(r) =
        micromasters::build(lake, &program, &salt).context("building the program reports")?
    {
        if ctx.json {
            print_json(&r)?;
        } else {
            print_report(&r);
        }
    }
    Ok(())
}

pub(super) fn program_cmd(ctx: &Ctx, action: ProgramAction) -> Result<ExitCode> {
    let lake = ctx.lake()?;
    match action {
        ProgramAction::Set { file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let p: ProgramDef = serde_json::from_str(&text).map_err(|e| {
                Coded(
                    EXIT_BAD_INPUT,
                    format!("{}: not a program definition ({e})", file.display()),
                )
            })?;
            p.check()
                .map_err(|e| Coded(EXIT_BAD_INPUT, format!("{}: {e}", file.display())))?;
            p.save(&lake)?;
            println!("Saved program `{}` ({} courses).", p.title, p.courses.len());
            rebuild(ctx, &lake)?;
            Ok(ExitCode::SUCCESS)
        }
        ProgramAction::Show => {
            match ProgramDef::load(&lake)? {
                Some(p) if ctx.json => print_json(&p)?,
                Some(p) => {
                    println!(
                        "{} — complete with {} of {} courses",
                        p.title,
                        p.needed(),
                        p.courses.len()
                    );
                    for c in &p.courses {
                        println!(
                            "  {:<16} pass at {:.2}  {}",
                            c.course, c.passing_grade, c.title
                        );
                    }
                }
                None => println!("No program defined. `edlake program set --file program.json`."),
            }
            Ok(ExitCode::SUCCESS)
        }
        ProgramAction::Report => {
            rebuild(ctx, &lake)?;
            Ok(ExitCode::SUCCESS)
        }
        ProgramAction::Outreach { list, out, unlock } => {
            let Some((name, _)) = OUTREACH
                .iter()
                .find(|(n, _)| n.replace('_', "-") == list || *n == list)
            else {
                return Err(Coded(
                    EXIT_BAD_INPUT,
                    format!(
                        "unknown list `{list}` (use upgrade-candidates or next-course-candidates)"
                    ),
                )
                .into());
            };
            let t = micromasters::report_table(Layer::Sensitive, name);
            if !unlock {
                return Err(Coded(
                    EXIT_BAD_INPUT,
                    format!(
                        "{} holds learners' names and emails. Add --unlock to export it; the export is recorded in the lake's audit log.",
                        t.id()
                    ),
                )
                .into());
            }
            let dir = lake.table_dir(&t);
            if !edlake::lake::delta::is_table(&dir) {
                return Err(Coded(
                    EXIT_BAD_INPUT,
                    "no outreach lists yet: ingest edX reports and define the program first".into(),
                )
                .into());
            }
            let df = edlake::lake::delta::read_table(&dir, None)?;
            edlake::audit::record_access(
                &lake,
                &edlake::audit::Access {
                    action: "export",
                    table: &t.id(),
                    detail: format!("{} rows to {}", df.height(), out.display()),
                },
            )?;
            let f = std::fs::File::create(&out)
                .with_context(|| format!("creating {}", out.display()))?;
            let mut safe = edlake::preview::formula_safe(&df)?;
            polars::prelude::CsvWriter::new(f)
                .finish(&mut safe)
                .with_context(|| format!("writing {}", out.display()))?;
            eprintln!(
                "Exported {} rows of {} to {} (recorded in the audit log).",
                df.height(),
                t.id(),
                out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
