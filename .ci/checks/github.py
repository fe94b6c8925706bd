#!/usr/bin/env python3
"""Consumer check of `blogaudit scan --format github` (GitHub Actions workflow commands).

Usage: github.py annotations.txt report.sarif   (both from the same scan)

Parses every line as `::error|warning|notice props::message`, unescapes it the way the runner
does (@actions/core command.ts), and checks that the finding annotations are exactly the
unsuppressed SARIF results (same rule, file, startLine, startColumn, message and level) and
the `blogaudit input` ones the SARIF error/warning notifications. Any other line fails.
Prints a one-line summary; exits 1 on any mismatch.
"""
import json
import re
import sys
from collections import Counter

from sarif_common import cli, finish, place

LINE = re.compile(r"^::(error|warning|notice)(?: ([^:]*))?::(.*)$")
LEVEL = {"error": "error", "warning": "warning", "note": "notice"}
INPUT_TITLE = "blogaudit input"
# A `%` the runner would not read back as itself: it must start one of the escapes.
BAD_DATA_PERCENT = re.compile(r"%(?!25|0D|0A)")
BAD_PROPERTY_PERCENT = re.compile(r"%(?!25|0D|0A|3A|2C)")


def unescape_data(s):
    return s.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def unescape_property(s):
    return (
        s.replace("%3A", ":").replace("%2C", ",").replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")
    )


def main(annotations_path, sarif_path):
    problems = []
    with open(sarif_path, encoding="utf-8") as fh:
        run = json.load(fh)["runs"][0]
    expected = Counter()
    for res in run.get("results") or []:
        if res.get("suppressions"):
            continue
        path, line, col = place(res)
        text = (res.get("message") or {}).get("text")
        expected[(LEVEL.get(res.get("level", "warning")), res.get("ruleId"), path, line, col, text)] += 1
    inputs = Counter()
    for inv in run.get("invocations") or []:
        for n in inv.get("toolExecutionNotifications") or []:
            if n.get("level") in ("error", "warning"):
                path, line, col = place(n)
                inputs[(n["level"], path, line, col)] += 1
    input_texts = [
        (n.get("message") or {}).get("text", "")
        for inv in run.get("invocations") or []
        for n in inv.get("toolExecutionNotifications") or []
    ]

    findings = inputs_seen = 0
    with open(annotations_path, encoding="utf-8") as fh:
        lines = fh.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for no, raw in enumerate(lines, 1):
        m = LINE.match(raw)
        if not m:
            problems.append(f"line {no}: not a workflow command: {raw[:80]!r}")
            continue
        command, props_text, data = m.group(1), m.group(2) or "", unescape_data(m.group(3))
        if BAD_DATA_PERCENT.search(m.group(3)) or BAD_PROPERTY_PERCENT.search(props_text):
            problems.append(f"line {no}: a '%' that is not escaped as %25")
        props = {}
        for part in props_text.split(",") if props_text else []:
            key, sep, value = part.partition("=")
            if not sep:
                problems.append(f"line {no}: property {part!r} has no value")
            props[key] = unescape_property(value)
        file = props.get("file")
        line = int(props["line"]) if "line" in props else None
        col = int(props["col"]) if "col" in props else None
        title = props.get("title", "")
        if title == INPUT_TITLE:
            inputs_seen += 1
            key = (command, file, line, col)
            if inputs[key] > 0:
                inputs[key] -= 1
            else:
                problems.append(f"line {no}: input {command} at {file}:{line}:{col} is no SARIF notification")
            if not any(t.endswith(data) for t in input_texts):
                problems.append(f"line {no}: input message {data!r} is in no SARIF notification")
            continue
        findings += 1
        rule = title.split(" ", 1)[0]
        if file is not None:
            key = (command, rule, file, line, col, data)
            if expected[key] > 0:
                expected[key] -= 1
                continue
        else:
            # No file: the message is `<object reference>: <SARIF message>`.
            match = next(
                (k for k, n in expected.items() if n > 0 and k[:3] == (command, rule, None) and data.endswith(": " + k[5])),
                None,
            )
            if match:
                expected[match] -= 1
                continue
        problems.append(f"line {no}: {command} {rule} at {file}:{line}:{col} matches no unsuppressed SARIF result: {data[:80]!r}")
    for key, n in expected.items():
        for _ in range(n):
            problems.append(f"SARIF result {key[1]} at {key[2]}:{key[3]}:{key[4]} ({key[0]}) has no annotation")
    for key, n in inputs.items():
        for _ in range(n):
            problems.append(f"SARIF notification {key[0]} at {key[1]}:{key[2]}:{key[3]} has no annotation")

    return finish(
        "github", problems, f"{findings} finding annotations, {inputs_seen} input annotations"
    )


if __name__ == "__main__":
    cli(main, __doc__)
