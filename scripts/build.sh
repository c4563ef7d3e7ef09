#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Configures (once) and builds hotport in DIR (default: build) with extra
# meson options.
set -euo pipefail
dir=${1:-build}
shift || true
top=$(cd "$(dirname "$0")/.." && pwd)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if [ ! -f "$top/$dir/build.ninja" ]; then
	meson setup "$top/$dir" "$top" "$@" >"$log" 2>&1 || { cat "$log"; exit 1; }
fi
ninja -C "$top/$dir" >"$log" 2>&1 || { grep -E -A5 'error|FAILED' "$log" | head -60; exit 1; }
