//! Every integration test in one binary (one link of the crate instead of one
//! per file): a module per area, sharing `common`.

mod answer_fuzz;
mod auth_errors;
mod auth_modes;
mod azure_cli;
mod azure_pipelines;
mod bad_input;
mod certificate;
mod common;
mod corporate;
mod crash;
mod csv_fuzz;
mod customer_report;
mod doctor;
mod group_tags;
mod help;
mod hostile;
mod hostile_world;
mod html_report;
mod import_simulator;
mod import_wiremock;
#[cfg(unix)] // sends SIGINT with `kill`
mod interrupt;
mod layout;
mod lost_answer;
mod managed_identity;
mod many_tenants;
mod mistakes;
mod overlap;
mod partner_center_simulator;
mod partner_center_wiremock;
#[cfg(unix)] // runs the example pipelines' steps in bash
mod pipeline_nights;
mod pipeline_output;
mod pipelines;
mod profiles;
mod readme;
mod reconcile;
mod report_paths;
#[cfg(unix)]
mod runners;
mod snapshots;
mod state_folder;
mod state_home;
mod status;
mod tenants;
mod throttle_simulator;
mod token_lifetimes;
mod validate_input;
mod validate_real_world;
mod verdicts;
