//! Every source's distinct student pseudonyms, kept between builds with the data files they were
//! read from. Data files never change once written, so a build reads only the files added since
//! the last one; a file gone (a delete, an upsert, a rebuilt table) may have taken ids with it,
//! and then the source is read whole again. Reading all of a district year's ids took about
//! 10 s of every stage3 rebuild, new school day or not.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::PathBuf;

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::config::IdSource;
use crate::derive::DeriveError;
use crate::lake::delta::{self, DataFile, TableState};
use crate::lake::{Lake, scan};

/// One source's ids and what they were read from.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Scanned {
    /// `<table id>|<column>|<filter>` → the data files read.
    files: BTreeMap<String, BTreeSet<String>>,
    ids: BTreeSet<String>,
}

/// Where a source's ids are kept (pseudonyms only, as in the identity map itself).
fn cache_path(lake: &Lake, s: IdSource) -> PathBuf {
    lake.meta_dir()
        .join("identity")
        .join(format!("{}_ids.json", s.name()))
}

/// The distinct non-null student pseudonyms source `s` holds, sorted.
pub(super) fn source_ids(lake: &Lake, s: IdSource) -> Result<Vec<String>, DeriveError> {
    let path = cache_path(lake, s);
    // A missing or unreadable list is read again from the tables.
    let cached: Scanned = std::fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let mut inputs = Vec::new();
    for (t, c, filter) in s.inputs() {
        let dir = lake.table_dir(&t);
        let state = delta::read_state(&dir)?;
        let key = format!("{}|{c}|{filter:?}", t.id());
        inputs.push((key, dir, state, c, filter));
    }
    let still_there = cached.files.iter().all(|(key, done)| {
        inputs.iter().any(|(k, _, state, ..)| {
            let Some(state) = state.as_ref().filter(|_| k == key) else {
                return false;
            };
            let live: HashSet<&str> = state.files.iter().map(|f| f.path.as_str()).collect();
            done.iter().all(|p| live.contains(p.as_str()))
        })
    });
    let mut changed = !still_there;
    let mut out = if still_there {
        cached
    } else {
        Scanned::default()
    };
    for (key, dir, state, c, filter) in inputs {
        let Some(state) = state else {
            continue;
        };
        let done = out.files.entry(key).or_default();
        let new: Vec<DataFile> = (state.files.iter())
            .filter(|f| !done.contains(&f.path))
            .cloned()
            .collect();
        // A few dozen files per scan: memory stays a small share of the table, and the
        // per-scan cost does not add up over a year of daily files.
        for files in new.chunks(32) {
            let some = TableState {
                files: files.to_vec(),
                ..state.clone()
            };
            let lf = scan::lazy(&dir, &some)?;
            let lf = match &filter {
                Some(f) => lf.filter(f.clone()),
                None => lf,
            };
            let df = lf
                .select([col(c).alias("id")])
                .filter(col("id").is_not_null())
                .unique(None, UniqueKeepStrategy::Any)
                .collect()?;
            for v in df.column("id")?.str()?.iter().flatten() {
                if !out.ids.contains(v) {
                    out.ids.insert(v.to_string());
                }
            }
            done.extend(files.iter().map(|f| f.path.clone()));
            changed = true;
        }
    }
    if changed {
        let text = serde_json::to_vec(&out).map_err(|e| {
            DeriveError::Invalid(format!(
                "the list of {} ids did not serialize: {e}",
                s.name()
            ))
        })?;
        crate::lake::write_atomic(&path, &text)?;
    }
    Ok(out.ids.into_iter().collect())
}
