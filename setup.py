"""Build the C extension ``hipimu._core`` (plain C11 over the buffer protocol, abi3).

Every ``.c`` file in ``host/hipimu/_core/`` is compiled into the one extension module.
Set ``HIPIMU_STRICT=1`` to build with warnings as errors (CI does).
"""

import os
from pathlib import Path

from setuptools import Extension, find_packages, setup

HERE = Path(__file__).parent
CORE = Path("host/hipimu/_core")
sources = sorted(str(p) for p in CORE.glob("*.c"))

extra_compile_args = [
    "-std=c11",
    "-O3",
    "-fno-math-errno",
    "-Wall",
    "-Wextra",
    "-Wshadow",
    "-Wconversion",
]
if os.environ.get("HIPIMU_STRICT"):
    extra_compile_args.append("-Werror")

packages = [p for p in find_packages("host") if p.startswith("hipimu")]
packages += [p for p in find_packages("firmware") if p.startswith("hipimu_fw")]

setup(
    packages=packages,
    ext_modules=[
        Extension(
            "hipimu._core",
            sources=sources,
            include_dirs=[str(CORE)],
            define_macros=[("Py_LIMITED_API", "0x030B0000")],
            py_limited_api=True,
            extra_compile_args=extra_compile_args,
        )
    ],
    options={"bdist_wheel": {"py_limited_api": "cp311"}},
)
