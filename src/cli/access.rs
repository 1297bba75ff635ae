//! `edlake access`: who besides its owner may use the lake (nobody, or one OS group).

use std::process::ExitCode;

use anyhow::Result;
use edlake::audit;

use super::ctx::Ctx;

/// Shows the lake's sharing, or shares it with `group` / makes it owner-only again.
pub(super) fn access_cmd(ctx: &Ctx, group: Option<String>, private: bool) -> Result<ExitCode> {
    let mut lake = ctx.lake()?;
    if group.is_none() && !private {
        match &lake.info().group {
            None => println!(
                "Only the account that owns the lake's files can read them (folders 0700, files 0600)."
            ),
            Some(g) => println!(
                "The lake is shared with the members of the OS group `{g}` (read and write); \
                 other accounts read nothing."
            ),
        }
        return Ok(ExitCode::SUCCESS);
    }
    let changed = lake.set_group(group.as_deref())?;
    let detail = match &group {
        Some(g) => format!("shared with the OS group {g}"),
        None => "owner-only".into(),
    };
    audit::record_access(
        &lake,
        &audit::Access {
            action: "access-change",
            table: "lake",
            detail: detail.clone(),
        },
    )?;
    println!("The lake is now {detail}: {changed} file(s) and folder(s) changed.");
    Ok(ExitCode::SUCCESS)
}
