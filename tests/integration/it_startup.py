#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Start-up and shut-down of the apps: options, a secondary without a
primary, a second primary, a primary that dies under its secondaries."""
import os
import re
import shutil
import signal
import subprocess
import time

import hp


def test_help_and_bad_options():
    for exe in (hp.PRIMARY, hp.SECONDARY):
        st, out, _, _ = hp.run(exe, "--help")
        hp.check(st == 0 and "Usage:" in out and "--file-prefix" in out, "--help of " + exe)
        st, _, err, _ = hp.run(exe, "--no-such-option")
        hp.check(st == 2 and "unknown option '--no-such-option'" in err, "bad option: " + err)
        st, _, err, _ = hp.run(exe, "--timeout", "zero")
        hp.check(st == 2 and "--timeout 'zero'" in err, "bad value: " + err)
        st, _, err, _ = hp.run(exe, "stray")
        hp.check(st == 2 and "unexpected argument 'stray'" in err, "stray argument: " + err)
    st, _, err, _ = hp.run(hp.SECONDARY, "--mem", "64")
    hp.check(st == 2 and "primary only" in err, "--mem on a secondary: " + err)


def test_secondary_without_primary_fails_fast():
    pfx = hp.prefix("noprimary")
    st, _, err, secs = hp.run(hp.SECONDARY, "--file-prefix", pfx, "-c", "show ports")
    hp.check(st == 3, "exit status %d" % st)
    hp.check("no primary running for prefix '%s'" % pfx in err, "message: " + err)
    hp.check(secs < 1.0 * hp.SLOW, "took %.2fs" % secs)


def one_error_line(err, prog, says):
    """stderr holds exactly one line, the app's 'PROG: error: ...', with
    says in it: start-up failures are said once, by the app, not logged on
    the way up as well."""
    lines = err.strip().split("\n")
    hp.check(len(lines) == 1 and lines[0].startswith(prog + ": error: ") and says in lines[0],
             "expected one line '%s: error: ...%s...', got:\n%s" % (prog, says, err))


def test_startup_failure_said_once():
    # Regression: hp_core_init logged its reason (and shm logged it again)
    # instead of handing it to the app.
    pfx = hp.prefix("saidonce")
    st, _, err, _ = hp.run(hp.PRIMARY, "--file-prefix", pfx, *hp.mem_args(),
                           "--ipc-group", "hp-no-such-group", "-c", "quit")
    hp.check(st == 3, "exit status %d" % st)
    one_error_line(err, "hotport-primary", "--ipc-group 'hp-no-such-group': no such group")
    st, _, err, _ = hp.run(hp.SECONDARY, "--file-prefix", pfx, "-c", "show ports")
    hp.check(st == 3, "exit status %d" % st)
    one_error_line(err, "hotport-secondary", "no primary running for prefix '%s'" % pfx)
    # Regression: --ipc-group root (gid 0) was taken as no group at all,
    # silently; a group's number was "no such group".
    st, _, err, _ = hp.run(hp.PRIMARY, "--file-prefix", pfx, *hp.mem_args(),
                           "--ipc-group", "root", "-c", "quit")
    hp.check(st == 3, "exit status %d" % st)
    one_error_line(err, "hotport-primary", "--ipc-group 'root': group 0 cannot be let in this way")
    st, _, err, _ = hp.run(hp.PRIMARY, "--file-prefix", pfx, *hp.mem_args(),
                           "--ipc-group", str(os.getegid() or 65534), "-c", "quit")
    # (a warning that hugepages ran out, on a busy machine, is no error)
    hp.check(st == 0 and "error" not in err, "--ipc-group NUMBER: exit status %d %s" % (st, err))


def test_secondary_out_of_fds_says_why():
    # Regression: a secondary whose fd limit ran out while it set up its
    # connection said "hotport-secondary: error: " and nothing more.
    import resource
    import subprocess
    pfx = hp.prefix("fewfds")

    def few_fds():
        resource.setrlimit(resource.RLIMIT_NOFILE, (4, 4))
    r = subprocess.run([hp.SECONDARY, "--file-prefix", pfx, "-c", "show ports"], capture_output=True,
                       text=True, timeout=30 * hp.SLOW, stdin=subprocess.DEVNULL, preexec_fn=few_fds)
    hp.check(r.returncode == 3, "exit status %d" % r.returncode)
    one_error_line(r.stderr, "hotport-secondary", "Too many open files")


def test_closed_standard_fds():
    # Regression: a secondary started with its standard input closed read
    # its commands from the library's first fd (an eventfd) and hung; it
    # now reads an empty input and exits 0, as from /dev/null.
    pfx = hp.prefix("closedfds")
    with hp.Cleanup() as c:
        pri = c.add(hp.primary(pfx, "--vdev", "net_null0"))
        for fd, args in ((0, []), (0, ["--cmd", "-"]), (1, ["-c", "show ports"]),
                         (2, ["-c", "bogus"])):
            r = subprocess.run([hp.SECONDARY, "--file-prefix", pfx] + args, capture_output=True, text=True,
                               timeout=30 * hp.SLOW, preexec_fn=lambda fd=fd: os.close(fd))
            want = 1 if "bogus" in args else 0
            hp.check(r.returncode == want, "fd %d closed, %s: exit status %d\n%s%s" % (
                fd, args, r.returncode, r.stdout, r.stderr), pri)
        hp.check(pri.stop() == 0, "primary exit status", pri)


def test_runtime_dir_error_names_the_path():
    # Regression: "cannot create shared memory: Not a directory" said
    # which path nowhere.
    pfx = hp.prefix("dirfile")
    path = hp.runtime_dir(pfx)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w"):
        pass
    try:
        st, _, err, _ = hp.run(hp.PRIMARY, "--file-prefix", pfx, *hp.mem_args(), "-c", "quit")
    finally:
        os.unlink(path)
    hp.check(st == 3, "exit status %d" % st)
    one_error_line(err, "hotport-primary", path + ": not a directory")


def test_secondary_address_taken_told_what_to_do():
    # Regression: a secondary whose address range was taken was told to
    # use --base-virtaddr, an option only the primary takes.
    setarch = shutil.which("setarch")
    if not setarch:
        print("setarch (util-linux) not found")
        return hp.SKIP
    # Without address randomization a PIE program is mapped at
    # 0x555555554000: the primary's memory is put over that address.
    pfx = hp.prefix("addrtaken")
    with hp.Cleanup() as c:
        pri = c.add(hp.primary(pfx, "--base-virtaddr", "0x555555400000"))
        st, _, err, _ = hp.run(setarch, os.uname().machine, "-R", hp.SECONDARY,
                               "--file-prefix", pfx, "-c", "show ports")
        if st == 3 and "personality" in err:
            print("setarch -R not permitted here: " + err.strip())
            return hp.SKIP
        hp.check(st == 3, "exit status %d: %s" % (st, err))
        one_error_line(err, "hotport-secondary", "restart the primary with --base-virtaddr")
        hp.check(pri.stop() == 0, "primary status", pri)


def test_mem_minimum_checked_with_the_options():
    # Regression: --mem 4 to 23 passed option checking, then start-up
    # failed ("cannot create the packet pool"). --help says the minimum;
    # a primary starts with exactly that much, one less is a bad option.
    st, out, _, _ = hp.run(hp.PRIMARY, "--help")
    m = re.search(r"--mem MB .*at least (\d+)", out)
    hp.check(st == 0 and m, "--help does not say the minimum --mem:\n" + out)
    least = int(m.group(1))
    pfx = hp.prefix("memmin")
    st, _, err, _ = hp.run(hp.PRIMARY, "--file-prefix", pfx, *hp.mem_args(), "--mem", str(least - 1),
                           "-c", "quit")
    hp.check(st == 2 and "need %d" % least in err, "--mem %d: %d %s" % (least - 1, st, err))
    st, out, err, _ = hp.run(hp.PRIMARY, "--file-prefix", pfx, *hp.mem_args(), "--mem", str(least),
                             "--vdev", "net_null0", "--vdev", "net_ring0", "-c", "show ports")
    hp.check(st == 0 and "net_ring0" in out, "--mem %d: %d %s %s" % (least, st, out, err))


def test_primary_with_closed_stdout_serves():
    # Regression: a primary whose standard output was a pipe with no reader
    # died of SIGPIPE at its ready line. It loses the line and serves.
    pfx = hp.prefix("sigpipe")
    r, w = os.pipe()
    os.close(r)
    p = subprocess.Popen([hp.PRIMARY, "--file-prefix", pfx] + hp.mem_args() + ["--vdev", "net_null0"],
                         stdin=subprocess.DEVNULL, stdout=w, stderr=subprocess.PIPE, text=True)
    os.close(w)
    try:
        # the ready notice on standard error (the log), or end of file
        for line in p.stderr:
            if "primary ready" in line:
                break
        st, out, err, _ = hp.run(hp.SECONDARY, "--file-prefix", pfx, "-c", "show ports")
        hp.check(p.poll() is None, "the primary exited: status %s" % p.returncode)
        hp.check(st == 0 and "net_null0" in out, "secondary: %d %s %s" % (st, out, err))
        p.send_signal(signal.SIGTERM)
        hp.check(p.wait(10.0 * hp.SLOW) == 0, "primary exit status %s" % p.returncode)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_second_primary_refused_and_stale_dir_reused():
    pfx = hp.prefix("twoprimaries")
    with hp.Cleanup() as c:
        first = c.add(hp.primary(pfx))
        st, _, err, _ = hp.run(hp.PRIMARY, "--file-prefix", pfx, "--no-huge", "-c", "quit")
        hp.check(st == 3 and "another primary is running with prefix '%s'" % pfx in err,
                 "second primary: %d %s" % (st, err))
        first.stop(signal.SIGKILL)
        # The dead primary's dir is stale now; a new primary takes it.
        again = c.add(hp.primary(pfx, name="new primary"))
        s = c.add(hp.secondary(pfx))
        s.cmd("show procs", r"primary.*%d" % again.pid)
        s.cmd("quit")
        hp.check(s.wait() == 0, "secondary status", s)
        hp.check(again.stop() == 0, "primary status", again)


def test_secondaries_stop_when_primary_dies():
    pfx = hp.prefix("primarydies")
    with hp.Cleanup() as c:
        pri = c.add(hp.primary(pfx))
        s1 = c.add(hp.secondary(pfx, name="s1"))
        s2 = c.add(hp.secondary(pfx, "-i", name="s2"))
        s1.cmd("port attach net_null0", r"attached")
        pri.stop(signal.SIGKILL)
        for s in (s1, s2):
            st = s.wait(timeout=2.0)
            hp.check(st == 4, "secondary exit status %d" % st, s)
            s.wait_for(r"primary.*exited", stream="err", timeout=1.0)
            # said once, by the app (the library logged it too)
            with s.cv:
                s.cv.wait_for(lambda: s.closed["err"], timeout=2.0 * hp.SLOW)
            said = [l for l in s.output("err") if "exited" in l]
            hp.check(len(said) == 1, "'exited' said %d times" % len(said), s)
        # The secondaries removed what the dead primary left behind.
        hp.check(not os.path.exists(hp.runtime_dir(pfx)), "runtime dir left after the primary died")
        # A new primary starts with no manual clean-up.
        pri2 = c.add(hp.primary(pfx, name="primary 2"))
        hp.check(pri2.stop() == 0, "new primary status", pri2)
        hp.check(not os.path.exists(hp.runtime_dir(pfx)), "runtime dir left behind")


def cpu_ticks(pid):
    """user + system clock ticks of a process."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def test_wait_primary():
    """--wait-primary: a secondary outlives its primary, waits (blocked, no
    polling) and joins the next one with the same prefix; its commands
    carry on. One without the option exits 4 as before."""
    pfx = hp.prefix("waitprimary")
    with hp.Cleanup() as c:
        pri = c.add(hp.primary(pfx, "--vdev", "net_null0"))
        w = c.add(hp.secondary(pfx, "--wait-primary", name="waiter"))
        s = c.add(hp.secondary(pfx, name="plain"))
        w.cmd("show ports", r"net_null0\s+net_null\s+attached")
        pri.stop(signal.SIGKILL)
        hp.check(s.wait(timeout=2.0) == 4, "plain secondary exit status", s)
        w.wait_for(r"waiting for a new one \(--wait-primary\)", stream="err", timeout=2.0)
        # it waits, blocked: no CPU time goes by while nothing happens
        t0 = cpu_ticks(w.pid)
        time.sleep(0.5)
        hp.check(w.p.poll() is None, "the waiting secondary exited", w)
        hp.check(cpu_ticks(w.pid) - t0 <= 1, "the waiting secondary used CPU: it polls", w)
        pri2 = c.add(hp.primary(pfx, "--vdev", "net_null7", name="primary 2"))
        w.wait_for(r"hotport-secondary ready", timeout=5.0)
        w.cmd("show ports", r"net_null7\s+net_null\s+attached")
        w.cmd("port attach net_null9", r"Port 1 attached: net_null9")
        # a new primary that is up before the secondary starts waiting
        # (it was stopped meanwhile) is found at once
        os.kill(w.pid, signal.SIGSTOP)
        pri2.stop(signal.SIGKILL)
        pri3 = c.add(hp.primary(pfx, "--vdev", "net_null5", name="primary 3"))
        os.kill(w.pid, signal.SIGCONT)
        w.wait_for(r"hotport-secondary ready", timeout=5.0)
        w.cmd("show ports", r"net_null5\s+net_null\s+attached")
        pri2 = pri3
        w.cmd("quit")
        hp.check(w.wait() == 0, "waiter exit status", w)
        hp.check(pri2.stop() == 0, "new primary status", pri2)
        hp.check(not os.path.exists(hp.runtime_dir(pfx)), "runtime dir left behind")
    # a primary may not wait for itself
    st, out, err, _ = hp.run(hp.PRIMARY, "--wait-primary")
    hp.check(st == 2 and "secondary's option" in err, "primary --wait-primary: %d %s" % (st, err))


