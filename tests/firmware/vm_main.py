"""Harness for fwcases in the MicroPython VM (run by run_vm.mjs; prints one line per case).

Output lines: ``PASS <name> <json>``, ``FAIL <name> <message>``, ``PACKET <hex>`` (packets
the firmware made, for the host decoder test) and a final ``SUMMARY <json>``.
"""

import json

import fwcases
import vmharness

fwcases.setup("/vectors", "/tmp")
summary = vmharness.run_cases(fwcases.CASES)
for p in fwcases.PACKETS_OUT:
    print("PACKET", p)
print("SUMMARY", json.dumps(summary))
