//! The HTML report: one self-contained page showing a run's or a sweep's results
//! (`v2g report DIR --html`, `Result.to_html()` in Python; docs/model.md §8.4).
//!
//! [`Page`] is what a report shows: a run ([`RunPage`]: its summary and figures) or a
//! sweep ([`SweepPage`]: its plan, table and figures), and [`Page::render`] is the one
//! renderer. A run held in memory makes its page itself
//! ([`crate::pipeline::RunOutput::html`]); [`RunPage::read`] reads a run's output folder;
//! [`crate::sweep::html`], above the sweeps it reads, recognises any folder and writes its
//! report.
//!
//! The page loads nothing: its style and its one short script are inline, and each figure
//! is an `<img>` whose source is a `data:image/svg+xml;base64,` URL of the SVG, so that an
//! SVG read from a folder, which is not trusted, cannot run a script (a browser runs none
//! in an image). A Content-Security-Policy forbids the rest: no connection, no image but
//! data URLs, no style or script but the page's own (named by their SHA-256). Every text
//! put in the page is escaped. A page renders to the same bytes every time: nothing in it
//! depends on the time or the machine.
//!
//! The script, on `load`, counts the figures the browser decoded (`naturalWidth > 0`) and
//! records it as `<body data-figures-rendered="N/M">`, which a headless browser's dumped
//! DOM shows (`tests/it/report.rs`).

use std::fmt::Write as _;
use std::path::Path;

use base64::prelude::*;
use sha2::Digest;

use crate::error::{Error, Result};
use crate::report::output::{read_summary, OUTPUT_FILES};
use crate::report::provenance::{InputFile, Provenance};
use crate::report::summary::Summary;

/// The report's file name in the folder it shows (`v2g report DIR --html` writes
/// `DIR/report.html`). A run's output folder and a sweep's folder may hold it besides
/// their own files; a new run replaces the folder whole and a merge rewrites the table, and
/// both remove it (it would show the results they replace).
pub const REPORT_FILE: &str = "report.html";

/// The figure a run with a distribution network adds (docs/model.md §9.4).
const NETWORK_FIGURE: &str = "fig6_network.svg";

/// Whether a folder entry named `name` is the report or what an interrupted atomic write
/// of it left (`.report.html.XXXXXX.tmp`): a file a run's or a sweep's folder may hold.
pub fn is_report_file(name: &str) -> bool {
    name == REPORT_FILE || (name.starts_with(".report.html.") && name.ends_with(".tmp"))
}

/// A figure to embed: its file name and its SVG text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Figure {
    /// The file name (`fig3_load_and_aux_demand.svg`, `sweep_lines.svg`, …), which names
    /// its caption.
    pub name: String,
    /// The SVG.
    pub svg: String,
}

impl Figure {
    /// A figure named `name`.
    pub fn new(name: impl Into<String>, svg: impl Into<String>) -> Self {
        Figure {
            name: name.into(),
            svg: svg.into(),
        }
    }

    /// `data:image/svg+xml;base64,…`: the SVG as the source of an `<img>`.
    pub fn data_url(&self) -> String {
        format!(
            "data:image/svg+xml;base64,{}",
            BASE64_STANDARD.encode(self.svg.as_bytes())
        )
    }
}

/// A run's report: its summary (`summary.json`, provenance included) and its figures.
#[derive(Debug, Clone, PartialEq)]
pub struct RunPage {
    /// The summary.
    pub summary: Summary,
    /// Figs. 3–5 (and Fig. 6 with a network), in that order.
    pub figures: Vec<Figure>,
}

/// A sweep's report: its plan (`sweep.json`), its table (`sweep.csv`) and its figures
/// ([`crate::sweep::html::read_sweep`] reads them).
#[derive(Debug, Clone, PartialEq)]
pub struct SweepPage {
    /// The program that planned the sweep, and its version: `v2g 0.1.0`.
    pub program: String,
    /// The plan's digest.
    pub spec_digest: String,
    /// The swept keys, in the spec's order.
    pub keys: Vec<String>,
    /// The points planned.
    pub points: usize,
    /// `sweep.csv`'s header.
    pub header: Vec<String>,
    /// `sweep.csv`'s rows, every field as written.
    pub rows: Vec<Vec<String>>,
    /// `sweep_lines.svg` and, for two keys, `sweep_heatmap.svg` (none when the table
    /// gets none).
    pub figures: Vec<Figure>,
}

/// What a report shows.
#[derive(Debug, Clone, PartialEq)]
pub enum Page {
    /// A run's output folder, or a run in memory.
    Run(Box<RunPage>),
    /// A merged sweep's folder.
    Sweep(Box<SweepPage>),
}

