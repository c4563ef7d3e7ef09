#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""The multi-process pipeline example (doc/pipeline.md). Stage 1, the
primary, receives on an input port and spreads the packets over N rings,
one per queue; stage 2, N secondary workers, each takes one ring, rewrites
the MACs (mac forwarding) and transmits on an output port. While packets
flow, the last worker attaches a port and detaches it again. At the end,
each stage's counters, and the check that every packet that came in went
out, was dropped, or is still in a ring.

Usage: pipeline.py [N]    (N workers, 1 to 16, default 2)"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../tests/integration"))
import demo  # noqa: E402
import hp  # noqa: E402

# The ports, attached in this order: oneway forwards in port id order.
IN, S1, S2, OUT = "net_null_in", "net_ring_s1", "net_ring_s2", "net_null_out"
SPARE = "net_null_spare"
MAX_WORKERS = 16    # HP_PORT_MAX_QUEUES


class Quiet:
    """Runs the pipeline without showing it (the integration test)."""
    Proc = hp.Proc

    cmd = staticmethod(hp.send_plain)

    def say(self, text):
        pass


def attach(ui, p, devargs):
    """Attaches devargs from p; returns the port id."""
    return int(ui.cmd(p, "port attach " + devargs, r"Port (\d+) attached: ").group(1))


def stage(ui, p, ports, queues, mode, streams):
    """Sets p up as one stage (receive on the first port, transmit on the
    second, on the queues given) and starts it."""
    ui.cmd(p, "set portlist %d,%d" % ports, r"Forwarding ports: ")
    ui.cmd(p, "set port-topology oneway", r"Port topology: oneway")
    ui.cmd(p, "set fwd-queues " + queues, r"Forwarding queues: ")
    ui.cmd(p, "set fwd " + mode, r"Set %s packet forwarding mode" % mode)
    ui.cmd(p, "start", r"%s packet forwarding - .* - streams=%d - " % (mode, streams))


def output_tx(ui, pri, ids):
    return hp.port_stats(pri, ids[OUT], ui.cmd)["opackets"]


def wait_output_grows(ui, pri, ids, above):
    return hp.until(lambda: output_tx(ui, pri, ids), lambda v: v > above,
                    lambda: "no packet reached the output port:\n" + pri.dump())


def hotplug(ui, workers, pri, ids):
    """The last worker attaches a port and detaches it while packets flow;
    the workers' port lists leave it out, so their streams stay as they
    are, and packets still reach the output afterwards."""
    w = workers[-1]
    ui.say("%s attaches a port while packets flow, then detaches it" % w.name)
    spare = attach(ui, w, SPARE)
    for x in workers[:-1]:  # w printed it before its reply
        x.wait_for(r"Port %d: %s is now usable" % (spare, SPARE))
    ui.cmd(w, "show fwd", r"Forwarding: running, 1 streams")
    ui.cmd(w, "port detach %d" % spare, r"Port %d detached: %s" % (spare, SPARE))
    for x in workers[:-1]:
        x.wait_for(r"Port %d: %s left this process" % (spare, SPARE))
    wait_output_grows(ui, pri, ids, output_tx(ui, pri, ids))


def stop_all(ui, pri, workers, ids):
    """Stops stage 1, waits until the workers have emptied the rings,
    stops them; returns the counters (see summary)."""
    ui.say("Stop stage 1; the workers empty the rings, then stop too")
    s1, _ = hp.read_stop(pri, ui.cmd)
    sent = hp.port_stats(pri, ids[S1], ui.cmd)["opackets"]
    hp.until(lambda: hp.port_stats(pri, ids[S2], ui.cmd)["ipackets"], lambda v: v >= sent,
             lambda: "the workers left packets in the rings:\n" + pri.dump())
    stage2 = [hp.read_stop(w, ui.cmd)[0] for w in workers]
    ports = {name: hp.port_stats(pri, ids[name], ui.cmd) for name in (IN, S1, S2, OUT)}
    return {
        "stage1": {"rx": s1[ids[IN]][0], "tx": s1[ids[S1]][1], "dropped": s1[ids[S1]][2]},
        "workers": [{"rx": p[ids[S2]][0], "tx": p[ids[OUT]][1], "dropped": p[ids[OUT]][2]}
                    for p in stage2],
        "ports": ports,
        "in": ports[IN]["ipackets"],
        "out": ports[OUT]["opackets"],
        "in_rings": ports[S1]["opackets"] - ports[S2]["ipackets"],
    }


