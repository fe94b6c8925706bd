#!/usr/bin/env python3
"""Consumer check of `blogaudit scan --format junit`.

Usage: junit.py report.xml report.sarif   (both from the same scan; needs `pip install junitparser`)

Reads the XML the way CI servers do (junitparser), checks that every suite's and the total's
tests/failures/skipped/errors attributes match the test cases they hold, and that the failing
(rule, resource) pairs, the skipped ones and the input errors match the SARIF log of the scan.
Prints a one-line summary; exits 1 on any mismatch.
"""
import json
import sys
from collections import defaultdict

from sarif_common import cli, finish, place

from junitparser import Error, Failure, JUnitXml, Skipped, TestSuite

INPUTS_SUITE = "blogaudit inputs"


def fq_name(result):
    for loc in result.get("locations") or []:
        for logical in loc.get("logicalLocations") or []:
            if logical.get("fullyQualifiedName"):
                return logical["fullyQualifiedName"]
    return None


def main(xml_path, sarif_path_arg):
    problems = []
    xml = JUnitXml.fromfile(xml_path)
    suites = [xml] if isinstance(xml, TestSuite) else list(xml)
    total = defaultdict(int)
    failing, skipped_pairs, input_errors = [], [], 0
    for suite in suites:
        counts = defaultdict(int)
        rule_id = suite.name.split(" ", 1)[0] if suite.name else ""
        for case in suite:
            counts["tests"] += 1
            kinds = [type(r) for r in case.result]
            if len(kinds) > 1:
                problems.append(f"{suite.name}: {case.name}: {len(kinds)} results, expected at most 1")
            if Failure in kinds:
                counts["failures"] += 1
                failing.append((rule_id, case.name, case.classname))
            if Skipped in kinds:
                counts["skipped"] += 1
                skipped_pairs.append((rule_id, case.name, case.classname))
            if Error in kinds:
                counts["errors"] += 1
                if suite.name != INPUTS_SUITE:
                    problems.append(f"{suite.name}: {case.name}: an <error> outside '{INPUTS_SUITE}'")
                input_errors += 1
        for attr in ("tests", "failures", "skipped", "errors"):
            declared = getattr(suite, attr) or 0
            if declared != counts[attr]:
                problems.append(f"suite '{suite.name}': {attr}={declared} but it holds {counts[attr]}")
            total[attr] += counts[attr]
    if not isinstance(xml, TestSuite):
        for attr in ("tests", "failures", "skipped", "errors"):
            declared = getattr(xml, attr) or 0
            if declared != total[attr]:
                problems.append(f"testsuites: {attr}={declared} but the suites hold {total[attr]}")

    with open(sarif_path_arg, encoding="utf-8") as fh:
        run = json.load(fh)["runs"][0]
    groups = defaultdict(lambda: [0, 0])  # (rule, resource, file) -> [active, suppressed]
    for res in run.get("results") or []:
        key = (res.get("ruleId"), fq_name(res), place(res)[0])
        groups[key][1 if res.get("suppressions") else 0] += 1
    sarif_failing = {k for k, (active, _) in groups.items() if active}
    sarif_skipped = {k for k, (active, sup) in groups.items() if not active and sup}
    notifications = [
        n
        for inv in run.get("invocations") or []
        for n in inv.get("toolExecutionNotifications") or []
        if n.get("level") == "error"
    ]

    def compare(what, junit_pairs, sarif_keys):
        # A SARIF result without a file (an object) matches on rule and resource alone: the
        # JUnit classname is then the object reference, which SARIF does not carry.
        left = set(sarif_keys)
        for pair in junit_pairs:
            rule, name, classname = pair
            for key in ((rule, name, classname), (rule, name, None)):
                if key in left:
                    left.remove(key)
                    break
            else:
                problems.append(f"{what} {rule} {name} ({classname}) has no unsuppressed SARIF result")
        for rule, name, path in sorted(left, key=str):
            problems.append(f"SARIF {what} {rule} {name} ({path}) is missing from the JUnit report")
        if len(junit_pairs) != len(sarif_keys):
            problems.append(f"{len(junit_pairs)} {what} (rule, resource) pairs in JUnit, {len(sarif_keys)} in SARIF")

    compare("failing", failing, sarif_failing)
    compare("skipped", skipped_pairs, sarif_skipped)
    junit_rules = {rule for rule, _, _ in failing}
    sarif_rules = {rule for rule, _, _ in sarif_failing}
    if junit_rules != sarif_rules:
        problems.append(f"rules with failures differ: JUnit-only {sorted(junit_rules - sarif_rules)}, SARIF-only {sorted(sarif_rules - junit_rules)}")
    if input_errors != len(notifications):
        problems.append(f"{input_errors} input errors in JUnit, {len(notifications)} error notifications in SARIF")

    return finish(
        "junit",
        problems,
        f"{len(suites)} suites, {total['tests']} tests, {total['failures']} failures,"
        f" {total['skipped']} skipped, {total['errors']} errors; {len(sarif_failing)} failing pairs in SARIF",
    )


if __name__ == "__main__":
    cli(main, __doc__)
