"""Shared types, names and quaternion kernels that every stage uses (lowest layer)."""
