"""hipimu: three wearable IMUs as a hip-movement lab.

Data flows one way (docs/architecture.md)::

    sources (simulated | replay | ble) -> protocol (decode) -> session (clocks, gaps)
      -> fusion -> calibration -> kinematics -> scoring -> record / report / live
"""

__version__ = "0.1.0"
