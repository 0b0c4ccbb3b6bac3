"""The HTML report: one self-contained page (inline CSS, inline SVG charts drawn here).

No script, no external stylesheet, font or image: the page opens from a CI artefact store
or an e-mail attachment as it is. Every chart has a title and description for screen readers
and the same numbers as a table; colours come from the Okabe–Ito palette (colour-blind safe),
and pass/fail is always written out, never shown by colour alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from eval.metrics import METRICS, RATE_METRICS
from eval.report import (
    baseline_metrics,
    format_delta,
    format_value,
    metric_label,
    ordered_rows,
)

CURRENT = "#0072B2"  # Okabe–Ito blue, 5.0:1 on white
BASELINE = "#D55E00"  # Okabe–Ito vermillion, 3.9:1 on white
HISTOGRAM = "#009E73"  # Okabe–Ito bluish green, 3.3:1 on white (graphics need 3:1)
INK = "#1a1a1a"
MUTED = "#595959"  # 7:1 on white

CSS = """
:root { color-scheme: light; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1a1a1a;
  margin: 0 auto; max-width: 1100px; padding: 1.5rem; background: #fff; }
h1 { font-size: 1.6rem; margin: 0 0 .5rem; } h2 { font-size: 1.25rem; margin-top: 2rem; }
dl.settings { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
dl.settings dt { font-weight: 600; } dl.settings dd { margin: 0; overflow-wrap: anywhere; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0; }
th, td { border: 1px solid #c8c8c8; padding: .35rem .5rem; text-align: left; vertical-align: top; }
th { background: #f0f0f0; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.badge { display: inline-block; padding: .05rem .45rem; border-radius: .3rem; color: #fff;
  font-weight: 600; white-space: nowrap; }
.pass { background: #1b5e20; } .fail { background: #b00020; }
.summary { display: flex; gap: 1rem; flex-wrap: wrap; margin: 1rem 0; }
.summary div { border: 1px solid #c8c8c8; border-radius: .4rem; padding: .5rem .8rem; }
.summary strong { display: block; font-size: 1.4rem; }
figure { margin: 1rem 0; } figcaption { color: #595959; font-size: .9rem; }
svg { max-width: 100%; height: auto; } svg text { font-family: inherit; }
ul.checks { margin: 0; padding-left: 1.1rem; } .reason { color: #595959; }
details summary { cursor: pointer; }
.violation { color: #b00020; font-weight: 600; }
"""


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


# --- charts --------------------------------------------------------------------------------
def metric_chart(report: Mapping[str, Any]) -> str:
    """Horizontal bars for every rate metric; current beside baseline when one is given."""
    compared = baseline_metrics(report)
    k = report["settings"].get("k")
    names = list(RATE_METRICS)
    label_w, bar_w, value_w = 330, 420, 70
    per_row = 2 if compared else 1
    bar_h, gap = 16, 12
    row_h = per_row * bar_h + gap
    legend_h = 26 if compared else 0
    height = legend_h + len(names) * row_h + 24
    width = label_w + bar_w + value_w
    parts: list[str] = []
    if compared:
        parts.append(_legend(label_w, 6))
    for i, name in enumerate(names):
        y = legend_h + i * row_h
        label = metric_label(name, k)
        if not METRICS[name].higher_is_better:
            label += " ↓"
        parts.append(
            f'<text x="{label_w - 8}" y="{y + bar_h - 3}" text-anchor="end" '
            f'font-size="13" fill="{INK}">{_e(label)}</text>'
        )
        series = [("current", report["metrics"].get(name), CURRENT)]
        if compared:
            series.append(("baseline", compared.get(name, {}).get("baseline"), BASELINE))
        for j, (kind, value, colour) in enumerate(series):
            by = y + j * bar_h
            length = 0.0 if value is None else max(0.0, min(1.0, value)) * bar_w
            parts.append(
                f'<rect class="bar bar-{kind}" data-metric="{name}" x="{label_w}" y="{by + 1}" '
                f'width="{length:.1f}" height="{bar_h - 3}" fill="{colour}"/>'
            )
            parts.append(
                f'<text x="{label_w + length + 4:.1f}" y="{by + bar_h - 4}" font-size="12" '
                f'fill="{INK}">{_e(format_value(name, value))}</text>'
            )
    axis_y = legend_h + len(names) * row_h + 2
    grid: list[str] = []  # drawn first, so that bars lie on top of the grid lines
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        x = label_w + tick * bar_w
        grid.append(
            f'<line x1="{x:.1f}" y1="{legend_h}" x2="{x:.1f}" y2="{axis_y}" '
            f'stroke="#c8c8c8" stroke-width="1"/>'
            f'<text x="{x:.1f}" y="{axis_y + 14}" text-anchor="middle" font-size="11" '
            f'fill="{MUTED}">{tick:g}</text>'
        )
    parts = grid + parts
    summary = "; ".join(
        f"{metric_label(n, k)} {format_value(n, report['metrics'].get(n))}"
        + (
            f" (Basis / baseline {format_value(n, compared.get(n, {}).get('baseline'))})"
            if compared
            else ""
        )
        for n in names
    )
    title = "Kennzahlen / metrics" + (
        " – aktuell und Basis / current and baseline" if compared else ""
    )
    return _svg("chart-metrics", width, height, title, summary, parts)


def _legend(x: int, y: int) -> str:
    return (
        f'<rect x="{x}" y="{y}" width="14" height="12" fill="{CURRENT}"/>'
        f'<text x="{x + 20}" y="{y + 11}" font-size="12" fill="{INK}">aktuell / current</text>'
        f'<rect x="{x + 150}" y="{y}" width="14" height="12" fill="{BASELINE}"/>'
        f'<text x="{x + 170}" y="{y + 11}" font-size="12" fill="{INK}">Basis / baseline</text>'
    )


def histogram_bins(values: Sequence[float], bins: int = 10) -> list[tuple[float, float, int]]:
    """Equal-width bins (low, high, count) over the values; one bin when all are equal."""
    if not values:
        return []
    low, high = min(values), max(values)
    if high <= low:
        return [(low, high, len(values))]
    width = (high - low) / bins
    counts = [0] * bins
    for value in values:
        counts[min(bins - 1, int((value - low) / width))] += 1
    return [(low + i * width, low + (i + 1) * width, n) for i, n in enumerate(counts)]


def latency_chart(report: Mapping[str, Any]) -> str:
    """A histogram of per-question latencies with the p50 and p95 marked."""
    latencies = [r["latency_ms"] for r in report["questions"] if not r["error"]]
    bins = histogram_bins(latencies)
    left, bottom, plot_w, plot_h = 50, 40, 700, 200
    width, height = left + plot_w + 20, plot_h + bottom + 20
    top = 10
    parts: list[str] = [
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
        f'stroke="{INK}"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="{INK}"/>',
        f'<text x="{left + plot_w / 2}" y="{height - 4}" text-anchor="middle" font-size="12" '
        f'fill="{INK}">Antwortzeit / latency (ms)</text>',
    ]
    peak = max((n for _, _, n in bins), default=0) or 1
    slot = plot_w / max(1, len(bins))
    for i, (lo, hi, n) in enumerate(bins):
        h = n / peak * (plot_h - 10)
        x = left + i * slot
        parts.append(
            f'<rect class="bar bar-latency" x="{x + 2:.1f}" y="{top + plot_h - h:.1f}" '
            f'width="{slot - 4:.1f}" height="{h:.1f}" fill="{HISTOGRAM}">'
            f"<title>{lo:.0f}–{hi:.0f} ms: {n}</title></rect>"
        )
        if n:
            parts.append(
                f'<text x="{x + slot / 2:.1f}" y="{top + plot_h - h - 3:.1f}" '
                f'text-anchor="middle" font-size="11" fill="{INK}">{n}</text>'
            )
        parts.append(
            f'<text x="{x + slot / 2:.1f}" y="{top + plot_h + 14}" text-anchor="middle" '
            f'font-size="10" fill="{MUTED}">{lo:.0f}</text>'
        )
    if bins:
        lo, hi = bins[0][0], bins[-1][1]
        for name, dash in (("latency_ms_p50", "4 3"), ("latency_ms_p95", "8 3")):
            value = report["metrics"].get(name)
            if value is None:
                continue
            x = left + (plot_w if hi <= lo else (value - lo) / (hi - lo) * plot_w)
            parts.append(
                f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + plot_h}" '
                f'stroke="{INK}" stroke-dasharray="{dash}"/>'
                f'<text x="{x + 3:.1f}" y="{top + 12}" font-size="11" fill="{INK}">'
                f"{name[-3:]}</text>"
            )
    summary = (
        f"{len(latencies)} Fragen / questions; p50 "
        f"{format_value('latency_ms_p50', report['metrics'].get('latency_ms_p50'))}, p95 "
        f"{format_value('latency_ms_p95', report['metrics'].get('latency_ms_p95'))}; "
        + "; ".join(f"{lo:.0f}–{hi:.0f} ms: {n}" for lo, hi, n in bins)
    )
    return _svg("chart-latency", width, height, "Antwortzeiten / latency histogram", summary, parts)


def _svg(
    element_id: str, width: float, height: float, title: str, desc: str, parts: Sequence[str]
) -> str:
    return (
        f'<svg id="{element_id}" role="img" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" height="{height:.0f}" '
        f'aria-labelledby="{element_id}-title {element_id}-desc">'
        f'<title id="{element_id}-title">{_e(title)}</title>'
        f'<desc id="{element_id}-desc">{_e(desc)}</desc>' + "".join(parts) + "</svg>"
    )


# --- tables --------------------------------------------------------------------------------
def _metric_table(report: Mapping[str, Any]) -> str:
    compared = baseline_metrics(report)
    k = report["settings"].get("k")
    head = "<tr><th scope='col'>Kennzahl / metric</th><th scope='col'>Wert / value</th>"
    if compared:
        head += "<th scope='col'>Basis / baseline</th><th scope='col'>Δ</th>"
    head += "<th scope='col'>Bedeutung / meaning</th></tr>"
    rows = []
    for name, info in METRICS.items():
        cells = [
            f"<th scope='row'>{_e(metric_label(name, k))} <code>{_e(name)}</code></th>",
            f"<td class='num'>{_e(format_value(name, report['metrics'].get(name)))}</td>",
        ]
        if compared:
            row = compared.get(name, {})
            cells.append(f"<td class='num'>{_e(format_value(name, row.get('baseline')))}</td>")
            cells.append(
                f"<td class='num'>{_e(format_delta(name, row.get('delta')))} "
                f"{_e(_change_word(row.get('change', 'n/a')))}</td>"
            )
        direction = "höher ist besser" if info.higher_is_better else "niedriger ist besser"
        cells.append(f"<td>{_e(info.description or info.label_en)} ({direction})</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table id='metrics'><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"


def _change_word(change: str) -> str:
    return {"better": "besser", "worse": "schlechter", "same": "gleich"}.get(change, "")


def _question_table(report: Mapping[str, Any]) -> str:
    rows = []
    for row in ordered_rows(report):
        badge = (
            "<span class='badge pass'>✔ bestanden</span>"
            if row["passed"]
            else "<span class='badge fail'>✘ fehlgeschlagen</span>"
        )
        checks = "".join(
            f"<li>{'✔' if c['passed'] else '✘'} <strong>{_e(c['name'])}</strong> "
            f"<span class='reason'>{_e(c['reason'])}</span></li>"
            for c in row["checks"]
        )
        sources = ", ".join(
            f"[{s['n']}] {_e(s['reference'] or s['file'] or s['document_id'])}"
            + (" (gold)" if s["gold"] else "")
            for s in row["sources"]
        )
        kind = "beantwortbar" if row["answerable"] else "nicht beantwortbar"
        rows.append(
            f"<tr class='{'pass' if row['passed'] else 'fail'}-row'>"
            f"<td>{_e(row['id'])}</td><td>{badge}</td>"
            f"<td>{_e(row['question'])}<br><small>{kind} · {_e(row['audience'])}</small></td>"
            f"<td>{_e(row['answer'])}<br><small>{sources or '–'}</small></td>"
            f"<td><ul class='checks'>{checks}</ul></td>"
            f"<td class='num'>{row['latency_ms']:.0f}</td></tr>"
        )
    return (
        "<table id='questions'><caption>Fehlgeschlagene zuerst / failures first</caption>"
        "<thead><tr><th scope='col'>id</th><th scope='col'>Ergebnis / result</th>"
        "<th scope='col'>Frage / question</th><th scope='col'>Antwort / answer</th>"
        "<th scope='col'>Prüfungen / checks</th><th scope='col'>ms</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _settings_list(settings: Mapping[str, Any]) -> str:
    keys = (
        ("question_file", "Fragen / questions"),
        ("backend", "Backend"),
        ("model", "Modell / model"),
        ("embedding_model", "Einbettung / embedding"),
        ("store", "Index"),
        ("collection", "Collection"),
        ("documents", "Dokumente / documents"),
        ("k", "k"),
        ("top_k", "top_k"),
        ("grounding_method", "Belegprüfung / grounding check"),
        ("timestamp", "Zeitpunkt / timestamp"),
    )
    items = "".join(
        f"<dt>{_e(label)}</dt><dd>{_e(settings.get(key, ''))}</dd>" for key, label in keys
    )
    return f"<dl class='settings'>{items}</dl>"


def _baseline_section(report: Mapping[str, Any]) -> str:
    baseline = report.get("baseline")
    if not baseline:
        return ""
    regressions = "".join(
        f"<li><strong>{_e(r['id'])}</strong> {_e(r['question'])}: "
        f"<span class='reason'>{_e('; '.join(r['failed']))}</span></li>"
        for r in baseline["regressions"]
    )
    fixed = ", ".join(_e(q) for q in baseline["fixed"]) or "–"
    return (
        "<h2>Verschlechtert seit Basis / regressed since baseline</h2>"
        f"<p>Basis / baseline: {_e(baseline.get('source', ''))} "
        f"({_e(baseline.get('timestamp', ''))})</p>"
        f"<ul>{regressions or '<li>keine / none</li>'}</ul>"
        f"<p>Behoben / fixed: {fixed}</p>"
    )


def _gate_section(report: Mapping[str, Any]) -> str:
    gate = report.get("gate") or {}
    if not gate.get("bounds"):
        return ""
    bounds = "".join(f"<li><code>{_e(b)}</code></li>" for b in gate["bounds"])
    violations = "".join(f"<li class='violation'>{_e(v)}</li>" for v in gate["violations"])
    verdict = "bestanden / passed" if gate.get("passed") else "nicht bestanden / failed"
    return f"<h2>Schwellen / gate: {verdict}</h2><ul>{bounds}{violations}</ul>"


def to_html(report: Mapping[str, Any]) -> str:
    """The whole report as one self-contained HTML page."""
    c = report["counts"]
    summary = "".join(
        f"<div><strong>{_e(value)}</strong>{_e(label)}</div>"
        for value, label in (
            (c["questions"], "Fragen / questions"),
            (c["passed"], "bestanden / passed"),
            (c["failed"], "fehlgeschlagen / failed"),
            (c["errors"], "Fehler / errors"),
        )
    )
    return (
        "<!DOCTYPE html>\n<html lang='de'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<meta http-equiv='Content-Security-Policy' "
        "content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
        "<title>Schängel – Auswertung / evaluation report</title>"
        f"<style>{CSS}</style></head><body><main>"
        "<h1>Schängel – Auswertung / evaluation report</h1>"
        f"{_settings_list(report['settings'])}"
        f"<div class='summary'>{summary}</div>"
        f"{_gate_section(report)}"
        "<h2>Kennzahlen / metrics</h2>"
        f"<figure>{metric_chart(report)}<figcaption>Anteile von 0 bis 1; ↓ = niedriger ist "
        "besser / shares from 0 to 1; ↓ = lower is better. Zahlen auch in der Tabelle.</figcaption>"
        f"</figure>{_metric_table(report)}"
        f"{_baseline_section(report)}"
        "<h2>Antwortzeiten / latency</h2>"
        f"<figure>{latency_chart(report)}<figcaption>Anzahl der Fragen je Zeitspanne / questions "
        "per latency range; gestrichelt: p50 und p95.</figcaption></figure>"
        "<h2>Fragen / questions</h2>"
        f"{_question_table(report)}"
        "</main></body></html>\n"
    )
