#!/usr/bin/env python3
"""Counts the test cases of meson test runs from their TAP output.

    tools/count-tests.py BUILD_DIR_OR_TAP_FILE...

Prints "N passed, N failed[, N skipped]".  A test program that failed
without reporting a failing case (a crash, a timeout) counts as one failure;
a build directory without a test log counts as one failure too.  A file
(tools/test-packages' build-packages/test-packages.tap) is read as one TAP
stream: cases its plan ("1..N") names but that never reported count as
failures, and a file without a plan as one.
"""
import glob
import json
import os
import re
import sys

passed = failed = skipped = 0


def count_tap(lines):
    """(ok, not ok, skipped) of TAP lines."""
    ok = not_ok = skip = 0
    for tap in lines:
        if re.match(r"^ok \d+", tap):
            if "# SKIP" in tap:
                skip += 1
            else:
                ok += 1
        elif re.match(r"^not ok \d+", tap):
            not_ok += 1
    return ok, not_ok, skip


for build in sys.argv[1:]:
    if os.path.isfile(build):
        with open(build) as f:
            lines = f.read().splitlines()
        ok, not_ok, skip = count_tap(lines)
        plans = [int(m.group(1)) for m in (re.match(r"^1\.\.(\d+)", l) for l in lines) if m]
        if not plans:
            print(f"{build}: no TAP plan", file=sys.stderr)
            not_ok += 1
        elif ok + not_ok + skip < plans[-1]:
            not_ok += plans[-1] - (ok + not_ok + skip)
        passed += ok
        failed += not_ok
        skipped += skip
        continue
    # testlog.json, or testlog-WRAPPER.json for runs under --wrapper.
    logs = glob.glob(os.path.join(build, "meson-logs", "testlog*.json"))
    if not logs:
        print(f"{build}: no test log", file=sys.stderr)
        failed += 1
        continue
    for log in logs:
        with open(log) as f:
            tests = [json.loads(line) for line in f if line.strip()]
        for test in tests:
            ok, not_ok, skip = count_tap((test.get("stdout") or "").splitlines())
            skipped += skip
            if test["result"] not in ("OK", "SKIP", "EXPECTEDFAIL") and not_ok == 0:
                not_ok = 1
            passed += ok
            failed += not_ok
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
sys.exit(1 if failed else 0)
