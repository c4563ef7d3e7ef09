#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Installs what hotport needs to build and test on Debian 12, if missing,
# and the packages named as arguments (scripts/fuzz.sh adds clang and
# libclang-rt-dev, the libFuzzer runtime, for its step only).
set -euo pipefail
pkgs=(meson ninja-build pkg-config gcc libc6-dev libnuma-dev libpci-dev
      liburcu-dev libcmocka-dev libpcap-dev libedit-dev python3 iproute2
      iputils-ping tcpdump tshark ethtool valgrind scdoc)
missing=()
for p in "${pkgs[@]}" "$@"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "hotport: installing ${missing[*]}"
	if [ "$(id -u)" -ne 0 ]; then
		echo "hotport: run as root (or install: ${missing[*]})" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
