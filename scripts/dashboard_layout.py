"""Read a synthesized dashboard body: its widgets, their metrics, and a text rendering of the grid."""

from __future__ import annotations

import json
from typing import Any

TOKEN = "<token>"  # noqa: S105 - a placeholder for unresolved values, not a password


def dashboard_body(body: Any) -> dict[str, Any]:
    """Parse a DashboardBody (a string or an Fn::Join of strings and tokens) into JSON."""
    if isinstance(body, str):
        return dict(json.loads(body))
    parts = body["Fn::Join"][1]
    text = "".join(part if isinstance(part, str) else TOKEN for part in parts)
    return dict(json.loads(text))


def metrics_of(widget: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(namespace, metric name, statistic) of each plain metric of a widget."""
    found = []
    properties = widget.get("properties", {})
    for row in properties.get("metrics", []):
        if not row or isinstance(row[0], dict):
            continue  # a math expression row
        options = row[-1] if isinstance(row[-1], dict) else {}
        names = [r for r in row if not isinstance(r, dict)]
        namespace, metric = names[0], names[1]
        if namespace == ".":
            continue
        found.append((namespace, metric, options.get("stat", properties.get("stat", "Average"))))
    return found


def render(body: dict[str, Any]) -> str:
    """The widget grid as text: one line per row of widgets, each [title (width)]."""
    rows: dict[int, list[dict[str, Any]]] = {}
    for widget in body["widgets"]:
        rows.setdefault(widget["y"], []).append(widget)
    lines = []
    for y in sorted(rows):
        cells = []
        for widget in sorted(rows[y], key=lambda w: w["x"]):
            props = widget.get("properties", {})
            title = props.get("title") or props.get("markdown", "").lstrip("# ")
            cells.append(f"[{title} ({widget['width']}x{widget['height']})]")
        lines.append(f"y={y:>2}  " + " ".join(cells))
    return "\n".join(lines)
