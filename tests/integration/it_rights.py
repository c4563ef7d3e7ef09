#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""A root primary opens files and interfaces for a secondary with that
secondary's rights only. Regression test: a member of --ipc-group had a
root primary empty and write any file (tx_pcap=), read any file
(rx_pcap=) and capture on any interface. A temporary user, member of a
temporary group through a supplementary group, runs hotport-secondary
against a root primary started with --ipc-group: a root-owned file is
neither emptied nor read for it, an interface not captured on, each with
one error line naming the path and the reason and nothing left behind;
a file in its own directory works (and is its own); a root secondary does
all of it. Needs root, useradd and setpriv (exit 77 otherwise)."""
import os
import shutil
import struct
import subprocess
import tempfile

import hp

USER = "hprt%d" % os.getpid()
GROUP = "hprg%d" % os.getpid()
PCAP_HEADER = struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1)
ROOTS = b"root's own bytes"


def as_user(pfx, *cmds, cwd=None):
    """hotport-secondary run as USER (primary group: users; GROUP as a
    supplementary group) with -c for each command, in cwd: (status,
    out+err)."""
    args = ["setpriv", "--reuid", USER, "--regid", "users", "--init-groups",
            os.path.abspath(hp.SECONDARY), "--file-prefix", pfx]
    for c in cmds:
        args += ["-c", c]
    # A root primary's runtime dir is /run/hotport/<prefix>.
    env = dict(os.environ, XDG_RUNTIME_DIR="/run")
    r = subprocess.run(args, capture_output=True, text=True, timeout=30 * hp.SLOW,
                       stdin=subprocess.DEVNULL, env=env, cwd=cwd)
    return r.returncode, r.stdout + r.stderr


def as_root(pfx, *cmds):
    args = []
    for c in cmds:
        args += ["-c", c]
    st, out, err, _ = hp.run(hp.SECONDARY, "--file-prefix", pfx, *args, timeout=30 * hp.SLOW)
    return st, out + err


def fds(pid):
    return sorted(os.listdir("/proc/%d/fd" % pid))


def refused(pri, pfx, devargs, reason, base):
    """devargs attached for USER: refused with one line naming reason;
    the primary is back to its fds base (once it has seen the one-shot
    secondary hang up) and has no port."""
    st, out = as_user(pfx, "port attach " + devargs)
    want = "error: failed to attach '%s': %s" % (devargs, reason)
    hp.check(st != 0 and want in out, "attach %r for %s: want %r, got (%d):\n%s" %
             (devargs, USER, want, st, out), pri)
    hp.until(lambda: fds(pri.pid), lambda v: v == base,
             lambda: "fds left in the primary after %r: %s, was %s" % (devargs, fds(pri.pid), base))
    st, out = as_root(pfx, "show ports")
    hp.check(devargs.split(",")[0] not in out, "a slot left for %r:\n%s" % (devargs, out), pri)


def tools():
    return all(shutil.which(t) for t in ("useradd", "userdel", "groupadd", "groupdel",
                                         "setpriv"))


def test_files_and_interfaces_with_the_requesters_rights():
    if os.geteuid() != 0 or not tools():
        print("skipped: needs root, useradd/groupadd and setpriv")
        return hp.SKIP
    pfx = hp.prefix("rights")
    tmp = tempfile.mkdtemp(prefix="hp-it-rights-")
    made = []
    try:
        subprocess.run(["groupadd", GROUP], check=True)
        made.append(["groupdel", GROUP])
        subprocess.run(["useradd", "-M", "-N", "-g", "users", "-G", GROUP, "-s",
                        "/usr/sbin/nologin", USER], check=True)
        made.insert(0, ["userdel", USER])
        uid = int(subprocess.run(["id", "-u", USER], capture_output=True, text=True,
                                 check=True).stdout)
        os.chmod(tmp, 0o755)
        victim = os.path.join(tmp, "root.pcap")	# 0644: readable, not writable
        with open(victim, "wb") as f:
            f.write(PCAP_HEADER + ROOTS)
        secret = os.path.join(tmp, "secret.pcap")	# 0600: root only
        with open(secret, "wb") as f:
            f.write(PCAP_HEADER)
        os.chmod(secret, 0o600)
        own = os.path.join(tmp, "own")
        os.mkdir(own, 0o700)
        os.chown(own, uid, -1)
        with hp.Cleanup() as c:
            pri = c.add(hp.primary(pfx, "--ipc-group", GROUP))
            base = fds(pri.pid)
            deny = "with the rights of uid %d (who asked for the attach): Permission denied" % uid
            net = "requester uid %d may not %s interface %s: needs root or the primary's user (uid 0)"
            tap = "hprt%d" % os.getpid()
            for devargs, reason in (
                    ("net_pcap1,tx_pcap=" + victim, "tx_pcap=%s: cannot create %s" % (victim, deny)),
                    ("net_pcap1,rx_pcap=" + secret, "rx_pcap=%s: cannot open %s" % (secret, deny)),
                    ("net_pcap1,tx_pcap=%s/new.pcap" % tmp,
                     "tx_pcap=%s/new.pcap: cannot create %s" % (tmp, deny)),
                    ("net_pcap1,iface=lo", "iface=lo: " + net % (uid, "capture on", "lo")),
                    ("net_pcap1,tx_iface=lo", "tx_iface=lo: " + net % (uid, "send on", "lo")),
                    ("net_af_packet1,iface=lo",
                     "iface=lo: " + net % (uid, "capture on and send on", "lo")),
                    ("net_tap1,iface=" + tap,
                     "iface=%s: " % tap + net % (uid, "create or take the TAP", tap))):
                refused(pri, pfx, devargs, reason, base)
            with open(victim, "rb") as f:
                hp.check(f.read() == PCAP_HEADER + ROOTS, "root's file was changed", pri)
            hp.check(not os.path.exists(tmp + "/new.pcap"), "a file made in root's dir", pri)
            # What the user may do, it does: its file, its own.
            out_pcap = os.path.join(own, "out.pcap")
            st, out = as_user(pfx, "port attach net_pcap1,rx_pcap=%s,tx_pcap=%s"
                              % (victim, out_pcap), "port detach 0")
            hp.check(st == 0 and "Port 0 attached: net_pcap1" in out,
                     "attach in the user's own dir failed (%d):\n%s" % (st, out), pri)
            s = os.stat(out_pcap)
            hp.check(s.st_uid == uid and s.st_size == 24, "out.pcap: uid %d, %d bytes"
                     % (s.st_uid, s.st_size), pri)
            # A relative path: from the user's working directory.
            st, out = as_user(pfx, "port attach net_pcap1,tx_pcap=rel.pcap", "port detach 0",
                              cwd=own)
            s = os.stat(os.path.join(own, "rel.pcap"))
            hp.check(st == 0 and s.st_uid == uid, "a relative tx_pcap (%d):\n%s" % (st, out), pri)
            # Root: the same requests go through.
            st, out = as_root(pfx, "port attach net_pcap1,rx_pcap=%s,tx_pcap=%s"
                              % (secret, victim), "port detach 0",
                              "port attach net_pcap2,iface=lo", "port detach 0")
            hp.check(st == 0 and out.count("attached: net_pcap") == 2,
                     "a root secondary was refused (%d):\n%s" % (st, out), pri)
            hp.check(os.path.getsize(victim) == 24, "root's tx file not written", pri)
    finally:
        for cmd in made:
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    hp.main([test_files_and_interfaces_with_the_requesters_rights])
