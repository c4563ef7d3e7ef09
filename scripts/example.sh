#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Runs an example: installs what is missing, builds in build/, and runs
# scripts/NAME.py with the arguments that follow (demo.sh, pipeline.sh).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
name=$1
shift
cd "$top"
./scripts/deps.sh
echo "hotport: building (meson + ninja) in build/"
./scripts/build.sh build
HOTPORT_BUILD="$top/build" exec python3 "scripts/$name.py" "$@"
