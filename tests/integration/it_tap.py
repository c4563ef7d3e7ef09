#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""net_tap with the real apps: a TAP port given with --vdev and one attached
from a secondary are interfaces the kernel sees, with the MAC that show port
info prints; port start brings one up and port stop down; a bad interface
gives one error line; detach removes the interface, and so does the end of
the primary. Needs root and /dev/net/tun."""
import os

import hp


def iface(name, attr):
    with open("/sys/class/net/%s/%s" % (name, attr)) as f:
        return f.read().strip()


def exists(name):
    return os.path.exists("/sys/class/net/" + name)


def test_tap_ports_seen_by_the_kernel():
    if os.geteuid() != 0 or not os.path.exists("/dev/net/tun"):
        return hp.SKIP
    pfx = hp.prefix("tap")
    n = os.getpid() % 100000
    vdev, named = "hp_tap%d" % n, "hpit%d" % n
    with hp.Cleanup() as c:
        pri = c.add(hp.primary(pfx, "--vdev", "net_tap%d" % n))
        a = c.add(hp.secondary(pfx, name="secondary A"))
        m = a.cmd("show port info 0", r"MAC address: ([0-9A-F:]{17})")
        hp.check(m.group(1) == iface(vdev, "address").upper(),
                 "MAC %s, the kernel says %s" % (m.group(1), iface(vdev, "address")), a)

        m = a.cmd("port attach net_tap%d,iface=%s,mac=02:00:00:00:00:2a" % (n + 1, named),
                  r"Port (\d+) attached: net_tap")
        port = m.group(1)
        a.cmd("show port info %s" % port, r"MAC address: 02:00:00:00:00:2A")
        hp.check(iface(named, "address") == "02:00:00:00:00:2a", "MAC of " + named, a)
        a.cmd("port start %s" % port, r"Port %s started" % port)
        hp.check(int(iface(named, "flags"), 16) & 1, named + " not up after port start", a)
        a.cmd("port stop %s" % port, r"Port %s stopped" % port)
        hp.check(not int(iface(named, "flags"), 16) & 1, named + " still up after port stop", a)
        a.cmd("port attach net_tap%d,iface=lo" % (n + 2),
              r"^error: failed to attach 'net_tap\d+,iface=lo': "
              r"interface 'lo' exists and is not a TAP this port may take$")
        a.cmd("port detach %s" % port, r"Port %s detached: net_tap" % port)
        hp.check(not exists(named), named + " left after detach", a)
        a.cmd("show ports", r"^\s*0\s+net_tap%d\s+net_tap\s+attached" % n)

        a.cmd("quit")
        hp.check(a.wait() == 1, "secondary exit status (one command failed)", a)
        hp.check(pri.stop() == 0, "primary exit status after SIGTERM", pri)
        hp.check(not exists(vdev), vdev + " left after the primary ended", pri)


if __name__ == "__main__":
    hp.main([test_tap_ports_seen_by_the_kernel])
