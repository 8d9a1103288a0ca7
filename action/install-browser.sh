#!/usr/bin/env bash
# The GitHub Action's browser step: Debian's or Ubuntu's chromium when the
# runner has no Chromium or Chrome yet (Playwright's own download is not needed).
set -euo pipefail
for candidate in "${CEILING_BROWSER_PATH:-}" /usr/bin/chromium /usr/bin/chromium-browser /usr/bin/google-chrome /usr/bin/google-chrome-stable; do
  if [ -n "$candidate" ] && [ -x "$candidate" ]; then
    echo "ceiling: using the browser at $candidate"
    exit 0
  fi
done
if ! command -v apt-get >/dev/null 2>&1; then
  echo "::warning title=ceiling: no browser::no Chromium found and no apt-get to install one; browser journeys will fail (set CEILING_BROWSER_PATH, or browser: false)"
  exit 0
fi
sudo_cmd=""
if [ "$(id -u)" != "0" ]; then sudo_cmd="sudo"; fi
$sudo_cmd apt-get update -qq
$sudo_cmd apt-get install -y -qq --no-install-recommends chromium || $sudo_cmd apt-get install -y -qq --no-install-recommends chromium-browser
