"""``mkoba simulate ...``: synthetic traffic through the real processor, with known truth."""
