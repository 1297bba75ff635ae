//! The schools' names (site mapping) in the real app through egui_kittest: on the demo lake an
//! analyst renames a school in every source that names it, saves, and the charts show the new
//! name (the chart data rebuilt), with the mapping kept in the lake.

use crate::common;

use std::sync::Arc;

use crate::harness::*;
use edlake::derive::sites::{SiteMap, SiteRow, SiteSource};
use edlake::metrics::{self, Filter};
use edlake::ui::dialogs::QueuedDialogs;
use edlake::ui::task::TaskState;
use egui::accesskit::Role;
use egui_kittest::kittest::Queryable;

fn schools(lake: &edlake::lake::Lake) -> Vec<String> {
    let f = Filter {
        min_group: 5,
        ..Filter::default()
    };
    let df = metrics::compute(lake, "attendance-vs-digital", &f)
        .expect("served")
        .frame;
    common::text_col(&df, "school")
        .into_iter()
        .flatten()
        .collect()
}

/// The schools the page lists, once it has them.
fn listed(h: &mut egui_kittest::Harness<'static, edlake::ui::App>) -> Vec<SiteRow> {
    wait(h, "the schools", |a| {
        view(a).more.schools.rows.done().is_some()
    });
    h.run_steps(2);
    view(h.state())
        .more
        .schools
        .rows
        .done()
        .expect("rows")
        .clone()
}

#[test]
fn renaming_a_school_renames_it_in_every_chart() {
    let mut h = demo(Arc::new(QueuedDialogs::default()));
    let lake = view(h.state()).lake.clone();
    assert!(schools(&lake).contains(&"Mitchell High".to_string()));
    click(&mut h, "More sources");
    click(&mut h, "Schools");
    let rows = listed(&mut h);
    // Insights and Clever both name it; the SIS knows it by an id they share.
    let named: Vec<_> = rows.iter().filter(|r| r.shown == "Mitchell High").collect();
    assert!(
        named.iter().any(|r| r.source == SiteSource::Clever),
        "{rows:?}"
    );
    assert!(
        named.iter().any(|r| r.source == SiteSource::Insights),
        "{rows:?}"
    );
    assert!(
        rows.iter().all(|r| !r.unnamed),
        "the demo's SIS ids all have names"
    );

    // Type the new name into each field that shows the old one.
    let fields = h
        .query_all_by_role(Role::TextInput)
        .filter(|n| n.value().as_deref() == Some("Mitchell High"))
        .count();
    assert_eq!(fields, named.len());
    for _ in 0..fields {
        let field = h
            .query_all_by_role(Role::TextInput)
            .find(|n| n.value().as_deref() == Some("Mitchell High"))
            .expect("a field with the old name");
        field.focus();
        h.run_steps(2);
        h.query_all_by_role(Role::TextInput)
            .find(|n| n.value().as_deref() == Some("Mitchell High"))
            .expect("still there")
            .type_text(" Campus");
        h.run_steps(2);
    }
    click(
        &mut h,
        &format!("Save names ({fields} changed) and rebuild the charts"),
    );
    wait(&mut h, "the save and rebuild", |a| {
        !view(a).more.schools.save.is_running()
    });
    h.run_steps(3);
    if let TaskState::Failed(e) = &view(h.state()).more.schools.save.state {
        panic!("saving failed: {e}");
    }
    let map = SiteMap::load(&lake).expect("mapping");
    assert_eq!(
        map.get(SiteSource::Clever, "Mitchell High"),
        Some("Mitchell High Campus")
    );
    let now = schools(&lake);
    assert!(now.contains(&"Mitchell High Campus".to_string()), "{now:?}");
    assert!(!now.contains(&"Mitchell High".to_string()), "{now:?}");
    // The page lists the new name for each identity.
    let rows = listed(&mut h);
    assert_eq!(
        rows.iter()
            .filter(|r| r.shown == "Mitchell High Campus")
            .count(),
        named.len()
    );
}
