//! `edlake roster …` and `edlake identity …`: Clever roster syncs, the operations log, and the
//! identity keys with their match rates.

use std::process::ExitCode;

use anyhow::{Context, Result};
use edlake::derive::identity::{self, IdSource, IdentityConfig, InsightsId, MatchRate, RosterKey};
use edlake::derive::roster::{self, SyncEntry};

use super::ctx::{Ctx, print_json};
use super::ingest::stage3;
use super::progress::Bars;
use super::{Coded, EXIT_BAD_INPUT, EXIT_PARTIAL, IdentityAction, RosterAction};

fn print_rates(rates: &[MatchRate]) {
    println!(
        "  {:<9} {:<15} {:>8} {:>8} {:>10} {:>10}  rate",
        "source", "key", "ids", "matched", "unmatched", "ambiguous"
    );
    for r in rates {
        println!(
            "  {:<9} {:<15} {:>8} {:>8} {:>10} {:>10}  {:.1} %",
            r.source,
            r.key,
            r.ids,
            r.matched,
            r.unmatched,
            r.ambiguous,
            100.0 * r.rate()
        );
        if !r.unmatched_examples.is_empty() {
            let short: Vec<&str> = r
                .unmatched_examples
                .iter()
                .map(|p| &p[..12.min(p.len())])
                .collect();
            println!(
                "            unmatched e.g. {} (pseudonyms)",
                short.join(" ")
            );
        }
    }
}

fn print_entry(e: &SyncEntry) {
    let c = &e.counts;
    println!(
        "{}  snapshot {}: {} new, {} updated, {} transferred, {} reactivated, {} unchanged; {} active",
        e.at.format("%Y-%m-%d %H:%M"),
        e.snapshot,
        c.new,
        c.updated,
        c.transferred,
        c.reactivated,
        c.unchanged,
        c.active
    );
}

pub(super) fn roster_cmd(ctx: &Ctx, action: RosterAction) -> Result<ExitCode> {
    let lake = ctx.lake()?;
    match action {
        RosterAction::Roles { teachers, staff } => {
            let mut roles = edlake::derive::people_status::RosterRoles::load(&lake)?;
            roles.teachers = teachers.unwrap_or(roles.teachers);
            roles.staff = staff.unwrap_or(roles.staff);
            if teachers.is_some() || staff.is_some() {
                roles.save(&lake)?;
            }
            if ctx.json {
                print_json(&roles)?;
            } else {
                let word = |b: bool| if b { "synced" } else { "not synced" };
                println!(
                    "students: synced (always) · teachers: {} · staff: {}",
                    word(roles.teachers),
                    word(roles.staff)
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        RosterAction::Sync { from, date } => {
            if !from.is_dir() {
                return Err(Coded(
                    EXIT_BAD_INPUT,
                    format!("{} is not a folder", from.display()),
                )
                .into());
            }
            let salt = ctx.salt(&lake)?;
            // Held through the stage3 rebuild too (the sync takes it again, nested).
            let _lock = lake.lock("roster sync")?;
            let was_stale = lake.derived_stale();
            lake.mark_derived_stale()?;
            let cancel = super::cancel_on_ctrl_c();
            let bars = Bars::start(ctx.json);
            let out = roster::sync(&lake, &from, date, &salt, bars.progress(), &cancel);
            bars.finish();
            if ctx.json {
                print_json(&out.entries)?;
            } else {
                for s in &out.skipped {
                    println!("{s}");
                }
                for e in &out.entries {
                    print_entry(e);
                    print_rates(&e.rates);
                }
            }
            if let Some(e) = out.error {
                return Err(e.into());
            }
            let ingested: u64 = out.reports.iter().map(|r| r.rows_ingested).sum();
            if ingested > 0 || !out.entries.is_empty() || was_stale {
                stage3(ctx, &lake, &cancel)?;
            } else {
                lake.clear_derived_stale()?;
            }
            let partial = out
                .reports
                .iter()
                .any(|r| r.outcome() == edlake::pipeline::Outcome::Partial);
            Ok(ExitCode::from(if partial { EXIT_PARTIAL } else { 0 }))
        }
        RosterAction::Log { csv } => {
            let entries = roster::operations(&lake)?;
            if let Some(p) = csv {
                std::fs::write(&p, roster::operations_csv(&entries))
                    .with_context(|| format!("writing {}", p.display()))?;
                println!("Wrote {} sync(s) to {}", entries.len(), p.display());
            } else if ctx.json {
                print_json(&entries)?;
            } else if entries.is_empty() {
                println!("No roster syncs yet. Run `edlake roster sync --from DIR`.");
            } else {
                for e in &entries {
                    print_entry(e);
                    print_rates(&e.rates);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

pub(super) fn identity_cmd(ctx: &Ctx, action: IdentityAction) -> Result<ExitCode> {
    let lake = ctx.lake()?;
    let mut config = IdentityConfig::load(&lake)?;
    match action {
        IdentityAction::Show => {
            let history = identity::history(&lake)?;
            if ctx.json {
                print_json(&serde_json::json!({"config": config, "builds": history}))?;
                return Ok(ExitCode::SUCCESS);
            }
            for s in IdSource::ALL {
                let label = match s {
                    IdSource::Insights => format!("Insights {}", config.insights_id.name()),
                    _ => s.id_label().to_string(),
                };
                println!(
                    "{:<9} links {label} to roster {}",
                    s.name(),
                    config.key(s).name()
                );
            }
            match history.last() {
                Some(b) => {
                    println!("Match rates ({}):", b.at.format("%Y-%m-%d %H:%M"));
                    print_rates(&b.rates);
                }
                None => println!(
                    "No identity map yet: sync a Clever roster first (`edlake roster sync`)."
                ),
            }
            Ok(ExitCode::SUCCESS)
        }
        IdentityAction::Set { links, insights_id } => {
            if let Some(i) = insights_id {
                config.insights_id = InsightsId::parse(&i).ok_or_else(|| {
                    Coded(
                        EXIT_BAD_INPUT,
                        format!(
                            "unknown Insights id `{i}` (use aad_object_id, aad_student_id or person_identifier)"
                        ),
                    )
                })?;
            }
            for l in &links {
                let (s, k) = l.split_once('=').ok_or_else(|| {
                    Coded(EXIT_BAD_INPUT, format!("expected SOURCE=KEY, got `{l}`"))
                })?;
                let source = IdSource::parse(s.trim()).ok_or_else(|| {
                    Coded(
                        EXIT_BAD_INPUT,
                        format!("unknown source `{s}` (use clever, sis or insights)"),
                    )
                })?;
                let key = RosterKey::parse(k.trim()).ok_or_else(|| {
                    Coded(
                        EXIT_BAD_INPUT,
                        format!(
                            "unknown roster key `{k}` (use sis_id, student_number or state_id)"
                        ),
                    )
                })?;
                config.set(source, key);
            }
            let before = identity::history(&lake)?.pop();
            config.save(&lake)?;
            let Some(after) = identity::rebuild(&lake, &config)? else {
                println!("Saved. The identity map is built at the first roster sync.");
                return Ok(ExitCode::SUCCESS);
            };
            if ctx.json {
                print_json(&serde_json::json!({"before": before, "after": after}))?;
            } else {
                if let Some(b) = before {
                    println!("Before:");
                    print_rates(&b.rates);
                }
                println!("After:");
                print_rates(&after.rates);
            }
            // The hybrid figures join sources through the map.
            stage3(ctx, &lake, &super::cancel_on_ctrl_c())?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
