"""Device entry point: MicroPython runs this after boot.py.

The package lives in /lib/hipimu_fw (docs/firmware.md). Hold the BOOT button while the
board resets to skip the firmware and keep the REPL free (handy for `mpremote`).
"""

from hipimu_fw import hal

if not hal.boot_button_pressed():
    from hipimu_fw import app

    app.main()
