"""The refusal curve of the answerability score, and the operating point it picks.

Each threshold t refuses every answer scoring below it. Sweeping t trades refusals of
unanswerable questions (wanted) against refusals of answerable ones (false refusals).
The rule: the threshold refusing the most unanswerable questions while false refusals
stay at or under `MAX_FALSE_REFUSALS`; of equals, the lowest. Answers refused before
they were scored (no relevant passage, no evidence) count as score 0.
"""

from collections.abc import Sequence
from dataclasses import dataclass

MAX_FALSE_REFUSALS = 0.05


@dataclass(frozen=True)
class CurvePoint:
    threshold: float
    false_refusals: float  # share of answerable questions refused
    refused_unanswerable: float  # share of unanswerable questions refused


def refusal_curve(scored: Sequence[tuple[bool, float]]) -> list[CurvePoint]:
    """`scored`: (answerable, score) per question; one point per distinct threshold."""
    answerable = [s for a, s in scored if a]
    unanswerable = [s for a, s in scored if not a]
    if not answerable or not unanswerable:
        return []
    thresholds = sorted({0.0, *(s for _, s in scored if s >= 0), 1.0 + 1e-9})
    return [
        CurvePoint(
            threshold=round(t, 4),
            false_refusals=sum(s < t for s in answerable) / len(answerable),
            refused_unanswerable=sum(s < t for s in unanswerable) / len(unanswerable),
        )
        for t in thresholds
    ]


def operating_point(
    curve: Sequence[CurvePoint], max_false_refusals: float = MAX_FALSE_REFUSALS
) -> CurvePoint | None:
    """The rule's point; when no threshold keeps false refusals under the cap (some are
    refused before scoring), the one with the fewest."""
    if not curve:
        return None
    floor = max(max_false_refusals, min(p.false_refusals for p in curve))
    allowed = [p for p in curve if p.false_refusals <= floor]
    return max(allowed, key=lambda p: (p.refused_unanswerable, -p.threshold))


def curve_svg(curve: Sequence[CurvePoint], chosen: CurvePoint | None) -> str:
    """False refusals (x) against refused unanswerable (y), the chosen point marked."""
    if not curve:
        return "<p class=muted>needs answerable and unanswerable questions with scores</p>"

    def xy(p: CurvePoint) -> tuple[float, float]:
        return 50 + 400 * p.false_refusals, 230 - 200 * p.refused_unanswerable

    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in map(xy, curve))
    parts = [
        '<svg width="520" height="280" role="img" aria-label="refusal curve">',
        '<rect x="50" y="30" width="400" height="200" fill="#f6f7f9"/>',
        f'<polyline points="{path}" fill="none" stroke="#4f6bed" stroke-width="2"/>',
        f'<line x1="{50 + 400 * MAX_FALSE_REFUSALS}" y1="30" x2="{50 + 400 * MAX_FALSE_REFUSALS}"'
        ' y2="230" stroke="#b42318" stroke-dasharray="4 3"/>',
        '<text x="50" y="255" font-size="12">false refusals (answerable refused) 0 → 1</text>',
        '<text x="0" y="20" font-size="12">refused unanswerable 0 → 1</text>',
    ]
    if chosen is not None:
        x, y = xy(chosen)
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="#b42318"/>')
        parts.append(
            f'<text x="{x + 8:.1f}" y="{y + 14:.1f}" font-size="12">t = {chosen.threshold:.3f}'
            "</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
