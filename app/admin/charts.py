"""Small SVG charts rendered on the server: no script, no inline style, no third-party library.

Colours come from classes in minyi.css (.s0 … .s5). A hidden value (None) is drawn as a gap with
the words of the `hidden` label, never as zero. Every chart carries a <title> and is paired with a
table on the page, so it is readable without the picture.
"""

from markupsafe import Markup, escape

WIDTH = 640
ROW = 26
LABEL = 170


def _svg(height: int, title: str, body: str) -> Markup:
    # Every text part is escaped in _text/_svg; numbers are formatted by us.
    return Markup(  # noqa: S704
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMinYMin meet">'
        f"<title>{escape(title)}</title>{body}</svg>"
    )


def _text(x, y, text, cls="", anchor="start") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" class="{cls}" text-anchor="{anchor}">{escape(text)}</text>'
    )


def bar_chart(rows: list[tuple[str, float | None]], title: str, hidden: str, fmt="{:g}") -> Markup:
    """Horizontal bars, one per (label, value); None is written as the hidden label."""
    top = max([v for _l, v in rows if v is not None] or [1]) or 1
    span = WIDTH - LABEL - 60
    parts = []
    for index, (label, value) in enumerate(rows):
        y = 4 + index * ROW
        parts.append(_text(LABEL - 6, y + 16, label[:14], "axis", "end"))
        if value is None:
            parts.append(_text(LABEL + 4, y + 16, hidden, "hidden"))
            continue
        length = max(1.0, span * value / top)
        parts.append(
            f'<rect x="{LABEL}" y="{y + 3}" width="{length:.1f}" height="{ROW - 8}" class="s0"/>'
        )
        parts.append(_text(LABEL + length + 4, y + 16, fmt.format(value), "value"))
    return _svg(8 + ROW * max(1, len(rows)), title, "".join(parts))


def line_chart(
    labels: list[str], series: dict[str, list[float | None]], title: str, names: dict | None = None
) -> Markup:
    """One line per series over the labels (dates); a None breaks the line."""
    height, left, bottom, right = 220, 40, 30, 120
    values = [v for s in series.values() for v in s if v is not None]
    top = max(values or [1]) or 1
    n = max(1, len(labels) - 1)
    x_of = lambda i: left + (WIDTH - left - right) * i / n  # noqa: E731
    y_of = lambda v: height - bottom - (height - bottom - 10) * v / top  # noqa: E731
    parts = [
        f'<line x1="{left}" y1="{height - bottom}" x2="{WIDTH - right}" y2="{height - bottom}" class="axis"/>',
        _text(left - 4, y_of(top) + 4, f"{top:g}", "axis", "end"),
        _text(left - 4, height - bottom + 4, "0", "axis", "end"),
    ]
    if labels:
        parts.append(_text(left, height - 8, labels[0], "axis"))
        if len(labels) > 1:
            parts.append(_text(WIDTH - right, height - 8, labels[-1], "axis", "end"))
    for index, (name, points) in enumerate(series.items()):
        cls = f"s{index % 6}"
        run: list[str] = []
        runs = []
        for i, value in enumerate(points):
            if value is None:
                runs.append(run)
                run = []
            else:
                run.append(f"{x_of(i):.1f},{y_of(value):.1f}")
        runs.append(run)
        for r in runs:
            if len(r) > 1:
                parts.append(f'<polyline points="{" ".join(r)}" class="line {cls}"/>')
            elif len(r) == 1:
                x, y = r[0].split(",")
                parts.append(f'<circle cx="{x}" cy="{y}" r="3" class="{cls}"/>')
        legend_y = 16 + index * 18
        parts.append(
            f'<rect x="{WIDTH - right + 10}" y="{legend_y - 10}" width="12" height="12" class="{cls}"/>'
        )
        parts.append(_text(WIDTH - right + 26, legend_y, (names or {}).get(name, name), "axis"))
    return _svg(height, title, "".join(parts))


def dot_whisker(
    rows: list[tuple[str, float | None, float | None, float | None]],
    title: str,
    hidden: str,
    scale: float = 100,
    marks: tuple[float, ...] = (80, 90),
) -> Markup:
    """A dot per (label, score, ci_low, ci_high) on 0..scale with its confidence interval as whiskers."""
    span = WIDTH - LABEL - 50
    x_of = lambda v: LABEL + span * max(0.0, min(v, scale)) / scale  # noqa: E731
    height = 24 + ROW * max(1, len(rows))
    parts = []
    for mark in (0, *marks, scale):
        x = x_of(mark)
        parts.append(f'<line x1="{x:.1f}" y1="4" x2="{x:.1f}" y2="{height - 18}" class="grid"/>')
        parts.append(_text(x, height - 4, f"{mark:g}", "axis", "middle"))
    for index, (label, score, low, high) in enumerate(rows):
        y = 4 + index * ROW + ROW / 2
        parts.append(_text(LABEL - 6, y + 5, label[:14], "axis", "end"))
        if score is None:
            parts.append(_text(LABEL + 4, y + 5, hidden, "hidden"))
            continue
        if low is not None and high is not None:
            parts.append(
                f'<line x1="{x_of(low):.1f}" y1="{y:.1f}" x2="{x_of(high):.1f}" y2="{y:.1f}" class="whisker"/>'
                f'<line x1="{x_of(low):.1f}" y1="{y - 6:.1f}" x2="{x_of(low):.1f}" y2="{y + 6:.1f}" class="whisker"/>'
                f'<line x1="{x_of(high):.1f}" y1="{y - 6:.1f}" x2="{x_of(high):.1f}" y2="{y + 6:.1f}" class="whisker"/>'
            )
        parts.append(f'<circle cx="{x_of(score):.1f}" cy="{y:.1f}" r="5" class="s0"/>')
        parts.append(_text(WIDTH - 4, y + 5, f"{score:.1f}", "value", "end"))
    return _svg(height, title, "".join(parts))
