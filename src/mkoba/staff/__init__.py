"""The operator's staff: roles and permissions as data, and signing in with two factors.

- ``policy.py`` (with ``policy.yaml``): the eight roles and, per console action, who may
  start it, approve it, do it or see it, with checkers' amount limits.
- ``credentials.py``: argon2id passwords and single-use TOTP codes.
- ``signin.py``: the sign-in decision, with the lockout after repeated failures.
- ``sessions.py``: server-side sessions with idle and absolute timeouts, an
  anti-forgery token each, and one session at a time for the roles that need it.

This is the core the operator console (its staff API and back office) is built on;
the console's routes and the staff tables come with it.
"""
