"""``--force`` of the commands that write a session (record, live --record, demo, import):
an existing session is never overwritten or appended to, only moved aside
(:mod:`hipimu.store.recorder`)."""

from __future__ import annotations

import argparse


def add_force(parser: argparse.ArgumentParser, needs: str = "") -> None:
    """Add ``--force``; ``needs`` names the option it goes with (e.g. ``--record``)."""
    prefix = f"with {needs}: " if needs else ""
    parser.add_argument(
        "--force",
        action="store_true",
        help=f"{prefix}if DIR exists and is not empty, move it aside to DIR.old-<timestamp> "
        "(it is never deleted)",
    )
