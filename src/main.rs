//! The `apctl` binary: parse arguments, run the command, render any error
//! once, and exit with a documented code (see `cli::exit`).

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args = cli::parse();
    match cli::run(args) {
        Ok(code) => code.into(),
        Err(err) => {
            if cli::is_broken_pipe(&err) {
                return cli::exit::Exit::Success.into();
            }
            cli::term::err(&cli::render_error(&err));
            cli::exit::Exit::Failure.into()
        }
    }
}
