#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Quick start, command 1: installs what is missing, builds, and runs the
# demo (a primary, two secondaries, hotplug requested from a secondary).
exec "$(dirname "$0")/example.sh" demo "$@"
