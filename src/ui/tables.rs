//! The table browser: a tree of the lake's tables by stage, and a preview that scrolls through
//! millions of rows (virtual rows; pages of rows read on a worker thread), sorts and filters by
//! column, shows the schema with each column's pseudonymization op and column statistics, and
//! exports the filtered view. Sensitive tables stay locked until an audited unlock.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use polars::prelude::DataFrame;

use super::Shared;
use super::home::layer_title;
use super::table_worker::{Landed, Req, Resp, Worker};
use crate::browse::{ColumnStats, Query};
use crate::lake::{Layer, TableRef};

/// The tables page.
/// Where the table list stands: to be asked of the worker (at first and after every run or
/// Refresh), or asked (the last list stays on screen until the new one arrives).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum ListState {
    #[default]
    Stale,
    Asked,
}

#[derive(Default)]
pub struct TablesPage {
    pub(super) worker: Option<Worker>,
    pub(super) tables: Option<Vec<(TableRef, i64)>>,
    pub selected: Option<TableRef>,
    /// The restricted table unlocked for viewing; the unlock ends when another table is shown.
    pub(super) unlocked: Option<TableRef>,
    pub(super) confirm_unlock: Option<TableRef>,
    pub(super) query: Query,
    pub(super) filter_col: String,
    pub(super) filter_text: String,
    pub(super) pages: HashMap<usize, Arc<DataFrame>>,
    pub(super) pending: HashSet<usize>,
    pub total_rows: Option<usize>,
    pub(super) columns: Vec<(String, String)>,
    pub(super) ops: Vec<(String, &'static str)>,
    pub(super) error: Option<String>,
    pub(super) stats: Option<Result<ColumnStats, crate::preview::PreviewError>>,
    pub(super) stats_pending: bool,
    pub(super) opened_at: Option<Instant>,
    /// Milliseconds from choosing the table to its first page on screen.
    pub first_page_ms: Option<u128>,
    /// Whether the table list was asked of the worker since the lake last changed.
    list: ListState,
    /// Show the first row at the next frame (a table was opened, or re-sorted or filtered).
    pub(super) scroll_top: bool,
    pub(super) ops_asked: Option<TableRef>,
    pub(super) landed: Vec<Landed>,
}

impl TablesPage {
    /// Shows `t` (from a link elsewhere in the app).
    pub fn select(&mut self, t: TableRef) {
        if self.unlocked.as_ref() != Some(&t) {
            self.unlocked = None;
        }
        self.selected = Some(t);
        self.query = Query::default();
        self.filter_text.clear();
        self.filter_col.clear();
        self.stats = None;
        self.reset_rows();
        self.opened_at = Some(Instant::now());
        self.first_page_ms = None;
        self.scroll_top = true;
    }

    /// Shows the rows of `t` that have these values (`Query::exact`): a chart's drill-through,
    /// or the rows a run sent to quarantine (`run_id`, in one table or in all of them,
    /// [`TableRef::all_quarantine`]); `sort` puts the rows that matter first.
    pub fn select_where(
        &mut self,
        t: TableRef,
        exact: Vec<(String, String)>,
        sort: Option<(String, bool)>,
    ) {
        self.select(t);
        self.query.exact = exact;
        self.query.sort = sort;
    }

    /// The filter and sort of the preview.
    pub fn query(&self) -> &Query {
        &self.query
    }

    /// Whether column statistics are on screen.
    pub fn stats_ready(&self) -> bool {
        self.stats.is_some() && !self.stats_pending
    }

    /// Forgets what was read (the lake changed).
    pub fn invalidate(&mut self) {
        // The old list stays on screen until the new one arrives.
        self.list = ListState::Stale;
        self.reset_rows();
    }

    fn reset_rows(&mut self) {
        self.ops_asked = None;
        self.pages.clear();
        self.pending.clear();
        self.total_rows = None;
        self.error = None;
        self.columns.clear();
        self.ops.clear();
    }

    fn locked(&self, t: &TableRef) -> bool {
        t.layer.is_restricted() && self.unlocked.as_ref() != Some(t)
    }

