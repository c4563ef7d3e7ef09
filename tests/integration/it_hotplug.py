#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Hotplug requested from a secondary, end to end with the real apps: a
primary and two secondaries; a port attached from one is seen by the
other and by a secondary that starts later; a started port cannot be
detached; detach from the other secondary."""
import os
import signal

import hp


def test_attach_from_secondary_seen_everywhere():
    pfx = hp.prefix("hotplug")
    with hp.Cleanup() as c:
        pri = c.add(hp.primary(pfx))
        a = c.add(hp.secondary(pfx, name="secondary A"))
        b = c.add(hp.secondary(pfx, name="secondary B"))

        a.cmd("show procs", r"secondary")
        m = a.cmd("port attach net_null0,size=128", r"Port (\d+) attached: net_null0")
        pid = m.group(1)
        b.cmd("show ports", r"^\s*%s\s+net_null0\s+net_null\s+attached\s+stopped" % pid)
        b.cmd("show port info %s" % pid, r"net_null0,size=128")
        pri_late = c.add(hp.secondary(pfx, name="secondary C"))
        pri_late.cmd("show ports", r"^\s*%s\s+net_null0" % pid)

        # Queue configuration from a secondary reaches every process.
        b.cmd("port config all rxq 2", r"Port %s: rx queues set to 2" % pid)
        a.cmd("show port info %s" % pid, r"Queues: 2 rx, 1 tx")
        a.cmd("port start %s" % pid, r"Port %s started" % pid)
        b.cmd("port config all txq 2", r"error: port %s: .*stop it first" % pid)
        b.cmd("port detach %s" % pid, r"error: .*stop it first")
        b.cmd("port stop %s" % pid, r"Port %s stopped" % pid)
        b.cmd("port detach %s" % pid, r"Port %s detached: net_null0" % pid)
        a.cmd("show ports", r"No ports attached")
        a.cmd("port detach %s" % pid, r"error: .*not attached")

        # A and B each had a command fail: exit status 1; C had none.
        for s, status in ((a, 1), (b, 1), (pri_late, 0)):
            s.cmd("quit")
            hp.check(s.wait() == status, "%s exit status" % s.name, s)
        hp.check(pri.stop() == 0, "primary exit status after SIGTERM", pri)
        hp.check(not os.path.exists(hp.runtime_dir(pfx)), "runtime dir left behind", pri)


def test_secondary_command_exit_status():
    pfx = hp.prefix("status")
    with hp.Cleanup() as c:
        pri = c.add(hp.primary(pfx))
        st, out, err, _ = hp.run(hp.SECONDARY, "--file-prefix", pfx, "-c", "port attach net_null7")
        hp.check(st == 0 and "attached: net_null7" in out, "attach with -c: %d %s %s" % (st, out, err))
        st, out, err, _ = hp.run(hp.SECONDARY, "--file-prefix", pfx, "-c", "port attach nosuch0")
        hp.check(st != 0 and "error:" in err and "error:" not in out,
                 "bad attach with -c must fail, saying so on stderr: %d %s %s" % (st, out, err))
        st, out, err, _ = hp.run(hp.SECONDARY, "--file-prefix", pfx, "-c", "show ports")
        hp.check(st == 0 and "net_null7" in out, "show ports with -c: %d %s" % (st, out))
        # Regression: a failed command followed by -c quit exited 0 (as
        # --cmd FILE and standard input do not).
        for exe in (hp.SECONDARY, hp.PRIMARY):
            args = ["--file-prefix", pfx] if exe == hp.SECONDARY else \
                ["--file-prefix", pfx + "-q"] + hp.mem_args()
            st, out, err, _ = hp.run(exe, *args, "-c", "bogus", "-c", "quit")
            hp.check(st == 1 and "unknown command 'bogus'" in err,
                     "%s -c bogus -c quit: exit status %d %s" % (exe, st, err))
        # Regression: --cmd naming a directory failed without a word.
        st, out, err, _ = hp.run(hp.SECONDARY, "--file-prefix", pfx, "--cmd", "/")
        hp.check(st == 1 and err == "error: cannot read the commands: Is a directory\n",
                 "--cmd /: exit status %d %r" % (st, err))
        hp.check(pri.stop() == 0, "primary exit status", pri)
    hp.check(not os.path.exists(hp.runtime_dir(pfx)), "runtime dir left behind")


def test_port_left_detaching_is_not_no_such_port():
    # Regression: 'port stop' on a port a timed-out detach left DETACHING
    # said "no such port". It says the port is detaching and what to type.
    pfx = hp.prefix("leftdetaching")
    with hp.Cleanup() as c:
        pri = c.add(hp.primary(pfx, "--timeout", "300", "--vdev", "net_null0"))
        stalled = c.add(hp.secondary(pfx, name="stalled"))
        b = c.add(hp.secondary(pfx, name="secondary B"))
        # a process takes part in a detach once it has used the port:
        # forward on it a moment
        b.cmd("port start 0", r"Port 0 started")
        stalled.cmd("set fwd rxonly", r"Set rxonly")
        stalled.cmd("start", r"rxonly packet forwarding - ports=0")
        hp.read_stop(stalled)
        b.cmd("port stop 0", r"Port 0 stopped")
        os.kill(stalled.p.pid, signal.SIGSTOP)
        # kill() returns before every thread has stopped: wait until the
        # whole process is, or its I/O thread may still answer the detach
        _, st = os.waitpid(stalled.p.pid, os.WUNTRACED)
        hp.check(os.WIFSTOPPED(st), "the secondary did not stop", stalled)
        try:
            b.cmd("port detach 0", r"error: .*port 0 stays detaching")
            b.cmd("port stop 0", r"error: port 0: failed to stop: port 0 \(net_null0\) is detaching .*"
                  r"'port detach 0' finishes it")
            b.cmd("port start 0", r"error: port 0: failed to start: port 0 \(net_null0\) is detaching")
        finally:
            os.kill(stalled.p.pid, signal.SIGCONT)
        b.cmd("port detach 0", r"Port 0 detached: net_null0")
        b.cmd("quit")
        hp.check(b.wait() == 1, "secondary B exit status", b)
        hp.check(pri.stop() == 0, "primary exit status", pri)


if __name__ == "__main__":
    hp.main([test_attach_from_secondary_seen_everywhere, test_secondary_command_exit_status,
             test_port_left_detaching_is_not_no_such_port])
