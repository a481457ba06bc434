"""SMS bytes: GSM-7 when the alphabet allows, else UCS-2, in parts that never split a character."""

from __future__ import annotations

import pytest

from mkoba.channels.sms import encoding, receipts
from mkoba.channels.sms.esme import Inbound
from mkoba.messages import gsm7


def test_a_plain_text_is_one_gsm7_message_of_one_byte_per_character() -> None:
    (part,) = encoding.parts("Ksh1,000.00 sent to WANJIKU @ 9:15 AM")
    assert part.data_coding == encoding.DATA_CODING_GSM7 and part.esm_class == 0
    assert part.short_message == gsm7.encode("Ksh1,000.00 sent to WANJIKU @ 9:15 AM")
    assert part.short_message[28:29] == b"\x00"  # "@" is code 0 in GSM 03.38


def test_160_characters_fit_one_sms_and_161_take_two_parts() -> None:
    assert len(encoding.parts("a" * 160)) == 1
    first, second = encoding.parts("a" * 161, reference=0x2A)
    assert first.short_message[:6] == bytes((5, 0, 3, 0x2A, 2, 1))
    assert second.short_message[:6] == bytes((5, 0, 3, 0x2A, 2, 2))
    assert len(first.short_message) == 6 + 153
    assert first.esm_class == encoding.ESM_CLASS_UDHI


def test_an_extension_character_counts_twice_and_is_never_split() -> None:
    text = "a" * 152 + "€" + "b" * 10
    assert gsm7.septets(text) == 164
    first, second = encoding.parts(text)
    # 152 + 2 septets would be 154 > 153: the euro goes whole into the second part.
    assert first.short_message[6:] == b"a" * 152
    assert second.short_message[6:8] == bytes((gsm7.ESCAPE, 0x65))


def test_a_name_outside_gsm7_makes_the_message_ucs2() -> None:
    (part,) = encoding.parts("Umepokea kutoka kwa ŁUKASZ")
    assert part.data_coding == encoding.DATA_CODING_UCS2
    assert part.short_message.decode("utf-16-be") == "Umepokea kutoka kwa ŁUKASZ"
    parts = encoding.parts("Ł" * 71)
    assert [len(p.short_message) for p in parts] == [6 + 67 * 2, 6 + 4 * 2]


def test_a_surrogate_pair_is_never_split() -> None:
    text = "x" * 66 + "😀" + "y" * 5  # 73 UTF-16 units: two parts of at most 67
    first, second = encoding.parts(text)
    assert first.short_message[6:].decode("utf-16-be") == "x" * 66
    assert second.short_message[6:].decode("utf-16-be") == "😀yyyyy"


def test_a_message_longer_than_the_part_limit_is_refused() -> None:
    with pytest.raises(encoding.TooLong):
        encoding.parts("a" * 153 * encoding.parts_max + "a")


def test_inbound_texts_decode_from_every_coding() -> None:
    assert encoding.decode(gsm7.encode("Salio {x} €"), 0, 0) == "Salio {x} €"
    assert encoding.decode("Habari".encode("utf-16-be"), 8, 0) == "Habari"
    assert encoding.decode(b"\x05\x00\x03\x01\x02\x01abc", 0, 0x40) == "abc"
    assert encoding.decode(b"caf\xe9", 3, 0) == "café"


def _dlr(text: str, receipted: str = "", state: int = 0) -> Inbound:
    return Inbound("254712000001", "MPESA", 4, 0, text.encode(), receipted, state)


def test_receipts_are_read_from_tlvs_first_then_the_text() -> None:
    text = (
        "id:1A sub:001 dlvrd:000 submit date:2611240915 done date:2611240916 stat:UNDELIV err:001"
    )
    from_tlv = receipts.read(_dlr(text, "1A", 2))
    assert from_tlv is not None and from_tlv.fate == receipts.Fate.DELIVERED
    from_text = receipts.read(_dlr(text))
    assert from_text == receipts.Receipt("1A", receipts.Fate.FAILED, "UNDELIV", "001")
    assert receipts.read(_dlr("stat:DELIVRD")) is None
    enroute = receipts.read(_dlr("id:77 stat:ENROUTE err:000"))
    assert enroute is not None and enroute.fate == receipts.Fate.PENDING


def test_message_ids_match_in_hex_or_decimal() -> None:
    assert receipts.id_forms("1A") == ["1A", "26"]
    assert "1A" in receipts.id_forms("26")
    assert receipts.id_forms("00ff") == ["FF", "255"]
    assert receipts.id_forms("msg-1") == ["MSG-1"]


def test_screen_values_are_made_gsm7() -> None:
    assert gsm7.plain("Zoë Ñandú 日本") == "Zoe Ñandu ??"
    assert gsm7.is_gsm7(gsm7.plain("Łukasz Ørsted"))
