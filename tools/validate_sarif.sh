#!/usr/bin/env bash
# Validates SARIF files the way GitHub code scanning reads them: Microsoft's SARIF Multitool
# (`validate`) with the rule kinds `Sarif;Ghas`, that is the SARIF 2.1.0 schema and spec rules
# plus GitHub's ingestion rules (GH1xxx). Any error or warning fails.
#
#   tools/validate_sarif.sh FILE.sarif...
#
# Exit: 0 every file is clean; 1 some file has an error or a warning (each is printed);
#       2 the validator could not be installed or run, or a file is missing.
#
# The Multitool (npm `@microsoft/sarif-multitool`, pinned below, with the native package of
# this OS) is installed on first use into $BLOGAUDIT_SARIF_CACHE (default
# ~/.cache/blogaudit-sarif-multitool-VERSION); later runs need no network. It needs `npm` for
# that one install, and `python3` to read its reports.
set -uo pipefail

VERSION=5.7.0
CACHE="${BLOGAUDIT_SARIF_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/blogaudit-sarif-multitool-$VERSION}"

[ $# -ge 1 ] || { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

case "$(uname -s)" in
  Linux) native=linux; exe=Sarif.Multitool ;;
  Darwin) native=darwin; exe=Sarif.Multitool ;;
  *) echo "validate_sarif: no SARIF Multitool build for $(uname -s)" >&2; exit 2 ;;
esac
BIN="$CACHE/node_modules/@microsoft/sarif-multitool-$native/$exe"

install() {
  command -v npm >/dev/null || {
    echo "validate_sarif: npm is needed once to install the SARIF Multitool (apt-get install npm)" >&2
    return 1
  }
  # Install beside the cache and move it into place, so that concurrent first runs (parallel
  # tests) never see a half-written install.
  mkdir -p "$(dirname "$CACHE")"
  local staging
  staging="$(mktemp -d "$CACHE.staging.XXXXXX")" || return 1
  echo "validate_sarif: installing @microsoft/sarif-multitool@$VERSION into $CACHE" >&2
  printf '{"name":"blogaudit-sarif-multitool","private":true}\n' >"$staging/package.json"
  if ! (cd "$staging" && npm install --no-audit --no-fund --loglevel=error \
      "@microsoft/sarif-multitool@$VERSION" "@microsoft/sarif-multitool-$native@$VERSION" >&2); then
    rm -rf "$staging"
    echo "validate_sarif: npm install failed" >&2
    return 1
  fi
  # Newer npm versions may skip the package's own chmod.
  chmod u+x "$staging/node_modules/@microsoft/sarif-multitool-$native/$exe"
  mv -T "$staging" "$CACHE" 2>/dev/null || rm -rf "$staging" # another run won the race
  [ -x "$BIN" ]
}

[ -x "$BIN" ] || install || exit 2

# The self-contained .NET program needs ICU unless told to use invariant globalization, which
# is all that validation needs.
export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1
export DOTNET_CLI_TELEMETRY_OPTOUT=1

reports="$(mktemp -d)"
trap 'rm -rf "$reports"' EXIT
worst=0
n=0
for file in "$@"; do
  n=$((n + 1))
  if [ ! -f "$file" ]; then
    echo "$file: no such file" >&2
    worst=2
    continue
  fi
  report="$reports/$n.sarif"
  # The input comes before the options: `--rule-kind` takes a list and would swallow it.
  if ! out="$("$BIN" validate "$file" --rule-kind "Sarif;Ghas" --output "$report" \
      --log ForceOverwrite 2>&1)" || [ ! -s "$report" ]; then
    printf '%s\n' "$out" | tail -20 >&2
    echo "$file: the SARIF Multitool failed" >&2
    worst=2
    continue
  fi
  # The Multitool exits 0 whatever it finds: read its report.
  python3 - "$file" "$report" <<'PY'
import json
import sys

name, report = sys.argv[1], sys.argv[2]
with open(report, encoding="utf-8") as f:
    log = json.load(f)
problems = []


def text_of(message, rules, rule_id):
    """A result's message: its own text, or its rule's message string with the arguments."""
    if message.get("text"):
        return message["text"]
    template = rules.get(rule_id, {}).get("messageStrings", {}).get(message.get("id"), {})
    text = template.get("text", "")
    for i, arg in enumerate(message.get("arguments", [])):
        text = text.replace("{%d}" % i, str(arg))
    return text or "; ".join(message.get("arguments", []))


for run in log.get("runs", []):
    tool = run.get("tool", {})
    rules = {}
    for component in [tool.get("driver", {})] + tool.get("extensions", []):
        for rule in component.get("rules", []):
            rules[rule.get("id")] = rule
    for result in run.get("results", []):
        # SARIF's default level is `warning`.
        level = result.get("level", "warning")
        if level not in ("error", "warning"):
            continue
        text = text_of(result.get("message", {}), rules, result.get("ruleId"))
        region = {}
        for loc in result.get("locations", []):
            region = loc.get("physicalLocation", {}).get("region", {})
        where = ":%s" % region["startLine"] if "startLine" in region else ""
        problems.append("%s%s: %s %s: %s" % (name, where, level, result.get("ruleId", "?"), text))
    for inv in run.get("invocations", []):
        for note in inv.get("toolExecutionNotifications", []) + inv.get(
                "toolConfigurationNotifications", []):
            if note.get("level", "warning") in ("error", "warning"):
                problems.append("%s: %s from the validator: %s" % (
                    name, note.get("level", "warning"), note.get("message", {}).get("text", "")))
for p in problems:
    print(p)
print("%s: %d errors or warnings (SARIF Multitool, rule kinds Sarif;Ghas)" % (name, len(problems)))
sys.exit(1 if problems else 0)
PY
  rc=$?
  if [ "$rc" -ne 0 ] && [ "$worst" -lt "$rc" ]; then worst=$rc; fi
done
exit "$worst"
