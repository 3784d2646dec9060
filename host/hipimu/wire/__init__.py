"""The wire protocol: decoding sensor notifications, control opcodes and GATT UUIDs."""