    fn receive(&mut self, sh: &mut Shared) {
        let Some(w) = &self.worker else { return };
        while let Ok(r) = w.rx.try_recv() {
            match r {
                Resp::Tables(list, landed) => {
                    self.tables = Some(list);
                    self.landed = landed;
                }
                Resp::Ops(t, ops) => {
                    if Some(&t) == self.selected.as_ref() {
                        self.ops = ops;
                    }
                }
                Resp::Page(t, q, i, res) => {
                    if Some(&t) != self.selected.as_ref() || q != self.query {
                        continue; // an answer for a view no longer shown
                    }
                    self.pending.remove(&i);
                    match res {
                        Ok(p) => {
                            self.total_rows = Some(p.total_rows);
                            if self.columns.is_empty() {
                                self.columns = p
                                    .frame
                                    .columns()
                                    .iter()
                                    .map(|c| {
                                        let ty = super::column_stats::type_words(c.dtype());
                                        (c.name().to_string(), ty.to_string())
                                    })
                                    .collect();
                            }
                            if self.first_page_ms.is_none() {
                                self.first_page_ms =
                                    self.opened_at.map(|t| t.elapsed().as_millis());
                            }
                            self.pages.insert(i, Arc::new(p.frame));
                        }
                        Err(e) => self.error = Some(e.to_string()),
                    }
                }
                Resp::Stats(s) => {
                    self.stats_pending = false;
                    self.stats = Some(s);
                }
                Resp::Export(r) => match r {
                    Ok((p, n)) => sh.toast(format!("Exported {n} rows to {}", p.display()), true),
                    Err(e) => sh.toast(format!("Export failed: {e}"), false),
                },
            }
        }
    }

    pub(super) fn request(&mut self, i: usize) {
        let (Some(t), Some(w)) = (&self.selected, &self.worker) else {
            return;
        };
        if self.pages.contains_key(&i) || !self.pending.insert(i) {
            return;
        }
        let _ = w.tx.send(Req::Page(t.clone(), self.query.clone(), i));
    }

    /// Draws the page.
    pub fn ui(&mut self, ui: &mut egui::Ui, sh: &mut Shared) {
        if self.worker.is_none() {
            self.worker = Some(Worker::start(sh.lake.clone(), sh.repaint.clone()));
        }
        self.receive(sh);
        // Asked again after every run and Refresh (`invalidate`); the old list stays on screen
        // until the new one arrives.
        if self.list == ListState::Stale
            && let Some(w) = &self.worker
        {
            self.list = ListState::Asked;
            let _ = w.tx.send(Req::Tables);
        }
        egui::Panel::left("table-tree")
            .resizable(true)
            .default_size(280.0)
            .show(ui, |ui| self.tree(ui));
        egui::CentralPanel::default().show(ui, |ui| self.preview(ui, sh));
    }

    fn tree(&mut self, ui: &mut egui::Ui) {
        egui::ScrollArea::vertical().id_salt("tree").show(ui, |ui| {
            let Some(tables) = self.tables.clone() else {
                ui.spinner();
                return;
            };
            egui::CollapsingHeader::new("stage1 · raw landings")
                .default_open(false)
                .show(ui, |ui| {
                    if self.landed.is_empty() {
                        ui.label(egui::RichText::new("none").weak());
                    }
                    for (source, entity, files, bytes) in &self.landed {
                        ui.label(format!(
                            "{source}/{entity}  {files} file(s), {}",
                            super::task::human_bytes(*bytes)
                        ))
                        .on_hover_text(
                            "Raw files as received, by run date, under stage1/Transactional",
                        );
                    }
                });
            for layer in Layer::ALL {
                let of: Vec<_> = tables.iter().filter(|(t, _)| t.layer == layer).collect();
                egui::CollapsingHeader::new(layer_title(layer))
                    .default_open(matches!(
                        layer,
                        Layer::General | Layer::Sensitive | Layer::Stage3
                    ))
                    .show(ui, |ui| {
                        if of.is_empty() {
                            ui.label(egui::RichText::new("none").weak());
                        } else if layer == Layer::Quarantine {
                            self.all_quarantine_entry(ui, &of);
                        }
                        for (t, rows) in of {
                            let lock = if self.locked(t) { "(locked) " } else { "" };
                            let label = format!("{lock}{}/{}  ({rows})", t.source, t.entity);
                            let sel = self.selected.as_ref() == Some(t);
                            if ui.selectable_label(sel, label).clicked() && !sel {
                                self.select(t.clone());
                            }
                        }
                    });
            }
        });
    }

