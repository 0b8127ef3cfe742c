//! A mutation test of the CSV reader: thousands of files made by breaking
//! real and synthetic device CSVs (flipped, inserted, deleted and repeated
//! bytes, stray quotes, NULs, line ends of every kind, cut-off UTF-16) are
//! read. None may panic, every problem must name a line (or be a problem of
//! the whole file), every row must be accounted for, and the binary's exit
//! code must be 0, 1 or 2. The generator is seeded: a failure is replayed
//! by its seed.

use crate::common::{apctl, fake_hash, real_world, utf16le_bom};
use apctl::input::validate::{Checked, ValidateOptions, validate};

/// xorshift64*: small, seeded, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// The files mutations start from.
fn seeds() -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = [
        "csv/gwai-utf16le-hp-elitebook-840-g8.csv",
        "csv/gwai-utf16le-vmware-serial-with-spaces.csv",
        "csv/ms-mmd-device-registration-sample-partner.csv",
        "csv/ms-mmd-device-registration-sample-self.csv",
        "csv/export-windowsAutopilotDeviceIdentities-quoted.csv",
    ]
    .iter()
    .map(|f| std::fs::read(real_world(f)).unwrap())
    .collect();
    let mut text =
        String::from("Device Serial Number,Windows Product ID,Hardware Hash,Group Tag,Assigned User\r\n");
    for i in 0..6 {
        text.push_str(&format!(
            "SYN-{i},,{},Sales,ada@contoso.com\r\n",
            fake_hash(i, 3000)
        ));
    }
    out.push(text.clone().into_bytes());
    out.push(utf16le_bom(&text));
    out.push(b"Manufacturer;Model;Serial Number\nContoso;\"Book, 3\";S1\n".to_vec());
    out
}

const NASTY: &[&[u8]] = &[
    b"\r",
    b"\n",
    b"\r\n",
    b"\"",
    b",",
    b";",
    b"\0",
    b"\xFF\xFE",
    b"\xEF\xBB\xBF",
    b"\xC3",
    b"\xED\xA0\x80",
    b"\x1b[31m",
    b"1.23457E+11",
    b"==",
    b"\"\"",
    b"\t",
];

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut data = seed.to_vec();
    for _ in 0..1 + rng.below(6) {
        let at = rng.below(data.len() + 1);
        match rng.below(7) {
            0 if !data.is_empty() => {
                let i = at.min(data.len() - 1);
                data[i] ^= 1 << rng.below(8);
            }
            1 => {
                let piece = NASTY[rng.below(NASTY.len())];
                data.splice(at..at, piece.iter().copied());
            }
            2 => {
                let end = (at + rng.below(200)).min(data.len());
                data.drain(at..end);
            }
            3 => {
                let end = (at + rng.below(300)).min(data.len());
                let copy = data[at..end].to_vec();
                let to = rng.below(data.len() + 1);
                data.splice(to..to, copy);
            }
            4 => data.truncate(at),
            5 => {
                let n = rng.below(5_000);
                let byte = b"A,\"\r\n"[rng.below(5)];
                data.splice(at..at, std::iter::repeat_n(byte, n));
            }
            _ => {
                // Line ends of another kind everywhere.
                let to: &[u8] = [&b"\r"[..], b"\n", b"\r\n"][rng.below(3)];
                let mut out = Vec::with_capacity(data.len());
                for &b in &data {
                    if b == b'\n' {
                        out.extend_from_slice(to);
                    } else if b != b'\r' {
                        out.push(b);
                    }
                }
                data = out;
            }
        }
    }
    data
}

#[test]
fn mutated_files_never_panic_and_every_problem_names_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let seeds = seeds();
    let mut rng = Rng(0x5EED_CAFE_F00D_0001);
    let options = ValidateOptions::default();
    for case in 0..3_000 {
        let seed = &seeds[case % seeds.len()];
        let data = mutate(&mut rng, seed);
        let path = dir.path().join(format!("m{}.csv", case % 8));
        std::fs::write(&path, &data).unwrap();
        let strict = ValidateOptions {
            strict: case % 3 == 0,
            ..options.clone()
        };
        let mut rows = 0u64;
        let v = validate(std::slice::from_ref(&path), &strict, |r| {
            rows += 1;
            if let Checked::Invalid { problems, .. } = r {
                assert!(!problems.is_empty(), "case {case}: an invalid row says why");
            }
        });
        for p in &v.problems {
            assert!(
                p.line.is_some()
                    || p.is_file_level()
                    || p.code == apctl::input::problem::ProblemCode::StrictEncoding,
                "case {case}: a problem without a line: {p}"
            );
        }
        let f = &v.files[0];
        assert_eq!(f.rows, rows, "case {case}: every row once");
        assert_eq!(f.rows, f.valid_rows + f.invalid_rows, "case {case}");
        if !f.readable {
            assert!(
                v.problems.iter().any(|p| p.is_file_level()),
                "case {case}: an unreadable file says why"
            );
        }
    }
}

#[test]
fn the_binary_exits_0_1_or_2_on_mutated_files() {
    let dir = tempfile::tempdir().unwrap();
    let seeds = seeds();
    let mut rng = Rng(0x5EED_CAFE_F00D_0002);
    let mut seen = [0u32; 3];
    for case in 0..150 {
        let data = mutate(&mut rng, &seeds[case % seeds.len()]);
        let path = dir.path().join("m.csv");
        std::fs::write(&path, &data).unwrap();
        for args in [
            vec!["validate", path.to_str().unwrap(), "--output", "json"],
            vec![
                "import",
                path.to_str().unwrap(),
                "--tenant",
                "contoso.onmicrosoft.com",
                "--simulate",
                "--dry-run",
                "-q",
            ],
        ] {
            let run = apctl(&args);
            assert!(
                (0..=2).contains(&run.code),
                "case {case} {}: exit {}\n{}",
                args[0],
                run.code,
                run.stderr
            );
            assert!(!run.stderr.contains("panicked"), "case {case}: {}", run.stderr);
            seen[run.code as usize] += 1;
        }
    }
    // The mutations reach every outcome, so the test can fail every way.
    assert!(seen.iter().all(|&n| n > 0), "{seen:?}");
}
