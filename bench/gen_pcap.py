#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Writes a capture file of N Ethernet/IPv4/UDP packets of SIZE bytes
(default 1,000,000 of 64) for the replay benchmark:
    gen_pcap.py FILE [N] [SIZE]"""
import struct
import sys


def main():
    path = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1000000
    size = int(sys.argv[3]) if len(sys.argv) > 3 else 64
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for i in range(n):
            eth = b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00"
            ip_len = size - 14
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, ip_len, i & 0xffff, 0, 64, 17, 0,
                             bytes((10, 0, 0, 1)), bytes((10, 0, (i >> 8) & 0xff, i & 0xff)))
            udp = struct.pack("!HHHH", 1024 + (i & 0xff), 5000, ip_len - 20, 0)
            pkt = eth + ip + udp
            pkt += bytes(size - len(pkt))
            f.write(struct.pack("<IIII", i // 1000000, i % 1000000, size, size))
            f.write(pkt)


if __name__ == "__main__":
    main()
