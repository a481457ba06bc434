"""What every HTTP channel's edge uses, each in its own answer format.

- ``limits.BodyLimit``: no request body under a prefix is read past a bound, so no
  single request can fill memory (FastAPI reads a JSON body whole).
- ``crashes.Crashes``: a route that raises is answered once, in the channel's
  format, logged once, and the keep-alive connection stays usable.
- ``validation.validation_message``: what is wrong with a body, never echoing it.

Imports nothing of mkoba: channels hand it their answers as bytes.
"""
