#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Real traffic end to end: two network namespaces, each joined through a
veth pair to an af_packet port of the primary; a secondary forwards
between the two ports. ping between the namespaces goes through hotport;
while it runs, another secondary attaches a TAP port and detaches it, and
no ping is lost. A TCP transfer with the kernel's offloads left on
(TSO/GSO, partial checksums) arrives intact. Then the second namespace's
port is swapped, by hotplug, for a pcap port on the same veth, and tcpdump
in that namespace sees the ICMP packets it sends. Needs root and network
namespaces; skips with the reason otherwise. Namespaces and interfaces are
removed afterwards, whatever happens."""
import os
import re
import select
import subprocess
import time

import hp

NS = ("hpa%d" % os.getpid(), "hpb%d" % os.getpid())
HOST = ("hpva%d" % (os.getpid() % 100000), "hpvb%d" % (os.getpid() % 100000))
PEER = ("hpna%d" % (os.getpid() % 100000), "hpnb%d" % (os.getpid() % 100000))
ADDR = ("10.201.0.1", "10.201.0.2")

# A TCP transfer inside the namespaces: a server that checks what it gets,
# a client that sends it. Both ends of the connection are kernel sockets in
# different namespaces, so every segment crosses hotport.
SERVER = r"""
import hashlib, socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 5201)); s.listen(1); s.settimeout(30)
print("listening", flush=True)
c, _ = s.accept(); c.settimeout(30)
h = hashlib.sha256(); n = 0
while True:
    b = c.recv(1 << 20)
    if not b: break
    h.update(b); n += len(b)
