//! The `apnwatch` command run inside the test's process: parsed as the binary parses its
//! arguments and executed against the app of the world started last on this thread, so a
//! test reads what the binary would print without building or spawning it.

use apnwatch::cli::{execute, Cli};
use clap::Parser;

use crate::world::app;

/// What `apnwatch <args>` would print on stdout, or its error, run against a freshly built
/// app. Arguments the binary would refuse fail the test.
pub async fn run_cli(args: &[&str]) -> Result<String, apnwatch::Error> {
    let cli = Cli::try_parse_from(std::iter::once("apnwatch").chain(args.iter().copied()))
        .unwrap_or_else(|e| panic!("{args:?} does not parse: {e}"));
    execute(&app().await, &cli).await
}

/// [`run_cli`], which must succeed.
pub async fn cli_ok(args: &[&str]) -> String {
    run_cli(args)
        .await
        .unwrap_or_else(|e| panic!("apnwatch {args:?}: {}", e.one_line()))
}
