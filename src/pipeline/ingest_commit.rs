//! The commit half of an entity's ingest: each output table (Ingested, general, lookup,
//! quarantine) gets the batches that still need it in one Delta commit, Ingested first, and the
//! run report records what changed.

use super::*;

/// One commit of table `t`, recorded in the report.
fn commit_table(
    lake: &Lake,
    t: &TableRef,
    schema: &TableSchema,
    kind: CommitKind,
    files: &[NewFile],
    ids: &[String],
    report: &mut RunReport,
) -> Result<(), PipelineError> {
    let rows_written = files.iter().map(|f| f.rows as u64).sum();
    let version = delta::commit(&lake.table_dir(t), schema, kind, files, ids)?;
    report.tables.push(TableChange {
        table: t.id(),
        version,
        rows_written,
    });
    Ok(())
}

/// Applies each file's kept frames (upsert or delete, in landing order) to the table at `dir`
/// and writes the result as new data files.
fn rewrite_table(
    dir: &std::path::Path,
    work: &[(&LandedFile, Needs)],
    outs: &[FileOut],
    frames: fn(&FileOut) -> &Vec<DataFrame>,
    entity: &Entity,
    keys: &[String],
    parts: &[String],
) -> Result<Vec<NewFile>, PipelineError> {
    let batches = work
        .iter()
        .zip(outs)
        .map(|((f, _), o)| {
            Ok((
                merge::union(frames(o).clone())?,
                is_delete_batch(entity, &f.sub_path),
            ))
        })
        .collect::<PolarsResult<Vec<_>>>()?;
    let merged = rewrite(dir, batches, keys)?;
    merge::write_partitioned(dir, merged, parts)
}

/// How an upserted or deleted output is rewritten: its kept frames, key and partitions.
struct Rewrite<'a> {
    frames: fn(&FileOut) -> &Vec<DataFrame>,
    keys: &'a [String],
    parts: &'a [String],
}

/// The files of one output: rewritten with the key for upserts and deletes, else as written.
fn output_files(
    run: &EntityRun,
    t: &TableRef,
    work: &[(&LandedFile, Needs)],
    outs: &[FileOut],
    rw: Rewrite,
    written: fn(&FileOut) -> &Vec<NewFile>,
) -> Result<Vec<NewFile>, PipelineError> {
    if run.rewrite {
        let dir = run.lake.table_dir(t);
        rewrite_table(&dir, work, outs, rw.frames, run.entity, rw.keys, rw.parts)
    } else {
        Ok(outs.iter().flat_map(|o| written(o).clone()).collect())
    }
}