print(n, h.hexdigest(), flush=True)
"""
CLIENT = r"""
import hashlib, socket, sys
data = bytes((i * 7 + i // 251) & 0xff for i in range(1 << 20)) * int(sys.argv[2])
c = socket.create_connection((sys.argv[1], 5201), timeout=30)
c.sendall(data); c.close()
print(len(data), hashlib.sha256(data).hexdigest(), flush=True)
"""


def capturing(dump, timeout):
    """Waits until tcpdump says it listens (its capture is open); returns
    what it wrote on stderr so far."""
    deadline = time.monotonic() + timeout
    err = ""
    while "listening on" not in err:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([dump.stderr], [], [], left)[0]:
            raise AssertionError("tcpdump did not start its capture: " + err)
        # the fd itself: a buffered readline could keep the line wanted
        # where select does not see it
        data = os.read(dump.stderr.fileno(), 4096)
        if not data:
            raise AssertionError("tcpdump exited: " + err)
        err += data.decode(errors="replace")
    return err


def sh(*args, check=True, timeout=30):
    r = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError("%s: exit %d: %s" % (" ".join(args), r.returncode, r.stderr.strip()))
    return r


def in_ns(ns, *args, **kw):
    return sh("ip", "netns", "exec", ns, *args, **kw)


def cleanup():
    for ns in NS:
        sh("ip", "netns", "del", ns, check=False)
    for h in HOST:  # gone with their peers' namespaces; in case one was not moved
        sh("ip", "link", "del", h, check=False)


def setup():
    """Two namespaces, each with one end of a veth pair; the other end stays
    here for hotport. Offloads stay as the kernel sets them (on)."""
    cleanup()
    for i in range(2):
        sh("ip", "netns", "add", NS[i])
        sh("ip", "link", "add", HOST[i], "type", "veth", "peer", "name", PEER[i])
        sh("ip", "link", "set", PEER[i], "netns", NS[i])
        in_ns(NS[i], "ip", "addr", "add", ADDR[i] + "/24", "dev", PEER[i])
        in_ns(NS[i], "ip", "link", "set", PEER[i], "up")
        in_ns(NS[i], "ip", "link", "set", "lo", "up")
        sh("ip", "link", "set", HOST[i], "up")
        # no IPv6 chatter on the host ends
        sh("sysctl", "-qw", "net.ipv6.conf.%s.disable_ipv6=1" % HOST[i], check=False)


def can_run():
    if os.geteuid() != 0:
        return "needs root (network namespaces, veth, TAP)"
    for tool in ("ip", "ping", "tcpdump"):
        if subprocess.run(["which", tool], capture_output=True).returncode != 0:
            return "needs %s" % tool
    r = subprocess.run(["ip", "netns", "add", NS[0]], capture_output=True, text=True)
    if r.returncode != 0:
        return "cannot make a network namespace: " + r.stderr.strip()
    sh("ip", "netns", "del", NS[0], check=False)
    return None


def ping(count, interval="0.05", deadline=None):
    """ping from the first namespace to the second: (sent, received, avg ms)."""
    args = ["ping", "-n", "-c", str(count), "-i", interval, "-W", "1"]
    if deadline:
        args += ["-w", str(deadline)]
    r = in_ns(NS[0], *args, ADDR[1], check=False, timeout=60 * hp.SLOW)
    m = re.search(r"(\d+) packets transmitted, (\d+) received", r.stdout)
    if not m:
        raise AssertionError("ping printed no summary: %s %s" % (r.stdout, r.stderr))
    avg = re.search(r"= [\d.]+/([\d.]+)/", r.stdout)
    return int(m.group(1)), int(m.group(2)), float(avg.group(1)) if avg else None


def test_ping_through_hotport_while_hotplugging():
    why = can_run()
    if why:
        print("skip: " + why)
        return hp.SKIP
    pfx = hp.prefix("netns")
    tap = "hpt%d" % (os.getpid() % 100000)
    try:
        setup()
        with hp.Cleanup() as c:
            pri = c.add(hp.primary(pfx, "--vdev", "net_af_packet0,iface=" + HOST[0],
                                   "--vdev", "net_af_packet1,iface=" + HOST[1]))
            fwd = c.add(hp.secondary(pfx, name="forwarder"))
            plug = c.add(hp.secondary(pfx, name="hotplugger"))
            fwd.cmd("set fwd io", r"Set io packet forwarding mode")
            fwd.cmd("port start all", r"Port 1 started")
            fwd.cmd("start", r"io packet forwarding - ports=0-1")

            sent, got, _ = ping(5, interval="0.2", deadline=20)
            hp.check(got > 0, "no ping answered through hotport (%d sent)" % sent, fwd, pri)

            # ping on while a TAP port comes and goes
            p = subprocess.Popen(["ip", "netns", "exec", NS[0], "ping", "-n", "-c", "60", "-i", "0.05",
                                  "-W", "2", ADDR[1]], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True)
            try:
                time.sleep(0.5)
                pid = int(plug.cmd("port attach net_tap0,iface=" + tap,
                                   r"Port (\d+) attached: net_tap0").group(1))
                fwd.wait_for(r"Port %d: net_tap0 is now usable" % pid)
                hp.check(os.path.exists("/sys/class/net/" + tap), "TAP %s not in the kernel" % tap)
                plug.cmd("port start %d" % pid, r"Port %d started" % pid)
                time.sleep(0.5)
                plug.cmd("port stop %d" % pid, r"Port %d stopped" % pid)
                plug.cmd("port detach %d" % pid, r"Port %d detached: net_tap0" % pid)
                fwd.wait_for(r"Port %d: net_tap0 left this process" % pid)
                hp.check(not os.path.exists("/sys/class/net/" + tap), "TAP %s still there after detach" % tap)
            finally:
                out, err = p.communicate(timeout=60 * hp.SLOW)
            m = re.search(r"(\d+) packets transmitted, (\d+) received", out)
            hp.check(m is not None, "ping printed no summary: %s %s" % (out, err))
            hp.check(m.group(1) == m.group(2) == "60",
                     "pings lost while a TAP port came and went: %s of %s answered" % (m.group(2), m.group(1)),
                     fwd, plug)

            # TCP with the offloads on: 32 MiB arrive intact
            srv = subprocess.Popen(["ip", "netns", "exec", NS[1], "python3", "-c", SERVER],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                hp.check(srv.stdout.readline().strip() == "listening", "TCP server did not start")
                cli = in_ns(NS[0], "python3", "-c", CLIENT, ADDR[1], "32", timeout=60 * hp.SLOW)
                got, _ = srv.communicate(timeout=30 * hp.SLOW)
            finally:
                srv.kill()
            hp.check(got.split() == cli.stdout.split(),
                     "TCP transfer through hotport: sent %s, received %s" % (cli.stdout.strip(), got.strip()), fwd)
            feats = sh("ethtool", "-k", HOST[0], check=False).stdout
            print("offloads on %s: %s" % (HOST[0], ", ".join(
                l.strip() for l in feats.splitlines()
                if re.match(r"\s*(tcp-segmentation-offload|generic-segmentation-offload|"
                            r"generic-receive-offload|tx-checksumming):", l))))

            # the second namespace's port becomes a pcap port on the same veth
            fwd.cmd("port stop 1", r"Port 1 stopped")
            fwd.cmd("port detach 1", r"Port 1 detached: net_af_packet1")
            pid = int(plug.cmd("port attach net_pcap0,iface=" + HOST[1],
                               r"Port (\d+) attached: net_pcap0").group(1))
            fwd.wait_for(r"Port %d: net_pcap0 is now usable" % pid)
            plug.cmd("port start %d" % pid, r"Port %d started" % pid)
            dump = subprocess.Popen(["ip", "netns", "exec", NS[1], "tcpdump", "-n", "-l", "-i", PEER[1],
                                     "-c", "4", "icmp"], stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
            try:
                err = capturing(dump, 10 * hp.SLOW)
                sent, got, _ = ping(10, interval="0.2", deadline=20)
                out, more = dump.communicate(timeout=20 * hp.SLOW)
                err += more
            finally:
                dump.kill()
            hp.check(got > 0, "no ping answered through the pcap port (%d sent)" % sent, fwd)
            echo = [l for l in out.splitlines() if "ICMP echo request" in l and ADDR[0] in l]
            hp.check(len(echo) >= 2, "tcpdump saw no ICMP from the pcap port: %s %s" % (out, err), fwd)

            hp.read_stop(fwd)
            fwd.cmd("quit")
            plug.cmd("quit")
            hp.check(fwd.wait() == 0, "forwarder exit status", fwd)
            hp.check(plug.wait() == 0, "hotplugger exit status", plug)
            hp.check(pri.stop() == 0, "primary exit status", pri)
    finally:
        cleanup()
    for ns in NS:
        hp.check(not os.path.exists("/run/netns/" + ns), "namespace %s left behind" % ns)
    for h in HOST + (tap,):
        hp.check(not os.path.exists("/sys/class/net/" + h), "interface %s left behind" % h)


if __name__ == "__main__":
    hp.main([test_ping_through_hotport_while_hotplugging])
