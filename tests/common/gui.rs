//! Helpers of the GUI tests: a harness on the real app, waiting on its worker threads, and
//! finding and clicking widgets by their labels.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use edlake::secrets::Secrets;
use edlake::ui::dialogs::QueuedDialogs;
use edlake::ui::task::TaskState;
use edlake::ui::{App, AppOptions, Screen};
use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};

pub fn harness(opts: AppOptions) -> Harness<'static, App> {
    Harness::builder()
        .with_size(egui::vec2(1280.0, 820.0))
        .build_eframe(move |cc| App::new(cc, opts))
}

pub fn options(dialogs: Arc<QueuedDialogs>) -> AppOptions {
    AppOptions {
        dialogs: Box::new(dialogs),
        secrets: Secrets::session_only(),
        lake: None,
        remember_lake: false,
        autostart_demo: true,
    }
}

/// Steps the app until `cond` holds (the work runs on real worker threads).
pub fn wait(h: &mut Harness<'static, App>, what: &str, cond: impl Fn(&App) -> bool) {
    let t = Instant::now();
    while !cond(h.state()) {
        assert!(
            t.elapsed() < Duration::from_secs(240),
            "timed out waiting for {what}"
        );
        h.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    h.run_steps(2);
}

pub fn view(app: &App) -> &edlake::ui::LakeView {
    match &app.screen {
        Screen::Open(v) => v,
        Screen::Welcome(_) => panic!("no lake open"),
    }
}

pub fn is_open(app: &App) -> bool {
    matches!(app.screen, Screen::Open(_))
}

/// Why the demo lake could not be built, once the welcome screen knows it failed.
pub fn demo_failure(app: &App) -> Option<String> {
    match &app.screen {
        Screen::Welcome(w) => match &w.demo.state {
            TaskState::Failed(e) => Some(e.clone()),
            _ => w.error.clone(),
        },
        Screen::Open(_) => None,
    }
}

pub fn demo(dialogs: Arc<QueuedDialogs>) -> Harness<'static, App> {
    let mut h = harness(options(dialogs));
    // A build that fails says why at once, instead of a timeout four minutes later.
    wait(&mut h, "the demo lake", |a| {
        is_open(a) || demo_failure(a).is_some()
    });
    if let Some(why) = demo_failure(h.state()) {
        panic!("the demo lake was not built: {why}");
    }
    wait(&mut h, "the home overview", |a| {
        view(a).home.overview.done().is_some()
    });
    h
}

/// Raw student ids from the bundled Clever files.
pub fn raw_ids() -> Vec<String> {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data/clever/daily-participation/Students");
    let mut ids = Vec::new();
    for f in std::fs::read_dir(dir).expect("test_data").flatten().take(2) {
        let text = std::fs::read_to_string(f.path()).expect("read");
        ids.extend(
            text.lines()
                .skip(1)
                .filter_map(|l| l.split(',').nth(1))
                .map(String::from),
        );
    }
    assert!(ids.len() > 100);
    ids
}

/// With EDLAKE_GUI_DEBUG=DIR, saves what the harness shows (for looking at a failure).
pub fn debug_shot(h: &mut Harness<'static, App>, name: &str) {
    if let Some(d) = std::env::var_os("EDLAKE_GUI_DEBUG")
        && let Ok(img) = h.render()
    {
        let _ = img.save(PathBuf::from(d).join(format!("{name}.png")));
    }
}

pub fn all_labels(h: &Harness<'static, App>) -> Vec<String> {
    h.query_all_by(|_| true)
        .filter_map(|n| {
            let a = n.accesskit_node();
            a.label().or_else(|| a.value())
        })
        .collect()
}

/// Clicks the widget labelled `label` and lets the app draw the result (a click is handled in
/// the next frame, and the page it opens is laid out in the one after).
pub fn click(h: &mut Harness<'static, App>, label: &str) {
    h.get_by_label(label).click();
    h.run_steps(3);
}

pub fn wait_label(h: &mut Harness<'static, App>, text: &str) {
    let t = Instant::now();
    while h.query_all_by_label_contains(text).next().is_none() {
        assert!(
            t.elapsed() < Duration::from_secs(120),
            "timed out waiting for `{text}`; on screen: {:?}",
            all_labels(h)
        );
        h.step();
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A node's text (labels keep it in their value).
pub fn all_text(n: &egui_kittest::Node<'_>) -> String {
    use egui_kittest::kittest::NodeT;
    let a = n.accesskit_node();
    a.value().or_else(|| a.label()).unwrap_or_default()
}
