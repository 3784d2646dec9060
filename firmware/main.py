"""Device entry point: MicroPython runs this after boot.py.

The package lives in /lib/hipimu_fw (docs/firmware.md). Safe boot: while the file
``/nomain`` exists the firmware does not start and the REPL stays free, with no watchdog
(``mpremote fs touch :/nomain + reset``; ``mpremote rm :/nomain + reset`` to undo).
"""

from hipimu_fw import hal

if hal.safe_boot_requested():
    print("hipimu: /nomain found: firmware not started (mpremote rm :/nomain to undo)")
else:
    from hipimu_fw import app

    try:
        app.main()
    except KeyboardInterrupt:
        print("hipimu: stopped; the watchdog resets the board within 8 s.")
        print("hipimu: to stay in the REPL: mpremote fs touch :/nomain + reset")
