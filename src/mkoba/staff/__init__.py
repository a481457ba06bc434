"""The operator's staff: roles and permissions as data, and signing in with two factors.

- ``policy.py`` (with ``policy.yaml``): the eight roles and, per console action, who may
  start it, approve it, do it or see it, with checkers' amount limits.
- ``credentials.py``: argon2id passwords and single-use TOTP codes.
- ``signin.py``: the sign-in decision, with the lockout after repeated failures.
- ``accounts.py``: the ``staff_accounts`` table (seeds sealed at rest), ``cli.py`` its
  commands (``mkoba staff create | list | totp``, ``mkoba audit verify | head``).
- ``enrolment.py``: the ``staff_enrolments`` table: one-time tokens with which a member
  made in the console chooses their own password and TOTP.
- ``audit.py``: the ``staff_audit`` table, an append-only keyed hash chain.
- ``closes.py``: the ``staff_closes`` table, finance's daily sign-offs with the pack as
  it was, append-only and chained the same way.
- ``sessions.py``: server-side sessions with idle and absolute timeouts, an
  anti-forgery token each, and one session at a time for the roles that need it.

The console channel (``channels/console``) serves it and runs the staff actions.
"""
