#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Quick start, command 1: installs what is missing, builds, and runs the
# demo (a primary, two secondaries, hotplug requested from a secondary).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
./scripts/deps.sh
echo "hotport: building (meson + ninja) in build/"
./scripts/build.sh build
HOTPORT_BUILD="$top/build" exec python3 scripts/demo.py
