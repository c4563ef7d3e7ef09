# SPDX-License-Identifier: BSD-3-Clause
"""Output that nobody reads, lines written whole, quiet one-shot commands.

Regression (issue 10, item 0): a forwarder whose standard output was a
pipe that nobody read blocked its IPC I/O thread in write() while printing
a port event, and every detach in the instance then timed out; a primary
whose stderr nobody read blocked in its log the same way. Item 6: an
"error: " prefix and its message were two writes, and an event line landed
between them. Item 8: -c and --cmd FILE printed events and ready lines."""
import os
import re
import tempfile
import threading
import time

import hp

# Hotplug deadline: generous, so that a loaded machine is not taken for the
# stall this file looks for (which lasts for ever).
TIMEOUT = ["--timeout", str(int(20000 * hp.SLOW))]


def cycler(pfx, name, cycles, failures):
    """A secondary (standard input) that attaches and detaches its own
    null port cycles times, each answer awaited; failures gets what went
    wrong."""
    s = hp.secondary(pfx, *TIMEOUT, name=name, ready=False)
    try:
        s.wait_for(r"hotport-secondary ready", timeout=60 * hp.SLOW)
        for _ in range(cycles):
            m = s.cmd("port attach %s" % name, r"Port (\d+) attached: %s|^error: .*" % name, timeout=60 * hp.SLOW)
            if not m.group(1):
                failures.append("%s: %s" % (name, m.group(0)))
                return
            m = s.cmd("port detach %s" % m.group(1), r"Port \d+ detached: %s|^error: .*" % name,
                      timeout=60 * hp.SLOW)
            if m.group(0).startswith("error:"):
                failures.append("%s: %s" % (name, m.group(0)))
                return
        s.close_stdin()
        if s.wait(30 * hp.SLOW) != 0:
            failures.append("%s: exit status %d" % (name, s.p.returncode))
    except AssertionError as e:
        failures.append(str(e))
    finally:
        s.kill()


