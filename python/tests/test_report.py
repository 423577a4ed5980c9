"""Result.to_html(): the run's self-contained HTML report, made in memory, against the
CLI's ``v2g report DIR --html`` of the same run's folder (docs/model.md §8.4)."""

from __future__ import annotations

import base64

import v2g
from conftest import run_cli

FLEET = "data/example.csv"
FIGURES = (
    "fig3_load_and_aux_demand.svg",
    "fig4_power_and_prices.svg",
    "fig5_revenue_and_costs.svg",
)


def test_to_html_is_the_cli_report_of_the_run_s_folder(tmp_path):
    r = v2g.simulate(FLEET, ledger=True)
    html = r.to_html()
    assert html.startswith("<!DOCTYPE html>\n")
    folder = tmp_path / "run"
    r.write(folder)
    out = run_cli("report", str(folder), "--html")
    assert out.stdout == f"wrote {folder / 'report.html'}\n"
    assert (folder / "report.html").read_text(encoding="utf-8") == html
    # Every figure embedded, exactly the folder's file.
    for name in FIGURES:
        data = base64.b64encode((folder / name).read_bytes()).decode()
        assert f'<img src="data:image/svg+xml;base64,{data}"' in html, name
    assert html.count("<img ") == len(FIGURES)
    assert f"{r.summary['eva']['revenue']:.2f}" in html
    assert "ledger.jsonl" in html


def test_to_html_with_a_path_writes_the_same_text(tmp_path):
    r = v2g.simulate(FLEET, slots=8, start="2021-05-27T16:00")
    path = tmp_path / "sub" / "report.html"
    html = r.to_html(path)
    assert path.read_text(encoding="utf-8") == html
    assert r.to_html() == html
    assert "The ledger was off" in html
