"""Numpy reference implementations (twins) of the C kernels, for tests and benchmarks."""
