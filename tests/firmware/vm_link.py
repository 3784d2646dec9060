"""Harness for linkcases in the MicroPython VM with the real aioble (run_vm.mjs --aioble).

Output lines as vm_main.py: ``PASS <name> <json>``, ``FAIL <name> <message>`` and a final
``SUMMARY <json>``.
"""

import json

import linkcases
import vmharness

linkcases.setup("/tmp")
summary = vmharness.run_cases(linkcases.CASES)
print("SUMMARY", json.dumps(summary))
