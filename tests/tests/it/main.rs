//! The integration tests, as one test binary: the SDK and the harness link once instead of
//! once per file. Each module is one area; `cargo test -p integration-tests <module>::` runs
//! one of them.

mod adapters;
mod autolink;
mod cli;
mod cli_csv;
mod deploy_path;
mod doctor;
mod lambda_e2e;
mod ou_names;
mod partner_central;
mod pipeline;
mod reminders_routing;
mod report;
mod report_scale;
mod scale;
mod store;
mod store_schema;
mod summary;
mod template;
mod template_autolink;
mod template_doctor;
mod template_params;
mod template_triggers;
mod triggers;
