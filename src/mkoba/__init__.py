"""mkoba: an open-source mobile-money platform (the system behind M-Pesa, runnable by anyone)."""

__version__ = "0.1.0"
