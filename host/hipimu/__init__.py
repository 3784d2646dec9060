"""hipimu: three wearable IMUs as a hip-movement lab.

Data flows one way, and the subpackages are its stages in order (docs/architecture.md)::

    sources (ble | simulated | replay) -> wire (decode) -> stream (clocks, gaps)
      -> orientation (filter) -> body (calibration, angles) -> scoring
      -> analysis (offline pipeline, live pipeline) -> export | report -> workflow -> app

``core`` (shared types, names, quaternions), ``store`` (session logs on disk) and
``simulate`` (a source of data with ground truth) sit beside the flow.
"""

__version__ = "0.1.0"
