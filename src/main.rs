//! The `casefile` binary: parses arguments, calls the library, prints any error once and sets
//! the exit code (0 done, 1 bad input, 2 bad usage, 3 could not write output). No logic.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

#[global_allocator]
static ALLOCATOR: casefile::alloc::Allocator = casefile::alloc::Allocator;

fn main() -> ExitCode {
    casefile::alloc::tune();
    let cli = casefile::cli::Cli::parse();
    match casefile::run(cli.command) {
        Ok(output) => {
            let mut stdout = std::io::stdout().lock();
            // A closed pipe (`casefile … | head`) is not an error worth a message.
            let _ = stdout.write_all(output.as_bytes());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprint!("{}", e.render());
            ExitCode::from(e.exit_code() as u8)
        }
    }
}
