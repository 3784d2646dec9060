"""Per-sensor streams: unwrap, de-duplicate, reorder, reboot segments, gaps, clock models."""
