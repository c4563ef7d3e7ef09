#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The pipeline example (doc/pipeline.md): installs what is missing,
# builds, and runs a primary that spreads packets over rings to N
# secondary workers (default 2), then prints each stage's counters.
# Usage: scripts/pipeline.sh [N]
exec "$(dirname "$0")/example.sh" pipeline "$@"
