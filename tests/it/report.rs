//! `v2g report DIR --html`: one self-contained HTML file for a run's or a sweep's folder
//! (docs/model.md §8.4), through the real CLI. The test that opens the reports in
//! headless Chromium runs only where it is installed (`V2G_CHROMIUM=1`, set by `.ci/run`,
//! which installs Debian's `chromium` when it is missing).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use base64::prelude::*;

use crate::common::*;

/// `v2g report` with arguments.
fn report(args: &[&std::ffi::OsStr]) -> std::process::Output {
    let mut all = vec![std::ffi::OsStr::new("report")];
    all.extend_from_slice(args);
    v2g(all)
}

fn os(s: &str) -> &std::ffi::OsStr {
    std::ffi::OsStr::new(s)
}

/// A run of the example fleet (its grid file beside it) into `out`, with `extra` flags.
fn example_run(out: &Path, extra: &[&str]) {
    let mut args = vec!["--fleet", "data/example.csv"];
    args.extend_from_slice(extra);
    ok(&simulate(&args, out));
}

/// A merged sweep of the example fleet, 8 slots from 16:00, 2 keys × 2 values, in `out`.
fn example_sweep(dir: &Path, out: &Path) {
    let spec = write(
        dir,
        "s.toml",
        &format!(
            "fleet = \"{}\"\nledger = \"off\"\n[horizon]\nstart = \"2021-05-27T16:00\"\n\
             slots = 8\n[sweep]\n\"params.w_grid\" = [0.5, 1.2]\n\"params.beta\" = [0.08, 0.16]\n",
            root().join("data/example.csv").display()
        ),
    );
    ok(&v2g([
        os("sweep"),
        spec.as_os_str(),
        os("--out"),
        out.as_os_str(),
        os("-q"),
    ]));
}

