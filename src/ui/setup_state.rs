//! The lake's source setup (`_edlake/sources/`) as the pages see it: read in the background,
//! changed by commands applied at frame end, saved in the lake so the CLI and scheduled runs
//! use the same sources.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use super::task::{Task, TaskState};
use crate::lake::Lake;
use crate::sources::saved::{SavedSource, SourceDef};

/// Each module's source (see [`SavedSource::for_module`]), and the read or write under way.
#[derive(Default)]
pub struct SourceSetup {
    /// The setup as last read (or as just changed, before the write is confirmed).
    pub map: BTreeMap<String, SavedSource>,
    /// Modules whose folder was not there when the setup was read (checked off the UI thread:
    /// a folder on a network drive can take long to answer).
    pub missing: BTreeSet<String>,
    load: Task<Read>,
    /// The task under way saves a choice (a failed save is followed by a fresh read).
    saving: bool,
}

/// The setup as a worker read it.
struct Read {
    map: BTreeMap<String, SavedSource>,
    missing: BTreeSet<String>,
}

impl Read {
    fn of(lake: &Lake) -> Result<Read, crate::sources::saved::SavedError> {
        let map = SavedSource::setup(lake)?;
        let missing = map
            .iter()
            .filter(|(_, s)| matches!(&s.def, SourceDef::Folder { path } if !path.is_dir()))
            .map(|(m, _)| m.clone())
            .collect();
        Ok(Read { map, missing })
    }
}

impl SourceSetup {
    /// Reads the lake's sources in the background, first moving in `legacy` folder choices
    /// (module, folder) from older versions' per-user settings for modules without a source.
    pub fn load(
        lake: &Lake,
        repaint: &Arc<dyn Fn() + Send + Sync>,
        legacy: Vec<(String, PathBuf)>,
    ) -> Self {
        let lake = lake.clone();
        SourceSetup {
            map: BTreeMap::new(),
            missing: BTreeSet::new(),
            saving: false,
            load: Task::spawn(repaint.clone(), move |_, _| {
                for (module, path) in legacy {
                    if SavedSource::for_module(&lake, &module)?.is_none() {
                        folder_source(&module, path).save(&lake)?;
                    }
                }
                Ok(Read::of(&lake)?)
            }),
        }
    }

    /// Reads the setup again (after a run, a form that saved a source, Refresh).
    pub fn reload(&mut self, lake: &Lake, repaint: &Arc<dyn Fn() + Send + Sync>) {
        let (map, missing) = (
            std::mem::take(&mut self.map),
            std::mem::take(&mut self.missing),
        );
        *self = Self::load(lake, repaint, Vec::new());
        (self.map, self.missing) = (map, missing);
    }

    /// Makes `path` the folder `module` is read from: shown at once, saved in the background.
    pub fn set_folder(
        &mut self,
        lake: &Lake,
        repaint: &Arc<dyn Fn() + Send + Sync>,
        module: &str,
        path: PathBuf,
    ) {
        let src = folder_source(module, path);
        self.map.insert(module.to_string(), src.clone());
        self.missing.remove(module);
        let lake = lake.clone();
        self.saving = true;
        self.load = Task::spawn(repaint.clone(), move |_, _| {
            src.save(&lake)?;
            Ok(Read::of(&lake)?)
        });
    }

    /// Takes in a finished read or write; returns the error to show when it failed, and whether
    /// it was a save (the caller then reads the setup again, so the page shows what the lake
    /// holds rather than the choice that was not saved).
    pub fn poll(&mut self) -> Option<(String, bool)> {
        if !self.load.poll() {
            return None;
        }
        let saving = std::mem::take(&mut self.saving);
        match std::mem::take(&mut self.load.state) {
            TaskState::Done(r) => {
                self.map = r.map;
                self.missing = r.missing;
                None
            }
            TaskState::Failed(e) if saving => {
                Some((format!("The folder choice was not saved: {e}"), true))
            }
            TaskState::Failed(e) => {
                Some((format!("The lake's sources could not be read: {e}"), false))
            }
            _ => None,
        }
    }

    /// The folder `module` is read from, when it is read from a folder.
    pub fn folder(&self, module: &str) -> Option<&PathBuf> {
        match &self.map.get(module)?.def {
            SourceDef::Folder { path } => Some(path),
            _ => None,
        }
    }

    /// Whether `module` has a source that can run: a folder that is there, or a server or
    /// storage account.
    pub fn runnable(&self, module: &str) -> bool {
        self.map.contains_key(module) && !self.missing.contains(module)
    }

    /// Whether `module` is read from a server or storage account rather than a folder.
    pub fn is_remote(&self, module: &str) -> bool {
        self.map
            .get(module)
            .is_some_and(|s| !matches!(s.def, SourceDef::Folder { .. }))
    }
}

/// The source the app saves for a module read from a folder: named after the module.
fn folder_source(module: &str, path: PathBuf) -> SavedSource {
    SavedSource {
        name: module.to_string(),
        module: Some(module.to_string()),
        def: SourceDef::Folder { path },
    }
}
