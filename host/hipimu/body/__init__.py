"""Body segments: calibration (sensor to segment), heading alignment, hip and pelvis angles."""
