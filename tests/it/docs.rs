//! Docs that cannot rot: every shell block of the README and of the guide under `docs/`
//! that is marked runnable is run against the built binary, and the output it shows is
//! compared with what the command prints.
//!
//! The convention (docs/guide/README.md says it to writers):
//!
//! * a fenced block whose info string is `sh run` is runnable: its lines run in `bash`
//!   with `-e -o pipefail`, in a scratch folder holding copies of `data/`, `docs/` and
//!   `examples/`, with the built `v2g` first on `PATH` and `cargo run --release -- ARGS`
//!   standing for `v2g ARGS` (the README's set-up form); the blocks of one page run in
//!   order in the same folder, so a later block may read an earlier block's outputs;
//! * a block whose info string is `sh run network` is runnable but needs the Python
//!   package index (it downloads a wheel): `every_runnable_block_of_the_docs_runs_and_shows_what_it_prints`
//!   stops a page at its first such block and says so, and the ignored test
//!   `the_docs_blocks_that_need_the_package_index_run_too` (run by `./test`, which needs
//!   the index anyway) runs those pages whole;
//! * a block whose info string is `text output` shows output: its lines (trailing spaces
//!   trimmed) must appear, consecutively, in what the page's previous runnable block
//!   printed (standard output, then standard error);
//! * a block whose info string ends in `file=NAME` (`toml file=sweep.toml`) is a file
//!   the reader writes: it is written to `NAME` in the scratch folder, for the blocks
//!   after it;
//! * any other block (`sh` alone, `toml`, …) is shown, not run.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{ok, root, tmp, v2g};

/// One fenced block of a Markdown page.
#[derive(Debug, Clone, PartialEq)]
struct Block {
    /// Line of its opening fence (1-based).
    line: usize,
    /// The info string's words.
    info: Vec<String>,
    text: String,
}

impl Block {
    fn runs(&self) -> bool {
        self.info == ["sh", "run"] || self.needs_network()
    }

    /// A runnable block that needs the Python package index.
    fn needs_network(&self) -> bool {
        self.info == ["sh", "run", "network"]
    }

    fn shows_output(&self) -> bool {
        self.info == ["text", "output"]
    }

    /// The file the block is, when its info string names one.
    fn file(&self) -> Option<&str> {
        self.info.last()?.strip_prefix("file=")
    }
}

/// The fenced blocks (``` or ~~~, three or more) of a Markdown page, in order.
fn blocks(md: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut open: Option<(String, Block)> = None;
    for (i, line) in md.lines().enumerate() {
        let trimmed = line.trim_start();
        let fence: String = trimmed
            .chars()
            .take_while(|&c| c == '`' || c == '~')
            .collect();
        let is_fence = fence.len() >= 3 && fence.chars().all(|c| c == fence.as_bytes()[0] as char);
        match &mut open {
            None if is_fence => {
                let info = trimmed[fence.len()..]
                    .split_whitespace()
                    .map(str::to_string)
                    .collect();
                open = Some((
                    fence,
                    Block {
                        line: i + 1,
                        info,
                        text: String::new(),
                    },
                ));
            }
            None => {}
            Some((f, _))
                if is_fence && fence.starts_with(f.as_str()) && trimmed.trim() == fence =>
            {
                out.push(open.take().expect("open block").1);
            }
            Some((_, b)) => {
                b.text.push_str(line);
                b.text.push('\n');
            }
        }
    }
    out
}

/// The pages checked: the README and every Markdown page under `docs/`.
fn pages() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .expect("docs folder")
            .map(|e| e.expect("entry").path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|e| e == "md") {
                out.push(p);
            }
        }
    }
    let mut out = vec![root().join("README.md")];
    walk(&root().join("docs"), &mut out);
    out
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create folder");
    for e in std::fs::read_dir(from).expect("read folder") {
        let p = e.expect("entry").path();
        let dest = to.join(p.file_name().expect("name"));
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).expect("copy file");
        }
    }
}

/// Whether `shown`'s lines appear consecutively among `printed`'s (trailing spaces
/// trimmed on both sides).
fn shows(printed: &str, shown: &str) -> bool {
    let printed: Vec<&str> = printed.lines().map(str::trim_end).collect();
    let shown: Vec<&str> = shown.lines().map(str::trim_end).collect();
    shown.is_empty() || printed.windows(shown.len()).any(|w| w == shown.as_slice())
}

/// What a runnable block runs after: `cargo run --release -- ARGS` is the built `v2g ARGS`
/// (the tests do not build a release binary); any other cargo command is refused.
const PREAMBLE: &str = r#"cargo() {
  if [ "$1 $2 $3" = "run --release --" ]; then shift 3; v2g "$@"
  else echo "docs test: only 'cargo run --release -- ARGS' runs in a block" >&2; return 2; fi
}
"#;

/// What checking a page did.
#[derive(Debug, Default, PartialEq)]
struct Checked {
    /// Runnable blocks run.
    ran: usize,
    /// The line of the first block that needs the package index, when the page was
    /// stopped there (`network` false).
    stopped_at: Option<usize>,
}

