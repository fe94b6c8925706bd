#!/usr/bin/env python3
"""Consumer check of `blogaudit scan --format gitlab` (GitLab Code Quality).

Usage: gitlab.py report.json report.sarif   (both from the same scan)

Checks the fields GitLab requires (description, check_name, fingerprint, severity,
location.path, location.lines.begin), that severities are GitLab's, and that the issues are
exactly the unsuppressed SARIF results: same fingerprints (unique), rule, file and start line.
Prints a one-line summary; exits 1 on any mismatch.
"""
import json
import sys

from sarif_common import cli, finish, place

SEVERITIES = {"info", "minor", "major", "critical", "blocker"}
FINGERPRINT = "blogauditFingerprint/v1"


def main(report_path, sarif_path):
    problems = []
    with open(report_path, encoding="utf-8") as fh:
        issues = json.load(fh)
    with open(sarif_path, encoding="utf-8") as fh:
        run = json.load(fh)["runs"][0]
    if not isinstance(issues, list):
        print("gitlab check FAILED: the report is not a JSON array")
        return 1
    expected = {}
    for res in run.get("results") or []:
        if res.get("suppressions"):
            continue
        fp = (res.get("partialFingerprints") or {}).get(FINGERPRINT)
        if fp in expected:
            problems.append(f"SARIF fingerprint {fp} is not unique")
        expected[fp] = res
    seen = set()
    for i, issue in enumerate(issues):
        where = f"issue {i}"
        if not isinstance(issue, dict):
            problems.append(f"{where}: not an object")
            continue
        loc = issue.get("location") or {}
        lines = loc.get("lines") or {}
        for name, value in (
            ("description", issue.get("description")),
            ("check_name", issue.get("check_name")),
            ("fingerprint", issue.get("fingerprint")),
            ("severity", issue.get("severity")),
            ("location.path", loc.get("path")),
        ):
            if not isinstance(value, str) or not value:
                problems.append(f"{where}: {name} missing or not a non-empty string")
        begin = lines.get("begin")
        if not isinstance(begin, int) or isinstance(begin, bool) or begin < 1:
            problems.append(f"{where}: location.lines.begin missing or not a positive integer")
        if issue.get("severity") not in SEVERITIES:
            problems.append(f"{where}: severity {issue.get('severity')!r} is not one of {sorted(SEVERITIES)}")
        fp = issue.get("fingerprint")
        if fp in seen:
            problems.append(f"{where}: fingerprint {fp} is not unique")
        seen.add(fp)
        res = expected.get(fp)
        if res is None:
            problems.append(f"{where}: fingerprint {fp} is not an unsuppressed SARIF result")
            continue
        if issue.get("check_name") != res.get("ruleId"):
            problems.append(f"{where}: check_name {issue.get('check_name')} but SARIF ruleId {res.get('ruleId')}")
        path, line = place(res)[:2]
        if path is not None:
            if loc.get("path") != path:
                problems.append(f"{where}: path {loc.get('path')!r} but SARIF {path!r}")
            if begin != line:
                problems.append(f"{where}: lines.begin {begin} but SARIF startLine {line}")
        elif begin != 1:
            problems.append(f"{where}: an object finding should be at line 1, not {begin}")
        text = (res.get("message") or {}).get("text")
        if issue.get("description") != text:
            problems.append(f"{where}: description {issue.get('description')!r} but SARIF message {text!r}")
    missing = set(expected) - seen
    for fp in sorted(missing, key=str):
        problems.append(f"SARIF result {fp} ({expected[fp].get('ruleId')}) is missing from the report")

    return finish("gitlab", problems, f"{len(issues)} issues, {len(expected)} unsuppressed SARIF results")


if __name__ == "__main__":
    cli(main, __doc__)
