//! What the benches share: input files of plausible hash rows.

/// Writes a Get-WindowsAutopilotInfo CSV of `serials`, each with a
/// 4,000-character hash from a fixed generator (`seed` varies it).
pub fn write_devices(path: &std::path::Path, serials: impl IntoIterator<Item = String>, seed: u64) {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(out, "Device Serial Number,Windows Product ID,Hardware Hash").unwrap();
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut state = 0x1234_5678_9ABC_DEF0u64 ^ seed;
    for serial in serials {
        let hash: String = (0..4000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                alphabet[(state & 63) as usize] as char
            })
            .collect();
        writeln!(out, "{serial},,{hash}").unwrap();
    }
}
