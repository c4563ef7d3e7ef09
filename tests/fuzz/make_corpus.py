#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Writes the seed corpus of the fuzz targets into corpus/<target>/: real
IPC datagrams (as lib/ipc puts them on the wire), devargs strings and
command lines. The files are committed; run this again after changing
the lists below or the wire format (lib/ipc/ipc_private.h)."""
import hashlib
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

# lib/ipc/hp_ipc.h and ipc_private.h
MAGIC = 0x50495048
VERSION = 2
REQUEST, REPLY, NOTIFY = 1, 2, 3
MAX_PAYLOAD = 8192


def ipc(kind, type_, id_, payload=b"", status=0, version=VERSION, magic=MAGIC,
        length=None):
    """One datagram: the 28-byte header (host order, x86-64) and payload."""
    n = len(payload) if length is None else length
    return struct.pack("<IHHHHQiI", magic, version, type_, kind, 0, id_,
                       status, n) + payload


def port_req(devargs=b"", port_id=0):
    """A struct port_msg_req as a secondary sends it (lib/port)."""
    head = struct.pack("<H6xHHHHH6xQ", port_id, 0, 0, 0, 0, 0, 0)
    return head + devargs + (b"\0" if devargs else b"")


IPC = {
    "request-echo": ipc(REQUEST, 100, 1, b"hello"),
    "reply-echo": ipc(REPLY, 100, 1, b"re:hello"),
    "reply-eproto": ipc(REPLY, 100, 7, b"", status=-71),
    "notify-empty": ipc(NOTIFY, 104, 0),
    "core-hello": ipc(REQUEST, 16, 2, struct.pack("<IIIi", 3, 1024, 128, 4242)),
    "ipc-channel": ipc(NOTIFY, 1, 0),
    "port-event": ipc(NOTIFY, 40, 0),
    "port-join-reply": ipc(REPLY, 37, 6, struct.pack("<I", 3)),
    "core-procs": ipc(REQUEST, 17, 3),
    "port-attach": ipc(REQUEST, 32, 4, port_req(b"net_null0,size=64")),
    "port-detach": ipc(REQUEST, 33, 5, port_req(port_id=3)),
    "port-join": ipc(REQUEST, 37, 6),
    "port-attach-local": ipc(REQUEST, 35, 8, struct.pack("<HxxI", 0, 1)),
    "largest": ipc(REQUEST, 100, 9, bytes(range(256)) * (MAX_PAYLOAD // 256)),
    "other-version": ipc(REQUEST, 100, 10, b"x", version=VERSION + 1),
    "old-version": ipc(REQUEST, 100, 10, b"x", version=VERSION - 1),
    "other-version-short": ipc(REQUEST, 100, 10, version=VERSION + 1)[:8],
    "short-header": ipc(REQUEST, 100, 11)[:20],
    "length-too-big": ipc(REQUEST, 100, 12, length=MAX_PAYLOAD + 1),
    "length-mismatch": ipc(REQUEST, 100, 13, b"abc", length=2),
    "bad-kind": ipc(9, 100, 14),
    "type-zero": ipc(REQUEST, 0, 15),
    "bad-magic": ipc(REQUEST, 100, 16, b"x", magic=0x4b4e554a),
}

DEVARGS = [
    "net_null0", "net_null0,size=64", "net_null1,size=128,queues=2",
    "net_ring0", "net_ring1,peer=net_ring0", "net_ring0,size=1024,queues=4",
    "eth_pcap0,iface=eth0", "net_pcap0,rx_pcap=/tmp/in.pcap,tx_pcap=/tmp/out.pcap",
    "net_af_packet0,iface=veth0,qpairs=2", "net_tap0,iface=hp0",
    "0000:01:00.0", "01:00.0", "0000:af:1f.7,key=value",
    "net_null0,size=0x40", "net_null0,size=", "net_null0,,size=64",
    "net_null0,size", ",size=64", "net null0", "net_null0,a=1,a=2",
    # the longest accepted (1024 characters), and one more
    "net_null0,x=" + "y" * 1012, "net_null0,x=" + "y" * 1013,
]

CLI = [
    "port attach net_null0,size=64", "port attach 0000:01:00.0",
    "port detach 0", "port start all", "port stop 1", "port close all",
    "port config all rxq 2", "port config all txq 2",
    "port config all rxd 512", "port config all txd 1024",
    "show ports", "show port info all", "show port stats 0",
    "clear port stats all", "show procs", "show pci", "set log-level port:debug,ipc:info",
    "set fwd io", "set fwd mac", "set fwd rxonly", "set fwd txonly",
    "set burst 32", "set portlist 0,2-3", "set portlist all",
    "set fwd-queues 0-1", "set port-topology oneway", "start", "stop",
    "show fwd", "help", "quit", "# a comment", "   ", "port attach net_null0 \r\n",
    "port", "port config all", "set fwd bogus", "port detach 65535",
    # the longest devargs, and the longest line (4095 bytes)
    "port attach net_null0,x=" + "y" * 1012, "show " + "p" * 4090,
]


def write(target, items):
    d = os.path.join(HERE, "corpus", target)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for name, data in items:
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


def main():
    write("ipc", sorted(IPC.items()))
    # named by content, as libFuzzer names its own, so that adding a
    # string renames no other file
    for target, items in (("devargs", DEVARGS), ("cli", CLI)):
        write(target, [(hashlib.sha1(s.encode()).hexdigest()[:16], s.encode())
                       for s in items])


if __name__ == "__main__":
    main()