/// Reads the figure `name` of the folder `dir`; a missing one is refused, named, with
/// what to do (`remedy`), and so is one that is not SVG.
pub fn read_figure(dir: &Path, name: &str, remedy: &str) -> Result<Figure> {
    let path = dir.join(name);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::input(
                &path,
                0,
                0,
                "",
                format!("the figure is missing, so the folder is incomplete: {remedy}"),
            ))
        }
        Err(e) => return Err(Error::io(&path, e)),
    };
    let svg = String::from_utf8(bytes)
        .map_err(|_| Error::input(&path, 0, 0, "", "not an SVG figure: not valid UTF-8"))?;
    if !svg.contains("<svg") {
        return Err(Error::input(
            &path,
            0,
            0,
            "",
            "not an SVG figure: it has no <svg> element",
        ));
    }
    Ok(Figure::new(name, svg))
}

impl RunPage {
    /// The names of the figures a run's folder holds: Figs. 3–5, and Fig. 6 when the run
    /// had a network.
    pub fn figure_names(summary: &Summary) -> Vec<&'static str> {
        OUTPUT_FILES
            .iter()
            .copied()
            .filter(|n| n.ends_with(".svg"))
            .filter(|n| summary.network.is_some() || *n != NETWORK_FIGURE)
            .collect()
    }

    /// Reads a run's output folder: `summary.json` and every figure it should hold.
    pub fn read(dir: &Path) -> Result<Self> {
        let summary = read_summary(dir)?;
        let figures = Self::figure_names(&summary)
            .into_iter()
            .map(|n| read_figure(dir, n, "run v2g simulate again"))
            .collect::<Result<_>>()?;
        Ok(RunPage { summary, figures })
    }
}

impl Page {
    /// The files of its folder a page is made from.
    pub fn files(&self) -> Vec<&str> {
        let (own, figures): (&[&str], _) = match self {
            Page::Run(r) => (&["summary.json"], &r.figures),
            Page::Sweep(s) => (&["sweep.json", "sweep.csv"], &s.figures),
        };
        own.iter()
            .copied()
            .chain(figures.iter().map(|f| f.name.as_str()))
            .collect()
    }

    /// The page as one self-contained HTML document (module docs).
    pub fn render(&self) -> String {
        match self {
            Page::Run(r) => document(&run_title(&r.summary), &run_body(r)),
            Page::Sweep(s) => document(&sweep_title(s), &sweep_body(s)),
        }
    }
}

