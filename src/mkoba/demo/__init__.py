"""Demo data and walk-throughs for a fresh mkoba."""
