#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""net_pcap with the real apps: a secondary attaches a pcap port naming its
files relative to its own working directory, another secondary forwards
the file back onto the port (io, loop), and the written file holds the
same packets, which tcpdump reads; a port given to the primary with
--vdev under DPDK's name (eth_pcap) works too; a missing file gives one
error line naming it."""
import errno
import os
import signal
import time
import shutil
import struct
import subprocess
import tempfile

import hp

N = 200


def pkt(k):
    """Packet k: an Ethernet frame of 60 to 3000 bytes that carries k."""
    n = (60, 1514, 3000, 64)[k % 4] if k % 5 else 60 + (k * 37) % 1400
    head = bytes([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x88, 0xb5]) + struct.pack("<I", k)
    return head + bytes((k + j) & 0xff for j in range(n - len(head)))


def write_pcap(path, pkts):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for k, p in enumerate(pkts):
            f.write(struct.pack("<IIII", 1700000000 + k, k, len(p), len(p)) + p)


def read_pcap(path):
    """(caplen, len, bytes) of every record of a microsecond pcap file in
    this machine's byte order."""
    with open(path, "rb") as f:
        d = f.read()
    hp.check(struct.unpack_from("<I", d)[0] == 0xa1b2c3d4, "%s: not a pcap file" % path)
    out, o = [], 24
    while o + 16 <= len(d):
        _, _, cap, wire = struct.unpack_from("<IIII", d, o)
        out.append((cap, wire, d[o + 16:o + 16 + cap]))
        o += 16 + cap
    hp.check(o == len(d), "%s: %d bytes after the last whole record" % (path, len(d) - o))
    return out


def test_pcap_file_forwarded_by_another_secondary():
    pfx = hp.prefix("pcap")
    tmp = tempfile.mkdtemp(prefix="hp-it-pcap-")
    try:
        pkts = [pkt(k) for k in range(N)]
        write_pcap(os.path.join(tmp, "in.pcap"), pkts)
        vdev_out = os.path.join(tmp, "vdev.pcap")
        with hp.Cleanup() as c:
            pri = c.add(hp.primary(pfx, "--vdev", "eth_pcap9,tx_pcap=" + vdev_out))
            here = os.getcwd()
            os.chdir(tmp)  # a's working directory: its relative paths
            try:
                a = c.add(hp.secondary(pfx, name="secondary A"))
            finally:
                os.chdir(here)
            b = c.add(hp.secondary(pfx, name="secondary B"))
            a.cmd("show ports", r"^\s*0\s+eth_pcap9\s+net_pcap\s+attached")
            hp.check(os.path.getsize(vdev_out) == 24, "--vdev tx file has no header", pri)
            a.cmd("port attach net_pcap1,rx_pcap=nosuch.pcap",
                  r"^error: failed to attach 'net_pcap1,rx_pcap=nosuch.pcap': "
                  r"rx_pcap=nosuch.pcap: cannot open: No such file or directory$")
            a.cmd("port attach net_pcap1,rx_pcap=in.pcap,tx_pcap=out.pcap",
                  r"Port 1 attached: net_pcap1")
            b.wait_for(r"Port 1: net_pcap1 is now usable")
            for line, expect in (("set fwd io", r"Set io packet forwarding mode"),
                                 ("set portlist 1", r"."),
                                 ("set port-topology loop", r"Port topology: loop"),
                                 ("port start 1", r"Port 1 started"),
                                 ("start", r"io packet forwarding")):
                b.cmd(line, expect)
            hp.until(lambda: hp.port_stats(b, 1), lambda s: s["opackets"] >= N,
                     lambda: "B forwarded fewer than %d packets" % N)
            ports, _ = hp.read_stop(b)
            hp.check(ports[1][:2] == (N, N), "forward statistics %s" % (ports,), b)
            a.cmd("port stop 1", r"Port 1 stopped")
            a.cmd("port detach 1", r"Port 1 detached: net_pcap1")
            out = read_pcap(os.path.join(tmp, "out.pcap"))
            hp.check(len(out) == N, "%d packets written, %d read" % (len(out), N), a, b)
            for k, (cap, wire, data) in enumerate(out):
                hp.check(cap == wire == len(pkts[k]) and data == pkts[k],
                         "packet %d differs" % k)
            if shutil.which("tcpdump"):
                r = subprocess.run(["tcpdump", "-n", "-q", "-r", os.path.join(tmp, "out.pcap")],
                                   capture_output=True, text=True, timeout=30)
                hp.check(r.returncode == 0 and len(r.stdout.splitlines()) == N,
                         "tcpdump: status %d, %d lines: %s" %
                         (r.returncode, len(r.stdout.splitlines()), r.stderr))
            else:
                print("tcpdump is not installed: its check is skipped")
            for p in (a, b):
                p.cmd("quit")
                hp.check(p.wait() == (1 if p is a else 0), "%s exit status" % p.name, p)
            hp.check(pri.stop() == 0, "primary exit status after SIGTERM", pri)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_tx_fifo_reader_leaves_or_stalls():
    """A FIFO as tx_pcap: a reader that stalls does not stop forwarding for
    good, one that leaves kills no process (EPIPE, not SIGPIPE); forwarding
    stops and the port detaches as usual."""
    import subprocess
    import tempfile
    pfx = hp.prefix("pcapfifo")
    with tempfile.TemporaryDirectory() as d, hp.Cleanup() as c:
        fifo = os.path.join(d, "out.fifo")
        os.mkfifo(fifo)
        reader = subprocess.Popen(["cat", fifo], stdout=subprocess.DEVNULL)
        try:
            # the attach needs the reader there: wait (bounded) until it
            # has the FIFO open, holding a writer so that it stays
            deadline = time.monotonic() + 10.0 * hp.SLOW
            while True:
                try:
                    hold = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
                    break
                except OSError as e:
                    if e.errno != errno.ENXIO or time.monotonic() > deadline:
                        raise
                    time.sleep(0.01)
            pri = c.add(hp.primary(pfx, "--vdev", "net_null0"))
            fwd = c.add(hp.secondary(pfx, name="forwarder"))
            fwd.cmd("port attach net_pcap0,tx_pcap=" + fifo, r"Port 1 attached: net_pcap0")
            os.close(hold)
            fwd.cmd("set fwd io", r"Set io packet forwarding mode")
            fwd.cmd("set port-topology oneway", r"")
            fwd.cmd("port start all", r"Port 1 started")
            fwd.cmd("start", r"packet forwarding - ports=0-1")
            time.sleep(0.3)
            reader.send_signal(signal.SIGSTOP)      # the reader stalls
            time.sleep(0.5)
            hp.check(fwd.p.poll() is None, "forwarder died with a stalled reader", fwd)
            reader.send_signal(signal.SIGCONT)
            reader.kill()                            # and goes away
            reader.wait()
            time.sleep(0.5)
            hp.check(fwd.p.poll() is None, "forwarder died when the reader left", fwd)
            hp.read_stop(fwd)
            fwd.cmd("port stop 1", r"Port 1 stopped")
            fwd.cmd("port detach 1", r"Port 1 detached: net_pcap0")
            fwd.cmd("quit")
            hp.check(fwd.wait() == 0, "forwarder exit status", fwd)
            hp.check(pri.stop() == 0, "primary exit status", pri)
        finally:
            reader.kill()


