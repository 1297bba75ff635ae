//! Native file and folder pickers behind a small trait, so tests (and headless runs, where the
//! native dialogs return nothing) can hand the app paths instead.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// File and folder pickers.
pub trait Dialogs: Send {
    /// Asks for a folder.
    fn pick_folder(&self, title: &str) -> Option<PathBuf>;
    /// Asks for an existing file.
    fn pick_file(&self, title: &str, extensions: &[&str]) -> Option<PathBuf>;
    /// Asks where to save a file.
    fn save_file(&self, title: &str, default_name: &str) -> Option<PathBuf>;
}

/// The operating system's dialogs (rfd).
pub struct NativeDialogs;

impl Dialogs for NativeDialogs {
    fn pick_folder(&self, title: &str) -> Option<PathBuf> {
        rfd::FileDialog::new().set_title(title).pick_folder()
    }

    fn pick_file(&self, title: &str, extensions: &[&str]) -> Option<PathBuf> {
        let mut d = rfd::FileDialog::new().set_title(title);
        if !extensions.is_empty() {
            d = d.add_filter("files", extensions);
        }
        d.pick_file()
    }

    fn save_file(&self, title: &str, default_name: &str) -> Option<PathBuf> {
        rfd::FileDialog::new()
            .set_title(title)
            .set_file_name(default_name)
            .save_file()
    }
}

/// Answers dialogs from a queue of paths (tests and scripted screenshots).
#[derive(Default)]
pub struct QueuedDialogs {
    answers: Mutex<VecDeque<PathBuf>>,
}

impl QueuedDialogs {
    /// Dialogs that answer with these paths in order, then with nothing.
    pub fn new(paths: impl IntoIterator<Item = PathBuf>) -> Self {
        QueuedDialogs {
            answers: Mutex::new(paths.into_iter().collect()),
        }
    }

    /// Adds an answer.
    pub fn push(&self, p: &Path) {
        if let Ok(mut q) = self.answers.lock() {
            q.push_back(p.to_path_buf());
        }
    }

    fn next(&self) -> Option<PathBuf> {
        self.answers.lock().ok()?.pop_front()
    }
}

impl Dialogs for QueuedDialogs {
    fn pick_folder(&self, _title: &str) -> Option<PathBuf> {
        self.next()
    }

    fn pick_file(&self, _title: &str, _extensions: &[&str]) -> Option<PathBuf> {
        self.next()
    }

    fn save_file(&self, _title: &str, _default_name: &str) -> Option<PathBuf> {
        self.next()
    }
}

impl<D: Dialogs + Sync> Dialogs for std::sync::Arc<D> {
    fn pick_folder(&self, title: &str) -> Option<PathBuf> {
        (**self).pick_folder(title)
    }

    fn pick_file(&self, title: &str, extensions: &[&str]) -> Option<PathBuf> {
        (**self).pick_file(title, extensions)
    }

    fn save_file(&self, title: &str, default_name: &str) -> Option<PathBuf> {
        (**self).save_file(title, default_name)
    }
}
