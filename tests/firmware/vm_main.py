"""Harness for fwcases in the MicroPython VM (run by run_vm.mjs; prints one line per case).

Output lines: ``PASS <name> <json>``, ``FAIL <name> <message>``, ``PACKET <hex>`` (packets
the firmware made, for the host decoder test) and a final ``SUMMARY <json>``.
"""

import json
import sys

import fwcases
import vmargs

fwcases.setup("/vectors", "/tmp")
only = vmargs.ARGS
passed = 0
failed = 0
for case in fwcases.CASES:
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
for p in fwcases.PACKETS_OUT:
    print("PACKET", p)
print("SUMMARY", json.dumps({"passed": passed, "failed": failed}))
