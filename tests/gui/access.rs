//! Accessibility of the real app (egui_kittest reads the AccessKit tree a screen reader gets):
//! on every page each control has a name made of words, Tab reaches every control that is
//! enabled, and a control is worked from the keyboard alone.

use crate::harness::*;

use std::collections::BTreeSet;
use std::sync::Arc;

use edlake::ui::dialogs::QueuedDialogs;
use edlake::ui::{App, Page};
use eframe::egui;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};

/// A node's id in the AccessKit tree, as text (the consumer's id type is not exported).
type Id = String;

/// Roles a user operates (what a screen reader announces as a control).
const CONTROLS: &[Role] = &[
    Role::Button,
    Role::DefaultButton,
    Role::Link,
    Role::CheckBox,
    Role::RadioButton,
    Role::Switch,
    Role::TextInput,
    Role::MultilineTextInput,
    Role::SearchInput,
    Role::ComboBox,
    Role::Slider,
    Role::SpinButton,
    Role::Tab,
    Role::MenuItem,
];

/// A control on screen: its AccessKit id, role, name, and whether it is enabled.
#[derive(Debug, Clone)]
struct Control {
    id: Id,
    role: Role,
    name: String,
    enabled: bool,
}

/// Every control in the tree, in tree order.
fn controls(h: &Harness<'static, App>) -> Vec<Control> {
    h.root()
        .children_recursive()
        .filter_map(|n| {
            let a = n.accesskit_node();
            (CONTROLS.contains(&a.role()) && !a.is_hidden()).then(|| Control {
                id: format!("{:?}", a.id()),
                role: a.role(),
                name: a.label().unwrap_or_default(),
                enabled: !a.is_disabled(),
            })
        })
        .collect()
}

/// The focused node's id, if any.
fn focused(h: &Harness<'static, App>) -> Option<Id> {
    h.root()
        .children_recursive()
        .find(|n| n.accesskit_node().is_focused())
        .map(|n| format!("{:?}", n.accesskit_node().id()))
}

/// Opens `page` with the mouse and lets its background reads finish.
fn open(h: &mut Harness<'static, App>, page: Page) {
    click(h, page.title());
    for _ in 0..40 {
        h.step();
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    h.run_steps(3);
}

/// A name a screen reader can say: a word, not only a symbol such as "⟳" or "✖".
fn has_words(name: &str) -> bool {
    name.chars().filter(|c| c.is_alphabetic()).count() >= 2
}

#[test]
fn every_control_is_named_and_reached_with_tab() {
    let mut h = demo(Arc::new(QueuedDialogs::new([])));
    let mut report = Vec::new();
    for page in Page::ALL {
        open(&mut h, page);
        let all = controls(&h);
        assert!(
            all.len() >= 3,
            "{}: only {} controls found",
            page.title(),
            all.len()
        );
        for c in &all {
            if !has_words(&c.name) {
                report.push(format!(
                    "{}: {:?} without a name: {c:?}",
                    page.title(),
                    c.role
                ));
            }
        }
        // Tab through the page (and round again), noting every control that takes the focus.
        let enabled: Vec<&Control> = all.iter().filter(|c| c.enabled).collect();
        let mut reached = BTreeSet::new();
        for _ in 0..(2 * all.len() + 10) {
            h.key_press(egui::Key::Tab);
            h.run_steps(2);
            if let Some(id) = focused(&h) {
                reached.insert(id);
            }
        }
        eprintln!(
            "{}: {} controls, {} enabled, {} reached with Tab",
            page.title(),
            all.len(),
            enabled.len(),
            reached.len()
        );
        for c in enabled {
            if !reached.contains(&c.id) {
                report.push(format!(
                    "{}: Tab never reaches {:?} {:?}",
                    page.title(),
                    c.role,
                    c.name
                ));
            }
        }
        // Leave nothing focused for the next page's first click.
        h.key_press(egui::Key::Escape);
        h.run_steps(2);
    }
    assert!(report.is_empty(), "{}", report.join("\n"));
}

/// The keyboard alone works the app: Tab to the "Tables" tab and press Enter, and the Tables
/// page opens; Tab to a table in the list and press Space, and it is shown.
#[test]
fn a_page_and_a_table_are_opened_with_the_keyboard() {
    let mut h = demo(Arc::new(QueuedDialogs::new([])));
    assert_eq!(h.state().saved.page, Page::Home);
    tab_to(&mut h, "Tables");
    h.key_press(egui::Key::Enter);
    h.run_steps(3);
    assert_eq!(h.state().saved.page, Page::Tables);
    for _ in 0..40 {
        h.step();
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    let first = h
        .query_all_by_label_contains("daily_participation")
        .next()
        .map(|n| n.accesskit_node().label().unwrap_or_default())
        .expect("a daily_participation table in the list");
    tab_to(&mut h, &first);
    h.key_press(egui::Key::Space);
    wait(&mut h, "the table's rows", |a| {
        view(a).tables.total_rows.is_some()
    });
    let t = view(h.state())
        .tables
        .selected
        .clone()
        .expect("a table shown");
    assert_eq!(t.entity, "daily_participation");
}

/// Presses Tab until the control named `name` has the focus.
fn tab_to(h: &mut Harness<'static, App>, name: &str) {
    let target = format!("{:?}", h.get_by_label(name).accesskit_node().id());
    for _ in 0..300 {
        h.key_press(egui::Key::Tab);
        h.run_steps(2);
        if focused(h).as_deref() == Some(target.as_str()) {
            return;
        }
    }
    panic!("Tab never reached {name:?}");
}