def test_wait_primary_survives_a_dying_primary():
    """Regression: a --wait-primary secondary that reached a primary as it
    died (its socket still took the connection, then closed without a
    word) exited 3 instead of waiting for the next one. A stand-in socket
    that takes connections and closes them plays the dying primary."""
    import socket
    import threading
    pfx = hp.prefix("waitdying")
    with hp.Cleanup() as c:
        pri = c.add(hp.primary(pfx))
        w = c.add(hp.secondary(pfx, "--wait-primary", name="waiter"))
        pri.stop(signal.SIGKILL)
        w.wait_for(r"waiting for a primary with prefix", stream="err", timeout=10 * hp.SLOW)
        sock = os.path.join(hp.runtime_dir(pfx), "mp.sock")
        fake = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        # the waiter, last out, may have removed the dead one's dir
        os.makedirs(os.path.dirname(sock), mode=0o700, exist_ok=True)
        if os.path.exists(sock):
            os.unlink(sock)
        fake.bind(sock + ".new")
        fake.listen(8)
        taken = []

        def take():
            # the waiter's look, then its join: both hung up on
            while len(taken) < 2:
                conn, _ = fake.accept()
                taken.append(conn)
                conn.close()
        t = threading.Thread(target=take)
        t.start()
        os.rename(sock + ".new", sock)
        t.join(30 * hp.SLOW)
        fake.close()
        os.unlink(sock)
        hp.check(len(taken) == 2, "the stand-in took %d connections" % len(taken), w)
        pri2 = c.add(hp.primary(pfx, "--vdev", "net_null3", name="primary 2"))
        w.wait_for(r"hotport-secondary ready", timeout=10 * hp.SLOW)
        w.cmd("show ports", r"net_null3\s+net_null\s+attached")
        w.cmd("quit")
        hp.check(w.wait() == 0, "waiter exit status", w)
        hp.check(pri2.stop() == 0, "primary 2 exit status", pri2)


if __name__ == "__main__":
    hp.main([test_help_and_bad_options, test_secondary_without_primary_fails_fast,
             test_startup_failure_said_once, test_secondary_out_of_fds_says_why, test_closed_standard_fds,
             test_runtime_dir_error_names_the_path,
             test_secondary_address_taken_told_what_to_do, test_mem_minimum_checked_with_the_options,
             test_primary_with_closed_stdout_serves,
             test_second_primary_refused_and_stale_dir_reused,
             test_secondaries_stop_when_primary_dies, test_wait_primary,
             test_wait_primary_survives_a_dying_primary])
