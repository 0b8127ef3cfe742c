//! The `apctl` binary: parse arguments, run the command, render any error
//! once, and exit with a documented code (see `cli::exit`).

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    return_large_buffers();
    cli::environment::unset_empty();
    let args = cli::parse();
    if let Err(err) = cli::environment::check() {
        cli::term::err(&cli::render_error(&err));
        return cli::exit::Exit::Failure.into();
    }
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

/// A large run's row lists are tens of megabytes, made and dropped as the
/// run goes (checkpoints, the final report). glibc's malloc serves such
/// blocks by `mmap` and gives them back when dropped, but after the first
/// is dropped it raises that threshold to the block's size, and later
/// lists come from the heap, where freed space stays resident. A fixed
/// threshold keeps every large block given back (issue #26: peak memory
/// for 50,000 devices).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn return_large_buffers() {
    // SAFETY: mallopt only sets an allocator parameter; it is called
    // before any thread is started.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn return_large_buffers() {}
