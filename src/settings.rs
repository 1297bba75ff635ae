//! Saved settings (separate from runtime state): which lake to open by default, and more as the
//! app grows. Unknown or missing fields fall back to defaults, so old files keep working.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// What edlake remembers between launches.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// The lake opened when none is given.
    pub lake: Option<PathBuf>,
}

/// Folder holding `settings.json` (`EDLAKE_CONFIG_DIR` overrides the platform config folder).
pub fn config_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("EDLAKE_CONFIG_DIR") {
        return PathBuf::from(d);
    }
    directories::ProjectDirs::from("org", "edlake", "edlake")
        .map(|p| p.config_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from(".edlake"))
}

/// The platform data folder's default lake location.
pub fn default_lake_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("EDLAKE_DATA_DIR") {
        return PathBuf::from(d).join("lake");
    }
    directories::ProjectDirs::from("org", "edlake", "edlake")
        .map(|p| p.data_dir().join("lake"))
        .unwrap_or_else(|| PathBuf::from("edlake-lake"))
}

impl Settings {
    /// Loads settings; a missing or unreadable file gives defaults (settings are a convenience).
    pub fn load() -> Settings {
        std::fs::read(config_dir().join("settings.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Saves settings atomically.
    pub fn save(&self) -> Result<(), crate::lake::LakeError> {
        crate::lake::jsonfile::write(&config_dir().join("settings.json"), self)
    }

    /// The lake to use: the configured one, else the platform default.
    pub fn lake_or_default(&self) -> PathBuf {
        self.lake.clone().unwrap_or_else(default_lake_dir)
    }
}
