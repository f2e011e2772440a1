//! The command line: clap definitions, settings resolution, and one function per subcommand that
//! loads inputs, calls [`crate::pipeline`], writes the output and picks the exit code.
//!
//! Exit codes everywhere: 0 allowed, 1 denied (or a policy test mismatched), 2 usage, input or
//! configuration error. Data goes to stdout, diagnostics to stderr.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};

use crate::manifest::{self, Limits};
use crate::pipeline::{self, CheckOptions};
use crate::policy::{self, RunMode};
use crate::report::{self, Decision};
use crate::testcase;

/// syncgate: the last gate between rendered manifests and the cluster.
#[derive(Debug, Parser)]
#[command(name = "syncgate", version, about, max_term_width = 100)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Evaluate manifests (files, directories, or - for stdin) against policies and print a report.
    Check(CheckArgs),
    /// Run policy test cases (files named syncgate-test.yaml under DIR) and compare expected verdicts.
    Test(TestArgs),
}

/// Output formats of `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Human-readable, grouped by resource.
    Text,
    /// The JSON report contract.
    Json,
    /// SARIF 2.1.0 for code scanning.
    Sarif,
    /// JUnit XML, one test case per resource × rule.
    Junit,
}

/// `--mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// Each rule runs in the mode its policy gives it.
    Enforce,
    /// Everything is report-only: findings become warnings and nothing denies.
    Report,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorArg {
    /// Colour on a terminal unless NO_COLOR is set.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// Arguments of `check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Manifest files or directories (*.yaml, *.yml, *.json, recursively); - reads stdin.
    #[arg(value_name = "PATH", default_value = "-")]
    pub paths: Vec<PathBuf>,
    /// Policy file or directory (repeatable).
    #[arg(long, short = 'p', value_name = "FILE|DIR", required = true, env = "SYNCGATE_POLICY", value_delimiter = ',')]
    pub policy: Vec<PathBuf>,
    /// Report format.
    #[arg(long, short = 'o', value_enum, default_value = "text")]
    pub output: Output,
    /// Skip registry work: evaluate image references as written.
    #[arg(long)]
    pub offline: bool,
    /// `report` makes every rule report-only (the first rollout step); `enforce` uses each rule's own mode.
    #[arg(long, value_enum, default_value = "enforce", env = "SYNCGATE_MODE")]
    pub mode: ModeArg,
    /// Namespace for namespaced resources that set none.
    #[arg(long, short = 'n', default_value = "default", env = "SYNCGATE_NAMESPACE")]
    pub namespace: String,
    /// Evaluate exception expiry at this RFC 3339 time instead of now (reproducible runs).
    #[arg(long, value_name = "RFC3339")]
    pub now: Option<jiff::Timestamp>,
    /// Largest accepted input per file or stdin, in bytes.
    #[arg(long, default_value_t = Limits::default().max_bytes)]
    pub max_input_bytes: usize,
    /// When to colour text output.
    #[arg(long, value_enum, default_value = "auto")]
    pub color: ColorArg,
}

/// Arguments of `test`.
#[derive(Debug, clap::Args)]
pub struct TestArgs {
    /// Directory searched recursively for syncgate-test.yaml files (or one such file).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
}

/// Parses the command line, runs it, and maps the result to an exit code.
#[must_use]
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(args) => run_check(&args),
        Command::Test(args) => run_test(&args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run_check(args: &CheckArgs) -> anyhow::Result<ExitCode> {
    if args.paths.iter().any(|p| p.as_os_str() == "-") && std::io::stdin().is_terminal() {
        anyhow::bail!("no manifests to check: give files or directories, or pipe a stream into `syncgate check -`");
    }
    let limits = Limits { max_bytes: args.max_input_bytes, ..Limits::default() };
    let policies = policy::load(&args.policy, &limits).context("invalid policy")?;
    if !args.offline {
        let _ = writeln!(
            std::io::stderr(),
            "note: registry resolution is not available in this build; images are evaluated as written (as with --offline)"
        );
    }
    let options = CheckOptions {
        default_namespace: args.namespace.clone(),
        run_mode: match args.mode {
            ModeArg::Enforce => RunMode::AsConfigured,
            ModeArg::Report => RunMode::ReportOnly,
        },
        now: args.now.unwrap_or_else(jiff::Timestamp::now),
    };
    let mut checker = pipeline::Checker::new(&policies, &options);
    manifest::visit(&args.paths, &limits, &mut |document| checker.document(&document)).context("invalid input")?;
    let report = checker.finish();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match args.output {
        Output::Text => report::write_text(&report, &mut out, use_color(args.color, stdout.is_terminal()))?,
        Output::Json => report::write_json(&report, &mut out)?,
        Output::Sarif => report::write_sarif(&report, &policy::catalog(), &mut out)?,
        Output::Junit => report::write_junit(&report, &mut out)?,
    }
    out.flush()?;
    Ok(match report.decision {
        Decision::Allow => ExitCode::SUCCESS,
        Decision::Deny => ExitCode::from(1),
    })
}

/// Colour only on a terminal, never with a non-empty `NO_COLOR` (unless forced with `--color always`).
fn use_color(arg: ColorArg, terminal: bool) -> bool {
    match arg {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    }
}

fn run_test(args: &TestArgs) -> anyhow::Result<ExitCode> {
    let outcome = testcase::run(&args.dir)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    testcase::write_summary(&outcome, &mut out)?;
    out.flush()?;
    Ok(if outcome.passed() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
