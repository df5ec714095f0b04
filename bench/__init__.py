"""Benchmarks of phaseo-mcp against the physical limit, measured side by side (issue 8)."""
