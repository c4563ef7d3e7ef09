#!/bin/bash
# The only script of bench/dpdk that installs anything: Debian's DPDK packages
# (DPDK 22.11 on Debian 12), when they are missing.
set -e
pkgs="dpdk dpdk-dev libdpdk-dev"
missing=
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "DPDK already installed: $(pkg-config --modversion libdpdk 2>/dev/null)"
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "setup.sh: need root to install:$missing" >&2
	exit 1
fi
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y $missing || { apt-get update && apt-get install -y $missing; }
echo "DPDK installed: $(pkg-config --modversion libdpdk)"
