"""Harness for linkcases in the MicroPython VM with the real aioble (run_vm.mjs --aioble).

Output lines as vm_main.py: ``PASS <name> <json>``, ``FAIL <name> <message>`` and a final
``SUMMARY <json>``.
"""

import json
import sys

import linkcases
import vmargs

linkcases.setup("/tmp")
only = vmargs.ARGS
passed = 0
failed = 0
for case in linkcases.CASES:
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
print("SUMMARY", json.dumps({"passed": passed, "failed": failed}))
