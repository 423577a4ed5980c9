//! `v2g verify` on hostile files: whatever the input, it refuses with a located message,
//! reads no more than the pinned genesis allows, never blocks on a FIFO or a device, and
//! never aborts for want of memory (checked under a 1 GB address-space limit).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use v2g::ledger::store;

use crate::common::*;
use crate::ledger::{fixture, write_bytes};

/// `v2g verify` with `args`, under an address-space limit of 1 GiB (`ulimit -v`), killed
/// after 20 s: its exit code, its stderr and how long it took.
fn verify_limited(args: &[&str]) -> (Option<i32>, String, Duration) {
    let quoted: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
    let script = format!(
        "ulimit -v 1048576 && exec '{}' verify {}",
        env!("CARGO_BIN_EXE_v2g"),
        quoted.join(" ")
    );
    let start = Instant::now();
    let mut child = std::process::Command::new("sh")
        .args(["-c", &script])
        .current_dir(root())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("sh runs");
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let o = child.wait_with_output().unwrap();
            let _ = status;
            return (o.status.code(), stderr(&o), start.elapsed());
        }
        if start.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("v2g verify {args:?} ran past 20 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A folder with the honest example run's genesis and, as `ledger.jsonl`, `ledger`.
fn folder_with(ledger: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tmp();
    write_bytes(dir.path(), "genesis.json", &fixture(false).genesis);
    let path = write_bytes(dir.path(), "ledger.jsonl", ledger);
    (dir, path)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn the_honest_ledger_verifies_within_a_1_gb_address_space() {
    let (_dir, path) = folder_with(&fixture(false).bytes);
    let (code, err, _) = verify_limited(&[s(&path)]);
    assert_eq!(code, Some(0), "{err}");
}

/// A million empty lines (the first pass once kept 16 bytes for each): refused at the
/// first line past the seal, without reading the rest.
#[test]
fn lines_past_the_seal_are_refused_where_they_start() {
    let f = fixture(false);
    let first = f.bytes.split(|&b| b == b'\n').next().unwrap();
    let mut bytes = [first, b"\n"].concat();
    bytes.resize(bytes.len() + 1_000_000, b'\n');
    let (_dir, path) = folder_with(&bytes);
    let (code, err, took) = verify_limited(&[s(&path)]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("line 100: malformed record: a record past the seal"),
        "{err}"
    );
    assert!(took < Duration::from_secs(5), "{took:?}");
    // The honest ledger with one line more than a ledger of its genesis can have.
    let mut bytes = f.bytes.clone();
    bytes.extend_from_slice(b"{}\n");
    let (_dir, path) = folder_with(&bytes);
    let (code, err, _) = verify_limited(&[s(&path)]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("line 99: malformed record: a record after the seal"),
        "{err}"
    );
    // A long line after the seal is held to the seal's own limit (4 KiB and 256 bytes per
    // SCP), not to a block's: refused after that many bytes.
    let mut bytes = f.bytes.clone();
    bytes.extend_from_slice(format!("{{\"x\":\"{}\"}}\n", "y".repeat(10_000)).as_bytes());
    let (_dir, path) = folder_with(&bytes);
    let (code, err, _) = verify_limited(&[s(&path)]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("line 99: malformed record: a record of more than 5632 bytes"),
        "{err}"
    );
}

/// A file larger than any ledger of its genesis is refused unread: a sparse gibibyte.
#[test]
fn a_file_longer_than_its_genesis_allows_is_refused_unread() {
    let (dir, path) = folder_with(b"");
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    let g = store::parse_genesis(&fixture(false).genesis).unwrap();
    let most = store::Limits::of(&g).bytes();
    assert!(most < 1 << 30, "{most}");
    let (code, err, took) = verify_limited(&[s(&path)]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "the file has 1073741824 bytes, more than the {most} a ledger of this genesis can need"
        )),
        "{err}"
    );
    assert!(took < Duration::from_secs(1), "{took:?}");
    // The bound is inclusive: a file of exactly the most bytes is read (and refused for
    // what it holds), one byte more is refused unread.
    for (len, refused_unread) in [(most, false), (most + 1, true)] {
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(len)
            .unwrap();
        let (code, err, _) = verify_limited(&[s(&path)]);
        assert_eq!(code, Some(1), "{err}");
        let unread = format!("the file has {len} bytes, more than the {most}");
        assert_eq!(err.contains(&unread), refused_unread, "{len}: {err}");
    }
    // A genesis over its size limit, likewise.
    let big = dir.path().join("big.json");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(store::GENESIS_MAX_BYTES + 1)
        .unwrap();
    let (code, err, took) = verify_limited(&[s(&path), "--genesis", s(&big)]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("big.json") && err.contains("more than the"),
        "{err}"
    );
    assert!(took < Duration::from_secs(1), "{took:?}");
}

