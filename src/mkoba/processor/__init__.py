"""TranProc: decodes a request, lets its product decide, commits the plan, answers, rolls back.

It owns the ``requests``, ``receipts`` and ``daily_usage`` tables and the delivery deadlines.
"""
