#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Configures (once) and builds hotport in DIR (default: build) with extra
# meson options.
set -euo pipefail
dir=${1:-build}
shift || true
top=$(cd "$(dirname "$0")/.." && pwd)
if [ ! -f "$top/$dir/build.ninja" ]; then
	meson setup "$top/$dir" "$top" "$@" >/dev/null
fi
ninja -C "$top/$dir" >/dev/null
