#!/usr/bin/env bash
# The GitHub Action's run step: turns the inputs (INPUT_* variables) into one
# ceiling command, runs it, and writes exit-code, verdict and the report
# paths to GITHUB_OUTPUT. The step summary and the ::error annotations are
# written by ceiling itself, which sees GITHUB_ACTIONS and GITHUB_STEP_SUMMARY.
# The step ends with ceiling's own exit code, so a failing verdict fails it.
set -uo pipefail

fail_input() {
  echo "::error title=ceiling action::$1"
  echo "exit-code=2" >> "$GITHUB_OUTPUT"
  echo "verdict=invalid" >> "$GITHUB_OUTPUT"
  exit 2
}

: "${GITHUB_OUTPUT:?GITHUB_OUTPUT is not set: this script runs inside a GitHub Actions step}"
: "${CEILING_BIN:?CEILING_BIN is not set: the install step did not run}"
command="${INPUT_COMMAND:-run}"
out="ceiling-out"

case "$command" in
  run | gate | validate | drill) ;;
  *) fail_input "unknown command \"$command\": the command input is one of run, gate, validate, drill" ;;
esac
if [ -n "${INPUT_EXPECT_VERSION:-}" ] && [ "$command" != gate ]; then fail_input "expect-version is for command: gate, not $command"; fi
if [ -n "${INPUT_ON_FAIL:-}" ] && [ "$command" != gate ]; then fail_input "on-fail is for command: gate, not $command"; fi
for input in DEPLOY ROLLBACK; do
  value_name="INPUT_$input"
  if [ -n "${!value_name:-}" ] && [ "$command" != drill ]; then fail_input "$(echo "$input" | tr '[:upper:]' '[:lower:]') is for command: drill, not $command"; fi
done
if [ "$command" = drill ] && { [ -z "${INPUT_DEPLOY:-}" ] || [ -z "${INPUT_ROLLBACK:-}" ]; }; then
  fail_input "command: drill needs both the deploy and the rollback inputs"
fi

args=("$command")
results_json=""
junit=""
verdict_json=""
if [ -n "${INPUT_CONFIG:-}" ]; then
  [ "$command" = validate ] && fail_input "config is not read by validate; pass the journey paths"
  args+=(--config "$INPUT_CONFIG")
fi
read -r -a reporters <<< "${INPUT_REPORTER:-}"
case "$command" in
  run)
    args+=(--reporter console)
    results_json="$out/results.json"
    args+=(--reporter "json=$results_json")
    for reporter in "${reporters[@]}"; do
      case "$reporter" in
        json) ;;
        junit) junit="$out/junit.xml"; args+=(--reporter "junit=$junit") ;;
        *) fail_input "unknown reporter \"$reporter\" for run: use junit or json" ;;
      esac
    done
    ;;
  gate)
    verdict_json="$out/verdict.json"
    args+=(--verdict-out "$verdict_json")
    for reporter in "${reporters[@]}"; do
      case "$reporter" in
        json) ;;
        junit) junit="$out/junit.xml"; args+=(--junit "$junit") ;;
        *) fail_input "unknown reporter \"$reporter\" for gate: use junit (the verdict JSON is always written)" ;;
      esac
    done
    [ -n "${INPUT_EXPECT_VERSION:-}" ] && args+=(--expect-version "$INPUT_EXPECT_VERSION")
    [ -n "${INPUT_ON_FAIL:-}" ] && args+=(--on-fail "$INPUT_ON_FAIL")
    ;;
  drill) args+=(--deploy "$INPUT_DEPLOY" --rollback "$INPUT_ROLLBACK") ;;
  validate) ;;
esac
read -r -a paths <<< "${INPUT_PATHS:-}"
args+=("${paths[@]}")

echo "ceiling ${args[*]}"
node "$CEILING_BIN" "${args[@]}"
code=$?

case "$command:$code" in
  *:0) verdict=pass ;;
  *:1) verdict=fail ;;
  *:2) verdict=invalid ;;
  gate:3) verdict=inconclusive ;;
  *:3)
    # run exits 3 for nothing tested, and for journeys the runner's own stall kept from a verdict.
    if [ -n "$results_json" ] && grep -q '"status": *"inconclusive"' "$results_json" 2>/dev/null; then verdict=inconclusive; else verdict=nothing-tested; fi
    ;;
  *:130) verdict=interrupted ;;
  *) verdict=error ;;
esac
{
  echo "exit-code=$code"
  echo "verdict=$verdict"
  if [ -n "$results_json" ] && [ -f "$results_json" ]; then echo "results-json=$(pwd)/$results_json"; fi
  if [ -n "$junit" ] && [ -f "$junit" ]; then echo "junit=$(pwd)/$junit"; fi
  if [ -n "$verdict_json" ] && [ -f "$verdict_json" ]; then echo "verdict-json=$(pwd)/$verdict_json"; fi
} >> "$GITHUB_OUTPUT"
exit "$code"
