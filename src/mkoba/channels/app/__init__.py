"""The smartphone channel: payment codes (EMVCo QR) today; the web app, device binding and
the validation server in later steps (issue 17). Nothing here is wired into the platform yet.
"""
