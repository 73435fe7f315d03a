"""Namespace-agnostic reading of vendor XML (Hikvision changes namespace between firmwares)."""

from __future__ import annotations

from xml.etree.ElementTree import Element


def local_name(tag: str) -> str:
    """`{ns}name` → `name`."""
    return tag.rsplit("}", 1)[-1]


def child(elem: Element | None, *names: str) -> Element | None:
    """The first element down the path of local names, or None."""
    for name in names:
        if elem is None:
            return None
        elem = next((c for c in elem if local_name(c.tag) == name), None)
    return elem


def children(elem: Element | None, name: str) -> list[Element]:
    """Direct children with this local name."""
    return [] if elem is None else [c for c in elem if local_name(c.tag) == name]


def text(elem: Element | None, *names: str) -> str | None:
    """Stripped text at the path; None when absent or empty."""
    found = child(elem, *names)
    value = (found.text or "").strip() if found is not None else ""
    return value or None
