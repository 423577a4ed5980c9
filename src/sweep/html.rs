//! The HTML report of a folder (`v2g report DIR --html`; docs/model.md §8.4): a run's
//! output folder or a merged sweep's folder, recognised and read here, rendered by
//! [`report::html`](crate::report::html). It lives with the sweeps because it reads their
//! folders, and the sweeps are the library's top layer.

use std::path::{Path, PathBuf};

use crate::error::{excerpt, Error, Result};
use crate::report::html::{read_figure, Page, RunPage, SweepPage, REPORT_FILE};
use crate::report::output::write_atomic;
use crate::sweep::figures::figure_files;
use crate::sweep::table::{read_manifest, RESULT_COLUMNS};

/// Reads a merged sweep's folder: `sweep.json`, `sweep.csv` (whose columns must be the
/// plan's: `id`, the keys, [`RESULT_COLUMNS`]) and the figures of its table
/// ([`figure_files`]).
pub fn read_sweep(dir: &Path) -> Result<SweepPage> {
    let manifest = read_manifest(dir)?;
    let path = dir.join("sweep.csv");
    let file = std::fs::File::open(&path).map_err(|e| Error::io(&path, e))?;
    let mut rdr = csv::Reader::from_reader(file);
    let csv_err = |e| crate::data::fleet::csv_error(&path, e);
    let header: Vec<String> = rdr
        .headers()
        .map_err(csv_err)?
        .iter()
        .map(String::from)
        .collect();
    let expected: Vec<&str> = std::iter::once("id")
        .chain(manifest.keys.iter().map(String::as_str))
        .chain(RESULT_COLUMNS)
        .collect();
    if header != expected {
        return Err(Error::input(
            &path,
            1,
            0,
            "",
            format!(
                "the columns are not those of the sweep in sweep.json ({}): merge it again \
                 (v2g sweep merge)",
                excerpt(&expected.join(","))
            ),
        ));
    }
    let rows = rdr
        .records()
        .map(|r| r.map(|r| r.iter().map(String::from).collect()))
        .collect::<std::result::Result<Vec<Vec<String>>, _>>()
        .map_err(csv_err)?;
    // A point that ran has results: its revenue is never empty.
    let revenue = 1 + manifest.keys.len();
    let any_ran = rows.iter().any(|r| !r[revenue].is_empty());
    let figures = figure_files(manifest.keys.len(), any_ran)
        .iter()
        .map(|n| read_figure(dir, n, "merge it again (v2g sweep merge)"))
        .collect::<Result<_>>()?;
    Ok(SweepPage {
        program: format!("{} {}", manifest.program, manifest.version),
        spec_digest: manifest.spec_digest,
        keys: manifest.keys,
        points: manifest.points.len(),
        header,
        rows,
        figures,
    })
}

/// Reads the folder `dir`: a run's output folder when it holds `summary.json`
/// ([`RunPage::read`]), else a merged sweep's folder when it holds `sweep.csv`
/// ([`read_sweep`]); anything else is refused, named.
pub fn read(dir: &Path) -> Result<Page> {
    if dir.join("summary.json").is_file() {
        return Ok(Page::Run(Box::new(RunPage::read(dir)?)));
    }
    if dir.join("sweep.csv").is_file() {
        return Ok(Page::Sweep(Box::new(read_sweep(dir)?)));
    }
    let meta = std::fs::metadata(dir).map_err(|e| Error::io(dir, e))?;
    let rule = if !meta.is_dir() {
        "not a folder: give a run's output folder or a sweep's folder"
    } else if dir.join("sweep.json").is_file() {
        "a sweep's folder without its table (sweep.csv): merge it first (v2g sweep merge)"
    } else {
        "neither a run's output folder (it holds no summary.json) nor a merged sweep's \
         folder (no sweep.csv)"
    };
    Err(Error::input(dir, 0, 0, "", rule))
}

