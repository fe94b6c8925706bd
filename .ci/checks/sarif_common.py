"""What the consumer checks share: reading a SARIF result's place, and reporting."""
import sys
from urllib.parse import unquote


def place(result):
    """(file as blogaudit displays it, startLine, startColumn) of a SARIF result's first
    physical location, or (None, None, None) for a result with no file."""
    for loc in result.get("locations") or []:
        phys = loc.get("physicalLocation") or {}
        uri = (phys.get("artifactLocation") or {}).get("uri")
        if uri is not None:
            region = phys.get("region") or {}
            path = unquote(uri[len("file://"):] if uri.startswith("file://") else uri)
            return path, region.get("startLine"), region.get("startColumn")
    return None, None, None


def finish(check, problems, summary):
    """Prints the problems and a one-line summary; returns the exit code."""
    for p in problems:
        print(f"{check} check: {p}", file=sys.stderr)
    status = "FAILED" if problems else "ok"
    print(f"{check} check {status}: {summary}" + (f"; {len(problems)} problem(s)" if problems else ""))
    return 1 if problems else 0


def cli(main, doc):
    """Runs `main(report, sarif)` from the command line."""
    if len(sys.argv) != 3:
        print(doc, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2]))
