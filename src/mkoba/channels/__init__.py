"""Channel adapters: they translate between the outside world and TranProc, and decide nothing."""