def test_rx_fifo_refused_at_once():
    """A FIFO as rx_pcap is refused as not a regular file, at once: opening
    it for reading waited for a writer that never came, on the primary's
    I/O thread, and every later request of the instance timed out."""
    pfx = hp.prefix("pcaprxfifo")
    with tempfile.TemporaryDirectory() as d, hp.Cleanup() as c:
        fifo = os.path.join(d, "in.fifo")
        os.mkfifo(fifo)
        pri = c.add(hp.primary(pfx))
        st, out, err, _ = hp.run(hp.SECONDARY, "--file-prefix", pfx, "-c",
                                 "port attach net_pcap0,rx_pcap=" + fifo, "-c", "show ports",
                                 timeout=60 * hp.SLOW)
        hp.check(st == 1 and out == "No ports attached\n" and
                 err == "error: failed to attach 'net_pcap0,rx_pcap=%s': rx_pcap=%s: "
                        "not a regular file\n" % (fifo, fifo),
                 "rx_pcap=FIFO: exit status %d\n%s%s" % (st, out, err), pri)
        # and a tx FIFO without a reader is named for what it is (it said
        # "cannot create: No such device or address")
        st, out, err, _ = hp.run(hp.SECONDARY, "--file-prefix", pfx, "-c",
                                 "port attach net_pcap0,tx_pcap=" + fifo, timeout=60 * hp.SLOW)
        hp.check(st == 1 and err == "error: failed to attach 'net_pcap0,tx_pcap=%s': tx_pcap=%s: "
                 "a FIFO that nobody reads: start its reader first\n" % (fifo, fifo),
                 "tx_pcap=FIFO without a reader: exit status %d\n%s%s" % (st, out, err), pri)
        hp.check(pri.stop() == 0, "primary exit status", pri)


if __name__ == "__main__":
    hp.main([test_pcap_file_forwarded_by_another_secondary, test_tx_fifo_reader_leaves_or_stalls,
             test_rx_fifo_refused_at_once])