def run(ui, n=2, period=2.0, pfx=None):
    """Runs the pipeline with n workers for about period seconds of
    traffic, in instance pfx; returns the counters of stop_all."""
    pfx = pfx or "pipeline-%d" % os.getpid()
    queues = "0" if n == 1 else "0-%d" % (n - 1)
    with hp.Cleanup() as c:
        ui.say("Start the primary (stage 1); it takes commands on standard input")
        pri = c.add(ui.Proc(hp.PRIMARY, ["--file-prefix", pfx, "--cmd", "-"] + hp.mem_args(),
                            name="primary"))
        pri.wait_for(r"hotport-primary ready")

        ui.say("The ports: input, the two ends of %d rings, output; %d queues each" % (n, n))
        ids = {IN: attach(ui, pri, "%s,queues=%d" % (IN, n))}
        ids[S1] = attach(ui, pri, "%s,queues=%d" % (S1, n))
        ids[S2] = attach(ui, pri, "%s,queues=%d,peer=%s" % (S2, n, S1))
        ids[OUT] = attach(ui, pri, "%s,queues=%d" % (OUT, n))
        hp.check(ids[IN] < ids[S1] and ids[S2] < ids[OUT], "ports out of order: %s" % ids, pri)
        ui.cmd(pri, "port start all", r"Port %d started" % ids[OUT])

        ui.say("Start %d workers (stage 2): worker i takes ring i, rewrites MACs, sends on the output" % n)
        workers = []
        for i in range(n):
            w = c.add(ui.Proc(hp.SECONDARY, ["--file-prefix", pfx], name="worker %d" % i))
            w.wait_for(r"hotport-secondary ready")
            stage(ui, w, (ids[S2], ids[OUT]), str(i), "mac", 1)
            workers.append(w)

        ui.say("Stage 1: the primary forwards input queue q to ring q")
        stage(ui, pri, (ids[IN], ids[S1]), queues, "io", n)
        t0 = time.monotonic()
        wait_output_grows(ui, pri, ids, 0)
        hotplug(ui, workers, pri, ids)
        ui.say("Packets flow for %.0f s" % period)
        time.sleep(max(0.0, period - (time.monotonic() - t0)))
        res = stop_all(ui, pri, workers, ids)

        for w in workers:
            w.cmd("quit")
            hp.check(w.wait() == 0, "%s exit status" % w.name, w)
        pri.close_stdin()
        hp.check(pri.wait() == 0, "primary exit status", pri)
    return res


def problems(res):
    """What does not add up in the counters of run: a list of lines."""
    ws, ports, s1 = res["workers"], res["ports"], res["stage1"]
    dropped = s1["dropped"] + sum(w["dropped"] for w in ws)
    rules = [
        (res["in"] > 0 and res["out"] > 0, "packets went in and came out"),
        (all(w["rx"] > 0 and w["tx"] > 0 for w in ws), "every worker moved packets"),
        (s1["rx"] == res["in"], "stage 1 received what the input port did"),
        (s1["tx"] == ports[S1]["opackets"] and s1["dropped"] == ports[S1]["odropped"],
         "stage 1 sent into the rings what %s counted" % S1),
        (sum(w["rx"] for w in ws) == ports[S2]["ipackets"],
         "the workers received what %s counted" % S2),
        (sum(w["tx"] for w in ws) == res["out"], "the workers sent what %s counted" % OUT),
        (res["in"] == res["out"] + dropped + res["in_rings"], "in = out + dropped + still in rings"),
    ]
    return [text for ok, text in rules if not ok]


def summary(res):
    """The per-stage counters as lines of text."""
    s1, ports = res["stage1"], res["ports"]
    lines = ["%-9s %-14s RX %d" % ("input", IN, res["in"]),
             "%-9s %-14s RX %-11d TX %-11d dropped %d (rings full)" % (
                 "stage 1", "primary", s1["rx"], s1["tx"], s1["dropped"]),
             "%-9s %-14s in %-11d out %-10d still in rings %d" % (
                 "rings", "s1 -> s2", ports[S1]["opackets"],
                 ports[S2]["ipackets"], res["in_rings"])]
    for i, w in enumerate(res["workers"]):
        lines.append("%-9s %-14s RX %-11d TX %-11d dropped %d" % (
            "stage 2" if i == 0 else "", "worker %d" % i, w["rx"], w["tx"], w["dropped"]))
    dropped = s1["dropped"] + sum(w["dropped"] for w in res["workers"])
    lines += ["%-9s %-14s TX %d" % ("output", OUT, res["out"]),
              "in %d = out %d + dropped %d + still in rings %d" % (
                  res["in"], res["out"], dropped, res["in_rings"])]
    return lines


def main():
    class Shown:
        Proc = demo.Shown
        say = staticmethod(demo.say)
        cmd = staticmethod(demo.cmd)

    arg = sys.argv[1] if len(sys.argv) > 1 else "2"
    n = int(arg) if arg.isdigit() else 0
    if len(sys.argv) > 2 or not 1 <= n <= MAX_WORKERS:
        raise SystemExit("usage: pipeline.py [N]: 1 to %d workers" % MAX_WORKERS)
    res = run(Shown(), n)
    demo.say("Per-stage summary (packets)")
    for line in summary(res):
        print("  " + line)
    bad = problems(res)
    for text in bad:
        print("  does not add up: " + text)
    if bad:
        sys.exit(1)
    demo.say("Pipeline finished: the counters add up")


if __name__ == "__main__":
    demo.run_main(main, "pipeline")
