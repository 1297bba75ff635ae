//! A path row: a field to type or paste a path into, and a button for the system's file dialog.
//! Where that dialog cannot open (a Linux desktop without a portal, a remote or headless
//! display), the button says so and the field still works, so nobody is stuck on a screen.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::dialogs::Dialogs;

/// What the row asks for.
#[derive(Debug, Clone, Copy)]
pub enum PathKind<'a> {
    /// An existing folder.
    Folder,
    /// A folder that may not exist yet (a new lake).
    NewFolder,
    /// An existing file with one of these extensions (any when empty).
    File(&'a [&'a str]),
    /// Where to save a file, suggesting this name.
    Save(&'a str),
}

/// A dialog that answers faster than this did not open (people take longer to cancel one).
const NO_DIALOG: Duration = Duration::from_millis(250);

/// The row's text while someone edits it, and what to tell them (kept in egui's memory).
#[derive(Debug, Clone, Default)]
struct RowState {
    text: String,
    edited: bool,
    note: Option<String>,
}

/// Draws `[field] [button]`: the field shows `current` until edited; the button opens the
/// system's dialog titled `title`. Returns the path to use when the dialog gave one, or a typed
/// path was confirmed with Enter or "Use" (checked to exist where it must).
pub fn path_row(
    ui: &mut egui::Ui,
    dialogs: &dyn Dialogs,
    (title, button): (&str, &str),
    kind: PathKind,
    current: Option<&Path>,
) -> Option<PathBuf> {
    let id = ui.make_persistent_id(("path-row", title));
    let mut st: RowState = ui.data_mut(|d| d.get_temp(id)).unwrap_or_default();
    if !st.edited {
        st.text = current.map(|p| p.display().to_string()).unwrap_or_default();
    }
    let mut out = None;
    ui.horizontal(|ui| {
        // Room for the button (and "Use") beside the field, wherever the row sits.
        let width = (ui.available_width() - 150.0).clamp(260.0, 420.0);
        let field = ui
            .add(
                egui::TextEdit::singleline(&mut st.text)
                    .hint_text("type or paste a path")
                    .desired_width(width),
            )
            .accessible_name(title)
            .on_hover_text(title);
        if field.changed() {
            st.edited = true;
            st.note = None;
        }
        let entered = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        let use_it = st.edited && ui.button("Use").clicked();
        if (entered || use_it) && st.edited {
            match typed(&st.text, kind) {
                Ok(p) => {
                    out = Some(p);
                    st.edited = false;
                }
                Err(why) => st.note = Some(why),
            }
        }
        if ui.button(button).clicked() {
            let asked = Instant::now();
            let picked = match kind {
                PathKind::Folder | PathKind::NewFolder => dialogs.pick_folder(title),
                PathKind::File(ext) => dialogs.pick_file(title, ext),
                PathKind::Save(name) => dialogs.save_file(title, name),
            };
            match picked {
                Some(p) => {
                    out = Some(p);
                    st.edited = false;
                    st.note = None;
                }
                None if asked.elapsed() < NO_DIALOG => {
                    st.note = Some(
                        "The system's file dialog could not open here: type or paste the path \
                         into the field and press Enter."
                            .into(),
                    );
                }
                None => {}
            }
        }
    });
    if let Some(n) = &st.note {
        ui.colored_label(ui.visuals().warn_fg_color, n);
    }
    ui.data_mut(|d| d.insert_temp(id, st));
    out
}

/// A typed path, or why it cannot be used.
fn typed(text: &str, kind: PathKind) -> Result<PathBuf, String> {
    // Paths pasted from a file manager often come quoted.
    let t = text.trim().trim_matches(|c| c == '"' || c == '\'');
    if t.is_empty() {
        return Err("Type or paste a path first.".into());
    }
    let p = PathBuf::from(t);
    match kind {
        PathKind::Folder if !p.is_dir() => Err(format!("There is no folder {}.", p.display())),
        PathKind::File(_) if !p.is_file() => Err(format!("There is no file {}.", p.display())),
        PathKind::Save(_)
            if p.parent()
                .is_some_and(|d| !d.as_os_str().is_empty() && !d.is_dir()) =>
        {
            Err(format!("There is no folder to save {} in.", p.display()))
        }
        _ => Ok(p),
    }
}
