#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Real traffic between two network namespaces, each joined by a veth pair
# to the forwarder under test, and pcap file replay:
#   - TCP throughput (iperf3, $SECONDS_TCP s, default 5) and ping RTT (100
#     pings) through: the kernel's own bridge; hotport (primary with two
#     net_af_packet ports, a secondary forwarding io), offloads left on;
#     dpdk-testpmd io forwarding with its net_af_packet, offloads turned
#     off (its driver cannot carry them: with them on, TCP stalls);
#   - packets/s of a 1,000,000-packet capture file through net_pcap into
#     net_null: hotport-bench-pcap and dpdk/pcap_replay, $PCAP_RUNS each.
# Prints RESULT lines (bench/run.sh makes the table of them). Needs root.
#   bench/net_bench.sh [tcp|pcap]...   (default both)
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

SECONDS_TCP=${SECONDS_TCP:-5}
PCAP_RUNS=${PCAP_RUNS:-3}
parts=${*:-tcp pcap}
NS1=hpbn1-$$ NS2=hpbn2-$$
H1=hpbh1$$ H2=hpbh2$$ P1=hpbp1$$ P2=hpbp2$$
H1=${H1:0:15} H2=${H2:0:15} P1=${P1:0:15} P2=${P2:0:15}
A1=10.202.0.1 A2=10.202.0.2
BR=hpbbr$$; BR=${BR:0:15}