/// Commits every output table of the entity; returns the quarantined rows (run date, file,
/// row).
pub(super) fn commit_outputs(
    run: &EntityRun,
    work: &[(&LandedFile, Needs)],
    outs: &[FileOut],
    report: &mut RunReport,
) -> Result<Vec<(String, String, BadRow)>, PipelineError> {
    let (lake, entity) = (run.lake, run.entity);
    let kind = if entity.batch == BatchType::Additive {
        CommitKind::Append
    } else {
        CommitKind::Overwrite
    };
    let ids_for = |pick: fn(&Needs) -> bool| -> Vec<String> {
        work.iter()
            .filter(|(_, n)| pick(n))
            .map(|(f, _)| f.batch_id())
            .collect()
    };
    // A batch commits only once its landed copy is durable (settled after it was read).
    for (f, _) in work {
        crate::lake::settle::wait_for(&lake.root().join(&f.stage1_path))?;
    }
    let general_keys = general_keys(entity);
    // Ingested first, then refined: a crash in between is finished by the next run.
    let ing_ids = ids_for(|n| n.ingested);
    if !ing_ids.is_empty() {
        let keys: Vec<String> = entity
            .primary_key
            .iter()
            .map(|k| crate::lake::schema::fix_column_name(k))
            .collect();
        let t = &run.targets.ingested;
        let files = output_files(
            run,
            t,
            work,
            outs,
            Rewrite {
                frames: |o| &o.ingested_frames,
                keys: &keys,
                parts: &[],
            },
            |o| &o.ingested,
        )?;
        let schema = outs.iter().fold(TableSchema::default(), |s, o| {
            s.merged_with(&o.ingested_schema)
        });
        commit_table(lake, t, &schema, kind, &files, &ing_ids, report)?;
    }
    let gen_ids = ids_for(|n| n.general);
    if !gen_ids.is_empty() {
        let t = &run.targets.general;
        let parts = run.partition_columns();
        let files = output_files(
            run,
            t,
            work,
            outs,
            Rewrite {
                frames: |o| &o.general_frames,
                keys: &general_keys,
                parts: &parts,
            },
            |o| &o.general,
        )?;
        let mut schema = outs.iter().fold(TableSchema::default(), |s, o| {
            s.merged_with(&o.general_schema)
        });
        schema.partition_by = parts;
        commit_table(lake, t, &schema, kind, &files, &gen_ids, report)?;
    }
    let lk_ids = ids_for(|n| n.lookup);
    if let Some(t) = &run.targets.lookup
        && !lk_ids.is_empty()
    {
        let files = output_files(
            run,
            t,
            work,
            outs,
            Rewrite {
                frames: |o| &o.lookup_keyed,
                keys: &general_keys,
                parts: &[],
            },
            |o| &o.lookup,
        )?;
        // Mappings of other batch types never go away, even when a snapshot replaces the
        // general table; upserts and deletes rewrite the lookup with the general table's key.
        let lookup_kind = if run.rewrite {
            CommitKind::Overwrite
        } else {
            CommitKind::Append
        };
        let schema = outs
            .iter()
            .filter(|o| !o.lookup.is_empty() || !o.lookup_keyed.is_empty())
            .fold(TableSchema::default(), |a, o| {
                a.merged_with(&o.lookup_schema)
            });
        commit_table(lake, t, &schema, lookup_kind, &files, &lk_ids, report)?;
    }
    let q_ids = ids_for(|n| n.quarantine);
    commit_quarantine(run, work, outs, &q_ids, report)
}

/// Commits the rows of the batches in `q_ids` that did not fit their format (an empty commit
/// still records the batches); returns them (run date, file, row).
fn commit_quarantine(
    run: &EntityRun,
    work: &[(&LandedFile, Needs)],
    outs: &[FileOut],
    q_ids: &[String],
    report: &mut RunReport,
) -> Result<Vec<(String, String, BadRow)>, PipelineError> {
    let bad: Vec<(String, String, BadRow)> = work
        .iter()
        .zip(outs)
        .filter(|((_, n), _)| n.quarantine)
        .flat_map(|((f, _), o)| {
            o.bad
                .iter()
                .map(|b| (f.rundate.clone(), f.origin_path.clone(), b.clone()))
        })
        .collect();
    if !q_ids.is_empty() {
        let t = &run.targets.quarantine;
        let mut files = Vec::new();
        let mut qdf = quarantine_frame(&report.run_id, &bad)?;
        let schema = schema_of(&qdf, &[]);
        if qdf.height() > 0 {
            files.push(delta::write_file(&run.lake.table_dir(t), &mut qdf, &[])?);
        }
        commit_table(
            run.lake,
            t,
            &schema,
            CommitKind::Append,
            &files,
            q_ids,
            report,
        )?;
        // The rows, not the files' row counts: an empty commit still records the batches.
        if let Some(last) = report.tables.last_mut() {
            last.rows_written = bad.len() as u64;
        }
    }
    Ok(bad)
}

/// Adds the entity's rows, quarantined rows, notes and warnings to the report.
pub(super) fn record(
    progress: &Progress,
    report: &mut RunReport,
    outs: &[FileOut],
    bad: &[(String, String, BadRow)],
) {
    report.rows_ingested += outs.iter().map(|o| o.rows).sum::<u64>();
    report.rows_quarantined += bad.len() as u64;
    for (_, file, b) in bad
        .iter()
        .take(MAX_ISSUES.saturating_sub(report.issues.len()))
    {
        report.issues.push(RowIssue {
            file: file.clone(),
            line: b.line,
            column: b.column.clone(),
            reason: b.reason.clone(),
        });
    }
    for o in outs {
        for n in &o.notes {
            progress.log(n.clone());
            report.notes.push(n.clone());
        }
        for w in &o.warnings {
            if !report.warnings.contains(w) {
                progress.send(Event::Warning(w.clone()));
                report.warnings.push(w.clone());
            }
        }
    }
}
