"""reprints."""
