//! Landing: copy new raw files from a source into stage1, each under its run date, atomically.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};

use super::{Event, JobCtx, PipelineError, RunReport, Stage};
use crate::formats::parse::{CsvSpec, check_header};
use crate::lake::Lake;
use crate::lake::layout::{landing_dir, rundate};
use crate::lake::manifest::{LandedFile, Manifest};
use crate::modules::Module;
use crate::sources::{RemoteFile, Source, SourceError, check_name};

/// A file the source offers that landing would fetch.
#[derive(Debug, Clone)]
pub struct Planned {
    pub file: RemoteFile,
    pub entity: String,
    pub sub_path: String,
}

/// What landing would do: new files to fetch, files already seen, files no entity takes.
#[derive(Debug, Default)]
pub struct Plan {
    pub fetch: Vec<Planned>,
    pub unchanged: Vec<RemoteFile>,
    pub ignored: Vec<String>,
    /// Names refused as unsafe (escaped for display): they could leave the landing folder or
    /// drive a terminal. The other files still land.
    pub refused: Vec<String>,
}

/// Lists the source and decides what to fetch (also what a dry run prints).
pub fn plan(
    module: &dyn Module,
    source: &dyn Source,
    manifest: &Manifest,
) -> Result<Plan, PipelineError> {
    let files = source.list()?;
    let origin = source.origin();
    let mut plan = Plan::default();
    for f in module.select_files(files) {
        if let Err(e) = check_name(&f.path) {
            plan.refused.push(e.to_string());
            continue;
        }
        let Some(c) = module.classify(&f.path) else {
            plan.ignored.push(f.path);
            continue;
        };
        if manifest.seen_unchanged(&origin, &f.path, f.size, f.mtime) {
            plan.unchanged.push(f);
        } else {
            plan.fetch.push(Planned {
                entity: c.entity,
                sub_path: c.sub_path,
                file: f,
            });
        }
    }
    Ok(plan)
}

