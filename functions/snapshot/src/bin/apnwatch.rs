//! `apnwatch`: parse, run one command, print. Errors go to stderr on one line with a
//! non-zero exit status, so scripts and CI can rely on it.

use clap::Parser;

use apnwatch::app::App;
use apnwatch::cli::{execute, Cli};

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    // Logs go to stderr so that stdout stays clean for --json; quiet unless RUST_LOG asks.
    // The SDK's own warnings (IMDS probes on a laptop, retries) stay below the default
    // level: a missing region or credentials is told once by the preflight instead.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(apnwatch::cli::color::stderr_ansi())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                "warn,aws_config=error,aws_runtime=error,aws_smithy_runtime=error,aws_smithy_runtime_api=error,aws_sdk_sts=error".into()
            }),
        )
        .init();
    let result = match App::from_env().await {
        Ok(app) => execute(&app, &cli).await,
        Err(e) => Err(e),
    };
    match result {
        // CSV already ends its last record with CRLF: a second line end would add an empty row.
        Ok(out) if out.ends_with('\n') => print!("{out}"),
        Ok(out) => println!("{out}"),
        Err(e) => {
            // `invite` prints what it did even when some ids were not invited, `doctor` its
            // report even when a check failed.
            if let apnwatch::Error::NotInvited { output, .. }
            | apnwatch::Error::Unhealthy { output, .. } = &e
            {
                match output.ends_with('\n') {
                    true => print!("{output}"),
                    false => println!("{output}"),
                }
            }
            eprintln!("apnwatch: {}: {}", e.kind(), e.one_line());
            std::process::exit(1);
        }
    }
}
