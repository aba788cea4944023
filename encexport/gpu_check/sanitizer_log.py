"""Reading compute-sanitizer's output: the summary line each tool ends with, and the error count in it.

Both the kernel driver's log (the `sanitize` step) and ONNX Runtime's (`ort-sanitize`) are written as sections
headed `=== TOOL ===`, each holding what compute-sanitizer printed for one tool.
    memcheck, initcheck, synccheck: "========= ERROR SUMMARY: 0 errors"
    racecheck:                      "========= RACECHECK SUMMARY: 0 hazards displayed (0 errors, 0 warnings)"
"""

from __future__ import annotations

import re

_SECTION = re.compile(r"^=== (\w+) ===$")
_SUMMARY = re.compile(r"(?:ERROR|RACECHECK) SUMMARY:\s*(.*)$")


def section_header(tool: str) -> str:
    return f"=== {tool} ===\n"


def summaries(text: str) -> dict[str, str]:
    """{tool: the text after "SUMMARY:"} per section; a tool whose run printed no summary is absent."""
    found, tool = {}, None
    for line in text.splitlines():
        header = _SECTION.match(line)
        if header:
            tool = header.group(1)
            continue
        summary = _SUMMARY.search(line)
        if tool and summary:
            found[tool] = summary.group(1).strip()
    return found


def errors(summary: str) -> int | None:
    """The error count of a summary: "3 errors" -> 3; racecheck's "2 hazards displayed (1 errors, 1 warnings)"
    -> 2 (every hazard counts, warnings included); None when the line cannot be read."""
    hazards = re.match(r"(\d+) hazards?", summary)
    if hazards:
        return int(hazards.group(1))
    plain = re.match(r"(\d+) errors?", summary)
    return int(plain.group(1)) if plain else None


def findings(text: str, limit: int = 20) -> list[str]:
    """The first distinct reports (what memcheck says was wrong), for a results file to show without the log."""
    seen: list[str] = []
    for line in text.splitlines():
        report = re.match(r"=========\s+((?:Invalid|Program hit|Error|Race|Warning|Uninitialized|Barrier|Leaked)\S*.*)",
                          line)
        if report and report.group(1) not in seen:
            seen.append(report.group(1))
            if len(seen) == limit:
                break
    return seen