struct HashingWriter<W: Write> {
    inner: W,
    hash: Sha256,
    bytes: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A run date for this run whose landing folders are not used yet.
fn fresh_rundate(lake: &Lake, module: &dyn Module) -> String {
    let mut at = chrono::Utc::now();
    loop {
        let rd = rundate(at);
        let taken = module.entities().iter().any(|e| {
            landing_dir(
                lake.root(),
                module.source(),
                module.version(),
                &e.name,
                e.batch.name(),
                &rd,
            )
            .exists()
        });
        if !taken {
            return rd;
        }
        at += chrono::Duration::seconds(1);
    }
}

/// Lands every new file of the plan. Files that are not this module's format are rejected
/// (named in the report) and not landed; the others land.
pub fn land(
    ctx: JobCtx,
    source: &dyn Source,
    plan: &Plan,
    manifest: &mut Manifest,
    report: &mut RunReport,
) -> Result<(), PipelineError> {
    let JobCtx {
        lake,
        module,
        progress,
        cancel,
        ..
    } = ctx;
    let origin = source.origin();
    let rd = fresh_rundate(lake, module);
    let total: u64 = plan.fetch.iter().map(|p| p.file.size).sum();
    progress.send(Event::StageStarted {
        stage: Stage::Land,
        files: plan.fetch.len() as u64,
        bytes: total,
    });
    crate::progress::hold_point(lake, Stage::Land, cancel)?;
    report.files_skipped += plan.unchanged.len() as u64;
    for why in &plan.refused {
        report.files_rejected += 1;
        report.warnings.push(format!("refused: {why}"));
        progress.send(Event::Warning(format!("refused: {why}")));
    }
    // Fetch, hash and check files in parallel into temporary names; then record them one by one,
    // so the manifest never names a file that is not fully in place.
    let done = AtomicU64::new(0);
    let bytes = AtomicU64::new(0);
    let fetched: Vec<Result<Fetched, PipelineError>> = super::parallel_map(&plan.fetch, |p| {
        cancel.check()?;
        let f = fetch_one(lake, module, source, p, &rd);
        let b = bytes.fetch_add(p.file.size, Ordering::Relaxed) + p.file.size;
        progress.send(Event::Progress {
            stage: Stage::Land,
            files_done: done.fetch_add(1, Ordering::Relaxed) + 1,
            bytes_done: b,
            rows_done: 0,
        });
        f
    })?;
    let mut first_error = None;
    for (p, f) in plan.fetch.iter().zip(fetched) {
        let f = match f {
            Ok(f) => f,
            Err(e) => {
                first_error.get_or_insert(e);
                continue;
            }
        };
        if first_error.is_some() || cancel.is_cancelled() {
            let _ = std::fs::remove_file(&f.tmp);
            continue;
        }
        if let Some(why) = f.rejected {
            let _ = std::fs::remove_file(&f.tmp);
            report.files_rejected += 1;
            report.warnings.push(format!("rejected: {why}"));
            progress.send(Event::Warning(format!("rejected: {why}")));
            continue;
        }
        if manifest.has_content(module.source(), &p.entity, &f.sha) {
            let _ = std::fs::remove_file(&f.tmp);
            // Remember this name too, so the next run skips it without reading it.
            if let Some(prev) = manifest
                .landed
                .iter()
                .find(|l| l.source == module.source() && l.entity == p.entity && l.sha256 == f.sha)
                .cloned()
            {
                manifest.landed.push(LandedFile {
                    origin: origin.clone(),
                    origin_path: p.file.path.clone(),
                    mtime: p.file.mtime,
                    ..prev
                });
            }
            report.files_skipped += 1;
        } else {
            std::fs::rename(&f.tmp, &f.final_path)
                .map_err(|e| PipelineError::io(&f.final_path, e))?;
            let rel = f
                .final_path
                .strip_prefix(lake.root())
                .unwrap_or(&f.final_path)
                .to_string_lossy()
                .replace('\\', "/");
            manifest.landed.push(LandedFile {
                source: module.source().into(),
                entity: p.entity.clone(),
                origin: origin.clone(),
                origin_path: p.file.path.clone(),
                size: f.size,
                mtime: p.file.mtime,
                sha256: f.sha,
                stage1_path: rel,
                sub_path: p.sub_path.clone(),
                rundate: rd.clone(),
                ingested: false,
            });
            report.files_landed += 1;
            report.bytes_read += f.size;
        }
        manifest.save(lake)?;
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    cancel.check()?;
    progress.send(Event::StageFinished { stage: Stage::Land });
    Ok(())
}

/// One file fetched into a temporary name next to its final place.
struct Fetched {
    tmp: PathBuf,
    final_path: PathBuf,
    size: u64,
    sha: String,
    /// Why the file is not this module's format, if it is not.
    rejected: Option<String>,
}

fn fetch_one(
    lake: &Lake,
    module: &dyn Module,
    source: &dyn Source,
    p: &Planned,
    rd: &str,
) -> Result<Fetched, PipelineError> {
    check_name(&p.file.path)?;
    let entity = module
        .entity(&p.entity)
        .ok_or_else(|| PipelineError::Input(format!("unknown entity {}", p.entity)))?;
    let dir = landing_dir(
        lake.root(),
        module.source(),
        module.version(),
        &entity.name,
        entity.batch.name(),
        rd,
    );
    let final_path = dir.join(&p.sub_path);
    let parent = final_path.parent().unwrap_or(&dir).to_path_buf();
    std::fs::create_dir_all(&parent).map_err(|e| PipelineError::io(&parent, e))?;
    let name = final_path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("file");
    let tmp = parent.join(format!(".{name}.partial-{}", uuid::Uuid::new_v4().simple()));
    let (size, sha) = match fetch_to(source, &p.file, &tmp) {
        Ok(v) => v,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    let spec = CsvSpec {
        fields: &entity.fields,
        what: &entity.what,
        order: entity.day_order,
        chunk_rows: 1,
        headerless: entity.headerless,
        layouts: &entity.layouts,
    };
    let rejected = check_header(&tmp, &p.file.path, &spec)
        .err()
        .map(|e| e.to_string());
    Ok(Fetched {
        tmp,
        final_path,
        size,
        sha,
        rejected,
    })
}

/// Fetches into a temporary file and checks the size; returns size and SHA-256. (Ingest checks
/// the size again, so a file cut short by a power loss is caught, not ingested.)
fn fetch_to(
    source: &dyn Source,
    file: &RemoteFile,
    tmp: &Path,
) -> Result<(u64, String), PipelineError> {
    // Only Linux copies file to file in the kernel; elsewhere `std::io::copy` would move the
    // bytes in 8 KiB steps, slower than streaming them through a 1 MiB buffer.
    let local = source
        .local_path(file)
        .filter(|_| cfg!(target_os = "linux"));
    let (bytes, sha) = match local {
        Some(from) => copy_local(&from, tmp)?,
        None => stream_to(source, file, tmp)?,
    };
    if bytes != file.size {
        return Err(PipelineError::Source(SourceError::SizeMismatch {
            path: file.path.clone(),
            expected: file.size,
            got: bytes,
        }));
    }
    Ok((bytes, sha))
}

/// Streams a remote file into `tmp`, hashing it on the way.
fn stream_to(
    source: &dyn Source,
    file: &RemoteFile,
    tmp: &Path,
) -> Result<(u64, String), PipelineError> {
    let f = std::fs::File::create(tmp).map_err(|e| PipelineError::io(tmp, e))?;
    let mut w = HashingWriter {
        inner: std::io::BufWriter::with_capacity(1 << 20, f),
        hash: Sha256::new(),
        bytes: 0,
    };
    source.fetch(file, &mut w)?;
    let sha = hex(&w.hash.finalize_reset());
    w.inner
        .into_inner()
        .map_err(|e| PipelineError::io(tmp, e.into_error()))?;
    Ok((w.bytes, sha))
}

/// Copies a local file into `tmp`, file to file: on Linux `std::io::copy` between two files is
/// `copy_file_range`, which clones the blocks on XFS and btrfs (no bytes written; the landed
/// file stays a copy of its own, unchanged whatever happens to the source, as stage1 must) and
/// copies inside the kernel elsewhere. `tmp` is created as any lake file is (owner-only), not with
/// the source's permissions. The SHA-256 is read back from `tmp`: it is what landed even if the
/// source changed meanwhile.
fn copy_local(from: &Path, tmp: &Path) -> Result<(u64, String), PipelineError> {
    let source_err = |e| {
        PipelineError::Source(SourceError::Io {
            path: from.to_path_buf(),
            source: e,
        })
    };
    let mut src = std::fs::File::open(from).map_err(source_err)?;
    let mut dst = std::fs::File::create(tmp).map_err(|e| PipelineError::io(tmp, e))?;
    let bytes = std::io::copy(&mut src, &mut dst).map_err(|e| PipelineError::io(tmp, e))?;
    drop(dst);
    // The source is read once: its cached pages go back for the landed copies that follow
    // (the landed copy stays cached, ingest reads it next).
    crate::lake::settle::let_go(&src);
    let (read, sha) = hash_file(tmp).map_err(|e| PipelineError::io(tmp, e))?;
    if read != bytes {
        return Err(PipelineError::io(
            tmp,
            std::io::Error::other("the landed copy changed while it was read"),
        ));
    }
    Ok((bytes, sha))
}

/// Size and SHA-256 of a file, read in 1 MiB blocks.
fn hash_file(path: &Path) -> std::io::Result<(u64, String)> {
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 1 << 20];
    let (mut hash, mut bytes) = (Sha256::new(), 0u64);
    loop {
        match f.read(&mut buf) {
            Ok(0) => return Ok((bytes, hex(&hash.finalize()))),
            Ok(n) => {
                hash.update(&buf[..n]);
                bytes += n as u64;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

impl From<SourceError> for PipelineError {
    fn from(e: SourceError) -> Self {
        match e {
            SourceError::MissingFolder(p) => PipelineError::NoInput(p),
            other => PipelineError::Source(other),
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// How many of the file's pages are in the page cache (`mincore` over a mapping).
    fn resident_pages(path: &Path) -> usize {
        use std::os::fd::AsRawFd;
        let f = std::fs::File::open(path).unwrap();
        let len = f.metadata().unwrap().len() as usize;
        let page = 4096;
        let mut vec = vec![0u8; len.div_ceil(page)];
        // SAFETY: a read-only shared mapping of an open file, unmapped before returning; `vec`
        // has one byte per page of it.
        unsafe {
            let addr = libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_SHARED,
                f.as_raw_fd(),
                0,
            );
            assert_ne!(addr, libc::MAP_FAILED);
            assert_eq!(libc::mincore(addr, len, vec.as_mut_ptr()), 0);
            libc::munmap(addr, len);
        }
        vec.iter().filter(|b| **b & 1 == 1).count()
    }

    #[test]
    fn landing_lets_go_of_the_source_pages_and_keeps_the_copy() {
        // /var/tmp, not /tmp: a tmpfs keeps its pages whatever the advice.
        let dir = tempfile::tempdir_in("/var/tmp").unwrap();
        let (from, tmp) = (dir.path().join("day.csv"), dir.path().join("landed.csv"));
        let text: Vec<u8> = (0..1u32 << 20).map(|i| b'a' + (i % 26) as u8).collect();
        std::fs::write(&from, &text).unwrap();
        std::fs::File::open(&from).unwrap().sync_all().unwrap();
        assert!(resident_pages(&from) > 200, "written, so cached");
        let (bytes, sha) = copy_local(&from, &tmp).unwrap();
        assert_eq!(bytes, 1 << 20);
        assert_eq!(sha, hex(&Sha256::digest(&text)));
        assert_eq!(resident_pages(&from), 0, "the source's pages were let go");
        assert!(
            resident_pages(&tmp) > 200,
            "the landed copy stays for ingest"
        );
        assert_eq!(std::fs::read(&tmp).unwrap(), text);
    }
}