/// `data:image/svg+xml;base64,…` of a file.
fn data_url(path: &Path) -> String {
    format!(
        "data:image/svg+xml;base64,{}",
        BASE64_STANDARD.encode(std::fs::read(path).unwrap())
    )
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// The cells of the body rows of the first table after `marker`.
fn table_rows(html: &str, marker: &str) -> Vec<Vec<String>> {
    let body = &html[html.find(marker).expect("the marker")..];
    let body = &body[body.find("<tbody>").unwrap()..body.find("</tbody>").unwrap()];
    body.split("<tr>")
        .skip(1)
        .map(|tr| {
            tr.split("<td")
                .skip(1)
                .map(|td| unescape(&td[td.find('>').unwrap() + 1..td.find("</td>").unwrap()]))
                .collect()
        })
        .collect()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

const RUN_FIGURES: [&str; 3] = [
    "fig3_load_and_aux_demand.svg",
    "fig4_power_and_prices.svg",
    "fig5_revenue_and_costs.svg",
];

#[test]
fn a_run_folder_gets_one_file_with_its_tables_provenance_and_figures() {
    let dir = tmp();
    let run = dir.path().join("run");
    example_run(&run, &[]);
    let text = ok(&report(&[run.as_os_str()]));

    // --html-out puts it elsewhere, and nothing in the folder.
    let elsewhere = dir.path().join("reports/example.html");
    let o = report(&[run.as_os_str(), os("--html-out"), elsewhere.as_os_str()]);
    assert_eq!(ok(&o), format!("wrote {}\n", elsewhere.display()));
    assert!(!run.join("report.html").exists());

    let o = report(&[run.as_os_str(), os("--html")]);
    let path = run.join("report.html");
    assert_eq!(ok(&o), format!("wrote {}\n", path.display()));
    let html = read(&path);
    assert_eq!(html, read(&elsewhere), "the same folder, the same bytes");
    assert!(html.starts_with("<!DOCTYPE html>\n"));
    // Every figure, exactly the folder's file.
    for f in RUN_FIGURES {
        assert!(
            html.contains(&format!("<img src=\"{}\"", data_url(&run.join(f)))),
            "{f}"
        );
    }
    assert_eq!(html.matches("<img ").count(), 3);
    // The summary's numbers in tables, the ledger, the provenance and the text summary.
    let summary: serde_json::Value =
        serde_json::from_str(&read(&run.join("summary.json"))).unwrap();
    let cell = |v: &serde_json::Value| format!("<td class=\"n\">{:.2}</td>", v.as_f64().unwrap());
    for v in [
        &summary["eva"]["revenue"],
        &summary["eva"]["r_grid"],
        &summary["evs"]["net_cost_cny"],
        &summary["evs"]["baseline_cost_cny"],
    ] {
        assert!(html.contains(&cell(v)), "{}", cell(v));
    }
    for part in [
        "id=\"periods\"",
        "id=\"ledger\"",
        "id=\"provenance\"",
        "<code>genesis.json</code>",
    ] {
        assert!(html.contains(part), "{part}");
    }
    let fleet_sha = summary["run"]["inputs"]["fleet"]["sha256"]
        .as_str()
        .unwrap();
    assert!(html.contains(&format!("<td class=\"hash\">{fleet_sha}</td>")));
    assert!(html.contains(summary["run"]["scenario_sha256"].as_str().unwrap()));
    let section = &html[html.find("<section id=\"text\">").unwrap()..];
    let pre = &section[section.find("<pre>").unwrap() + 5..];
    assert_eq!(unescape(&pre[..pre.find("</pre>").unwrap()]), text);
    // Nothing but the page itself: no link, no remote source.
    for external in ["<link", "src=\"http", "href=\"http", "url("] {
        assert!(!html.contains(external), "{external}");
    }

    // The plain report is unchanged, and the folder is still one a run replaces: the new
    // run removes the old run's report with the rest.
    assert_eq!(ok(&report(&[run.as_os_str()])), text);
    example_run(&run, &["--ledger", "off"]);
    assert!(!path.exists(), "a new run removes the old run's report");
}

/// A run held in memory renders the same bytes as its folder.
#[test]
fn the_report_of_a_run_in_memory_is_the_report_of_its_folder() {
    let dir = tmp();
    let out = dir.path().join("run");
    let mut spec = v2g::pipeline::RunSpec::new(root().join("data/example.csv"));
    spec.overrides.ledger = Some(false);
    spec.out = Some(out.clone());
    let run = v2g::pipeline::run(&spec, &mut |_| Ok(())).unwrap();
    let folder = v2g::sweep::html::read(&out).unwrap().render();
    assert_eq!(run.html().unwrap(), folder);
}

#[test]
fn a_network_run_adds_fig6_and_the_network_table() {
    let dir = tmp();
    let run = dir.path().join("run");
    let s = root().join("data/networks/sustech_case33bw.toml");
    example_run(
        &run,
        &["--ledger", "off", "--scenario", s.to_str().unwrap()],
    );
    ok(&report(&[run.as_os_str(), os("--html")]));
    let html = read(&run.join("report.html"));
    for f in RUN_FIGURES.iter().chain(&["fig6_network.svg"]) {
        assert!(html.contains(&data_url(&run.join(f))), "{f}");
    }
    assert!(html.contains("id=\"network\"") && html.contains("Case case33bw"));
    assert!(html.contains("The ledger was off"));
}

#[test]
fn a_sweep_folder_gets_its_table_and_figures_and_a_merge_removes_the_report() {
    let dir = tmp();
    let out = dir.path().join("sweep");
    example_sweep(dir.path(), &out);
    let o = report(&[out.as_os_str(), os("--html")]);
    let path = out.join("report.html");
    assert_eq!(ok(&o), format!("wrote {}\n", path.display()));
    let html = read(&path);
    let (header, rows) = read_csv(&out.join("sweep.csv"));
    assert_eq!(rows.len(), 4);
    assert_eq!(table_rows(&html, "id=\"table\""), rows);
    for h in &header {
        assert!(html.contains(&format!("<th>{h}</th>")), "{h}");
    }
    for f in ["sweep_lines.svg", "sweep_heatmap.svg"] {
        assert!(html.contains(&data_url(&out.join(f))), "{f}");
    }
    assert_eq!(html.matches("<img ").count(), 2);
    // The folder with its report is still a sweep's: running it again (every point
    // done) merges, and the merge removes the report of the table it replaces.
    example_sweep(dir.path(), &out);
    assert!(!path.exists());
    // A point's own folder is a run's folder.
    let point = std::fs::read_dir(out.join("runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_dir())
        .unwrap();
    ok(&report(&[point.as_os_str(), os("--html")]));
    assert!(point.join("report.html").is_file());
}

#[test]
fn a_folder_that_cannot_make_a_report_exits_2_with_one_line_and_writes_nothing() {
    let dir = tmp();
    let run = dir.path().join("run");
    example_run(&run, &["--ledger", "off"]);
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let broken = dir.path().join("broken");
    std::fs::create_dir(&broken).unwrap();
    for f in ["summary.json", RUN_FIGURES[0], RUN_FIGURES[2]] {
        std::fs::copy(run.join(f), broken.join(f)).unwrap();
    }
    let nope = dir.path().join("nope");
    let summary = run.join("summary.json");
    let before = std::fs::read(&summary).unwrap();
    let cases: Vec<(Vec<&std::ffi::OsStr>, String, &Path)> = vec![
        (
            vec![empty.as_os_str(), os("--html")],
            format!("{}: neither", empty.display()),
            &empty,
        ),
        (
            vec![broken.as_os_str(), os("--html")],
            format!(
                "{}: the figure is missing",
                broken.join(RUN_FIGURES[1]).display()
            ),
            &broken,
        ),
        (
            vec![run.as_os_str(), os("--html-out"), summary.as_os_str()],
            "invalid parameter --html-out".to_string(),
            &run,
        ),
        (
            vec![nope.as_os_str(), os("--html")],
            format!("{}: No such file", nope.display()),
            dir.path(),
        ),
    ];
    for (args, want, folder) in cases {
        let o = report(&args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with(&format!("v2g: error: {want}")), "{err}");
        assert_eq!(stdout(&o), "");
        assert!(!folder.join("report.html").exists(), "{args:?}");
    }
    assert_eq!(std::fs::read(&summary).unwrap(), before);
}

/// Chromium, headless, on `url`: `--dump-dom` (the DOM after the page's load) or any
/// other final flag, with a fresh profile, killed when it runs longer than a minute.
fn chromium(profile: &Path, last: &[String], url: &str) -> std::process::Output {
    let mut cmd = Command::new("chromium");
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--virtual-time-budget=5000",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .args(last)
    .arg(url);
    let o = output_within(cmd, Duration::from_secs(60));
    assert!(o.status.success(), "chromium failed: {}", stderr(&o));
    o
}

/// `data-figures-rendered="N/M"` of the DOM Chromium dumped: the figures it decoded, of
/// the page's images.
fn figures_rendered(profile: &Path, page: &Path) -> String {
    let dom = stdout(&chromium(
        profile,
        &["--dump-dom".to_string()],
        &format!("file://{}", page.display()),
    ));
    let key = "data-figures-rendered=\"";
    let at = dom
        .find(key)
        .unwrap_or_else(|| panic!("the page's script did not run: {dom}"))
        + key.len();
    dom[at..at + dom[at..].find('"').unwrap()].to_string()
}

/// Where Chromium is installed (`V2G_CHROMIUM=1`, set by `.ci/run`, after which `./test`
/// runs this ignored test): the reports of a run and of a sweep render with every figure
/// decoded, a corrupted figure is seen, and a screenshot of the run's report is a page of
/// the right size, not a blank one.
#[test]
#[ignore = "needs Debian's chromium: V2G_CHROMIUM=1 (set by .ci/run)"]
fn in_headless_chromium_the_reports_render_with_every_figure() {
    assert_eq!(
        std::env::var("V2G_CHROMIUM").as_deref(),
        Ok("1"),
        "this test needs Debian's chromium: V2G_CHROMIUM=1 (set by .ci/run, which installs it)"
    );
    let dir = tmp();
    let run = dir.path().join("run");
    example_run(&run, &[]);
    ok(&report(&[run.as_os_str(), os("--html")]));
    let sweep = dir.path().join("sweep");
    example_sweep(dir.path(), &sweep);
    ok(&report(&[sweep.as_os_str(), os("--html")]));
    let profile = |name: &str| -> PathBuf {
        let p = dir.path().join(name);
        std::fs::create_dir(&p).unwrap();
        p
    };

    let got = figures_rendered(&profile("p1"), &run.join("report.html"));
    eprintln!("chromium: the run's report rendered {got} figures");
    assert_eq!(got, "3/3");
    let got = figures_rendered(&profile("p2"), &sweep.join("report.html"));
    eprintln!("chromium: the sweep's report rendered {got} figures");
    assert_eq!(got, "2/2");

    // The count sees a figure that does not decode.
    let html = read(&run.join("report.html"));
    let broken = html.replacen(
        "data:image/svg+xml;base64,",
        "data:image/svg+xml;base64,AAAA",
        1,
    );
    let page = dir.path().join("broken.html");
    std::fs::write(&page, broken).unwrap();
    assert_eq!(figures_rendered(&profile("p3"), &page), "2/3");

    // A screenshot: a PNG of the window's size, too large to be a blank page.
    let png = dir.path().join("report.png");
    chromium(
        &profile("p4"),
        &[
            format!("--screenshot={}", png.display()),
            "--window-size=1280,2000".to_string(),
            "--hide-scrollbars".to_string(),
        ],
        &format!("file://{}", run.join("report.html").display()),
    );
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    let be = |i: usize| u32::from_be_bytes(bytes[i..i + 4].try_into().unwrap());
    assert_eq!(&bytes[12..16], b"IHDR");
    assert_eq!((be(16), be(20)), (1280, 2000));
    eprintln!("chromium: screenshot {} bytes", bytes.len());
    assert!(bytes.len() > 40_000, "{} bytes: a blank page?", bytes.len());
}
