#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Forwarding in a secondary with the real apps: io forwarding between two
net_null ports of the primary while another secondary attaches and
detaches a third port (it joins the streams, then leaves them); stop
prints testpmd's forward statistics; two secondaries split the queues of
the same ports; a secondary that quits while forwarding stops cleanly.
Waits are bounded and nothing depends on how fast packets move."""
import os

import hp


def poll(proc, command, pattern, ok):
    """Runs command until the line matching pattern satisfies ok(match)."""
    return hp.until(lambda: proc.cmd(command, pattern), ok,
                    lambda: "%s: '%s' never gave what was expected:\n%s" % (proc.name, command, proc.dump()))


def rx_packets(proc, port):
    """Port's RX-packets as show port stats prints it."""
    return hp.port_stats(proc, port)["ipackets"]


def wait_rx_grows(proc, port, above=0):
    return hp.until(lambda: rx_packets(proc, port), lambda n: n > above,
                    lambda: "%s: port %d received nothing:\n%s" % (proc.name, port, proc.dump()))


def test_forward_while_another_secondary_hotplugs():
    pfx = hp.prefix("fwd")
    with hp.Cleanup() as c:
        pri = c.add(hp.primary(pfx, "--vdev", "net_null0", "--vdev", "net_null1"))
        fwd = c.add(hp.secondary(pfx, name="forwarder"))
        plug = c.add(hp.secondary(pfx, name="hotplugger"))

        fwd.cmd("set fwd io", r"Set io packet forwarding mode")
        fwd.cmd("port start all", r"Port 1 started")
        fwd.cmd("start", r"io packet forwarding - ports=0-1 - queues=0 - threads=1 - streams=2")
        fwd.cmd("start", r"error: packet forwarding already started")
        wait_rx_grows(fwd, 0)
        wait_rx_grows(fwd, 1)

        # a third port, attached by the other secondary, joins the streams
        pid = int(plug.cmd("port attach net_null2", r"Port (\d+) attached: net_null2").group(1))
        fwd.wait_for(r"Port %d: net_null2 is now usable" % pid)
        poll(fwd, "show fwd", r"Forwarding: running, (\d+) streams", lambda m: m.group(1) == "3")
        plug.cmd("port start %d" % pid, r"Port %d started" % pid)
        wait_rx_grows(fwd, pid)
        # and leaves them when detached, while forwarding goes on
        plug.cmd("port stop %d" % pid, r"Port %d stopped" % pid)
        plug.cmd("port detach %d" % pid, r"Port %d detached: net_null2" % pid)
        fwd.wait_for(r"Port %d: net_null2 left this process" % pid)
        poll(fwd, "show fwd", r"Forwarding: running, (\d+) streams", lambda m: m.group(1) == "2")
        before = rx_packets(fwd, 0)
        wait_rx_grows(fwd, 0, before)

        ports, total = hp.read_stop(fwd)
        for p in (0, 1, pid):
            hp.check(p in ports, "no forward statistics for port %d" % p, fwd)
        hp.check(ports[0][0] > 0 and ports[1][0] > 0, "ports 0 and 1 forwarded nothing", fwd)
        hp.check(ports[pid][0] > 0, "port %d forwarded nothing while attached" % pid, fwd)
        hp.check(total[0] == total[1] + total[2] and total[0] > 0,
                 "RX-packets %d != TX-packets %d + TX-dropped %d" % total, fwd)
        hp.check(total == tuple(sum(v[i] for v in ports.values()) for i in range(3)),
                 "the accumulated statistics are not the sum of the ports'", fwd)
        fwd.cmd("stop", r"error: packet forwarding not started")
        fwd.cmd("show fwd", r"Forwarding: stopped")

        # one command failed in each: start twice, stop twice
        fwd.cmd("quit")
        hp.check(fwd.wait() == 1, "forwarder exit status", fwd)
        plug.cmd("quit")
        hp.check(plug.wait() == 0, "hotplugger exit status", plug)
        hp.check(pri.stop() == 0, "primary exit status after SIGTERM", pri)