def test_forwarder_stdout_never_read():
    """The soak of item 0: two started null ports, a forwarder on all ports
    (they follow hotplug) whose stdout is never read, four secondaries
    attaching and detaching their own ports at once: all succeed."""
    pfx = hp.prefix("unread-out")
    cycles = int(os.environ.get("HOTPORT_TEST_SOAK_CYCLES", "1500"))
    with hp.Cleanup() as c:
        pri = c.add(hp.primary(pfx, "--vdev", "net_null0", "--vdev", "net_null1", *TIMEOUT))
        fwd = c.add(hp.Proc(hp.SECONDARY, ["--file-prefix", pfx, "-l", "1"] + TIMEOUT, name="forwarder",
                            read=("err",)))
        for line in ("port start all", "set fwd io", "start"):
            fwd.cmd(line)
        # forwarding runs once port 1 sends (the forwarder says so on the
        # stdout nobody reads)
        mon = c.add(hp.secondary(pfx, name="monitor"))
        first = hp.port_stats(mon, 1)["opackets"]
        hp.until(lambda: hp.port_stats(mon, 1)["opackets"], lambda n: n > first,
                 "port 1 sends nothing: the forwarder did not start", tries=100)
        failures = []
        t0 = time.monotonic()
        threads = [threading.Thread(target=cycler, args=(pfx, "net_null%d" % (10 + i), cycles, failures))
                   for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print("4 x %d cycles beside an unread forwarder: %.1f s" % (cycles, time.monotonic() - t0))
        hp.check(not failures, "hotplug failed beside an unread forwarder:\n" + "\n".join(failures), pri, fwd)
        # it still forwards, and once read it says what it dropped
        hp.check(fwd.p.poll() is None, "the forwarder died", fwd)
        fwd.drain("out")
        fwd.wait_for(r"^output: \d+ lines dropped", timeout=30 * hp.SLOW)
        print("the forwarder printed %d lines" % len(fwd.output()))
        fwd.close_stdin()
        hp.check(fwd.wait(30 * hp.SLOW) == 0, "forwarder exit status", fwd)
        hp.check(pri.stop() == 0, "primary exit status", pri)


def primary_cycles(pfx, read_err, cycles):
    """A primary at --log-level debug (its stderr read or not) serves
    cycles attach/detach pairs from one secondary: the seconds taken."""
    with hp.Cleanup() as c:
        pri = c.add(hp.Proc(hp.PRIMARY, ["--file-prefix", pfx, "--log-level", "debug"] + hp.mem_args(),
                            name="primary", read=("out", "err") if read_err else ("out",)))
        pri.wait_for(r"hotport-primary ready")
        with tempfile.NamedTemporaryFile("w", prefix="hp-it-cycles-", suffix=".txt") as f:
            f.write("port attach net_null0\nport detach 0\n" * cycles)
            f.flush()
            st, out, err, secs = hp.run(hp.SECONDARY, "--file-prefix", pfx, "--cmd", f.name,
                                        timeout=120 * hp.SLOW)
        hp.check(st == 0 and not err, "%d cycles: exit status %d\n%s" % (cycles, st, err[-2000:]), pri)
        hp.check(out.count("detached: net_null0") == cycles, "%d cycles: %d detached" % (
            cycles, out.count("detached: net_null0")), pri)
        if not read_err:
            pri.drain("err")
        pri.wait_for(r"port: debug:", stream="err", timeout=30 * hp.SLOW)
        if not read_err:
            # once read, the log says what it could not write meanwhile
            pri.wait_for(r"log: warning: \d+ lines dropped", stream="err", timeout=30 * hp.SLOW)
        hp.check(pri.stop(timeout=30 * hp.SLOW) == 0, "primary exit status", pri)
        return secs


def test_primary_stderr_never_read():
    """3,000 cycles against a primary logging at debug level whose stderr
    nobody reads complete, no request failing (timed beside a run whose
    stderr is read, for the reader only: timing is never asserted)."""
    cycles = 3000
    unread = primary_cycles(hp.prefix("unread-err"), False, cycles)
    drained = primary_cycles(hp.prefix("drained-err"), True, cycles)
    print("%d cycles, primary at debug level: stderr unread %.1f s, read %.1f s" % (cycles, unread, drained))


# Every line a listening secondary may print in test_lines_whole.
WHOLE = re.compile(r"hotport-secondary ready: pid \d+, prefix \S+|"
                   r"Port \d+: net_null\d+ (is now usable in this process|left this process)|"
                   r"error: unknown command 'bogus' \(type 'help' for the list\)|"
                   r"output: \d+ lines dropped: standard output was not read in time")


def test_lines_whole():
    """Error lines written by the command thread and event lines written
    for the port-event callback at the same time: every line whole."""
    pfx = hp.prefix("whole")
    cycles = 1500
    with hp.Cleanup() as c:
        c.add(hp.primary(pfx))
        ear = c.add(hp.secondary(pfx, name="listener"))
        stop = threading.Event()

        def errors():
            while not stop.is_set():
                ear.p.stdin.write("bogus\n" * 200)
                ear.p.stdin.flush()
        t = threading.Thread(target=errors)
        t.start()
        try:
            with tempfile.NamedTemporaryFile("w", prefix="hp-it-whole-", suffix=".txt") as f:
                f.write("port attach net_null0\nport detach 0\n" * cycles)
                f.flush()
                st, _, err, _ = hp.run(hp.SECONDARY, "--file-prefix", pfx, "--cmd", f.name,
                                       timeout=120 * hp.SLOW)
        finally:
            stop.set()
            t.join()
        hp.check(st == 0, "cycles: exit status %d: %s" % (st, err[-2000:]))
        ear.close_stdin()
        ear.wait(30 * hp.SLOW)
        lines = ear.output()
        bad = [l for l in lines if not WHOLE.fullmatch(l)]
        events = sum(1 for l in lines if l.startswith("Port "))
        print("%d lines, %d of them events, %d cut" % (len(lines), events, len(bad)))
        hp.check(events >= cycles // 2, "only %d event lines" % events)
        hp.check(not bad, "lines not whole:\n" + "\n".join(bad[:20]))


def test_one_shot_quiet():
    """-c and --cmd FILE print what the commands print, errors on stderr;
    --verbose adds the ready line and the events."""
    pfx = hp.prefix("quiet")
    table = [r"\s+0\s+net_null0\s+net_null\s+attached\s+stopped", r"\s+1\s+net_null1\s+net_null\s+attached\s+stopped"]
    with hp.Cleanup() as c:
        pri = c.add(hp.primary(pfx, "--vdev", "net_null0", "--vdev", "net_null1"))
        st, out, err, _ = hp.run(hp.SECONDARY, "--file-prefix", pfx, "-c", "show ports")
        lines = out.splitlines()
        hp.check(st == 0 and len(lines) == 2 and all(re.fullmatch(t, l) for t, l in zip(table, lines))
                 and err == "", "-c 'show ports': %d\n%s---\n%s" % (st, out, err))
        st, out, err, _ = hp.run(hp.SECONDARY, "--file-prefix", pfx, "-c", "port detach 9")
        hp.check(st == 1 and out == "" and re.fullmatch(r"error: port 9: .*\n", err),
                 "-c 'port detach 9': %d\n%s---\n%s" % (st, out, err))
        with tempfile.NamedTemporaryFile("w", prefix="hp-it-quiet-", suffix=".txt") as f:
            f.write("show ports\nbogus\n")
            f.flush()
            st, out, err, _ = hp.run(hp.SECONDARY, "--file-prefix", pfx, "--cmd", f.name)
        lines = out.splitlines()
        hp.check(st == 1 and len(lines) == 2 and re.fullmatch(r"error: unknown command 'bogus'.*\n", err),
                 "--cmd FILE: %d\n%s---\n%s" % (st, out, err))
        st, out, err, _ = hp.run(hp.SECONDARY, "--file-prefix", pfx, "-c", "show ports", "--verbose")
        hp.check(st == 0 and re.search(r"^hotport-secondary ready: pid \d+", out, re.M)
                 and "Port 0: net_null0 is now usable in this process" in out
                 and "Port 1: net_null1 left this process" in out, "--verbose: %d\n%s---\n%s" % (st, out, err))
        st, out, err, _ = hp.run(hp.PRIMARY, "--file-prefix", pfx + "-2", "--no-huge", "-c", "show ports")
        hp.check(st == 0 and out == "No ports attached\n" and err == "",
                 "primary -c 'show ports': %d\n%s---\n%s" % (st, out, err))
        hp.check(pri.stop() == 0, "primary exit status", pri)


if __name__ == "__main__":
    hp.main([test_one_shot_quiet, test_lines_whole, test_primary_stderr_never_read,
             test_forwarder_stdout_never_read])
