#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""net_af_packet with the real apps: two veth pairs whose far ends live in
private network namespaces; a secondary attaches the near ends and
forwards between them; ping from one namespace to the other goes through
it; another secondary reads the same counters; a bad interface name gives
one line; detach leaves no socket open in any process. Needs root (skipped
otherwise). Each namespace is held by a process that dies with this one,
so nothing is left behind even if the test is killed."""
import ctypes
import os
import re
import shutil
import signal
import subprocess

import hp

PR_SET_PDEATHSIG = 1
libc = ctypes.CDLL(None, use_errno=True)


def die_with_parent():
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class Netns:
    """A network namespace held by a sleeping child process."""

    def __init__(self):
        self.p = subprocess.Popen(["unshare", "--net", "sleep", "3600"],
                                  preexec_fn=die_with_parent)
        self.path = "/proc/%d/ns/net" % self.p.pid
        mine = os.stat("/proc/self/ns/net").st_ino
        hp.until(lambda: os.stat(self.path).st_ino, lambda ino: ino != mine,
                 "unshare did not make a network namespace", wait=0.01)

    def run(self, *cmd, timeout=10.0):
        return subprocess.run(["nsenter", "--net=" + self.path] + list(cmd),
                              capture_output=True, text=True, timeout=timeout)

    def close(self):
        self.p.kill()
        self.p.wait()


def sh(*cmd):
    r = subprocess.run(list(cmd), capture_output=True, text=True, timeout=10)
    if r.returncode:
        raise AssertionError("%s: %s" % (" ".join(cmd), r.stderr.strip()))


def nfds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def test_ping_through_a_secondary():
    if os.geteuid() != 0 or not shutil.which("nsenter") or not shutil.which("unshare"):
        print("skipped: needs root, unshare and nsenter (network namespaces, veth pairs)")
        return hp.SKIP
    pfx = hp.prefix("afp")
    near = ["hia%d" % (os.getpid() % 1000000), "hib%d" % (os.getpid() % 1000000)]
    spaces = []
    try:
        for i, name in enumerate(near):
            ns = Netns()
            spaces.append(ns)
            sh("ip", "link", "add", name, "type", "veth", "peer", "name", "p0",
               "netns", str(ns.p.pid))
            sh("ip", "link", "set", name, "up")
            for cmd in (["ip", "addr", "add", "10.98.0.%d/24" % (i + 1), "dev", "p0"],
                        ["ip", "link", "set", "p0", "up"]):
                r = ns.run(*cmd)
                hp.check(r.returncode == 0, "%s: %s" % (" ".join(cmd), r.stderr))
        with hp.Cleanup() as c:
            pri = c.add(hp.primary(pfx))
            fwd = c.add(hp.secondary(pfx, name="forwarder"))
            watch = c.add(hp.secondary(pfx, name="watcher"))
            base = [nfds(p.pid) for p in (pri, fwd, watch)]
            fwd.cmd("port attach net_af_packet2,iface=hinosuch",
                    r"^error: failed to attach 'net_af_packet2,iface=hinosuch': "
                    r"no interface 'hinosuch' \(see 'ip link'\)$")
            for i, name in enumerate(near):
                fwd.cmd("port attach net_af_packet%d,iface=%s" % (i, name),
                        r"Port %d attached: net_af_packet%d" % (i, i))
            # and the primary its link watch (rtnetlink) while af_packet
            # ports exist
            hp.check([nfds(p.pid) for p in (pri, fwd, watch)] ==
                     [base[0] + 3, base[1] + 2, base[2] + 2],
                     "every process holds one socket per port", pri, fwd, watch)
            fwd.cmd("port start all", r"Port 1 started")
            fwd.cmd("set fwd io", r"Set io packet forwarding mode")
            fwd.cmd("start", r"io packet forwarding - ports=0-1")

            r = spaces[0].run("ping", "-c", "3", "-i", "0.2", "-W", "5", "10.98.0.2",
                              timeout=30)
            hp.check(r.returncode == 0, "ping through the forwarder failed:\n" + r.stdout, fwd)
            rtt = re.search(r"= [\d.]+/([\d.]+)/", r.stdout)
            print("ping through the forwarder: %s ms on average" % (rtt.group(1) if rtt else "?"))

            ports, total = hp.read_stop(fwd)
            hp.check(ports[0][0] >= 3 and ports[1][0] >= 3,
                     "each side received the echo requests or replies", fwd)
            hp.check(total[0] == total[1] + total[2], "RX = TX + dropped", fwd)
            # another process reads the same counters
            for p in (0, 1):
                hp.check(hp.port_stats(watch, p) == hp.port_stats(fwd, p),
                         "port %d: the counters differ between processes" % p, fwd, watch)
            fwd.cmd("port stop all", r"Port 1 stopped")
            for p in (0, 1):
                fwd.cmd("port detach %d" % p, r"Port %d detached: net_af_packet%d" % (p, p))
            hp.check([nfds(p.pid) for p in (pri, fwd, watch)] == base,
                     "a process still holds sockets", pri, fwd, watch)
            watch.cmd("quit")
            hp.check(watch.wait() == 0, "watcher exit status", watch)
            fwd.cmd("quit")
            hp.check(fwd.wait() == 1, "forwarder exit status (one attach failed)", fwd)
            hp.check(pri.stop() == 0, "primary exit status", pri)
    finally:
        for name in near:
            subprocess.run(["ip", "link", "del", name], capture_output=True)
        for ns in spaces:
            ns.close()


if __name__ == "__main__":
    hp.main([test_ping_through_a_secondary])
