#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""The quick-start demo: a primary and two secondaries; secondary B asks
for a port, secondary A sees it arrive and forwards packets while B
attaches a second port (A's counters show packets going through it) and
detaches it, B detaches the first, A sees it go."""
import os
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../tests/integration"))
import hp  # noqa: E402

BOLD, DIM, END = ("\033[1m", "\033[2m", "\033[0m") if sys.stdout.isatty() else ("", "", "")
lock = threading.Lock()


def say(text):
    with lock:
        print("\n%s== %s%s" % (BOLD, text, END), flush=True)


class Shown(hp.Proc):
    """A process whose output lines are printed as they come, labelled."""

    def _read(self, stream, f):
        for line in f:
            line = line.rstrip("\n")
            with lock:
                tag = "%-12s" % self.name
                if stream == "err":
                    print("  %s%s | %s%s" % (DIM, tag, line, END), flush=True)
                else:
                    print("  %s | %s" % (tag, line), flush=True)
            with self.cv:
                self.lines[stream].append(line)
                self.cv.notify_all()
        with self.cv:
            self.closed[stream] = True
            self.cv.notify_all()


def cmd(p, line, expect):
    with lock:
        print("  %s%-12s > %s%s" % (BOLD, p.name, line, END), flush=True)
    return p.cmd(line, expect)


def main():
    pfx = "demo-%d" % os.getpid()
    with hp.Cleanup() as c:
        say("Start the primary: it owns the shared memory and the port table")
        pri = c.add(Shown(hp.PRIMARY, ["--file-prefix", pfx, "--log-level", "info"], name="primary"))
        pri.wait_for(r"hotport-primary ready")

        say("Start two secondary workers; they map the primary's memory")
        a = c.add(Shown(hp.SECONDARY, ["--file-prefix", pfx], name="secondary A"))
        a.wait_for(r"ready")
        b = c.add(Shown(hp.SECONDARY, ["--file-prefix", pfx], name="secondary B"))
        b.wait_for(r"ready")
        cmd(b, "show procs", r"secondary.*\(this process\)|secondary.*this")

        say("Secondary B asks the primary to attach a port; every process gets it")
        cmd(b, "port attach net_null0,size=64", r"Port \d+ attached")
        a.wait_for(r"net_null0 is now usable in this process")
        cmd(a, "show ports", r"net_null0")
        cmd(a, "show port info 0", r"devargs|Devargs")

        say("A started port cannot be detached: stop it first")
        cmd(a, "port start 0", r"started")
        cmd(b, "port detach 0", r"error: .*stop it first")

        say("Secondary A forwards packets; a port B attaches meanwhile joins in, then leaves")
        cmd(a, "set fwd io", r"Set io packet forwarding mode")
        cmd(a, "start", r"packet forwarding - ports=0 ")
        cmd(b, "port attach net_null1", r"Port 1 attached")
        a.wait_for(r"net_null1 is now usable in this process")
        cmd(b, "port start 1", r"Port 1 started")
        hp.until(lambda: hp.port_stats(a, 1, cmd)["ipackets"], bool, "no packet went through port 1")
        cmd(a, "show fwd", r"Forwarding: running")
        cmd(b, "port stop 1", r"Port 1 stopped")
        cmd(b, "port detach 1", r"Port 1 detached: net_null1")
        a.wait_for(r"net_null1 left this process")
        cmd(a, "stop", r"^Done\.")
        cmd(a, "port stop 0", r"stopped")

        say("Secondary B detaches the port; it leaves every process")
        cmd(b, "port detach 0", r"Port 0 detached: net_null0")
        a.wait_for(r"net_null0 left this process")
        cmd(a, "show ports", r"No ports attached")

        say("Shut down: the secondaries quit, the primary stops on SIGTERM")
        # Exit status 1 says a command failed: B's refused detach, on purpose.
        for s, status in ((a, 0), (b, 1)):
            s.cmd("quit")
            if s.wait() != status:
                raise SystemExit("%s exited with status %d" % (s.name, s.p.returncode))
        if pri.stop() != 0:
            raise SystemExit("the primary exited with an error")
    say("Demo finished")


def run_main(main, what):
    """Runs main; a failed wait or check ends it with one line, status 1."""
    try:
        main()
    except AssertionError as e:
        print("%s failed: %s" % (what, e), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    run_main(main, "demo")
