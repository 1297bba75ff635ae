//! The table browser's rows: a virtual table over millions of rows (pages read on the worker
//! thread), sortable by its headers, scrolling sideways when wide.

use super::table_worker::PAGE_ROWS;
use super::tables::TablesPage;
use crate::browse::Query;
use crate::preview::cell_text;

impl TablesPage {
    pub(super) fn grid(&mut self, ui: &mut egui::Ui) {
        use egui_extras::{Column, TableBuilder};
        let Some(total) = self.total_rows else {
            self.request(0);
            ui.spinner();
            return;
        };
        if self.columns.is_empty() {
            ui.label("The view has no rows.");
            return;
        }
        let cols = self.columns.clone();
        let mut wanted = Vec::new();
        let mut sort_click = None;
        let row_h = ui.text_style_height(&egui::TextStyle::Body) + 4.0;
        let top = std::mem::take(&mut self.scroll_top);
        // Wide tables scroll sideways; each table (and each new sort or filter) opens at its
        // first row.
        egui::ScrollArea::horizontal().show(ui, |ui| {
            let mut table = TableBuilder::new(ui).id_salt(self.selected.as_ref().map(|t| t.id()));
            if top {
                table = table.scroll_to_row(0, Some(egui::Align::TOP));
            }
            table
                .striped(true)
                .resizable(true)
                .columns(Column::initial(140.0).at_least(40.0).clip(true), cols.len())
                .header(row_h + 4.0, |mut h| {
                    for (c, _) in &cols {
                        h.col(|ui| {
                            let arrow = match &self.query.sort {
                                Some((s, true)) if s == c => " (desc)",
                                Some((s, false)) if s == c => " (asc)",
                                _ => "",
                            };
                            if ui
                                .button(format!("{c}{arrow}"))
                                .on_hover_text("Sort by this column")
                                .clicked()
                            {
                                sort_click = Some(c.clone());
                            }
                        });
                    }
                })
                .body(|body| {
                    body.rows(row_h, total, |mut row| {
                        let i = row.index();
                        let page = i / PAGE_ROWS;
                        let frame = self.pages.get(&page).cloned();
                        if frame.is_none() {
                            wanted.push(page);
                        }
                        for (ci, _) in cols.iter().enumerate() {
                            row.col(|ui| match &frame {
                                Some(df) => {
                                    let txt = df
                                        .columns()
                                        .get(ci)
                                        .and_then(|c| c.get(i - page * PAGE_ROWS).ok())
                                        .map(|v| cell_text(&v))
                                        .unwrap_or_default();
                                    ui.label(txt);
                                }
                                None => {
                                    ui.label(egui::RichText::new("…").weak());
                                }
                            });
                        }
                    });
                });
        });
        wanted.dedup();
        for p in wanted {
            self.request(p);
        }
        if let Some(c) = sort_click {
            let desc = matches!(&self.query.sort, Some((s, false)) if *s == c);
            self.set_query(Query {
                sort: Some((c, desc)),
                ..self.query.clone()
            });
        }
    }
}
