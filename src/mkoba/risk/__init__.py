"""Fraud and AML: the rules over requests and events, and the signals they consult."""
