//! The `edlake` command: a CLI for scripted and scheduled runs; with no subcommand, the desktop app.

mod cli;

// Polars allocates and frees many buffers from several threads; mimalloc keeps memory from
// fragmenting (glibc's malloc let peak memory grow with every file).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            cli::exit_code_for(&e)
        }
    }
}
