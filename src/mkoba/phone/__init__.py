"""A handset in the terminal: `mkoba phone MSISDN` against a running `mkoba serve`."""
