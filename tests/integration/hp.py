# SPDX-License-Identifier: BSD-3-Clause
"""Runs real hotport-primary and hotport-secondary processes for the
integration tests: start, wait for a line, send commands, stop."""
import os
import re
import signal
import subprocess
import sys
import threading
import time

BUILD = os.environ.get("HOTPORT_BUILD", os.path.join(os.path.dirname(__file__), "../../build"))
PRIMARY = os.path.join(BUILD, "apps/primary/hotport-primary")
SECONDARY = os.path.join(BUILD, "apps/secondary/hotport-secondary")
SKIP = 77


# Sanitizer builds start slower; time bounds stretch by this factor there.
SLOW = float(os.environ.get("HOTPORT_TEST_SLOWDOWN", "1"))


def mem_args():
    """--no-huge when the suite runs without hugepages."""
    return ["--no-huge"] if os.environ.get("HOTPORT_TEST_NO_HUGE") else []


# Every instance a test starts is named after the run's tag, as the unit
# tests' are (hp_test_prefix): scripts/test.sh sets it per run and checks
# for leftovers among its own prefixes only.
TAG = os.environ.get("HOTPORT_TEST_TAG") or "hpt"


def prefix(name):
    return "%s-it-%s-%d" % (TAG, name, os.getpid())


def runtime_dir(pfx):
    return "/run/hotport/%s" % pfx if os.geteuid() == 0 else \
        "%s/hotport/%s" % (os.environ.get("XDG_RUNTIME_DIR", "/tmp"), pfx)