/// `s` with `&`, `<`, `>`, `"` and `'` escaped: safe as an element's text and as a quoted
/// attribute's value.
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// The page's style.
const STYLE: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif;\
color:#1b1f24;background:#fff;margin:0 auto;max-width:1180px;padding:24px 32px 48px;line-height:1.45}\
h1{font-size:1.7em;margin:0 0 4px}.row{display:flex;flex-wrap:wrap;column-gap:40px}h2{font-size:1.25em;margin:32px 0 8px;\
border-bottom:1px solid #d0d7de;padding-bottom:4px}\
p.lead{color:#424a53;margin:0 0 12px}nav a{margin-right:14px;color:#0969da}\
table{border-collapse:collapse;margin:8px 0;font-size:.92em}\
th,td{border:1px solid #d0d7de;padding:3px 9px;text-align:left;vertical-align:top}\
thead th{background:#f6f8fa}td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\
tbody tr:nth-child(even){background:#fafbfc}\
figure{margin:16px 0 24px}figure img{max-width:100%;height:auto;border:1px solid #eaeef2}\
figcaption{color:#424a53;font-size:.92em}code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;\
font-size:.88em}pre{background:#f6f8fa;padding:10px;overflow-x:auto}\
.wrap{overflow-x:auto}td.hash{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85em}";

/// The page's script: counts the figures the browser decoded (module docs).
const SCRIPT: &str = "addEventListener(\"load\",function(){var m=document.images,n=0;\
for(var i=0;i<m.length;i++){if(m[i].complete&&m[i].naturalWidth>0){n++;}}\
document.body.dataset.figuresRendered=n+\"/\"+m.length;});";

/// `'sha256-…'`: a CSP source naming an inline element's text.
fn csp_hash(text: &str) -> String {
    format!(
        "'sha256-{}'",
        BASE64_STANDARD.encode(sha2::Sha256::digest(text.as_bytes()))
    )
}

/// The page's Content-Security-Policy: nothing loads but data-URL images and the page's
/// own style and script.
pub fn content_security_policy() -> String {
    format!(
        "default-src 'none'; img-src data:; style-src {}; script-src {}; base-uri 'none'; \
         form-action 'none'",
        csp_hash(STYLE),
        csp_hash(SCRIPT)
    )
}

/// The caption of a figure, by its file name.
fn caption(name: &str) -> &str {
    match name {
        "fig3_load_and_aux_demand.svg" => {
            "Fig. 3: the base load and the auxiliary-service demand asked of the fleet"
        }
        "fig4_power_and_prices.svg" => {
            "Fig. 4: the fleet's charging and discharging power, the real-time price p_rt \
             and the chosen discharging price p_d*"
        }
        "fig5_revenue_and_costs.svg" => "Fig. 5: the EVA's revenue R and its parts per slot",
        NETWORK_FIGURE => {
            "Fig. 6: the lowest and highest bus voltage and the most loaded transformer, \
             scheme against uncoordinated charging"
        }
        // crate::sweep::figures::{LINES_FILE, HEATMAP_FILE}.
        "sweep_lines.svg" => "The headline results against the first swept key",
        "sweep_heatmap.svg" => "The headline results over the two swept keys",
        other => other,
    }
}

/// The whole document around a page's body.
fn document(title: &str, body: &str) -> String {
    let mut o = String::with_capacity(body.len() + STYLE.len() + SCRIPT.len() + 1024);
    o += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
    let _ = writeln!(
        o,
        "<meta http-equiv=\"Content-Security-Policy\" content=\"{}\">",
        escape(&content_security_policy())
    );
    o += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
    let _ = writeln!(
        o,
        "<meta name=\"generator\" content=\"v2g {}\">",
        escape(env!("CARGO_PKG_VERSION"))
    );
    let _ = writeln!(o, "<title>{}</title>", escape(title));
    let _ = writeln!(o, "<style>{STYLE}</style>");
    o += "</head>\n<body>\n";
    o += body;
    let _ = writeln!(o, "<script>{SCRIPT}</script>");
    o += "</body>\n</html>\n";
    o
}

/// The figures, each an `<img>` of its data URL with its caption; nothing without any.
fn figures_section(o: &mut String, figures: &[Figure]) {
    if figures.is_empty() {
        return;
    }
    section(o, "figures", "Figures");
    for f in figures {
        let cap = escape(caption(&f.name));
        let _ = writeln!(
            o,
            "<figure>\n<img src=\"{}\" alt=\"{cap}\">\n<figcaption>{cap} (<code>{}</code>)</figcaption>\n</figure>",
            f.data_url(),
            escape(&f.name)
        );
    }
    o.push_str("</section>\n");
}

/// Whether a cell is a number (right-aligned): `12.5`, `-3`, `99.9%`.
fn is_number(s: &str) -> bool {
    let t = s.strip_suffix('%').unwrap_or(s);
    !t.is_empty() && t.parse::<f64>().is_ok()
}

/// A table: its header and rows, every cell escaped, numbers right-aligned but in the
/// first column.
fn table(o: &mut String, head: &[&str], rows: &[Vec<String>]) {
    table_aligned(o, head, rows, true);
}

/// [`table`], with numbers right-aligned or not.
fn table_aligned(o: &mut String, head: &[&str], rows: &[Vec<String>], numbers: bool) {
    o.push_str("<div class=\"wrap\"><table>\n");
    if head.iter().any(|h| !h.is_empty()) {
        o.push_str("<thead><tr>");
        for h in head {
            let _ = write!(o, "<th>{}</th>", escape(h));
        }
        o.push_str("</tr></thead>\n");
    }
    o.push_str("<tbody>\n");
    for r in rows {
        o.push_str("<tr>");
        for (i, c) in r.iter().enumerate() {
            if numbers && i > 0 && is_number(c) {
                let _ = write!(o, "<td class=\"n\">{}</td>", escape(c));
            } else {
                let _ = write!(o, "<td>{}</td>", escape(c));
            }
        }
        o.push_str("</tr>\n");
    }
    o.push_str("</tbody>\n</table></div>\n");
}

/// A row of strings.
fn row<const N: usize>(cells: [&str; N]) -> Vec<String> {
    cells.iter().map(|c| c.to_string()).collect()
}

fn f2(v: f64) -> String {
    format!("{v:.2}")
}

fn f1(v: f64) -> String {
    format!("{v:.1}")
}

fn opt(v: Option<f64>, f: fn(f64) -> String) -> String {
    v.map_or_else(|| "–".to_string(), f)
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_string(), |v| format!("{:.1}%", 100.0 * v))
}

/// An argument as a POSIX shell would need it to read it back (quoted only when needed).
fn shell_word(a: &str) -> String {
    let plain = !a.is_empty()
        && a.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,+@%".contains(c));
    if plain {
        a.to_string()
    } else {
        format!("'{}'", a.replace('\'', r"'\''"))
    }
}

fn section(o: &mut String, id: &str, title: &str) {
    let _ = write!(o, "<section id=\"{id}\">\n<h2>{}</h2>\n", escape(title));
}

fn run_title(s: &Summary) -> String {
    format!(
        "v2g run: {} EVs, {} slots from {}",
        s.evs.n_evs, s.slots, s.start
    )
}

fn run_body(page: &RunPage) -> String {
    let s = &page.summary;
    let cur = &s.currency;
    let mut o = String::new();
    let _ = writeln!(o, "<h1>{}</h1>", escape(&run_title(s)));
    let mut lead = String::new();
    if let Some(n) = s.evs.n_sessions {
        let _ = write!(lead, "{n} sessions; ");
    }
    if !s.policy.is_game() {
        let _ = write!(lead, "policy {}; ", s.policy);
    } else if let Some(run) = &s.run {
        let _ = write!(
            lead,
            "solver {}, epsilon {} {cur}/kWh; {} {}. ",
            run.scenario.solver, run.scenario.params.epsilon, run.program, run.version
        );
    }
    let _ = write!(lead, "The EVA's revenue is {} {cur}; ", f2(s.eva.revenue));
    lead += &match s.energy.aux_share_met {
        Some(_) => format!(
            "the fleet met {} of the auxiliary task.",
            pct(s.energy.aux_share_met)
        ),
        None => "no auxiliary task was asked.".to_string(),
    };
    let _ = writeln!(o, "<p class=\"lead\">{}</p>", escape(&lead));
    o += "<nav><a href=\"#evs\">EVs</a><a href=\"#eva\">EVA</a><a href=\"#energy\">Energy</a><a href=\"#system\">System cost</a>";
    if !s.periods.is_empty() {
        o += "<a href=\"#periods\">Periods</a>";
    }
    if s.network.is_some() {
        o += "<a href=\"#network\">Network</a>";
    }
    if !page.figures.is_empty() {
        o += "<a href=\"#figures\">Figures</a>";
    }
    if s.run.is_some() {
        o += "<a href=\"#ledger\">Ledger</a><a href=\"#provenance\">Provenance</a>";
    }
    o += "<a href=\"#text\">Text</a></nav>\n";
    // The three short tables side by side where the window is wide enough.
    o += "<div class=\"row\">\n";
    evs_section(&mut o, s);
    eva_section(&mut o, s);
    energy_section(&mut o, s);
    system_section(&mut o, s);
    o += "</div>\n";
    periods_section(&mut o, s);
    network_section(&mut o, s);
    figures_section(&mut o, &page.figures);
    if let Some(run) = &s.run {
        ledger_section(&mut o, run);
        provenance_section(&mut o, run);
    }
    section(&mut o, "text", "The text summary (v2g report)");
    let mut text = s.render();
    if let Some(run) = &s.run {
        text.push('\n');
        text += &run.render();
    }
    let _ = writeln!(o, "<pre>{}</pre>\n</section>", escape(&text));
    o
}

fn evs_section(o: &mut String, s: &Summary) {
    let cur = s.currency.as_str();
    let per_kwh = format!("{cur}/kWh");
    let e = &s.evs;
    section(
        o,
        "evs",
        "The EVs: the scheme against uncoordinated charging",
    );
    let pk = |v: Option<f64>| opt(v, |v| format!("{v:.4}"));
    let mut rows = vec![
        row([
            "net cost",
            &f2(e.net_cost_cny),
            &f2(e.baseline_cost_cny),
            cur,
        ]),
        row(["paid for charging", &f2(e.paid_cny), "–", cur]),
        row([
            "received for discharging and idling",
            &f2(e.received_cny),
            "–",
            cur,
        ]),
        row([
            "energy at arrival",
            &f1(e.initial_kwh),
            &f1(e.initial_kwh),
            "kWh",
        ]),
        row([
            "energy at departure",
            &f1(e.final_kwh),
            &f1(e.baseline_final_kwh),
            "kWh",
        ]),
        row([
            "energy gained",
            &f1(e.gained_kwh),
            &f1(e.baseline_gained_kwh),
            "kWh",
        ]),
        row([
            "cost per kWh gained",
            &pk(e.cost_per_kwh_gained),
            &pk(e.baseline_cost_per_kwh_gained),
            &per_kwh,
        ]),
    ];
    if let Some(t) = &e.targets {
        rows.push(row([
            "departure targets met",
            &format!(
                "{} of {} ({} unreachable)",
                t.n_met, t.n_targets, t.n_unreachable
            ),
            "–",
            "EVs",
        ]));
        rows.push(row([
            "shortfall of the targets",
            &format!("{} of {}", f1(t.shortfall_kwh), f1(t.target_kwh)),
            "–",
            "kWh",
        ]));
    }
    table(o, &["", "scheme", "uncoordinated", "unit"], &rows);
    o.push_str("</section>\n");
}

fn eva_section(o: &mut String, s: &Summary) {
    let cur = s.currency.as_str();
    let a = &s.eva;
    section(o, "eva", "The EVA's revenue and its parts (Eqs. 3–7)");
    let rows = vec![
        row(["R_service (Eq. 4)", &f2(a.r_service), cur]),
        row(["+ R_grid (Eq. 5)", &f2(a.r_grid), cur]),
        row(["− C_V2G (Eq. 6)", &f2(a.c_v2g), cur]),
        row(["− C_limit (Eq. 7)", &f2(a.c_limit), cur]),
        row(["(C_limit for shortfall)", &f2(a.c_limit_shortfall), cur]),
        row(["(C_limit for excess)", &f2(a.c_limit_excess), cur]),
        row(["= R, the EVA's revenue (Eq. 3)", &f2(a.revenue), cur]),
        row(["the EVA's profit (settlement)", &f2(a.profit_cny), cur]),
    ];
    table(o, &["", "total", "unit"], &rows);
    o.push_str("</section>\n");
}

fn system_section(o: &mut String, s: &Summary) {
    let cur = s.currency.as_str();
    let sy = &s.system;
    section(o, "system", "The system cost (docs/model.md §10.2)");
    let mut rows = vec![
        row(["policy", s.policy.as_str(), ""]),
        row(["energy bought at p_rt", &f2(sy.energy_cny), cur]),
        row(["− V2G energy's value (W_grid)", &f2(sy.aux_value_cny), cur]),
        row(["+ penalties C_limit (Eq. 7)", &f2(sy.penalty_cny), cur]),
        row(["+ battery wear", &f2(sy.wear_cny), cur]),
        row(["= system cost", &f2(sy.total_cny), cur]),
        row([
            "peak load at the grid connection",
            &f1(sy.peak_load_kw),
            "kW",
        ]),
    ];
    if let Some(opt) = &s.optimal {
        rows.push(row([
            "the relaxation's bound",
            &f2(opt.relaxation_cny),
            cur,
        ]));
        rows.push(row([
            "EV-slots fixed to one direction",
            &opt.fixed.to_string(),
            "",
        ]));
    }
    table(o, &["", "total", "unit"], &rows);
    o.push_str("</section>\n");
}

fn energy_section(o: &mut String, s: &Summary) {
    let en = &s.energy;
    section(o, "energy", "Energy and the auxiliary task");
    let rows = vec![
        row(["charged", &f1(en.charged_kwh), "kWh"]),
        row(["discharged", &f1(en.discharged_kwh), "kWh"]),
        row(["auxiliary task asked", &f1(en.aux_asked_kwh), "kWh"]),
        row([
            "auxiliary energy delivered",
            &f1(en.aux_delivered_kwh),
            "kWh",
        ]),
        row(["auxiliary task met", &f1(en.aux_met_kwh), "kWh"]),
        row(["share of the task met", &pct(en.aux_share_met), ""]),
        row([
            "trades below 1 Wh",
            &en.trades_below_1wh.to_string(),
            "trades",
        ]),
    ];
    table(o, &["", "total", "unit"], &rows);
    o.push_str("</section>\n");
}

fn periods_section(o: &mut String, s: &Summary) {
    let cur = s.currency.as_str();
    if s.periods.is_empty() {
        return;
    }
    section(o, "periods", "By tariff period");
    let rows: Vec<Vec<String>> = s
        .periods
        .iter()
        .map(|p| {
            vec![
                p.period.as_str().to_string(),
                p.slots.to_string(),
                f2(p.revenue),
                f2(p.revenue / p.slots as f64),
                f2(p.r_grid),
                f2(p.c_limit),
                f1(p.charged_kwh),
                f1(p.aux_asked_kwh),
                f1(p.aux_delivered_kwh),
                pct(p.aux_share_met),
                p.mean_p_d.map_or("-".to_string(), |v| format!("{v:.3}")),
            ]
        })
        .collect();
    table(
        o,
        &[
            "period",
            "slots",
            &format!("R, {cur}"),
            &format!("R per slot, {cur}"),
            &format!("R_grid, {cur}"),
            &format!("C_limit, {cur}"),
            "charged, kWh",
            "asked, kWh",
            "delivered, kWh",
            "task met",
            &format!("mean p_d, {cur}/kWh"),
        ],
        &rows,
    );
    o.push_str("</section>\n");
}

fn network_section(o: &mut String, s: &Summary) {
    let Some(n) = &s.network else {
        return;
    };
    section(o, "network", "The distribution network (docs/model.md §9)");
    let sites: Vec<&str> = n.sites.iter().map(|s| s.name.as_str()).collect();
    let _ = writeln!(
        o,
        "<p>Case {}: {} buses, {} branches in service; {} sites ({}).</p>",
        escape(&n.case),
        n.buses,
        n.branches_in_service,
        n.sites.len(),
        escape(&sites.join(", "))
    );
    let (a, b) = (&n.scheme, &n.baseline);
    let with = |v: Option<f64>, at: &Option<String>| match (v, at) {
        (Some(v), Some(site)) => format!("{v:.1} ({site})"),
        (Some(v), None) => format!("{v:.1}"),
        _ => "–".to_string(),
    };
    let rows = vec![
        row([
            "lowest voltage (bus, slot)",
            &format!(
                "{:.4} (bus {}, slot {})",
                a.worst_voltage_pu, a.worst_voltage_bus, a.worst_voltage_slot
            ),
            &format!(
                "{:.4} (bus {}, slot {})",
                b.worst_voltage_pu, b.worst_voltage_bus, b.worst_voltage_slot
            ),
            "p.u.",
        ]),
        row([
            "highest voltage",
            &format!("{:.4}", a.highest_voltage_pu),
            &format!("{:.4}", b.highest_voltage_pu),
            "p.u.",
        ]),
        row([
            "hours outside the voltage limits",
            &f2(a.hours_voltage_outside_limits),
            &f2(b.hours_voltage_outside_limits),
            "h",
        ]),
        row([
            "hours overloaded",
            &f2(a.hours_overloaded),
            &f2(b.hours_overloaded),
            "h",
        ]),
        row([
            "peak transformer loading (site)",
            &with(a.peak_transformer_loading_pct, &a.peak_transformer_site),
            &with(b.peak_transformer_loading_pct, &b.peak_transformer_site),
            "%",
        ]),
        row([
            "peak branch loading",
            &opt(a.peak_branch_loading_pct, f1),
            &opt(b.peak_branch_loading_pct, f1),
            "% of RATE_A",
        ]),
        row([
            "energy lost",
            &f1(a.energy_lost_kwh),
            &f1(b.energy_lost_kwh),
            "kWh",
        ]),
        row([
            "curtailed EV trades (slots)",
            &format!("{} ({})", a.curtailed_evs, a.curtailed_slots),
            "–",
            "",
        ]),
    ];
    table(o, &["", "scheme", "uncoordinated", "unit"], &rows);
    o.push_str("</section>\n");
}

fn ledger_section(o: &mut String, run: &Provenance) {
    let sc = &run.scenario;
    section(o, "ledger", "The ledger");
    let available = sc.workers.iter().filter(|w| w.available).count();
    if sc.ledger {
        let _ = writeln!(
            o,
            "<p>The ledger was on: the run's folder holds <code>ledger.jsonl</code>, the \
             run's signed record (a block per slot, agreed by {} SCP workers, {} available \
             and {} byzantine), and <code>genesis.json</code>, its trust anchor. \
             <code>v2g verify ledger.jsonl --genesis TRUSTED.json</code> re-checks it \
             against a copy of the genesis you kept.</p>",
            sc.workers.len(),
            available,
            sc.byzantine
        );
    } else {
        o.push_str("<p>The ledger was off: the run recorded no ledger.</p>\n");
    }
    o.push_str("</section>\n");
}

fn input_row(what: &str, f: &InputFile) -> Vec<String> {
    vec![
        what.to_string(),
        f.path.clone(),
        f.bytes.to_string(),
        f.sha256.clone(),
    ]
}

fn provenance_section(o: &mut String, run: &Provenance) {
    let sc = &run.scenario;
    section(o, "provenance", "Provenance");
    let cmd: Vec<String> = run.command_line.iter().map(|a| shell_word(a)).collect();
    let _ = writeln!(
        o,
        "<p>Made by {} {}{}</p>",
        escape(&run.program),
        escape(&run.version),
        if cmd.is_empty() {
            ".".to_string()
        } else {
            format!(": <code>{}</code>", escape(&cmd.join(" ")))
        }
    );
    let mut rows = vec![input_row("fleet", &run.inputs.fleet)];
    match &run.inputs.grid {
        Some(g) => rows.push(input_row("grid", g)),
        None => rows.push(row([
            "grid",
            "none (no auxiliary task; the tariff's prices)",
            "",
            "",
        ])),
    }
    if let Some(f) = &run.inputs.scenario {
        rows.push(input_row("scenario", f));
    }
    if let Some(f) = &run.inputs.network {
        rows.push(input_row("network", f));
    }
    o.push_str("<div class=\"wrap\"><table>\n<thead><tr><th>input</th><th>path</th><th>bytes</th><th>SHA-256</th></tr></thead>\n<tbody>\n");
    for r in &rows {
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"hash\">{}</td></tr>",
            escape(&r[0]),
            escape(&r[1]),
            escape(&r[2]),
            escape(&r[3])
        );
    }
    o.push_str("</tbody>\n</table></div>\n");
    let available = sc.workers.iter().filter(|w| w.available).count();
    let settings = vec![
        row(["scenario_sha256", &run.scenario_sha256]),
        row(["solver", sc.solver.as_str()]),
        row([
            &format!("epsilon, {}/kWh", sc.currency),
            &sc.params.epsilon.to_string(),
        ]),
        row([
            "SCP workers",
            &format!("{} ({available} available)", sc.workers.len()),
        ]),
        row([
            "horizon",
            &format!(
                "{} slots from {}",
                sc.horizon.slots,
                crate::data::time::format_time(sc.horizon.start)
            ),
        ]),
        row(["ledger", if sc.ledger { "on" } else { "off" }]),
        row(["byzantine SCPs", &sc.byzantine.to_string()]),
        row(["seed", &sc.seed.to_string()]),
    ];
    o.push_str("<p>The resolved scenario: every parameter after defaults, files and flags.</p>\n");
    table_aligned(o, &["setting", "value"], &settings, false);
    let json = serde_json::to_string_pretty(sc).unwrap_or_default();
    let _ = writeln!(
        o,
        "<details><summary>The resolved scenario in full (summary.json's run.scenario)</summary>\n<pre>{}</pre>\n</details>",
        escape(&json)
    );
    o.push_str("</section>\n");
}

fn sweep_title(s: &SweepPage) -> String {
    let keys = &s.keys;
    let mut t = format!(
        "v2g sweep: {} point{}",
        s.rows.len(),
        if s.rows.len() == 1 { "" } else { "s" }
    );
    if !keys.is_empty() {
        t += " over ";
        t += &keys.join(" × ");
    }
    t
}

fn sweep_body(s: &SweepPage) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "<h1>{}</h1>", escape(&sweep_title(s)));
    // The last column is the error, empty for a point that ran.
    let failed = s
        .rows
        .iter()
        .filter(|r| r.last().is_some_and(|e| !e.is_empty()))
        .count();
    let _ = writeln!(
        o,
        "<p class=\"lead\">{}</p>",
        escape(&format!(
            "{} points planned, {} in the table, {failed} failed; {}.",
            s.points,
            s.rows.len(),
            s.program
        ))
    );
    o += "<nav>";
    if !s.figures.is_empty() {
        o += "<a href=\"#figures\">Figures</a>";
    }
    o += "<a href=\"#table\">Table</a><a href=\"#provenance\">Provenance</a></nav>\n";
    figures_section(&mut o, &s.figures);
    section(&mut o, "table", "The table (sweep.csv)");
    o.push_str(
        "<p>One row per point, sorted by id: its values of the swept keys, its headline \
         results (docs/guide/sweeps.md), its wall time and why it failed, if it did. Each \
         point's own folder is <code>runs/&lt;id&gt;/</code>.</p>\n",
    );
    let head: Vec<&str> = s.header.iter().map(String::as_str).collect();
    table(&mut o, &head, &s.rows);
    o.push_str("</section>\n");
    section(&mut o, "provenance", "Provenance (sweep.json)");
    let rows = vec![
        row(["program", &s.program]),
        row(["spec digest", &s.spec_digest]),
        row(["swept keys", &s.keys.join(", ")]),
        row(["points", &s.points.to_string()]),
    ];
    table_aligned(&mut o, &["", ""], &rows, false);
    o.push_str("</section>\n");
    o
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::data::scenario::Scenario;
    use crate::data::tariff::Period;
    use crate::network::Site;
    use crate::report::network::{NetworkSummary, PolicyNetwork};
    use crate::report::provenance::Inputs;
    use crate::report::summary::PeriodTotals;

    /// Text a hostile folder could hold.
    pub(crate) const HOSTILE: &str =
        "<script>alert(1)</script>\"'><img src=x onerror=alert(2)>&amp;";

    /// A summary with every section: provenance (hostile text in the command line and
    /// the paths), periods, targets and a network.
    pub(crate) fn summary(network: bool) -> Summary {
        let sc = Scenario {
            ledger: true,
            ..Scenario::default()
        };
        let file = |p: &str| InputFile::of(p, b"x");
        let inputs = Inputs {
            fleet: file(&format!("fleet {HOSTILE}.csv")),
            grid: None,
            scenario: Some(file("s.toml")),
            network: network.then(|| file("case.m")),
        };
        let mut s = Summary {
            run: Some(Provenance::new(
                &sc,
                inputs,
                vec!["v2g".into(), "simulate".into(), HOSTILE.into()],
            )),
            slots: 4,
            start: "2021-05-27T07:00".into(),
            ..Summary::default()
        };
        s.eva.revenue = 1234.5678;
        s.eva.r_grid = 2000.0;
        s.energy.aux_share_met = Some(0.999);
        s.evs.n_evs = 3;
        s.periods = vec![PeriodTotals {
            period: Period::Peak,
            slots: 4,
            revenue: 10.0,
            aux_share_met: None,
            ..PeriodTotals::default()
        }];
        if network {
            let p = PolicyNetwork {
                worst_voltage_pu: 0.9512,
                worst_voltage_bus: 18,
                worst_voltage_slot: 2,
                highest_voltage_pu: 1.0,
                hours_voltage_outside_limits: 0.5,
                hours_overloaded: 0.0,
                energy_lost_kwh: 12.0,
                peak_transformer_loading_pct: Some(97.0),
                peak_transformer_site: Some(HOSTILE.into()),
                peak_branch_loading_pct: None,
                curtailed_slots: 1,
                curtailed_evs: 2,
            };
            s.network = Some(NetworkSummary {
                case: format!("case {HOSTILE}"),
                buses: 33,
                branches_in_service: 32,
                sites: vec![Site {
                    name: HOSTILE.into(),
                    bus: 6,
                    transformer_kva: Some(1000.0),
                    power_factor: 1.0,
                }],
                scheme: p.clone(),
                baseline: p,
            });
        }
        s
    }

    /// An SVG with text that must survive the embedding byte for byte.
    pub(crate) fn svg(name: &str) -> String {
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"960\" height=\"540\">\
             <text x=\"10\" y=\"20\">{name} é € \"q\" &amp; </text><script>alert(3)</script></svg>\n"
        )
    }

    /// A run's folder in `dir` with every figure its summary needs.
    pub(crate) fn run_folder(dir: &Path, network: bool) -> Summary {
        let s = summary(network);
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(
            dir.join("summary.json"),
            serde_json::to_vec_pretty(&s).unwrap(),
        )
        .unwrap();
        for n in RunPage::figure_names(&s) {
            std::fs::write(dir.join(n), svg(n)).unwrap();
        }
        s
    }

    /// The report of the run's folder `dir`.
    fn render(dir: &Path) -> String {
        Page::Run(Box::new(RunPage::read(dir).unwrap())).render()
    }

    /// The decoded bytes of every embedded figure, in order.
    pub(crate) fn embedded(html: &str) -> Vec<Vec<u8>> {
        let marker = "<img src=\"data:image/svg+xml;base64,";
        html.match_indices(marker)
            .map(|(i, _)| {
                let rest = &html[i + marker.len()..];
                let b64 = &rest[..rest.find('"').unwrap()];
                BASE64_STANDARD.decode(b64).unwrap()
            })
            .collect()
    }

    pub(crate) fn unescape(s: &str) -> String {
        s.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&amp;", "&")
    }

    /// The cells of the body rows of the first table after `marker`.
    pub(crate) fn table_rows(html: &str, marker: &str) -> Vec<Vec<String>> {
        let start = html.find(marker).unwrap();
        let body = &html[start..];
        let body = &body[body.find("<tbody>").unwrap()..body.find("</tbody>").unwrap()];
        body.split("<tr>")
            .skip(1)
            .map(|tr| {
                tr.split("<td")
                    .skip(1)
                    .map(|td| {
                        let open = td.find('>').unwrap() + 1;
                        unescape(&td[open..td.find("</td>").unwrap()])
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn escape_escapes_the_five_characters_and_nothing_else() {
        assert_eq!(
            escape("<a href='x'>&\"é\n"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;é\n"
        );
        assert_eq!(escape("plain 1.5%"), "plain 1.5%");
    }

    #[test]
    fn a_run_embeds_every_figure_decodable_to_its_exact_bytes() {
        for network in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let s = run_folder(dir.path(), network);
            let names = RunPage::figure_names(&s);
            assert_eq!(names.len(), if network { 4 } else { 3 });
            let html = render(dir.path());
            let got = embedded(&html);
            let want: Vec<Vec<u8>> = names.iter().map(|n| svg(n).into_bytes()).collect();
            assert_eq!(got, want);
            assert_eq!(html.matches("<img ").count(), names.len());
            for n in &names {
                assert!(html.contains(&format!("<code>{n}</code>")), "{n}");
            }
            // The summary's numbers are in tables, the text summary in a <pre>.
            assert!(html.contains("<td class=\"n\">1234.57</td>"), "{html}");
            assert!(html.contains("<td class=\"n\">2000.00</td>"));
            assert!(html.contains("<pre>") && html.contains("EVA revenue R"));
            assert!(html.contains("id=\"periods\""));
            assert_eq!(html.contains("id=\"network\""), network);
            assert!(html.contains("ledger.jsonl"));
            // Deterministic: the same folder, the same bytes.
            assert_eq!(render(dir.path()), html);
        }
    }

    #[test]
    fn text_from_the_folder_is_escaped_and_nothing_loads_from_elsewhere() {
        let dir = tempfile::tempdir().unwrap();
        run_folder(dir.path(), true);
        let html = render(dir.path());
        assert!(!html.contains("<script>alert"), "{html}");
        assert!(!html.contains("<img src=x"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&gt;"));
        // One script (the page's own), one style, and every source a data URL.
        assert_eq!(html.matches("<script").count(), 1);
        assert_eq!(html.matches("<style").count(), 1);
        assert_eq!(
            html.matches(" src=\"").count(),
            html.matches(" src=\"data:image/svg+xml;base64,").count()
        );
        for external in [
            "<link",
            "src=\"http",
            "href=\"http",
            "url(",
            "@import",
            "<iframe",
        ] {
            assert!(!html.contains(external), "{external}");
        }
        // Every link is to the page itself.
        for (i, _) in html.match_indices("href=\"") {
            assert_eq!(&html[i + 6..i + 7], "#", "{}", &html[i..i + 40]);
        }
    }

    #[test]
    fn the_policy_allows_only_the_pages_own_style_and_script() {
        let dir = tempfile::tempdir().unwrap();
        run_folder(dir.path(), false);
        let html = render(dir.path());
        assert!(html.contains(&format!("<style>{STYLE}</style>")));
        assert!(html.contains(&format!("<script>{SCRIPT}</script>")));
        let csp = content_security_policy();
        assert!(html.contains(&format!(
            "<meta http-equiv=\"Content-Security-Policy\" content=\"{}\">",
            escape(&csp)
        )));
        assert!(
            csp.starts_with("default-src 'none'; img-src data:; "),
            "{csp}"
        );
        for text in [STYLE, SCRIPT] {
            let digest = sha2::Sha256::digest(text.as_bytes());
            let b64 = BASE64_STANDARD.encode(digest);
            assert!(csp.contains(&format!("'sha256-{b64}'")), "{csp}");
        }
        assert!(SCRIPT.contains("figuresRendered"));
    }

    #[test]
    fn the_report_and_its_temporary_files_are_the_only_extra_names() {
        assert!(is_report_file("report.html"));
        assert!(is_report_file(".report.html.a1B2c3.tmp"));
        for other in [
            "report.htm",
            "Report.html",
            ".report.html",
            "report.html.tmp",
            "x.html",
        ] {
            assert!(!is_report_file(other), "{other}");
        }
    }
}
