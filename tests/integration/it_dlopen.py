#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""libpcap, libedit and libpci are loaded when first used, never at
start-up (and libnuma only on a machine with more than one NUMA node): a process maps libpcap once it has a pcap port, libedit once its
prompt starts and libpci once it scans the PCI bus (the primary at
start-up, any process for show pci or a PCI attach); where they cannot be
loaded (hidden in a mount namespace), a pcap port, -i, show pci and a PCI
attach fail with one line that says which library and how to get it, the
primary's start-up scan warns once, and everything else works.

Regression test: linking libpcap and libedit made every process map 13
more libraries (libdbus, libsystemd, libgcrypt, ...) and start 3 ms later;
linking libpci (with libz and libudev) cost each secondary 0.7 ms more;
linking libnuma made every process read four files at start-up."""
import os
import re
import shutil
import subprocess
import tempfile

import hp

LIBS = ("libpcap.so.0.8", "libedit.so.2", "libpci.so.3")
PCAP, EDIT, PCI = LIBS

# Scans read an empty dump, never the machine's devices (as under meson).
os.environ.setdefault("HOTPORT_PCI_ACCESS", "dump:/dev/null")


def mapped(pid):
    """The libraries of LIBS that process pid has mapped (under their
    file names: libpcap.so.1.10.3)."""
    with open("/proc/%d/maps" % pid) as f:
        maps = f.read()
    return {lib for lib in LIBS if "/" + lib.split(".so")[0] + ".so." in maps}


def multi_node():
    """Whether the kernel lists more than node 0 online."""
    try:
        with open("/sys/devices/system/node/online") as f:
            return f.read().strip() != "0"
    except OSError:
        return False


def maps_numa(pid):
    with open("/proc/%d/maps" % pid) as f:
        return "/libnuma.so." in f.read()


def lib_path(lib):
    """The file the dynamic loader opens for lib, or None."""
    r = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True)
    for line in r.stdout.splitlines():
        if line.strip().startswith(lib + " ") and "=>" in line:
            return os.path.realpath(line.split("=>")[1].strip())
    return None


def test_loaded_on_first_use():
    pfx = hp.prefix("dlopen")
    tmp = tempfile.mkdtemp(prefix="hp-it-dlopen-")
    try:
        with hp.Cleanup() as c:
            pri = c.add(hp.primary(pfx))
            s = c.add(hp.secondary(pfx))
            s.cmd("port attach net_null0", r"Port 0 attached")
            # The primary has scanned the bus at start-up; a secondary
            # does not.
            for p, libs in ((pri, {PCI}), (s, set())):
                hp.check(mapped(p.pid) == libs, "%s maps %s at start-up" %
                         (p.name, mapped(p.pid)), p)
                if not multi_node():
                    hp.check(not maps_numa(p.pid), "%s maps libnuma on a "
                             "single-node machine" % p.name, p)
            s.cmd("port attach net_pcap1,tx_pcap=%s/out.pcap" % tmp, r"Port 1 attached")
            for p, libs in ((pri, {PCAP, PCI}), (s, {PCAP})):
                hp.check(mapped(p.pid) == libs,
                         "%s maps %s with a pcap port" % (p.name, mapped(p.pid)), p)
            s.cmd("show pci", r"^No PCI devices found$")
            hp.check(mapped(s.pid) == {PCAP, PCI},
                     "secondary maps %s after show pci" % mapped(s.pid), s)
            i = c.add(hp.secondary(pfx, "-i", name="secondary -i"))
            # the table row: "Port 1: net_pcap1 is now usable ..." may come
            # first, before the prompt (and libedit) starts
            i.cmd("show ports", r"^\s*1\s+net_pcap1\s")
            hp.check(mapped(i.pid) == {PCAP, EDIT}, "-i maps %s" % mapped(i.pid), i)
            # A PCI attach is the primary's scan, not the requester's.
            i.cmd("port attach 0000:01:00.0", r"0000:01:00.0: no such PCI device")
            for p, libs in ((pri, {PCAP, PCI}), (i, {PCAP, EDIT})):
                hp.check(mapped(p.pid) == libs, "%s maps %s after a PCI attach" %
                         (p.name, mapped(p.pid)), p)
            i.cmd("show pci", r"No PCI devices found")
            hp.check(mapped(i.pid) == set(LIBS),
                     "-i maps %s after show pci" % mapped(i.pid), i)
            for p in (s, i):
                p.cmd("quit")
                hp.check(p.wait() == 0, "%s exit status" % p.name, p)
            hp.check(pri.stop() == 0, "primary exit status", pri)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def hidden(*args):
    """args run with LIBS replaced by empty files (a private mount
    namespace): the command line to run, or None if that cannot be done
    here."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return None
    paths = [lib_path(lib) for lib in LIBS]
    if None in paths or subprocess.run(["unshare", "-m", "true"]).returncode != 0:
        return None
    mounts = " && ".join("mount --bind /dev/null '%s'" % p for p in paths)
    return ["unshare", "-m", "--propagation", "private", "sh", "-c",
            mounts + ' && exec "$@"', "sh"] + list(args)