/// Runs one page's runnable blocks in order in a fresh scratch folder; the first failure
/// is returned as a message naming the page and line. Without `network` the page stops at
/// its first block that needs the package index.
fn check_page(page: &Path, network: bool) -> Result<Checked, String> {
    let md = std::fs::read_to_string(page).expect("read page");
    let name = page
        .strip_prefix(root())
        .unwrap_or(page)
        .display()
        .to_string();
    let scratch = tmp();
    let dir = scratch.path();
    copy_dir(&root().join("data"), &dir.join("data"));
    copy_dir(&root().join("docs"), &dir.join("docs"));
    copy_dir(&root().join("examples"), &dir.join("examples"));
    let bin = Path::new(env!("CARGO_BIN_EXE_v2g"))
        .parent()
        .expect("binary folder")
        .to_path_buf();
    let path = std::env::join_paths(std::iter::once(bin).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .expect("PATH");
    let mut last: Option<(usize, String)> = None;
    let mut ran = 0;
    for b in blocks(&md) {
        if b.needs_network() && !network {
            return Ok(Checked {
                ran,
                stopped_at: Some(b.line),
            });
        }
        if b.runs() {
            let script = format!("{PREAMBLE}{}", b.text);
            let out = Command::new("bash")
                .args(["-e", "-o", "pipefail", "-c", &script])
                .current_dir(dir)
                .env("PATH", &path)
                .env_remove("V2G_FAULT")
                .output()
                .map_err(|e| format!("{name}:{}: bash: {e}", b.line))?;
            let printed = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            if !out.status.success() {
                return Err(format!(
                    "{name}:{}: the block failed ({}):\n{}\n{printed}",
                    b.line, out.status, b.text
                ));
            }
            last = Some((b.line, printed));
            ran += 1;
        } else if let Some(file) = b.file() {
            let to = dir.join(file);
            if !to.starts_with(dir) || file.contains("..") {
                return Err(format!(
                    "{name}:{}: file={file} leaves the scratch folder",
                    b.line
                ));
            }
            std::fs::write(&to, &b.text).map_err(|e| format!("{name}:{}: {e}", b.line))?;
        } else if b.shows_output() {
            let Some((from, printed)) = &last else {
                return Err(format!(
                    "{name}:{}: an output block with no runnable block before it",
                    b.line
                ));
            };
            if !shows(printed, &b.text) {
                return Err(format!(
                    "{name}:{}: the block of line {from} no longer prints what this block shows.\nshown:\n{}\nprinted:\n{printed}",
                    b.line, b.text
                ));
            }
        }
    }
    Ok(Checked {
        ran,
        stopped_at: None,
    })
}

#[test]
fn the_block_parser_finds_fences_info_and_text() {
    let md = "text\n```sh run\nv2g --version\n```\n\n~~~~text output\na ``` inside\n~~~~\n```\nplain\n```\n```toml file=a.toml\nx = 1\n```\n";
    let bs = blocks(md);
    assert_eq!(bs.len(), 4);
    assert_eq!(bs[3].file(), Some("a.toml"));
    assert_eq!(bs[0].file(), None);
    assert!(bs[0].runs() && bs[0].line == 2 && bs[0].text == "v2g --version\n");
    assert!(bs[1].shows_output() && bs[1].text == "a ``` inside\n");
    assert!(!bs[2].runs() && !bs[2].shows_output() && bs[2].info.is_empty());
    assert!(shows("a\nb  \nc\n", "b\nc"));
    assert!(!shows("a\nb\nc\n", "a\nc"));
}

#[test]
fn a_page_whose_shown_output_is_stale_fails() {
    let dir = tmp();
    let page = dir.path().join("page.md");
    std::fs::write(
        &page,
        "```sh run\necho one; echo two\n```\n\n```text output\none\ntwo\n```\n\n```text output\nthree\n```\n",
    )
    .unwrap();
    let e = check_page(&page, false).unwrap_err();
    assert!(
        e.contains(":10: the block of line 1 no longer prints"),
        "{e}"
    );
    std::fs::write(&page, "```sh run\nfalse\n```\n").unwrap();
    let e = check_page(&page, false).unwrap_err();
    assert!(e.contains(":1: the block failed"), "{e}");
}

/// `cargo run --release --` stands for the built binary, other cargo commands fail; a
/// page stops at its first block that needs the package index unless that is allowed.
#[test]
fn cargo_run_is_the_built_binary_and_network_blocks_stop_a_page() {
    let dir = tmp();
    let page = dir.path().join("page.md");
    std::fs::write(
        &page,
        "```sh run\ncargo run --release -- --version\n```\n\n```text output\nv2g 0.1.0\n```\n\n```sh run network\nfalse\n```\n\n```sh run\nfalse\n```\n",
    )
    .unwrap();
    assert_eq!(
        check_page(&page, false).unwrap(),
        Checked {
            ran: 1,
            stopped_at: Some(9)
        }
    );
    let e = check_page(&page, true).unwrap_err();
    assert!(e.contains(":9: the block failed"), "{e}");
    std::fs::write(&page, "```sh run\ncargo build\n```\n").unwrap();
    let e = check_page(&page, false).unwrap_err();
    assert!(e.contains("only 'cargo run --release -- ARGS'"), "{e}");
}

/// Every page's runnable blocks, each page up to its first block that needs the package
/// index (the ignored test below runs those pages whole).
#[test]
fn every_runnable_block_of_the_docs_runs_and_shows_what_it_prints() {
    let mut total = 0;
    let mut failures = Vec::new();
    for page in pages() {
        match check_page(&page, false) {
            Ok(c) => {
                total += c.ran;
                if let Some(line) = c.stopped_at {
                    eprintln!(
                        "{}: stopped at line {line}, a block that needs the package index \
                         (the_docs_blocks_that_need_the_package_index_run_too runs it)",
                        page.display()
                    );
                }
            }
            Err(e) => failures.push(e),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(total > 0, "no runnable block found in the docs");
}

/// The pages with blocks that download from the Python package index (the real-data
/// quick start), run whole. `./test` runs it (it needs the index anyway).
#[test]
#[ignore = "needs the Python package index: ./test runs it (cargo test -- --ignored docs::)"]
fn the_docs_blocks_that_need_the_package_index_run_too() {
    let mut total = 0;
    let mut failures = Vec::new();
    for page in pages() {
        let md = std::fs::read_to_string(&page).expect("read page");
        if !blocks(&md).iter().any(Block::needs_network) {
            continue;
        }
        match check_page(&page, true) {
            Ok(c) => total += c.ran,
            Err(e) => failures.push(e),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(total > 0, "no block that needs the package index");
}

/// `(required, optional, every column of the table)` of a data file's section of
/// docs/model.md: its signature line (`a,b[,c][,d]`) and the first column of its table.
fn model_columns(section: &str, next: &str) -> (Vec<String>, Vec<String>, Vec<String>) {
    let model = std::fs::read_to_string(root().join("docs/model.md")).unwrap();
    let start = model.find(section).expect("the section");
    let end = start + model[start..].find(next).expect("the next section");
    let text = &model[start..end];
    let signature = text
        .lines()
        .find(|l| l.starts_with('`') && l.contains(','))
        .expect("a signature line")
        .trim_matches('`');
    let (required, optional) = signature.split_once('[').unwrap_or((signature, ""));
    let split = |s: &str| -> Vec<String> {
        s.split([',', '[', ']'])
            .filter(|c| !c.is_empty())
            .map(String::from)
            .collect()
    };
    let table = text
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split_once('`'))
        .map(|(c, _)| c.to_string())
        .collect();
    (split(required), split(optional), table)
}

/// `(required, optional)` of a flag's entry in `v2g simulate --help`: the lists after
/// `with the columns ` and `optionally `.
fn help_columns(help: &str, flag: &str) -> (Vec<String>, Vec<String>) {
    let mut lines = help
        .lines()
        .skip_while(|l| !l.trim_start().starts_with(flag));
    let mut text = lines.next().expect("the flag's entry").to_string();
    for l in lines.take_while(|l| !l.trim_start().starts_with('-')) {
        text.push(' ');
        text.push_str(l.trim());
    }
    let after = |word: &str| -> Vec<String> {
        let i = text
            .find(word)
            .unwrap_or_else(|| panic!("no '{word}' in {text}"));
        text[i + word.len()..]
            .split_whitespace()
            .next()
            .unwrap()
            .split(',')
            .map(String::from)
            .collect()
    };
    (after("with the columns "), after("optionally "))
}

/// `simulate --help` names every fleet and grid column, as docs/model.md §6 lists them
/// (its signature line and its table) and as the reader takes them.
#[test]
fn simulate_help_names_every_column_of_the_models_data_files() {
    let help = ok(&v2g(["simulate", "--help"]));
    for (flag, section, next, required, optional) in [
        (
            "--fleet",
            "### 6.1 Fleet file",
            "### 6.2",
            &v2g::data::fleet::REQUIRED[..],
            &v2g::data::fleet::OPTIONAL[..],
        ),
        (
            "--grid",
            "### 6.2 Grid file",
            "### 6.3",
            &v2g::data::grid::REQUIRED[..],
            &v2g::data::grid::OPTIONAL[..],
        ),
    ] {
        let (m_req, m_opt, mut table) = model_columns(section, next);
        let (h_req, h_opt) = help_columns(&help, flag);
        assert_eq!(
            h_req, m_req,
            "{flag}: required columns of --help and model.md"
        );
        assert_eq!(
            h_opt, m_opt,
            "{flag}: optional columns of --help and model.md"
        );
        assert_eq!(h_req, required, "{flag}: the reader's required columns");
        assert_eq!(h_opt, optional, "{flag}: the reader's optional columns");
        let mut all: Vec<String> = m_req.into_iter().chain(m_opt).collect();
        all.sort();
        table.sort();
        assert_eq!(
            table, all,
            "{section}: the table's columns and the signature's"
        );
    }
}
