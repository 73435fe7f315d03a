"""The policy's plain text as blocks a template can lay out: headings, paragraphs and numbered lists.

The document is the department's text, not markdown written for a renderer: a short line standing alone is
a heading, numbered lines form a list, the rest are paragraphs. The template escapes every word of it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

_NUMBERED = re.compile(r"^\s*(\d{1,3})[.)]\s+(.*)$")
_BULLET = re.compile(r"^\s*[-*•]\s+(.*)$")
HEADING_MAX_CHARS = 80


@dataclass
class Block:
    kind: Literal["heading", "paragraph", "ordered", "unordered"]
    text: str = ""
    items: list[str] = field(default_factory=list)
    start: int = 1


def policy_blocks(document: str) -> list[Block]:
    """Blocks in document order; nothing of the text is dropped."""
    blocks: list[Block] = []
    for chunk in re.split(r"\n\s*\n", document.strip()):
        lines = [line for line in chunk.splitlines() if line.strip()]
        if not lines:
            continue
        numbered = [_NUMBERED.match(line) for line in lines]
        bullets = [_BULLET.match(line) for line in lines]
        if all(numbered):
            start = int(numbered[0].group(1)) if numbered[0] else 1
            blocks.append(Block("ordered", items=[m.group(2) for m in numbered if m], start=start))
        elif all(bullets):
            blocks.append(Block("unordered", items=[m.group(1) for m in bullets if m]))
        elif len(lines) == 1 and _is_heading(lines[0]):
            blocks.append(Block("heading", text=lines[0].strip().lstrip("#").strip()))
        else:
            blocks.append(Block("paragraph", text=" ".join(line.strip() for line in lines)))
    return blocks


def _is_heading(line: str) -> bool:
    """A markdown heading, or a short line without a sentence's closing punctuation."""
    text = line.strip()
    return text.startswith("#") or (len(text) <= HEADING_MAX_CHARS and not text.endswith((".", ",", ";", ":")))
