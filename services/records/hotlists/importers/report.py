"""What an import produced: entries accepted with their line numbers, lines refused with a reason code."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from services.records.hotlists.entries import HotlistEntryIn

# A refusal on one of these codes concerns the whole file (truncated, miscounted), not one line.
FILE_LEVEL_CODES = frozenset({"footer_count_mismatch", "missing_footer", "empty_file", "unknown_format"})


class HotlistFormat(StrEnum):
    NCIC_FIXED = "ncic_fixed"
    NCIC_COMMA = "ncic_comma"
    CA_DOJ_CLEW = "ca_doj_clew"
    GENETEC = "genetec"
    CSV = "csv"


class LineRefused(Exception):
    """Raised by a line parser; the import records it against the line and goes on."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(message or code)
        self.code = code
        self.message = message or code


@dataclass(frozen=True, slots=True)
class AcceptedLine:
    line_no: int
    entry: HotlistEntryIn


@dataclass(frozen=True, slots=True)
class RefusedLine:
    line_no: int
    code: str
    message: str
    text: str


@dataclass
class ImportReport:
    """The outcome of parsing one file; the caller decides whether it replaces a list or adds to it."""

    format: HotlistFormat | None
    accepted: list[AcceptedLine] = field(default_factory=list)
    refused: list[RefusedLine] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)  # header and footer lines

    @property
    def entries(self) -> list[HotlistEntryIn]:
        """The accepted entries, in file order."""
        return [line.entry for line in self.accepted]

    @property
    def complete(self) -> bool:
        """Whether the file is whole: a full replacement must not be applied from an incomplete file."""
        return not any(line.code in FILE_LEVEL_CODES for line in self.refused)

    def accept(self, line_no: int, entry: HotlistEntryIn) -> None:
        """Record an accepted line."""
        self.accepted.append(AcceptedLine(line_no, entry))

    def refuse(self, line_no: int, code: str, message: str = "", text: str = "") -> None:
        """Record a refused line (or, with a file-level code, a refused file)."""
        self.refused.append(RefusedLine(line_no, code, message or code, text[:200]))
