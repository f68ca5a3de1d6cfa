#!/usr/bin/env python3
"""Counts the test cases of meson test runs from their TAP output.

    tools/count-tests.py BUILD_DIR...

Prints "N passed, N failed[, N skipped]".  A test program that failed
without reporting a failing case (a crash, a timeout) counts as one failure;
a build directory without a test log counts as one failure too.
"""
import glob
import json
import os
import re
import sys

passed = failed = skipped = 0
for build in sys.argv[1:]:
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
            ok = not_ok = 0
            for tap in (test.get("stdout") or "").splitlines():
                if re.match(r"^ok \d+", tap):
                    if "# SKIP" in tap:
                        skipped += 1
                    else:
                        ok += 1
                elif re.match(r"^not ok \d+", tap):
                    not_ok += 1
            if test["result"] not in ("OK", "SKIP", "EXPECTEDFAIL") and not_ok == 0:
                not_ok = 1
            passed += ok
            failed += not_ok
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
sys.exit(1 if failed else 0)
