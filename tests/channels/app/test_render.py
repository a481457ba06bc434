"""Payment codes as pictures: an independent decoder (zxing-cpp) reads our PNG back to
the very payload, which our reader then takes for the same payment.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

import pytest
import zxingcpp
from PIL import Image

from mkoba.channels.app import keqr, render
from mkoba.channels.app.keqr import Payee, PayeeKind

TILL = Payee(PayeeKind.BUY_GOODS, "174379", "MAMA MBOGA", "NAIROBI", "5411")
NOW = datetime(2026, 12, 6, 7, 30, tzinfo=UTC)


def test_an_independent_decoder_reads_our_code_back() -> None:
    text = keqr.dynamic_code(
        TILL, 15_000, "INV001", NOW + timedelta(minutes=5), "Zm9vYmFyYmF6cXV4MTIz"
    )
    image = Image.open(io.BytesIO(render.png(text, scale=4)))
    found = zxingcpp.read_barcodes(image)
    assert [barcode.format for barcode in found] == [zxingcpp.BarcodeFormat.QRCode]
    assert found[0].text == text
    assert keqr.read_code(found[0].text, NOW) == keqr.read_code(text, NOW)


def test_the_svg_draws_the_same_symbol_with_a_title() -> None:
    text = keqr.static_code(TILL)
    document = ElementTree.fromstring(render.svg(text, scale=1, title="Pay MAMA MBOGA"))
    assert document.findtext("{http://www.w3.org/2000/svg}title") == "Pay MAMA MBOGA"
    width = Image.open(io.BytesIO(render.png(text, scale=1))).width
    assert document.get("width") == str(width)


@pytest.mark.parametrize("scale", [0, 33])
def test_a_scale_out_of_range_is_refused(scale: int) -> None:
    with pytest.raises(ValueError, match="1 to 32 pixels per module"):
        render.png("000201", scale=scale)
