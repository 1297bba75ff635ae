//! Restricted data in the real app (egui_kittest): raw and sensitive tables open only after an
//! audited unlock that ends with the table, and the audit log on Home shows who read what and
//! notices an edited line.

use crate::harness::*;

use std::sync::Arc;

use edlake::lake::{Layer, TableRef};
use edlake::ui::App;
use edlake::ui::dialogs::QueuedDialogs;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

#[test]
fn unlocking_a_lookup_table_is_audited() {
    let mut h = demo(Arc::new(QueuedDialogs::default()));
    click(&mut h, "Tables");
    wait_label(&mut h, "daily_participation_lookup");
    h.get_by_label_contains("daily_participation_lookup")
        .scroll_to_me();
    h.run_steps(30);
    h.get_by_label_contains("daily_participation_lookup")
        .click();
    h.run_steps(2);
    click(&mut h, "Unlock…");
    h.get_by_label("Yes, unlock").click();
    wait(&mut h, "the lookup rows", |a| {
        view(a).tables.first_page_ms.is_some()
    });
    let lake = view(h.state()).lake.clone();
    let entries = edlake::audit::entries(&lake).expect("audit log");
    assert_eq!(entries.len(), 1);
    assert!(
        entries[0].table.contains("daily_participation_lookup"),
        "{:?}",
        entries[0]
    );

    // Home shows the log: who, on which machine, what; and notices an edited line.
    click(&mut h, "Home");
    wait_label(&mut h, "Audit log");
    h.get_by_label_contains("Audit log").scroll_to_me();
    h.run_steps(5);
    h.get_by_label_contains("Audit log").click();
    wait_label(&mut h, "1 entry, chain intact.");
    wait_label(&mut h, &entries[0].host);
    assert!(
        h.query_all_by_label_contains("daily_participation_lookup")
            .count()
            >= 1
    );
    let path = lake.meta_dir().join("audit.jsonl");
    let text = std::fs::read_to_string(&path).expect("log");
    std::fs::write(&path, text.replace(&entries[0].user, "someone_else")).expect("edit");
    h.get_by_label("Check again").scroll_to_me();
    h.run_steps(3);
    click(&mut h, "Check again");
    wait_label(&mut h, "changed outside edlake");
}

/// Shows `t` on the Tables page, as a click in the table tree does.
fn show_table(h: &mut Harness<'static, App>, t: &TableRef) {
    match &mut h.state_mut().screen {
        edlake::ui::Screen::Open(v) => v.tables.select(t.clone()),
        _ => panic!("no lake open"),
    }
    h.run_steps(5);
}

#[test]
fn raw_tables_open_only_after_an_unlock_that_ends_with_the_table() {
    let mut h = demo(Arc::new(QueuedDialogs::default()));
    click(&mut h, "Tables");
    let lake = view(h.state()).lake.clone();
    let ingested = TableRef::new(Layer::Ingested, "clever", "v1.0", "daily_participation");
    let general = TableRef::new(Layer::General, "clever", "v1.0", "daily_participation");
    show_table(&mut h, &ingested);
    wait_label(&mut h, "Unlock…");
    h.run_steps(20);
    // Locked: no row was read, nothing is on the record yet.
    assert!(view(h.state()).tables.first_page_ms.is_none());
    assert!(edlake::audit::entries(&lake).expect("log").is_empty());
    click(&mut h, "Unlock…");
    h.get_by_label("Yes, unlock").click();
    wait(&mut h, "the raw rows", |a| {
        view(a).tables.first_page_ms.is_some()
    });
    let entries = edlake::audit::entries(&lake).expect("log");
    assert_eq!(entries.len(), 1);
    assert!(
        entries[0].table.contains("daily_participation"),
        "{entries:?}"
    );
    // Another table ends the unlock: coming back asks again.
    show_table(&mut h, &general);
    wait(&mut h, "the general rows", |a| {
        view(a).tables.first_page_ms.is_some()
    });
    show_table(&mut h, &ingested);
    wait_label(&mut h, "Unlock…");
    h.run_steps(20);
    assert!(view(h.state()).tables.first_page_ms.is_none());
}