class Proc:
    """One hotport process; its stdout and stderr lines are collected by
    reader threads, and wait_for blocks on a condition until one matches.
    A stream left out of read is a pipe that nobody reads until drain()."""

    def __init__(self, exe, args, name=None, stdin=True, read=("out", "err")):
        self.name = name or os.path.basename(exe)
        self.args = [exe] + args
        self.p = subprocess.Popen(self.args, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, bufsize=1)
        self.lines = {"out": [], "err": []}
        self.pos = {"out": 0, "err": 0}
        self.cv = threading.Condition()
        self.closed = {"out": False, "err": False}
        for s in read:
            self.drain(s)

    def drain(self, stream):
        """Starts reading stream (once)."""
        f = self.p.stdout if stream == "out" else self.p.stderr
        threading.Thread(target=self._read, args=(stream, f), daemon=True).start()

    def _read(self, stream, f):
        for line in f:
            with self.cv:
                self.lines[stream].append(line.rstrip("\n"))
                self.cv.notify_all()
        with self.cv:
            self.closed[stream] = True
            self.cv.notify_all()

    @property
    def pid(self):
        return self.p.pid

    def wait_for(self, pattern, timeout=10.0, stream="out"):
        """Returns the match of the first new line matching pattern."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self.cv:
            while True:
                lines = self.lines[stream]
                while self.pos[stream] < len(lines):
                    line = lines[self.pos[stream]]
                    self.pos[stream] += 1
                    m = rx.search(line)
                    if m:
                        return m
                left = deadline - time.monotonic()
                if self.closed[stream] or left <= 0:
                    raise AssertionError("%s: no line matching %r within %.1fs; %s so far:\n%s" % (
                        self.name, pattern, timeout, stream, self.dump()))
                self.cv.wait(left)

    def output(self, stream="out"):
        with self.cv:
            return list(self.lines[stream])

    def dump(self):
        return "\n".join(["  out| " + l for l in self.lines["out"][-30:]] +
                         ["  err| " + l for l in self.lines["err"][-30:]])

    def cmd(self, line, expect=None, timeout=10.0):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        if expect is not None:
            return self.wait_for(expect, timeout)
        return None

    def close_stdin(self):
        if self.p.stdin and not self.p.stdin.closed:
            self.p.stdin.close()

    def wait(self, timeout=10.0):
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("%s did not exit within %.1fs:\n%s" % (self.name, timeout, self.dump()))

    def stop(self, sig=signal.SIGTERM, timeout=10.0):
        if self.p.poll() is None:
            self.p.send_signal(sig)
        return self.wait(timeout)

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


def primary(pfx, *args, name="primary"):
    p = Proc(PRIMARY, ["--file-prefix", pfx] + mem_args() + list(args), name=name)
    p.wait_for(r"hotport-primary ready")
    return p


def secondary(pfx, *args, name="secondary", ready=True):
    p = Proc(SECONDARY, ["--file-prefix", pfx] + list(args), name=name)
    if ready:
        p.wait_for(r"hotport-secondary ready")
    return p


def run(exe, *args, timeout=10.0):
    """Runs a command to completion: (status, stdout, stderr, seconds)."""
    t0 = time.monotonic()
    r = subprocess.run([exe] + list(args), capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    return r.returncode, r.stdout, r.stderr, time.monotonic() - t0


class Cleanup:
    """Kills every process it was given, whatever happens."""

    def __init__(self):
        self.procs = []

    def add(self, p):
        self.procs.append(p)
        return p

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        # SIGTERM first, so that a primary removes its runtime dir (a
        # killed one leaves it for the next primary of its prefix, and a
        # test's prefix has no next one); SIGKILL what does not go.
        for p in reversed(self.procs):
            if p.p.poll() is None:
                p.p.send_signal(signal.SIGTERM)
        for p in reversed(self.procs):
            try:
                p.p.wait(3.0 * SLOW)
            except subprocess.TimeoutExpired:
                pass
            p.kill()
        return False


# A line of testpmd's forward statistics (stop).
FWD_STATS = r"RX-packets: (\d+)\s+TX-packets: (\d+)\s+TX-dropped: (\d+)"


def send_plain(proc, line, expect):
    return proc.cmd(line, expect)


def read_stop(proc, send=send_plain):
    """Sends stop (with send(proc, line, expect), which may show it);
    returns {port: (rx, tx, dropped)} and the totals."""
    send(proc, "stop", r"Telling cores to stop")
    ports = {}
    while True:
        m = proc.wait_for(r"Forward statistics for port (\d+)|Accumulated forward statistics")
        if m.group(1) is None:
            break
        s = proc.wait_for(FWD_STATS)
        ports[int(m.group(1))] = tuple(int(x) for x in s.groups())
    total = tuple(int(x) for x in proc.wait_for(FWD_STATS).groups())
    proc.wait_for(r"^Done\.$")
    return ports, total


def port_stats(proc, port, send=send_plain):
    """A port's counters as show port stats prints them (sent as
    read_stop does): a dict with ipackets, imissed, opackets and
    odropped."""
    send(proc, "show port stats %d" % port, r"NIC statistics for port %d\b" % port)
    rx = proc.wait_for(r"RX-packets: (\d+)\s+RX-missed: (\d+)")
    tx = proc.wait_for(r"TX-packets: (\d+)\s+TX-dropped: (\d+)")
    return {"ipackets": int(rx.group(1)), "imissed": int(rx.group(2)),
            "opackets": int(tx.group(1)), "odropped": int(tx.group(2))}


def until(get, ok, what, tries=300, wait=0.1):
    """Calls get() until ok(value), at most tries times wait seconds apart
    (stretched by SLOW); returns the value, or fails saying what (a string,
    or a function that returns one). 30 s: generous but bounded, since on 2
    busy cores a forwarding thread may wait a while for its turn."""
    for _ in range(tries):
        v = get()
        if ok(v):
            return v
        time.sleep(wait * SLOW)
    raise AssertionError(what() if callable(what) else what)


def check(cond, msg, *procs):
    if not cond:
        raise AssertionError(msg + "\n" + "\n".join(p.name + ":\n" + p.dump() for p in procs))


def main(tests):
    """Runs each test function; exits 0, 1, or 77 if every one skipped."""
    failed = 0
    skipped = 0
    for t in tests:
        t0 = time.monotonic()
        try:
            r = t()
            if r == SKIP:
                skipped += 1
                print("SKIP %s" % t.__name__)
            else:
                print("ok   %s (%.2fs)" % (t.__name__, time.monotonic() - t0))
        except Exception as e:  # noqa: BLE001 - report every failure
            failed += 1
            print("FAIL %s: %s" % (t.__name__, e))
        sys.stdout.flush()
    sys.exit(1 if failed else (SKIP if skipped == len(tests) else 0))
