//! The exit codes a pipeline can branch on, documented in the README.

use std::process::ExitCode;

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// 0: every row valid; every device registered or already there.
    Success = 0,
    /// 1: some rows are invalid, or some devices failed to register.
    SomeFailed = 1,
    /// 2: apctl could not do its job: arguments, unreadable input,
    /// authentication or network.
    Failure = 2,
    /// 3: some devices were still Registration pending at the deadline.
    Pending = 3,
    /// 130: interrupted (Ctrl-C); the report was still written.
    Interrupted = 130,
    /// 143: stopped by SIGTERM (a CI agent cancelling the job); the report
    /// was still written.
    Terminated = 143,
}

impl From<apctl::report::Verdict> for Exit {
    fn from(v: apctl::report::Verdict) -> Exit {
        use apctl::report::Verdict;
        match v {
            Verdict::Done => Exit::Success,
            Verdict::SomeFailed => Exit::SomeFailed,
            Verdict::CouldNotRun | Verdict::BadInput => Exit::Failure,
            Verdict::SomePending => Exit::Pending,
            Verdict::Interrupted => Exit::Interrupted,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e as u8)
    }
}
