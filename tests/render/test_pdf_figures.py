"""The PDF's copy of a figure (dossier.render.pdf.lighter_svg): fewer nodes and no CSS to parse, drawn the same.

"Drawn the same" is checked on a matplotlib figure with the project's settings (lines, markers, error bars,
a filled band, clipped axes, text and a legend): the lighter SVG is well-formed, holds the same drawing
elements in the same order with the same geometry and text, and every one of them resolves to the same
presentation properties (own attributes, style declarations, matplotlib's ``*`` rule, then inheritance).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from matplotlib import rc_context
from matplotlib.figure import Figure

from dossier.render.figures import RC, svg_markup
from dossier.render.pdf import _MPL_RULE, lighter_svg, merged_markers, svgs_as_images

SVG_NS = "{http://www.w3.org/2000/svg}"
DRAWN = ("path", "use", "text", "rect", "line", "circle", "polyline", "polygon", "ellipse")
INHERITED = ("fill", "fill-opacity", "fill-rule", "stroke", "stroke-width", "stroke-opacity", "stroke-linejoin",
             "stroke-linecap", "stroke-dasharray", "stroke-dashoffset", "stroke-miterlimit", "clip-rule",
             "font-size", "font-family", "font-weight", "font-style", "text-anchor")
OWN = ("opacity", "clip-path", "transform", "d", "x", "y", "width", "height", "{http://www.w3.org/1999/xlink}href")


def _figure() -> str:
    with rc_context(RC):
        fig = Figure(figsize=(4, 3))
        ax = fig.subplots()
        x = [1, 2, 3, 4, 5]
        ax.plot(x, [0.1, 0.2, 0.15, 0.3, 0.4], marker="o", label="observed")
        ax.errorbar(x, [0.12, 0.22, 0.1, 0.35, 0.38], yerr=0.05, fmt="s", capsize=3, label="estimate")
        ax.fill_between(x, [0, 0.1, 0.05, 0.2, 0.3], [0.2, 0.3, 0.25, 0.4, 0.5], alpha=0.3)
        ax.axhline(0.3, linestyle="--", color="#8c510a")
        ax.text(3, 0.45, "3/12", ha="center")
        ax.set_xlabel("Dose [mg]")
        ax.set_ylabel("DLT rate")
        ax.set_ylim(0, 0.5)  # the band and the markers are clipped to the axes
        ax.legend()
        return svg_markup(fig, bbox_inches="tight")


def _declarations(text: str) -> dict[str, str]:
    return {k.strip(): v.strip() for k, v in (d.split(":", 1) for d in text.split(";") if ":" in d)}


def _drawn(svg: str) -> list[tuple]:
    """(tag, geometry, text, resolved properties) of every drawing element, in document order."""
    body = re.sub(r"^.*?(?=<svg\b)", "", svg, flags=re.S)
    root = ET.fromstring(body)
    star = _declarations(_MPL_RULE.split("*{")[1].split("}")[0]) if _MPL_RULE in svg else {}
    out: list[tuple] = []

    def walk(node, inherited: dict[str, str], groups: tuple = ()) -> None:
        tag = node.tag.replace(SVG_NS, "")
        if tag in ("defs", "clipPath", "metadata", "style"):
            return
        # CSS precedence: the style attribute, then a style sheet rule (the * rule), then presentation attributes
        own = {k: v for k, v in node.attrib.items() if k in INHERITED}
        own = {**own, **star, **_declarations(node.get("style", ""))}
        props = {**inherited, **own}
        if tag in DRAWN:
            out.append((tag, tuple(node.get(k) for k in OWN), (node.text or "").strip(),
                        tuple(sorted((k, v.strip("'\"")) for k, v in props.items())), groups))
        # what a group applies to its content as a whole (clipping, transform, opacity)
        here = tuple((k, node.get(k)) for k in ("clip-path", "transform", "opacity") if node.get(k)) \
            if tag == "g" else ()
        for child in node:
            walk(child, props, groups + here)

    walk(root, {})
    return out


def test_lighter_svg_draws_the_same_elements_with_the_same_properties():
    svg = _figure()
    light = lighter_svg(svg)
    assert _drawn(light) == _drawn(svg)
    assert len(_drawn(svg)) > 30  # the figure has something to draw


def test_lighter_svg_has_fewer_nodes_and_no_css():
    svg = _figure()
    light = lighter_svg(svg)
    assert light.count("<g") < svg.count("<g") / 3
    assert "<metadata" not in light and "<style" not in light and ' style="' not in light
    assert light.startswith("<?xml") or light.lstrip().startswith("<svg") or "<svg" in light
    ET.fromstring(re.sub(r"^.*?(?=<svg\b)", "", light, flags=re.S))


def test_referenced_groups_and_other_style_sheets_are_kept():
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
           '<defs><style type="text/css">path{stroke: red}</style></defs>'
           '<g id="keep"><path d="M 0 0 L 1 1" style="fill: none"/></g><g id="drop"><g id="empty"/></g>'
           '<use xlink:href="#keep"/></svg>')
    light = lighter_svg(svg)
    assert '<g id="keep">' in light and 'id="drop"' not in light and 'id="empty"' not in light
    assert 'style="fill: none"' in light  # a style sheet other than matplotlib's: styles stay styles


def test_only_the_pdf_copy_is_lightened():
    svg = _figure()
    html = f"<html><body><figure>{svg}</figure></body></html>"
    body, figures = svgs_as_images(html)
    assert "<svg" not in body and list(figures) == ["0"]
    assert figures["0"].decode("utf-8") == merged_markers(lighter_svg(svg[svg.index("<svg"):].rstrip()))


# --- markers merged into paths (dossier.render.pdf.merged_markers) ---

def _subpaths(svg: str) -> list[tuple]:
    """What is painted, in order: one (rounded absolute points, properties) per subpath, a marker's <use>
    expanded to its path translated to (x, y) with the path's own properties over the use's."""
    from dossier.render.pdf import _path_points

    root = ET.fromstring(re.sub(r"^.*?(?=<svg\b)", "", svg, flags=re.S))
    defs = {n.get("id"): n for n in root.iter(f"{SVG_NS}path") if n.get("id")}
    out: list[tuple] = []

    def painted(d: str, dx: float, dy: float, props: dict) -> None:
        points = _path_points(d)
        assert points is not None
        sub: list = []
        for p in points + ["M"]:
            if p == "M" and sub:
                out.append((tuple(sub), tuple(sorted(props.items()))))
                sub = []
            sub.append(p if isinstance(p, str) else (round(p[0] + dx, 4), round(p[1] + dy, 4)))

    def walk(node, in_defs: bool = False) -> None:
        tag = node.tag.replace(SVG_NS, "")
        in_defs = in_defs or tag in ("defs", "clipPath")
        if not in_defs and tag == "use":
            ref = defs[node.get("{http://www.w3.org/1999/xlink}href")[1:]]
            props = {k: v for k, v in node.attrib.items() if k not in ("x", "y") and "href" not in k}
            props.update({k: v for k, v in ref.attrib.items() if k not in ("id", "d")})
            painted(ref.get("d"), float(node.get("x", 0)), float(node.get("y", 0)), props)
        elif not in_defs and tag == "path" and "id" not in node.attrib:
            painted(node.get("d"), 0.0, 0.0, {k: v for k, v in node.attrib.items() if k != "d"})
        for child in node:
            walk(child, in_defs)

    walk(root)
    return out


def test_merged_markers_paint_the_same_subpaths_in_the_same_order():
    light = lighter_svg(_figure())
    merged = merged_markers(light)
    assert merged.count("<use") < light.count("<use") / 2  # most markers merged (ticks, points, caps)
    assert _subpaths(merged) == _subpaths(light)
    assert len(_subpaths(light)) > 40
    ET.fromstring(re.sub(r"^.*?(?=<svg\b)", "", merged, flags=re.S))


def _markers(fill: str, stroke: str, positions, extra: str = "") -> str:
    uses = "".join(f'<use xlink:href="#m1" x="{x}" y="{y}" fill="{fill}" stroke="{stroke}"{extra}/>'
                   for x, y in positions)
    return ('<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"><defs>'
            '<path id="m1" d="M 0 -2 L 2 0 L 0 2 L -2 0 z"/></defs>' + uses + "</svg>")


def test_overlapping_markers_are_merged_only_when_order_cannot_matter():
    apart, close = [(10, 10), (30, 10), (50, 10)], [(10, 10), (11, 10), (50, 10)]
    # apart: any paint; overlapping: one colour only (the union of same-coloured shapes is order-free)
    assert "<use" not in merged_markers(_markers("#1f77b4", "#000000", apart))
    assert "<use" not in merged_markers(_markers("#1f77b4", "#1f77b4", close))
    assert merged_markers(_markers("#1f77b4", "#000000", close)).count("<use") == 3  # edge over fill: kept
    # transparency or a transform: kept as they are
    assert merged_markers(_markers("#1f77b4", "#1f77b4", close, ' fill-opacity="0.5"')).count("<use") == 3
    assert merged_markers(_markers("#1f77b4", "#1f77b4", apart, ' transform="scale(2)"')).count("<use") == 3
    merged = merged_markers(_markers("#1f77b4", "#1f77b4", apart))
    assert 'd="M 10 8 L 12 10 L 10 12 L 8 10 z M 30 8 L 32 10' in merged
    assert _subpaths(merged) == _subpaths(_markers("#1f77b4", "#1f77b4", apart))
