"""Result tables: one per scenario, printed as text and written as Markdown for the docs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Table:
    """One scenario's figures: rows side by side (provider, baseline), then notes.

    :param title: what the table measures, e.g. ``"1. Quota-bound enrichment"``.
    :param columns: column headings; the first names the row.
    :param rows: one list of cells per row, as many as ``columns``.
    :param notes: lines printed under the table: settings, the bound, targets met or missed.
    """

    title: str
    columns: Sequence[str]
    rows: list[list[Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add_row(self, *cells: Any) -> None:
        """Append one row.

        :param cells: the row's cells, one per column.
        """
        if len(cells) != len(self.columns):
            raise ValueError(f"{self.title}: a row needs {len(self.columns)} cells, got {len(cells)}")
        self.rows.append(list(cells))

    def note(self, line: str) -> None:
        """Append one line under the table.

        :param line: the note.
        """
        self.notes.append(line)


def cell(value: Any) -> str:
    """How one value prints: floats with 3 significant decimals, ``None`` as a dash.

    :param value: the cell.
    """
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value == 0:
            return "0"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.3g}" if abs(value) < 0.01 else f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def render_text(table: Table) -> str:
    """The table as aligned plain text, for the terminal.

    :param table: the table.
    """
    cells = [list(table.columns), *[[cell(value) for value in row] for row in table.rows]]
    widths = [max(len(line[index]) for line in cells) for index in range(len(table.columns))]

    def line(values: Sequence[str]) -> str:
        first, *rest = values
        right = (value.rjust(width) for value, width in zip(rest, widths[1:], strict=True))
        parts = [first.ljust(widths[0]), *right]
        return "  ".join(parts).rstrip()

    out = [table.title, "=" * len(table.title), line(cells[0]), line(["-" * width for width in widths])]
    out += [line(row) for row in cells[1:]]
    out += [f"  * {note}" for note in table.notes]
    return "\n".join(out)


def render_markdown(table: Table) -> str:
    """The table as GitHub Markdown, for ``docs/benchmarks.md``.

    :param table: the table.
    """
    out = [f"### {table.title}", "", "| " + " | ".join(table.columns) + " |"]
    out.append("|" + "|".join(["---", *["---:"] * (len(table.columns) - 1)]) + "|")
    out += ["| " + " | ".join(cell(value) for value in row) + " |" for row in table.rows]
    if table.notes:
        out.append("")
        out += [f"- {note}" for note in table.notes]
    return "\n".join(out)


def verdict(met: bool, measured: str, target: str) -> str:
    """A target line: ``"target met: 1.07 <= 1.15"`` or ``"TARGET MISSED: ..."``.

    :param met: whether the target is met.
    :param measured: the measured figure, as printed.
    :param target: the target, as printed (``"<= 1.15"``).
    """
    return f"{'target met' if met else 'TARGET MISSED'}: {measured} (target {target})"
