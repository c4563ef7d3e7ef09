#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""The apps under valgrind memcheck: a primary and a secondary start,
attach a port from the secondary, forward for a moment, detach, and stop;
valgrind must report no error and no leak (definite or indirect) in
either. Skips with the reason when valgrind is missing."""
import os
import re
import shutil
import signal
import time

import hp

VG = ["valgrind", "--leak-check=full", "--errors-for-leak-kinds=definite,indirect",
      "--error-exitcode=99", "--track-fds=no", "--quiet"]


def vg_proc(exe, args, name):
    return hp.Proc("/usr/bin/env", VG + [exe] + args, name=name)


def check_clean(p, status):
    err = "\n".join(p.output("err"))
    hp.check(status == 0, "%s under valgrind: exit status %d" % (p.name, status), p)
    hp.check(not re.search(r"==\d+== (Invalid|Conditional|Syscall param|Mismatched|.*definitely lost: [1-9])",
                           err), "%s: valgrind found errors:\n%s" % (p.name, err[-3000:]))


def test_apps_under_valgrind():
    if not shutil.which("valgrind"):
        print("skip: valgrind is not installed (apt-get install valgrind)")
        return hp.SKIP
    pfx = hp.prefix("valgrind")
    slow = 30.0 * hp.SLOW
    with hp.Cleanup() as c:
        pri = c.add(vg_proc(hp.PRIMARY, ["--file-prefix", pfx] + hp.mem_args() + ["--vdev", "net_null0"],
                            "primary"))
        pri.wait_for(r"hotport-primary ready", timeout=slow)
        sec = c.add(vg_proc(hp.SECONDARY, ["--file-prefix", pfx], "secondary"))
        sec.wait_for(r"hotport-secondary ready", timeout=slow)
        sec.cmd("port attach net_null1", r"Port 1 attached: net_null1", timeout=slow)
        sec.cmd("set fwd io", r"Set io packet forwarding mode", timeout=slow)
        sec.cmd("port start all", r"Port 1 started", timeout=slow)
        sec.cmd("start", r"packet forwarding - ports=0-1", timeout=slow)
        time.sleep(0.5)
        hp.read_stop(sec, send=lambda p, line, expect: p.cmd(line, expect, timeout=slow))
        sec.cmd("port stop all", r"Port 1 stopped", timeout=slow)
        sec.cmd("port detach 1", r"Port 1 detached: net_null1", timeout=slow)
        sec.cmd("quit")
        check_clean(sec, sec.wait(timeout=slow))
        check_clean(pri, pri.stop(signal.SIGTERM, timeout=slow))
    hp.check(not os.path.exists(hp.runtime_dir(pfx)), "runtime dir left behind")


if __name__ == "__main__":
    hp.main([test_apps_under_valgrind])