[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (namespaces, veth)"; exit 0; }
hp_build
dpdk=no
pkg-config --exists libdpdk 2>/dev/null && command -v dpdk-testpmd >/dev/null && dpdk=yes

net_down() {
	ip netns del "$NS1" 2>/dev/null; ip netns del "$NS2" 2>/dev/null
	ip link del "$H1" 2>/dev/null; ip link del "$H2" 2>/dev/null; ip link del "$BR" 2>/dev/null
	true
}
huge_mounted=
huge_mount() { # a private hugetlbfs for DPDK's EAL
	[ -n "$huge_mounted" ] && return 0
	mkdir -p "$HP_WORK/huge"
	mount -t hugetlbfs -o pagesize=2M nodev "$HP_WORK/huge" && huge_mounted=1
}
on_exit() {
	net_down
	[ -n "$huge_mounted" ] && umount "$HP_WORK/huge"
	rm -rf "/var/run/dpdk/$HP_PREFIX"-*
	_hp_cleanup
}
trap on_exit EXIT

net_up() {
	net_down
	local i ns h p a
	for i in 1 2; do
		eval ns=\$NS$i h=\$H$i p=\$P$i a=\$A$i
		ip netns add "$ns"
		ip link add "$h" type veth peer name "$p"
		ip link set "$p" netns "$ns"
		ip -n "$ns" addr add "$a/24" dev "$p"
		ip -n "$ns" link set "$p" up
		ip -n "$ns" link set lo up
		sysctl -qw "net.ipv6.conf.$h.disable_ipv6=1" 2>/dev/null
		ip link set "$h" up
	done
}

# offloads on|off: on every veth end
offloads() {
	local v=$1
	ethtool -K "$H1" tso "$v" gso "$v" gro "$v" tx "$v" rx "$v" >/dev/null 2>&1
	ethtool -K "$H2" tso "$v" gso "$v" gro "$v" tx "$v" rx "$v" >/dev/null 2>&1
	ip netns exec "$NS1" ethtool -K "$P1" tso "$v" gso "$v" gro "$v" tx "$v" rx "$v" >/dev/null 2>&1
	ip netns exec "$NS2" ethtool -K "$P2" tso "$v" gso "$v" gro "$v" tx "$v" rx "$v" >/dev/null 2>&1
	true
}

# measure SIDE: iperf3 and ping from NS1 to NS2 through whatever joins them
measure() {
	local side=$1 out gbps rtt
	# the first ping also waits for the path (ARP, forwarder start)
	ip netns exec "$NS1" ping -c 1 -W 5 "$A2" >/dev/null 2>&1 ||
		ip netns exec "$NS1" ping -c 1 -W 5 "$A2" >/dev/null 2>&1 || {
		echo "RESULT $side.net.tcp_gbps.error=\"no path between the namespaces\""; return 1; }
	ip netns exec "$NS2" iperf3 -s -1 -D -I "$HP_WORK/iperf3.pid" >/dev/null 2>&1
	sleep 0.3
	out=$(ip netns exec "$NS1" timeout $((SECONDS_TCP + 20)) iperf3 -c "$A2" -t "$SECONDS_TCP" -f g 2>&1)
	gbps=$(echo "$out" | awk '/receiver/ { for (i = 1; i < NF; i++) if ($(i + 1) == "Gbits/sec") v = $i } END { print v }')
	echo "$out" | grep -E "sender|receiver" | sed 's/^/    /'
	if [ -n "$gbps" ]; then echo "RESULT $side.net.tcp_gbps=$gbps"; else
		echo "RESULT $side.net.tcp_gbps.error=\"iperf3 failed\""; echo "$out" | tail -3; fi
	kill "$(cat "$HP_WORK/iperf3.pid" 2>/dev/null)" 2>/dev/null
	out=$(ip netns exec "$NS1" ping -n -q -c 100 -i 0.01 "$A2" 2>&1)
	rtt=$(echo "$out" | awk -F/ '/^rtt/ { printf "%.0f", $5 * 1000 }')
	echo "    $(echo "$out" | tail -2 | tr '\n' ' ')"
	[ -n "$rtt" ] && echo "RESULT $side.net.ping_rtt_us=$rtt"
}

run_bridge() {
	echo "== the kernel's bridge over the same veths (offloads on)"
	net_up
	ip link add "$BR" type bridge && ip link set "$H1" master "$BR" && ip link set "$H2" master "$BR" &&
		ip link set "$BR" up
	measure kernel_bridge
	ip link del "$BR"
}

run_hotport() {
	echo "== hotport: primary with net_af_packet x2, a secondary forwarding io (offloads on)"
	net_up
	offloads on
	local pfx=$HP_PREFIX-net pri
	bench_bg "$HP_WORK" net-primary "$HOTPORT_BUILD/apps/primary/hotport-primary" --file-prefix "$pfx" \
		--vdev "net_af_packet0,iface=$H1" --vdev "net_af_packet1,iface=$H2"
	pri=$BENCH_BG_PID
	bench_wait_line "$HP_WORK/net-primary.log" "hotport-primary ready" 20 "$pri" || {
		echo "RESULT hotport.net.tcp_gbps.error=\"primary did not start\""; tail -5 "$HP_WORK/net-primary.log"; return; }
	mkfifo "$HP_WORK/fwd.fifo"
	"$HOTPORT_BUILD/apps/secondary/hotport-secondary" --file-prefix "$pfx" -l 1 --cmd - \
		<"$HP_WORK/fwd.fifo" >"$HP_WORK/net-fwd.log" 2>&1 &
	local fwd=$!
	bench_track "$fwd"
	exec 4>"$HP_WORK/fwd.fifo"
	printf 'set fwd io\nport start all\nstart\n' >&4
	bench_wait_line "$HP_WORK/net-fwd.log" "packet forwarding - ports" 20 "$fwd" || {
		echo "RESULT hotport.net.tcp_gbps.error=\"forwarder did not start\""; tail -5 "$HP_WORK/net-fwd.log"; }
	measure hotport
	printf 'stop\nquit\n' >&4
	exec 4>&-
	wait "$fwd" 2>/dev/null
	bench_stop "$pri"
	rm -f "$HP_WORK/fwd.fifo"
}

run_dpdk() {
	echo "== dpdk-testpmd io forwarding, net_af_packet x2 (offloads off)"
	net_up
	offloads off
	hp_hugepages 256 >/dev/null
	huge_mount
	local fifo=$HP_WORK/tp.fifo log=$HP_WORK/testpmd.log tp
	mkfifo "$fifo"
	dpdk-testpmd -l 0-1 --no-pci --huge-dir "$HP_WORK/huge" --file-prefix "$HP_PREFIX-tp" --log-level=lib.eal:error \
		--vdev "net_af_packet0,iface=$H1" --vdev "net_af_packet1,iface=$H2" -- -i --forward-mode=io \
		<"$fifo" >"$log" 2>&1 &
	tp=$!
	bench_track "$tp"
	exec 5>"$fifo"
	bench_wait_line "$log" "testpmd> " 30 "$tp" || { echo "RESULT dpdk.net.tcp_gbps.error=\"testpmd did not start\""; tail -5 "$log"; }
	echo "start" >&5
	sleep 1
	measure dpdk
	printf 'stop\nquit\n' >&5
	exec 5>&-
	for i in $(seq 100); do kill -0 "$tp" 2>/dev/null || break; sleep 0.1; done
	bench_stop "$tp"
	rm -f "$fifo"; rm -rf "/var/run/dpdk/$HP_PREFIX-tp"
}

run_pcap() {
	local f=$HP_WORK/replay.pcap i
	echo "== pcap replay: 1,000,000 packets of 64 bytes through net_pcap into net_null, $PCAP_RUNS runs each"
	python3 "$here/gen_pcap.py" "$f" 1000000 64
	hp_hugepages 256 >/dev/null
	huge_mount
	timeout 120 "$HOTPORT_BUILD/bench/hotport-bench-pcap" --file "$f" --runs "$PCAP_RUNS" \
		--file-prefix "$HP_PREFIX-pcap"
	if [ $dpdk = yes ] && "$here/dpdk/build.sh" >/dev/null 2>&1; then
		local vals=()
		for i in $(seq "$PCAP_RUNS"); do
			out=$(timeout 120 "$here/out/dpdk/pcap_replay" -l 1 --no-pci --huge-dir "$HP_WORK/huge" --file-prefix "$HP_PREFIX-pr" \
				--log-level=lib.eal:error --vdev "net_pcap0,rx_pcap=$f" --vdev net_null0 2>&1)
			echo "$out" | grep -v RESULT | sed "s/^/  run $i:/"
			v=$(echo "$out" | sed -n 's/^RESULT dpdk.pcap_replay.mpps=//p')
			[ -n "$v" ] && vals+=("$v")
		done
		[ ${#vals[@]} -gt 0 ] && echo "RESULT dpdk.pcap_replay.mpps=$(printf '%s\n' "${vals[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')"
	fi
}

for p in $parts; do
	case $p in
	tcp) run_bridge; run_hotport; [ $dpdk = yes ] && run_dpdk ;;
	pcap) run_pcap ;;
	*) echo "net_bench.sh: unknown part $p (tcp, pcap)"; exit 2 ;;
	esac
done
exit 0
