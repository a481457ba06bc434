"""A video of a QR code, for Chromium's fake camera (``--use-file-for-fake-video-capture``).

The file is Y4M (YUV4MPEG2, 4:2:0), the raw format Chromium's file-backed capture
device plays in a loop: a white picture with the code drawn by segno in black, as a
phone's camera would see another phone's screen held still.
"""

from __future__ import annotations

from pathlib import Path

import segno

width, height = 640, 480
frames_per_s = 5
_QUIET_ZONE_MODULES = 4
_WHITE, _BLACK, _NO_COLOUR = 235, 16, 128  # video-range luma; 128 is grey in U and V


def frame(payload: str) -> bytes:
    """One 4:2:0 frame (Y, then U and V) of the code, as large as fits, centred."""
    code = segno.make(payload, error="m", micro=False, boost_error=False)
    modules = code.symbol_size(scale=1, border=_QUIET_ZONE_MODULES)[0]
    scale = min(width, height) // modules
    assert scale >= 2, f"{modules} modules do not fit {width}x{height}"
    left, top = (width - modules * scale) // 2, (height - modules * scale) // 2
    luma = bytearray([_WHITE]) * (width * height)
    rows = code.matrix_iter(scale=scale, border=_QUIET_ZONE_MODULES, verbose=False)
    for y, row in enumerate(rows):
        line = bytes(_BLACK if dark else _WHITE for dark in row)
        start = (top + y) * width + left
        luma[start : start + len(line)] = line
    chroma = bytes([_NO_COLOUR]) * (width // 2 * (height // 2))
    return bytes(luma) + chroma + chroma


def qr_video(payload: str, path: Path, frames: int = frames_per_s) -> Path:
    """Write a Y4M video of ``payload``'s QR code to ``path`` (one second, looped by Chromium)."""
    assert payload, "an empty payload is no payment code"
    picture = frame(payload)
    header = f"YUV4MPEG2 W{width} H{height} F{frames_per_s}:1 Ip A1:1 C420jpeg\n"
    with path.open("wb") as video:
        video.write(header.encode("ascii"))
        for _ in range(frames):
            video.write(b"FRAME\n" + picture)
    return path
