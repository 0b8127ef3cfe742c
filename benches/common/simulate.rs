//! `apctl simulate` in its own process, for benches that measure apctl
//! apart from the simulator.

use std::io::BufRead;
use std::process::{Child, Command, Stdio};

/// Starts `apctl simulate --port 0` with `args`; returns the process and
/// its URL.
pub fn start<I, S>(args: I) -> (Child, String)
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut child = Command::new(env!("CARGO_BIN_EXE_apctl"))
        .args(["simulate", "--port", "0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("apctl simulate starts");
    let mut reader = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    reader.read_line(&mut first).unwrap();
    // Keep draining, so the simulator never writes into a closed pipe.
    std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
    let uri = first.split_whitespace().last().unwrap().to_owned();
    (child, uri)
}
