#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""The pipeline example (scripts/pipeline.py, doc/pipeline.md) with two
workers and about a second of traffic: the primary spreads packets from
an input port over two rings, each worker forwards its ring to the output
port, and a port one worker attaches and detaches meanwhile does not stop
them. Every stage must have moved packets and the counters must add up:
in = out + dropped + still in rings, and each stage's forward statistics
equal the ports' own counters. Nothing depends on how fast packets move."""
import os
import sys

import hp

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../scripts"))
import pipeline  # noqa: E402


def test_pipeline_two_workers():
    res = pipeline.run(pipeline.Quiet(), n=2, period=1.0, pfx=hp.prefix("pipeline"))
    bad = pipeline.problems(res)
    hp.check(len(res["workers"]) == 2 and not bad,
             "does not add up: %s\n%s" % ("; ".join(bad), "\n".join(pipeline.summary(res))))


if __name__ == "__main__":
    hp.main([test_pipeline_two_workers])