    /// "all entities": every quarantine table's rows in one view (where a run's link opens).
    fn all_quarantine_entry(&mut self, ui: &mut egui::Ui, of: &[&(TableRef, i64)]) {
        let all = TableRef::all_quarantine();
        let rows: i64 = of.iter().map(|(_, r)| r).sum();
        let lock = if self.locked(&all) { "(locked) " } else { "" };
        let sel = self.selected.as_ref() == Some(&all);
        if ui
            .selectable_label(sel, format!("{lock}all entities  ({rows})"))
            .on_hover_text("The rows of every quarantine table, each with the table it is in")
            .clicked()
            && !sel
        {
            self.select(all);
        }
    }

    fn preview(&mut self, ui: &mut egui::Ui, sh: &mut Shared) {
        let Some(t) = self.selected.clone() else {
            ui.label("Choose a table on the left.");
            return;
        };
        ui.horizontal(|ui| {
            if t.is_all_quarantine() {
                ui.heading("Quarantined rows, all entities");
            } else {
                ui.heading(t.id());
            }
            if let Some(n) = self.total_rows {
                ui.label(format!("{n} rows"));
            }
            if let Some(ms) = self.first_page_ms {
                ui.label(egui::RichText::new(format!("first page in {ms} ms")).weak());
            }
        });
        if self.locked(&t) {
            self.lock_screen(ui, sh, &t);
            return;
        }
        if self.ops.is_empty()
            && self.ops_asked.as_ref() != Some(&t)
            && let Some(w) = &self.worker
        {
            self.ops_asked = Some(t.clone());
            let _ = w.tx.send(Req::Ops(t.clone()));
        }
        self.toolbar(ui, sh, &t);
        if let Some(e) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, e);
            return;
        }
        egui::Panel::bottom("schema")
            .resizable(true)
            .default_size(180.0)
            .show(ui, |ui| self.schema(ui, &t));
        egui::CentralPanel::default().show(ui, |ui| self.grid(ui));
    }

    fn lock_screen(&mut self, ui: &mut egui::Ui, sh: &mut Shared, t: &TableRef) {
        let what = match t.layer {
            Layer::Ingested => {
                "This table holds the rows as the vendor sent them: names, birthdates and ids."
            }
            Layer::Quarantine => {
                "This table holds whole rows that could not be read, as they were sent."
            }
            _ => "This lookup table holds raw student identifiers next to their pseudonyms.",
        };
        ui.label(format!(
            "{what} It is locked: opening it is recorded in the lake's audit log with your account \
             and the time, and it locks again when you open another table."
        ));
        if self.confirm_unlock.as_ref() == Some(t) {
            ui.horizontal(|ui| {
                ui.label("Open this table and record it in the audit log?");
                if ui.button("Yes, unlock").clicked() {
                    match crate::audit::record(sh.lake, "unlock", &t.id()) {
                        Ok(e) => {
                            self.unlocked = Some(t.clone());
                            sh.toast(format!("Unlocked {} (audited as {})", t.id(), e.user), true);
                        }
                        Err(e) => sh.toast(format!("Could not write the audit entry: {e}"), false),
                    }
                    self.confirm_unlock = None;
                }
                if ui.button("Cancel").clicked() {
                    self.confirm_unlock = None;
                }
            });
        } else if ui.button("Unlock…").clicked() {
            self.confirm_unlock = Some(t.clone());
        }
    }

    fn toolbar(&mut self, ui: &mut egui::Ui, sh: &mut Shared, t: &TableRef) {
        ui.horizontal(|ui| {
            ui.label("Filter");
            let cols: Vec<String> = self.columns.iter().map(|(c, _)| c.clone()).collect();
            if self.filter_col.is_empty()
                && let Some(c) = cols.first()
            {
                self.filter_col = c.clone();
            }
            egui::ComboBox::from_id_salt("filter-col")
                .selected_text(&self.filter_col)
                .show_ui(ui, |ui| {
                    for c in &cols {
                        ui.selectable_value(&mut self.filter_col, c.clone(), c);
                    }
                })
                .response
                .accessible_name("Filter column");
            let edit = ui
                .add(
                    egui::TextEdit::singleline(&mut self.filter_text)
                        .hint_text("contains…")
                        .desired_width(180.0),
                )
                .accessible_name("Filter text");
            let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            if ui.button("Apply").clicked() || enter {
                let f = (!self.filter_text.is_empty())
                    .then(|| (self.filter_col.clone(), self.filter_text.clone()));
                self.set_query(Query {
                    filter: f,
                    ..self.query.clone()
                });
            }
            if (self.query.filter.is_some()
                || self.query.sort.is_some()
                || !self.query.exact.is_empty())
                && ui.button("Clear").clicked()
            {
                self.filter_text.clear();
                self.set_query(Query::default());
            }
            if !self.query.exact.is_empty() {
                let which: Vec<String> = self
                    .query
                    .exact_by_column()
                    .iter()
                    .map(|(c, v)| format!("{c} is {}", v.join(" or ")))
                    .collect();
                ui.label(format!("Rows where {}", which.join(" and ")));
            }
            ui.separator();
            let (ask, name) = (
                (
                    "Export the filtered rows (.csv or .parquet)",
                    "Export view…",
                ),
                format!("{}.csv", t.entity),
            );
            let kind = super::path_field::PathKind::Save(&name);
            if let Some(p) = super::path_field::path_row(ui, sh.dialogs, ask, kind, None)
                && let Some(w) = &self.worker
            {
                // Restricted rows leave the lake only with an entry saying where they went.
                let audited = !t.layer.is_restricted()
                    || crate::audit::record_access(
                        sh.lake,
                        &crate::audit::Access {
                            action: "export",
                            table: &t.id(),
                            detail: format!("filtered view to {}", p.display()),
                        },
                    )
                    .map_err(|e| sh.toast(format!("Export refused: {e}"), false))
                    .is_ok();
                if audited {
                    let _ = w.tx.send(Req::Export(t.clone(), self.query.clone(), p));
                    sh.toast("Exporting…", true);
                }
            }
        });
    }

    pub(super) fn set_query(&mut self, q: Query) {
        if q != self.query {
            self.query = q;
            let cols = std::mem::take(&mut self.columns);
            self.reset_rows();
            self.columns = cols;
            self.opened_at = Some(Instant::now());
            self.scroll_top = true;
        }
    }

    fn schema(&mut self, ui: &mut egui::Ui, t: &TableRef) {
        ui.columns(2, |cols| {
            egui::ScrollArea::vertical()
                .id_salt("schema-cols")
                .show(&mut cols[0], |ui| {
                    egui::Grid::new("schema-grid").striped(true).show(ui, |ui| {
                        ui.strong("Column");
                        ui.strong("Type");
                        ui.strong("Treatment");
                        ui.end_row();
                        for (c, ty) in &self.columns {
                            if ui.link(c).on_hover_text("Show statistics").clicked()
                                && let Some(w) = &self.worker
                            {
                                self.stats_pending = true;
                                let _ =
                                    w.tx.send(Req::Stats(t.clone(), self.query.clone(), c.clone()));
                            }
                            ui.label(ty);
                            let op = self
                                .ops
                                .iter()
                                .find(|(n, _)| n == c)
                                .map_or("", |(_, o)| *o);
                            ui.label(super::column_stats::op_words(op))
                                .on_hover_text(format!("OEA: {op}"));
                            ui.end_row();
                        }
                    });
                });
            super::column_stats::panel(&mut cols[1], self.stats_pending, &self.stats);
        });
    }
}
