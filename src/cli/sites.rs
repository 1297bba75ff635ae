//! `edlake schools`: the site mapping — every school identity the sources use, the name the
//! charts show for it, suggestions, and setting names.

use std::process::ExitCode;

use anyhow::{Result, bail};
use edlake::derive::sites::{self, SiteMap, SiteSource};

use super::ctx::Ctx;
use super::outcome::{Coded, EXIT_BAD_INPUT};

/// The command's arguments.
#[derive(Debug, clap::Args)]
pub struct SchoolsArgs {
    /// Name a school: SOURCE:KEY=NAME, SOURCE one of sis, clever, insights; KEY the SIS id or
    /// the name Clever or Insights give (an empty NAME removes the mapping). Repeatable.
    #[arg(long = "set", value_name = "SOURCE:KEY=NAME")]
    set: Vec<String>,
    /// Take every suggestion shown (names matched across sources, SIS ids matched to
    /// Insights organizations' external ids).
    #[arg(long)]
    accept_suggestions: bool,
}

fn parse(s: &str) -> Option<(SiteSource, &str, &str)> {
    let (source, rest) = s.split_once(':')?;
    let (key, name) = rest.split_once('=')?;
    let source = match source.trim().to_lowercase().as_str() {
        "sis" => SiteSource::Sis,
        "clever" => SiteSource::Clever,
        "insights" => SiteSource::Insights,
        _ => return None,
    };
    Some((source, key.trim(), name))
}

/// Lists the schools, after applying `--set` and `--accept-suggestions` when given; a change
/// rebuilds the chart data (stage3) so the charts use the names at once.
pub(super) fn schools_cmd(ctx: &Ctx, args: SchoolsArgs) -> Result<ExitCode> {
    let lake = ctx.lake()?;
    let mut map = SiteMap::load(&lake)?;
    let before = map.clone();
    for s in &args.set {
        let Some((source, key, name)) = parse(s) else {
            return Err(Coded(
                EXIT_BAD_INPUT,
                format!("`{s}` is not SOURCE:KEY=NAME (like sis:sch0=Mitchell High)"),
            )
            .into());
        };
        if key.is_empty() {
            bail!("`{s}` names no school id or name before `=`");
        }
        map.set(source, key, name);
    }
    if args.accept_suggestions {
        for r in sites::discover(&lake)? {
            if let Some(name) = &r.suggestion {
                map.set(r.source, &r.key, name);
            }
        }
    }
    if map != before {
        map.save(&lake)?;
        super::ingest::stage3(ctx, &lake, &super::cancel_on_ctrl_c())?;
    }
    let rows = sites::discover(&lake)?;
    if ctx.json {
        let v: Vec<serde_json::Value> = rows
            .iter()
            .map(|r| {
                serde_json::json!({
                    "source": r.source.title(), "key": r.key, "shown": r.shown,
                    "mapped": r.mapped, "unnamed": r.unnamed, "suggestion": r.suggestion,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    for r in &rows {
        let mut line = format!("{:<9} {:<40} → {}", r.source.title(), r.key, r.shown);
        if r.unnamed {
            line.push_str("   (no name: charts show the id)");
        }
        if let Some(s) = &r.suggestion {
            line.push_str(&format!("   suggested: {s}"));
        }
        println!("{line}");
    }
    if rows.is_empty() {
        println!("No schools yet: ingest Clever, Insights or SIS data first.");
    }
    Ok(ExitCode::SUCCESS)
}