def test_missing_libraries():
    pfx = hp.prefix("nolibs")
    tmp = tempfile.mkdtemp(prefix="hp-it-dlopen-")
    out = os.path.join(tmp, "out.pcap")
    devargs = "net_pcap0,tx_pcap=" + out
    cmd = hidden(hp.PRIMARY, "--file-prefix", pfx, "--no-huge", "-c", "port attach " + devargs,
                 "-c", "port attach net_null1", "-c", "show pci", "-c", "port attach 01:00.0",
                 "-c", "show ports", "-i")
    if cmd is None:
        print("needs root and unshare -m to hide the libraries")
        return hp.SKIP
    lib_error = r"cannot load %s \([^)]*%s: [^)]+\): apt-get install %s"
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=30 * hp.SLOW,
                           stdin=subprocess.DEVNULL)
        lines = r.stdout.splitlines()
        hp.check(r.returncode == 1, "exit status %d:\n%s%s" % (r.returncode, r.stdout, r.stderr))
        hp.check(any(re.fullmatch(
            r"error: failed to attach '%s': net_pcap0: " % re.escape(devargs) +
            lib_error % ("libpcap", r"libpcap\.so\.0\.8", r"libpcap0\.8"), l) for l in lines),
            "no libpcap error line:\n" + r.stdout)
        hp.check(not os.path.exists(out), "the failed port created its tx file")
        hp.check(any(re.search(r"^\s*0\s+net_null1\s+net_null\s+attached", l) for l in lines),
                 "net_null1 missing:\n" + r.stdout)
        hp.check(any(re.fullmatch(
            "error: " + lib_error % ("libedit", r"libedit\.so\.2", "libedit2"), l) for l in lines),
            "no libedit error line:\n" + r.stdout)
        pci_error = lib_error % ("libpci", r"libpci\.so\.3", "libpci3")
        hp.check(any(re.fullmatch("error: cannot scan PCI devices: " + pci_error, l)
                     for l in lines), "no show pci error line:\n" + r.stdout)
        hp.check(any(re.fullmatch(r"error: failed to attach '01:00\.0': 0000:01:00\.0: "
                                  "cannot scan PCI devices: " + pci_error, l) for l in lines),
                 "no PCI attach error line:\n" + r.stdout)
        warns = [l for l in r.stderr.splitlines() if "warning" in l]
        hp.check(len(warns) == 1 and re.search(
            r"primary\[\d+\] core: warning: no PCI devices: " + pci_error +
            r" \('show pci' scans again\)$", warns[0]),
            "not one start-up warning about libpci:\n" + r.stderr)

        # A secondary without libpcap: the primary's pcap port is not
        # usable there, and it says why; the rest is.
        with hp.Cleanup() as c:
            pri = c.add(hp.primary(pfx, "--vdev", "net_pcap0,tx_pcap=" + out))
            sec = hidden(hp.SECONDARY, "--file-prefix", pfx)
            s = c.add(hp.Proc(sec[0], sec[1:], name="secondary without libpcap"))
            s.wait_for(r"hotport-secondary ready")
            s.wait_for(r"port 0 \(net_pcap0\): not usable here: net_pcap0: " +
                       lib_error % ("libpcap", r"libpcap\.so\.0\.8", r"libpcap0\.8"),
                       stream="err")
            s.cmd("port attach net_null1", r"Port 1 attached")
            s.cmd("show pci", r"^error: cannot scan PCI devices: " +
                  lib_error % ("libpci", r"libpci\.so\.3", "libpci3") + "$")
            s.cmd("quit")
            hp.check(s.wait() == 1, "secondary exit status (show pci failed)", s)
            hp.check(pri.stop() == 0, "primary exit status", pri)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    hp.main([test_loaded_on_first_use, test_missing_libraries])
