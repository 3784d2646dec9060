"""The firmware logic under CPython: the same cases the VM runs (fwcases.py)."""

import fwcases
import pytest
from fwpaths import ROOT


@pytest.fixture(autouse=True)
def _dirs(tmp_path):
    fwcases.setup(str(ROOT / "tests" / "vectors"), str(tmp_path))


@pytest.mark.parametrize("case", fwcases.CASES, ids=lambda c: c.__name__)
def test_case(case):
    case()


def test_vectors_match_their_generator():
    """The frozen JSON is what tests/vectors/make_vectors.py (written from the spec) makes."""
    import importlib.util
    import json

    spec = importlib.util.spec_from_file_location(
        "make_vectors", ROOT / "tests" / "vectors" / "make_vectors.py"
    )
    mv = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mv)
    packets = json.loads((ROOT / "tests" / "vectors" / "packets.json").read_text())
    assert [p["hex"] for p in packets] == [mv.encode(c)[0].hex() for c in mv.PACKET_CASES]
    rejects = json.loads((ROOT / "tests" / "vectors" / "rejects.json").read_text())
    assert [(r["hex"], r["reason"]) for r in rejects] == [
        (b.hex(), reason) for _, b, reason in mv.reject_cases()
    ]
    control = json.loads((ROOT / "tests" / "vectors" / "control.json").read_text())
    assert control == mv.control_cases()
    wire = json.loads((ROOT / "tests" / "vectors" / "wire.json").read_text())
    assert wire == mv.wire_table()
    advert = json.loads((ROOT / "tests" / "vectors" / "advert.json").read_text())
    assert advert == mv.advert_cases()
