//! The table browser's worker thread: it owns the [`Browser`] of the table on screen and answers
//! one request at a time (the table list, column ops, pages, statistics, exports), so nothing
//! the preview shows is read on the UI thread.

use crate::preview::PreviewError;
use std::path::PathBuf;
use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender, unbounded};

use crate::browse::{Browser, ColumnStats, ExportFormat, Page, Query, column_stats, export};
use crate::lake::{Lake, TableRef};

/// Rows per page read from disk.
pub const PAGE_ROWS: usize = 200;

pub(super) enum Req {
    Tables,
    Ops(TableRef),
    Page(TableRef, Query, usize),
    Stats(TableRef, Query, String),
    Export(TableRef, Query, PathBuf),
}

/// Raw files landed in stage1 for one entity: source, entity, files, bytes.
pub(super) type Landed = (String, String, usize, u64);

pub(super) enum Resp {
    Tables(Vec<(TableRef, i64)>, Vec<Landed>),
    Ops(TableRef, Vec<(String, &'static str)>),
    Page(TableRef, Query, usize, Result<Page, PreviewError>),
    Stats(Result<ColumnStats, PreviewError>),
    Export(Result<(PathBuf, usize), PreviewError>),
}

/// The worker that reads pages for the preview, one request at a time.
pub(super) struct Worker {
    pub(super) tx: Sender<Req>,
    pub(super) rx: Receiver<Resp>,
}

impl Worker {
    pub(super) fn start(lake: Lake, repaint: Arc<dyn Fn() + Send + Sync>) -> Worker {
        let (tx, req_rx) = unbounded::<Req>();
        let (resp_tx, rx) = unbounded();
        std::thread::spawn(move || {
            let mut browser: Option<Browser> = None;
            for req in req_rx {
                let t = match &req {
                    Req::Tables => {
                        // The lake changed (a run, Refresh): pages are read afresh.
                        browser = None;
                        let list = lake
                            .tables()
                            .into_iter()
                            .map(|t| {
                                let rows = lake.table_state(&t).map(|s| s.rows()).unwrap_or(0);
                                (t, rows)
                            })
                            .collect();
                        let mut landed: Vec<Landed> = Vec::new();
                        if let Ok(m) = crate::lake::manifest::Manifest::load(&lake) {
                            for f in &m.landed {
                                match landed
                                    .iter_mut()
                                    .find(|l| l.0 == f.source && l.1 == f.entity)
                                {
                                    Some(l) => {
                                        l.2 += 1;
                                        l.3 += f.size;
                                    }
                                    None => {
                                        landed.push((f.source.clone(), f.entity.clone(), 1, f.size))
                                    }
                                }
                            }
                        }
                        landed.sort();
                        if resp_tx.send(Resp::Tables(list, landed)).is_err() {
                            break;
                        }
                        repaint();
                        continue;
                    }
                    Req::Ops(t) => {
                        let ops = crate::browse::column_ops(&lake, t);
                        if resp_tx.send(Resp::Ops(t.clone(), ops)).is_err() {
                            break;
                        }
                        repaint();
                        continue;
                    }
                    Req::Page(t, ..) | Req::Stats(t, ..) | Req::Export(t, ..) => t.clone(),
                };
                if browser.as_ref().is_none_or(|b| b.table() != &t) {
                    browser = Some(Browser::new(t.clone()));
                }
                let Some(b) = browser.as_mut() else { continue };
                let resp = match req {
                    Req::Tables | Req::Ops(_) => continue,
                    Req::Page(t, q, i) => {
                        let r = b.page(&lake, &q, i * PAGE_ROWS, PAGE_ROWS);
                        Resp::Page(t, q, i, r)
                    }
                    Req::Stats(_, q, c) => {
                        Resp::Stats(b.view(&lake, &q).and_then(|v| column_stats(&v, &c)))
                    }
                    Req::Export(_, q, path) => Resp::Export(
                        b.view(&lake, &q)
                            .and_then(|v| export(&v, &path, ExportFormat::from_path(&path)))
                            .map(|n| (path, n)),
                    ),
                };
                if resp_tx.send(resp).is_err() {
                    break;
                }
                repaint();
            }
        });
        Worker { tx, rx }
    }
}
