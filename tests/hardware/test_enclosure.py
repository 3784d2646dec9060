"""The enclosure assembles: no two parts overlap, every part goes in from above, the
strap runs around the limb (hardware/placement.md), and the sizes the docs quote are
the model's. Rendered with OpenSCAD (CGAL): an intersection that renders empty is no
collision. Skips without ``openscad`` (Debian: ``apt-get install openscad``; .ci/run
installs it)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCAD = REPO / "hardware" / "enclosure" / "hipimu_case.scad"
PARTS = ["base", "lid", "lipo", "xiao", "bno", "switch", "power", "antenna", "webbing"]

pytestmark = pytest.mark.skipif(
    shutil.which("openscad") is None,
    reason="openscad not installed (apt-get install openscad; CI installs it)",
)


def render(tmp_path: Path, part: str, **defines: str) -> tuple[list, str]:
    """Render ``part`` to STL; returns its triangles' vertices (empty: nothing) and the
    log (echo lines)."""
    out = tmp_path / f"{part}-{'-'.join(defines.values())}.stl"
    args = ["openscad", "-D", f'part="{part}"']
    for key, value in defines.items():
        args += ["-D", f"{key}={value}"]
    proc = subprocess.run(
        [*args, "-o", str(out), str(SCAD)], capture_output=True, text=True, timeout=600
    )
    log = proc.stdout + proc.stderr
    assert "ERROR" not in log and "WARNING" not in log, log
    if "top level object is empty" in log:
        return [], log
    assert proc.returncode == 0, log
    vertices = [
        tuple(float(v) for v in line.split()[1:])
        for line in out.read_text().splitlines()
        if line.strip().startswith("vertex")
    ]
    return vertices, log


def extent(vertices: list) -> tuple[tuple[float, float], ...]:
    return tuple((min(c), max(c)) for c in zip(*vertices, strict=True))


def test_no_two_parts_collide(tmp_path):
    """All 36 pairs at once; on a collision, each pair on its own to name it."""
    overlap, _ = render(tmp_path, "collisions")
    if overlap:
        hits = []
        for i, a in enumerate(PARTS):
            for b in PARTS[i + 1 :]:
                got, _ = render(tmp_path, "pair", a=f'"{a}"', b=f'"{b}"')
                if got:
                    hits.append(f"{a} x {b}: {extent(got)}")
        pytest.fail("parts collide (x, y, z ranges in mm):\n" + "\n".join(hits or ["?"]))


def test_the_check_sees_a_collision(tmp_path):
    """Standoffs 1 mm shorter put the breakout's components into the lid; a cell 1 mm
    wider than the cavity runs into the walls."""
    got, _ = render(tmp_path, "pair", a='"bno"', b='"lid"', standoff_h="2.5")
    assert got
    got, _ = render(tmp_path, "pair", a='"lipo"', b='"base"', lipo="[36, 29, 5.5]")
    assert got


@pytest.mark.parametrize("part", ["lipo", "xiao", "power", "antenna"])
def test_each_part_goes_in_from_above(tmp_path, part):
    """The path of the part lowered into the open base meets nothing (the old design's
    corner posts stood over the cell's corners)."""
    got, _ = render(tmp_path, "sweep", a=f'"{part}"')
    assert not got, f"{part} cannot be lowered into place: {extent(got)}"


def test_the_strap_runs_around_the_limb(tmp_path):
    """hardware/placement.md: sensor x points superior and the straps go around the limb, so the
    webbing's width lies along x and it runs along y, under the case and through both
    loops (its passage is part of the collision check)."""
    webbing, _ = render(tmp_path, "webbing")
    base, _ = render(tmp_path, "base")
    (wx, wy, _), (bx, by, _) = extent(webbing), extent(base)
    assert wx[1] - wx[0] == pytest.approx(38.0)  # 38 mm webbing, width along x ...
    assert bx[0] < wx[0] and wx[1] < bx[1]  # ... within the case's length
    assert wy[0] < by[0] and wy[1] > by[1]  # it runs past both sides in y
    assert "38 mm" in (REPO / "hardware/placement.md").read_text()


def test_the_quoted_sizes_are_the_models(tmp_path):
    lid, log = render(tmp_path, "lid")
    assert lid
    size = re.search(r"outer size \(mm\): ([\d.]+) x ([\d.]+) x ([\d.]+); with strap loops "
                     r"([\d.]+) x ([\d.]+)", log)  # fmt: skip
    assert size, log
    x, y, z, _, y_loops = (round(float(v)) for v in size.groups())
    quoted = f"{x} x {y} x {z} mm ({x} x {y_loops} mm with the strap loops)"
    for doc in ("hardware/placement.md", "hardware/README.md"):
        assert quoted in (REPO / doc).read_text(), f"{doc}: {quoted}"
