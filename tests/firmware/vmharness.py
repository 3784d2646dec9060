"""The case loop both VM harnesses share (vm_main.py, vm_link.py): runs each case named in
``vmargs.ARGS`` (all when empty), prints ``PASS <name> <json>`` or ``FAIL <name> <message>``
with the traceback, and carries on after a failure."""

import json
import sys

import vmargs


def run_cases(cases):
    """Run ``cases``; returns ``{"passed": n, "failed": n}`` for the SUMMARY line."""
    only = vmargs.ARGS
    passed = 0
    failed = 0
    for case in cases:
        name = case.__name__
        if only and name not in only:
            continue
        try:
            result = case()
        except Exception as e:  # report every failure and carry on
            failed += 1
            print("FAIL", name, repr(e))
            sys.print_exception(e)
            continue
        passed += 1
        print("PASS", name, json.dumps(result if result is not None else {}))
    return {"passed": passed, "failed": failed}