def test_two_secondaries_split_queues():
    pfx = hp.prefix("fwdq")
    with hp.Cleanup() as c:
        pri = c.add(hp.primary(pfx, "--vdev", "net_null0,queues=2", "--vdev", "net_null1,queues=2"))
        a = c.add(hp.secondary(pfx, name="queue 0"))
        b = c.add(hp.secondary(pfx, name="queue 1"))
        a.cmd("port start all", r"Port 1 started")
        a.cmd("set fwd-queues 0", r"Forwarding queues: 0")
        b.cmd("set fwd-queues 1", r"Forwarding queues: 1")
        a.cmd("start", r"ports=0-1 - queues=0 - .* - streams=2")
        b.cmd("start", r"ports=0-1 - queues=1 - .* - streams=2")
        # Both forwarders must have run before they stop: wait for each
        # queue's own counter (B's thread may get its turn later).
        for q in (0, 1):
            hp.until(lambda: int(a.cmd("show port stats 0", r"Queue %d +RX-packets: (\d+)" % q).group(1)),
                     lambda n: n > 0, "queue %d of port 0 received nothing" % q)
        results = [hp.read_stop(s) for s in (a, b)]
        for s, (ports, total) in zip((a, b), results):
            hp.check(total[0] > 0 and total[0] == total[1] + total[2],
                     "%s: RX-packets %d, TX-packets %d, TX-dropped %d" % ((s.name,) + total), s)
        for s in (a, b):
            s.cmd("quit")
            hp.check(s.wait() == 0, "%s exit status" % s.name, s)
        hp.check(pri.stop() == 0, "primary exit status after SIGTERM", pri)


def test_quit_while_forwarding():
    pfx = hp.prefix("fwdquit")
    with hp.Cleanup() as c:
        pri = c.add(hp.primary(pfx, "--vdev", "net_null0"))
        cpu = min(os.sched_getaffinity(0))
        s = c.add(hp.secondary(pfx, "-l", str(cpu)))
        s.cmd("port start 0", r"Port 0 started")
        s.cmd("set fwd mac", r"Set mac packet forwarding mode")
        s.cmd("start", r"mac packet forwarding - ports=0 - queues=0 - threads=1 on lcores %d - streams=1" % cpu)
        wait_rx_grows(s, 0)
        s.close_stdin()
        hp.check(s.wait() == 0, "exit status after end of input while forwarding", s)
        # the primary still serves: the port can be stopped and detached
        st, out, err, _ = hp.run(hp.SECONDARY, "--file-prefix", pfx, "-c", "port stop 0", "-c", "port detach 0")
        hp.check(st == 0 and "detached: net_null0" in out, "detach after: %d %s %s" % (st, out, err))
        hp.check(pri.stop() == 0, "primary exit status after SIGTERM", pri)


def test_start_refused_while_ports_are_stopped():
    # Regression: 'set fwd io; start' with the --vdev ports still stopped
    # forwarded 0 packets and said nothing. Now start says which ports are
    # stopped and what to type (as testpmd refuses: "Not all ports were
    # started"), and forwards once they are started or left out.
    pfx = hp.prefix("fwdstopped")
    with hp.Cleanup() as c:
        pri = c.add(hp.primary(pfx, "--vdev", "net_null0", "--vdev", "net_null1"))
        st, out, err, _ = hp.run(hp.SECONDARY, "--file-prefix", pfx, "-c", "set fwd io", "-c", "start",
                                 "-c", "port start 0", "-c", "start", "-c", "show fwd")
        both = out + err
        hp.check(st == 1, "exit status %d:\n%s" % (st, both))
        hp.check("error: ports 0 (net_null0), 1 (net_null1) are stopped" in both and
                 "type 'port start all' first, or leave them out with 'set portlist'" in both,
                 "first start:\n" + both)
        hp.check("error: port 1 (net_null1) is stopped" in both and "type 'port start 1' first" in both,
                 "second start:\n" + both)
        hp.check("Forwarding: stopped" in both and "packet forwarding - " not in both,
                 "forwarding started anyway:\n" + both)
        # the stopped port left out: forwarding starts, and moves packets
        s = c.add(hp.secondary(pfx))
        s.cmd("set portlist 0", r"Forwarding ports: 0")
        s.cmd("start", r"io packet forwarding - ports=0 - ")
        wait_rx_grows(s, 0)
        ports, total = hp.read_stop(s)
        hp.check(total[0] > 0, "port 0 forwarded nothing", s)
        s.cmd("quit")
        hp.check(s.wait() == 0, "secondary exit status", s)
        hp.check(pri.stop() == 0, "primary exit status after SIGTERM", pri)


if __name__ == "__main__":
    hp.main([test_forward_while_another_secondary_hotplugs, test_two_secondaries_split_queues,
             test_quit_while_forwarding, test_start_refused_while_ports_are_stopped])
