"""Full statements: rendered for staff (the console) and delivered to customers by email.

``render`` turns a party's statement lines into CSV or PDF; ``delivery`` is the outbox
gateway that builds a customer's requested statement after its request committed and
emails it, password-protected, to the address the customer registered. Neither is a
channel: the console and the composition root both import them.
"""
