"""Payment codes as pictures: SVG for the web app, PNG for everything else (segno).

Error correction level M (15 % of the symbol can be lost) is what EMVCo recommends
for a code shown on a screen or a sticker; never a Micro QR, which payment apps do
not read; the quiet zone is the standard four modules.
"""

from __future__ import annotations

import io

import segno

_ERROR_CORRECTION = "m"
_QUIET_ZONE_MODULES = 4
# Pixels (or SVG units) per module: a version-7 code at scale 8 is about 400 pixels wide.
# The mask of a code shown on a screen (any of 0-7 is valid; 2 is vertical stripes).
_SCREEN_MASK = 2
scale_min = 1
scale_max = 32


def _symbol(payload: str, mask: int | None = None) -> segno.QRCode:
    assert payload, "a code has a payload"
    code = segno.make(payload, error=_ERROR_CORRECTION, micro=False, boost_error=False, mask=mask)
    assert not code.is_micro
    return code


def _check_scale(scale: int) -> None:
    if not scale_min <= scale <= scale_max:
        raise ValueError(f"the scale is {scale_min} to {scale_max} pixels per module")


def svg(
    payload: str, *, scale: int = 8, title: str = "Payment code", on_screen: bool = False
) -> str:
    """An SVG document of the code (UTF-8 text), with ``title`` for screen readers.

    ``on_screen``: a code shown once on a phone's screen (a dynamic code) takes a fixed
    mask pattern instead of the best of eight; choosing costs three quarters of the
    time, and every mask is valid for readers. Printed codes keep the best mask.
    """
    _check_scale(scale)
    out = io.BytesIO()
    _symbol(payload, _SCREEN_MASK if on_screen else None).save(
        out, kind="svg", scale=scale, border=_QUIET_ZONE_MODULES, title=title, xmldecl=False
    )
    return out.getvalue().decode("utf-8")


def png(payload: str, *, scale: int = 8) -> bytes:
    """A PNG of the code, black on white."""
    _check_scale(scale)
    out = io.BytesIO()
    _symbol(payload).save(out, kind="png", scale=scale, border=_QUIET_ZONE_MODULES)
    image = out.getvalue()
    assert image.startswith(b"\x89PNG\r\n\x1a\n")
    return image
