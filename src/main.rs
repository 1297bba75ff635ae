//! The `edlake` command: a CLI for scripted and scheduled runs; with no subcommand, the desktop app.

mod cli;

// Polars allocates and frees many buffers from several threads; mimalloc keeps memory from
// fragmenting (glibc's malloc let peak memory grow with every file).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::ExitCode;

use clap::Parser;

/// mimalloc's `purge_delay` option: how long freed memory stays mapped before going back to the OS.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

fn main() -> ExitCode {
    // Scans allocate and free large buffers again and again; returning them to the OS at once made
    // the kernel spend more time clearing pages than the query spent computing.
    // mimalloc's own MIMALLOC_PURGE_DELAY, when set, wins (for measuring other settings).
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets a process-wide allocator option before any other thread exists.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 1000) };
    }
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            cli::exit_code_for(&e)
        }
    }
}