/// Reads the folder `dir` ([`read`]), renders it and writes the HTML atomically to `out`
/// (default `DIR/report.html`); returns the path written. Nothing is written when the
/// folder is refused, or when `out` is one of the files read (`flag` names `out` in that
/// error).
pub fn write(dir: &Path, out: Option<&Path>, flag: &str) -> Result<PathBuf> {
    let page = read(dir)?;
    let out = out.map_or_else(|| dir.join(REPORT_FILE), Path::to_path_buf);
    let inputs: Vec<PathBuf> = page.files().iter().map(|f| dir.join(f)).collect();
    let inputs: Vec<&Path> = inputs.iter().map(PathBuf::as_path).collect();
    crate::pipeline::check_output(flag, &out, &inputs)?;
    write_atomic(&out, page.render().as_bytes())?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::html::escape;
    use crate::report::html::tests::{embedded, run_folder, table_rows, HOSTILE};
    use crate::sweep::figures::{HEATMAP_FILE, LINES_FILE};
    use crate::sweep::plan::{Manifest, ManifestPoint};
    use crate::sweep::table::{Headline, Row, Table};

    const NETWORK_FIGURE: &str = "fig6_network.svg";

    /// A merged sweep's folder in `dir`: two keys, three points, one failed with an error
    /// holding HTML, commas, quotes and a line break.
    fn sweep_folder(dir: &Path) -> Table {
        let table = Table {
            currency: "CNY".into(),
            keys: vec!["params.w_grid".into(), "solver".into()],
            rows: vec![
                Row {
                    id: "00aa".into(),
                    cells: vec!["0.5".into(), "grid".into()],
                    results: Some(Headline {
                        revenue: 1.25,
                        profit_cny: 1.5,
                        net_cost_cny: -2.0,
                        aux_share_met: None,
                        charged_kwh: 1.0,
                        discharged_kwh: 2.0,
                        final_kwh: 0.1 + 0.2,
                        system_cost_cny: 0.0,
                        wear_cny: 0.0,
                        peak_load_kw: 0.0,
                    }),
                    wall_s: 0.5,
                    error: None,
                },
                Row {
                    id: "11bb".into(),
                    cells: vec!["1.2".into(), "exact".into()],
                    results: Some(Headline {
                        revenue: 3.5,
                        profit_cny: 3.5,
                        net_cost_cny: 1.0,
                        aux_share_met: Some(0.5),
                        charged_kwh: 0.0,
                        discharged_kwh: 4.0,
                        final_kwh: 9.0,
                        system_cost_cny: 0.0,
                        wear_cny: 0.0,
                        peak_load_kw: 0.0,
                    }),
                    wall_s: 0.25,
                    error: None,
                },
                Row {
                    id: "22cc".into(),
                    cells: vec!["2".into(), "grid".into()],
                    results: None,
                    wall_s: 0.0,
                    error: Some(format!("bad, \"value\"\nline two {HOSTILE}")),
                },
            ],
        };
        let manifest = Manifest {
            program: "v2g".into(),
            version: "0.1.0".into(),
            spec_digest: "d".repeat(64),
            keys: table.keys.clone(),
            points: table
                .rows
                .iter()
                .map(|r| ManifestPoint {
                    id: r.id.clone(),
                    cells: r.cells.clone(),
                    scenario_sha256: "a".repeat(64),
                    fleet_sha256: "b".repeat(64),
                    grid_sha256: None,
                    network_sha256: None,
                })
                .collect(),
        };
        std::fs::write(
            dir.join("sweep.json"),
            serde_json::to_vec(&manifest).unwrap(),
        )
        .unwrap();
        std::fs::write(dir.join("sweep.csv"), table.to_csv()).unwrap();
        for (name, svg) in crate::sweep::figures::sweep_figures(&table).unwrap() {
            std::fs::write(dir.join(name), svg).unwrap();
        }
        table
    }

    #[test]
    fn a_sweep_shows_every_row_of_its_table_and_both_figures() {
        let dir = tempfile::tempdir().unwrap();
        sweep_folder(dir.path());
        let page = read(dir.path()).unwrap();
        assert!(matches!(page, Page::Sweep(_)));
        let html = page.render();
        let mut rdr = csv::Reader::from_path(dir.path().join("sweep.csv")).unwrap();
        let header: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
        let rows: Vec<Vec<String>> = rdr
            .records()
            .map(|r| r.unwrap().iter().map(String::from).collect())
            .collect();
        assert_eq!(rows.len(), 3);
        assert_eq!(table_rows(&html, "id=\"table\""), rows);
        for h in &header {
            assert!(html.contains(&format!("<th>{}</th>", escape(h))), "{h}");
        }
        assert!(!html.contains("<script>alert"));
        let want: Vec<Vec<u8>> = [LINES_FILE, HEATMAP_FILE]
            .iter()
            .map(|n| std::fs::read(dir.path().join(n)).unwrap())
            .collect();
        assert_eq!(embedded(&html), want);
        assert!(html.contains("3 points planned, 3 in the table, 1 failed"));
    }

    #[test]
    fn a_folder_that_is_neither_or_lacks_a_figure_is_refused_by_name() {
        let err = |dir: &Path| read(dir).unwrap_err().to_string();
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let e = err(d);
        assert!(
            e.starts_with(&d.display().to_string()) && e.contains("neither"),
            "{e}"
        );
        let e = err(&d.join("nope"));
        assert!(e.contains("nope") && e.contains("No such file"), "{e}");
        std::fs::write(d.join("sweep.json"), "{}").unwrap();
        assert!(err(d).contains("merge it first"), "{}", err(d));
        std::fs::remove_file(d.join("sweep.json")).unwrap();

        // A run lacking a figure (Fig. 6 with a network), a figure that is not SVG,
        // a summary that is not one.
        let run = d.join("run");
        run_folder(&run, true);
        std::fs::remove_file(run.join(NETWORK_FIGURE)).unwrap();
        let e = err(&run);
        assert!(
            e.contains(&run.join(NETWORK_FIGURE).display().to_string()) && e.contains("missing"),
            "{e}"
        );
        std::fs::write(run.join(NETWORK_FIGURE), b"\x89PNG").unwrap();
        assert!(err(&run).contains("not an SVG"), "{}", err(&run));
        std::fs::write(run.join("summary.json"), "{\"slots\": 1,").unwrap();
        let e = err(&run);
        assert!(
            e.contains("summary.json:1:") && e.contains("not a v2g summary"),
            "{e}"
        );

        // A sweep lacking its heat map, and a table of another sweep.
        let sw = d.join("sweep");
        std::fs::create_dir(&sw).unwrap();
        sweep_folder(&sw);
        std::fs::remove_file(sw.join(HEATMAP_FILE)).unwrap();
        let e = err(&sw);
        assert!(
            e.contains(HEATMAP_FILE) && e.contains("merge it again"),
            "{e}"
        );
        let csv = std::fs::read_to_string(sw.join("sweep.csv")).unwrap();
        std::fs::write(sw.join("sweep.csv"), csv.replacen("solver", "seed", 1)).unwrap();
        let e = err(&sw);
        assert!(
            e.contains("sweep.csv:1:0") && e.contains("not those of the sweep"),
            "{e}"
        );
        // Line 6: the failed point's error holds a line break.
        std::fs::write(sw.join("sweep.csv"), csv + "x,y\n").unwrap();
        let e = err(&sw);
        assert!(
            e.ends_with("sweep.csv:6:0: the row has 2 fields, the header 15"),
            "{e}"
        );
    }

    #[test]
    fn write_puts_the_report_in_the_folder_and_never_over_an_input() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("run");
        run_folder(&run, false);
        let path = write(&run, None, "--html-out").unwrap();
        assert_eq!(path, run.join(REPORT_FILE));
        let html = std::fs::read_to_string(&path).unwrap();
        assert_eq!(html, read(&run).unwrap().render());
        // The folder stays one a run may replace.
        crate::report::output::OutputDir::prepare(&run).unwrap();
        let before = std::fs::read(run.join("summary.json")).unwrap();
        let e = write(&run, Some(&run.join("summary.json")), "--html-out")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("--html-out") && e.contains("summary.json"),
            "{e}"
        );
        assert_eq!(std::fs::read(run.join("summary.json")).unwrap(), before);
        let elsewhere = dir.path().join("out/r.html");
        assert_eq!(
            write(&run, Some(&elsewhere), "--html-out").unwrap(),
            elsewhere
        );
        assert_eq!(std::fs::read_to_string(&elsewhere).unwrap(), html);
    }
}
