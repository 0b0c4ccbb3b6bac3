"""Comparing a report with a previous one: every metric's change, questions that regressed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from chatbot.errors import SchaengelError
from eval.metrics import METRICS


class BaselineError(SchaengelError):
    """The baseline file is missing or is not a report JSON of ``schaengel eval``."""

    message_de = "Der Vergleichsbericht ist ungültig."


def load_baseline(path: Path) -> dict[str, Any]:
    """Read a previous report JSON (as written by ``--report`` or printed by ``--json``)."""
    if not path.is_file():
        raise BaselineError(f"baseline {path} does not exist")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BaselineError(f"baseline {path} is not valid JSON: {exc}") from None
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("metrics"), dict)
        or not isinstance(data.get("questions"), list)
    ):
        raise BaselineError(f"baseline {path} is not a report of schaengel eval")
    return data


def _change(name: str, current: float | None, previous: float | None) -> tuple[float | None, str]:
    if current is None or previous is None:
        return None, "n/a"
    delta = round(current - previous, 4)
    if abs(delta) < 1e-9:
        return 0.0, "same"
    better = delta > 0 if METRICS[name].higher_is_better else delta < 0
    return delta, "better" if better else "worse"


def compare(report: dict[str, Any], baseline: dict[str, Any], source: str = "") -> dict[str, Any]:
    """The differences between ``report`` and ``baseline`` (both report JSON objects)."""
    metrics = []
    for name in METRICS:
        current = report["metrics"].get(name)
        previous = baseline["metrics"].get(name)
        delta, change = _change(name, current, previous)
        metrics.append(
            {
                "metric": name,
                "current": current,
                "baseline": previous,
                "delta": delta,
                "change": change,
            }
        )
    before = {str(q.get("id")): q for q in baseline["questions"] if isinstance(q, dict)}
    now = {q["id"]: q for q in report["questions"]}
    regressions = [
        {
            "id": qid,
            "question": row["question"],
            "failed": [f"{c['name']}: {c['reason']}" for c in row["checks"] if not c["passed"]],
        }
        for qid, row in now.items()
        if qid in before and before[qid].get("passed") and not row["passed"]
    ]
    fixed = [
        qid
        for qid, row in now.items()
        if qid in before and not before[qid].get("passed") and row["passed"]
    ]
    settings = baseline.get("settings") or {}
    return {
        "source": source,
        "timestamp": settings.get("timestamp", ""),
        "backend": settings.get("backend", ""),
        "metrics": metrics,
        "regressions": regressions,
        "fixed": fixed,
        "added": [qid for qid in now if qid not in before],
        "removed": [qid for qid in before if qid not in now],
    }