/// Devices, FIFOs and directories are refused at once, as the genesis or as the ledger.
#[test]
fn only_regular_files_are_read() {
    let f = fixture(false);
    let dir = tmp();
    let ledger = f.ledger_in(dir.path());
    let genesis = dir.path().join("genesis.json");
    let zero = dir.path().join("zero.json");
    std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
    let fifo = dir.path().join("fifo.json");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let folder = dir.path().join("folder.json");
    std::fs::create_dir(&folder).unwrap();
    for (bad, what) in [
        (&zero, "a device"),
        (&fifo, "a FIFO"),
        (&folder, "a directory"),
    ] {
        let (code, err, took) = verify_limited(&[s(&ledger), "--genesis", s(bad)]);
        assert_eq!(code, Some(2), "{err}");
        assert!(err.contains(s(bad)) && err.contains(what), "{err}");
        assert!(took < Duration::from_secs(1), "{took:?}");
        let (code, err, took) = verify_limited(&[s(bad), "--genesis", s(&genesis)]);
        assert_eq!(code, Some(2), "{err}");
        assert!(err.contains(s(bad)) && err.contains(what), "{err}");
        assert!(took < Duration::from_secs(1), "{took:?}");
    }
    // A missing ledger is named, not the genesis beside it.
    let missing = dir.path().join("missing.jsonl");
    let (code, err, _) = verify_limited(&[s(&missing)]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("missing.jsonl") && !err.contains("genesis.json"),
        "{err}"
    );
}

/// A ledger path that is missing or a folder is blamed, in words, with or without a
/// trusted genesis, and never the genesis beside it; a missing genesis is named as the
/// genesis, beside the ledger or given.
#[test]
fn a_missing_or_folder_ledger_is_named_in_words() {
    let f = fixture(false);
    let dir = tmp();
    let run = dir.path().join("run");
    std::fs::create_dir(&run).unwrap();
    let ledger = f.ledger_in(&run);
    let genesis = run.join("genesis.json");
    let missing = dir.path().join("MISSING.jsonl");
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let one_line = |args: &[&str]| {
        let (code, err, _) = verify_limited(args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("v2g: error: "), "{args:?}: {err}");
        assert!(!err.contains("os error"), "{args:?}: {err}");
        err
    };
    for with in [vec![], vec!["--genesis", s(&genesis)]] {
        let args: Vec<&str> = [s(&missing)].into_iter().chain(with.clone()).collect();
        let err = one_line(&args);
        assert!(
            err.starts_with(&format!(
                "v2g: error: {}: no such file: the ledger to verify",
                s(&missing)
            )),
            "{err}"
        );
        assert!(!err.contains("genesis.json"), "{err}");
        // A folder as the ledger; a run's folder points at its ledger.jsonl.
        let args: Vec<&str> = [s(&empty)].into_iter().chain(with.clone()).collect();
        let err = one_line(&args);
        assert_eq!(
            err.trim_end(),
            format!(
                "v2g: error: {}: is a directory, not a ledger file",
                s(&empty)
            )
        );
        let args: Vec<&str> = [s(&run)].into_iter().chain(with).collect();
        let err = one_line(&args);
        assert!(
            err.contains(&format!(
                "{}: is a directory, not a ledger file (the run's ledger is {})",
                s(&run),
                s(&ledger)
            )),
            "{err}"
        );
    }
    // The genesis missing: beside the ledger, or the trusted one given.
    let alone = dir.path().join("alone");
    std::fs::create_dir(&alone).unwrap();
    let lonely = alone.join("ledger.jsonl");
    std::fs::copy(&ledger, &lonely).unwrap();
    let err = one_line(&[s(&lonely)]);
    assert!(
        err.contains(&format!(
            "{}: no such file: the genesis beside the ledger",
            s(&alone.join("genesis.json"))
        )) && err.contains("--genesis FILE"),
        "{err}"
    );
    let kept = dir.path().join("kept.json");
    let err = one_line(&[s(&ledger), "--genesis", s(&kept)]);
    assert!(
        err.contains(&format!(
            "{}: no such file: the trusted genesis given",
            s(&kept)
        )),
        "{err}"
    );
    let err = one_line(&[s(&ledger), "--genesis", s(&empty)]);
    assert!(
        err.contains(&format!(
            "{}: is a directory, not a genesis file",
            s(&empty)
        )),
        "{err}"
    );
}

/// An unpinned genesis is bounded before it is parsed: a chain id of a megabyte is
/// refused by a scan of the line, with its column.
#[test]
fn a_genesis_with_a_huge_string_is_refused_before_it_is_parsed() {
    let f = fixture(false);
    let text = String::from_utf8(f.genesis.clone()).unwrap();
    let g = store::parse_genesis(&f.genesis).unwrap();
    let huge = text.replacen(&g.chain_id, &"v".repeat(1 << 20), 1);
    let dir = tmp();
    let ledger = f.ledger_in(dir.path());
    write_bytes(dir.path(), "genesis.json", huge.as_bytes());
    let (code, err, took) = verify_limited(&[s(&ledger)]);
    assert_eq!(code, Some(1), "{err}");
    let column = text.find(&g.chain_id).unwrap();
    assert!(
        err.contains(&format!(
            "genesis: a string of more than 4096 bytes at column {column}"
        )),
        "{err}"
    );
    assert!(took < Duration::from_secs(1), "{took:?}");
}
