//! The `syncgate` binary: parses the command line and maps the outcome to an exit code.

use std::process::ExitCode;

fn main() -> ExitCode {
    syncgate::cli::main()
}
