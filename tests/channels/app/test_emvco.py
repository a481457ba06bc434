"""EMVCo MPM payloads: the specification's example and a Kenyan code read exactly; every
malformed, damaged or incomplete payload is refused with its reason, never a crash.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mkoba.channels.app import emvco, tlv
from mkoba.channels.app.emvco import Initiation, MerchantPayload, TipOrFee
from mkoba.channels.app.refusal import QrRefused, Refusal
from tests.channels.app.payloads import (
    KENYAN_SAMPLE,
    SPEC_EXAMPLE,
    crc,
    kenyan,
    obj,
    raw,
    with_crc,
)


def refused(text: str, refusal: Refusal, why: str) -> None:
    with pytest.raises(QrRefused, match=why) as caught:
        emvco.parse(text)
    assert caught.value.refusal is refusal


def test_the_crc_is_the_specifications() -> None:
    assert crc(SPEC_EXAMPLE[:-4]) == "A13A"
    assert tlv.crc16(SPEC_EXAMPLE[:-4]) == "A13A"
    assert tlv.crc16(KENYAN_SAMPLE[:-4]) == "536A"


def test_the_specifications_example_reads_field_by_field() -> None:
    payload = emvco.parse(SPEC_EXAMPLE)
    assert payload.initiation is Initiation.DYNAMIC
    assert [account.id for account in payload.merchant_accounts] == ["29", "31"]
    assert payload.account("D15600000001") == payload.merchant_accounts[1]
    assert (payload.merchant_category_code, payload.currency, payload.country) == (
        "4111",
        "156",
        "CN",
    )
    assert (payload.merchant_name, payload.merchant_city) == ("BEST TRANSPORT", "BEIJING")
    assert payload.amount_minor == 2372
    assert payload.tip_or_fee is TipOrFee.PROMPT
    assert payload.additional("06") == "***"
    assert payload.additional("09") == "ME"
    # Lengths count characters: "最佳运输" is 4 long (12 bytes in UTF-8).
    assert [(o.id, o.value) for o in payload.language] == [
        ("00", "ZH"),
        ("01", "最佳运输"),
        ("02", "北京"),
    ]
    assert [template.id for template in payload.unreserved] == ["91"]


def test_our_writer_reproduces_the_specifications_example_exactly() -> None:
    assert tlv.encode_objects(tlv.parse_objects(SPEC_EXAMPLE)) == SPEC_EXAMPLE


def test_the_kenyan_sample_reads_and_writes_back_identically() -> None:
    payload = emvco.parse(KENYAN_SAMPLE)
    assert payload.amount_minor == 15_000
    assert (payload.currency, payload.country, payload.merchant_name) == (
        "404",
        "KE",
        "MAMA MBOGA",
    )
    assert payload.additional("05") == "INV001"
    account = payload.account("ke.example.mm")
    assert account is not None
    assert tlv.find(account.objects(), "01") == tlv.DataObject("01", "174379")
    assert emvco.encode(payload) == KENYAN_SAMPLE


@pytest.mark.parametrize(
    ("text", "scale", "minor"),
    [
        ("150.00", 2, 15_000),
        ("150", 2, 15_000),
        ("0.5", 2, 50),
        ("150.", 2, 15_000),
        ("150", 0, 150),
        ("9999999999.99", 2, 999_999_999_999),
    ],
)
def test_amounts_convert_exactly(text: str, scale: int, minor: int) -> None:
    assert emvco.amount_from_text(text, scale) == minor


def test_amounts_are_written_with_the_currencys_decimals() -> None:
    assert emvco.amount_to_text(15_000, 2) == "150.00"
    assert emvco.amount_to_text(5, 2) == "0.05"
    assert emvco.amount_to_text(150, 0) == "150"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("150.005", "2 decimal places"),
        ("1,500", "not an amount"),
        ("-5.00", "not an amount"),
        ("1e3", "not an amount"),
        ("١٥٠", "not an amount"),
        ("0.00", "more than zero"),
        ("12345678901.00", "not an amount"),
    ],
)
def test_what_is_not_an_amount_is_refused(text: str, why: str) -> None:
    with pytest.raises(QrRefused, match=why):
        emvco.amount_from_text(text, 2)


def test_an_amount_too_large_for_the_field_is_refused() -> None:
    with pytest.raises(QrRefused, match="too large"):
        emvco.amount_to_text(10**13, 2)


def test_a_changed_digit_is_refused_by_the_check_digits() -> None:
    tampered = KENYAN_SAMPLE.replace("150.00", "950.00")
    refused(tampered, Refusal.CHECKSUM, "check digits do not match")


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (KENYAN_SAMPLE[:-8], "does not end with its check digits"),
        ("", "empty"),
        (raw(("01", "12"), ("00", "01"), ("52", "5411")), "does not start with field 00"),
        (with_crc(KENYAN_SAMPLE[:6] + "6304ABCD" + KENYAN_SAMPLE[6:]), "63 .* must be last"),
        (with_crc(KENYAN_SAMPLE.replace("5910MAMA", "5999MAMA")), "length 99 is wrong"),
        (with_crc(KENYAN_SAMPLE.replace("0506INV001", "0500INV001")), "length 00 is wrong"),
        (with_crc(KENYAN_SAMPLE.replace("5204", "52x4")), "no ID and length"),
        (kenyan(f62="05XXINV001"), "template 62: no ID and length"),
        (kenyan(f59="MAMA\nMBOGA"), "control or invisible character"),
        (kenyan(f59="MAMA\x00MBOGA"), "control or invisible character"),
        (kenyan(f59="MAMA\u200bMBOGA"), "control or invisible character"),
        (kenyan(f59="MAMA MBOGA É"), "other than plain ASCII"),
        (kenyan(f62=obj("05", "INV\x7f"))[:-4] + "0000", "control or invisible character"),
        (kenyan() + "0000", "does not end"),
        ("0" * 600, "more than 512"),
    ],
)
def test_malformed_payloads_are_refused(text: str, why: str) -> None:
    refused(text, Refusal.MALFORMED, why)


def test_ids_outside_the_specifications_ranges_are_refused() -> None:
    reserved = raw(*[("00", "01"), ("70", "X")], ("52", "5411"))
    refused(reserved, Refusal.MALFORMED, "field 70 is reserved by EMVCo")
    twice = with_crc(KENYAN_SAMPLE.replace("5802KE", "5802KE5802KE"))
    refused(twice, Refusal.MALFORMED, "field 58 appears twice")
    refused(kenyan(f62=obj("10", "X")), Refusal.INVALID, "template 62 has no field 10")


@pytest.mark.parametrize(
    ("field", "why"),
    [
        ("29", "no merchant account"),
        ("52", "no merchant category code"),
        ("53", "no currency"),
        ("58", "no country"),
        ("59", "no merchant name"),
        ("60", "no merchant city"),
        ("54", "dynamic code .* must carry its amount"),
    ],
)
def test_a_missing_mandatory_field_is_named(field: str, why: str) -> None:
    refused(kenyan(**{f"f{field}": None}), Refusal.MISSING, why)


def test_a_merchant_template_without_its_identifier_is_refused() -> None:
    refused(kenyan(f29="0106174379"), Refusal.MISSING, "template 29 has no identifier")


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"f01": "11"}, "static code .* carries no amount"),
        ({"f01": "13"}, "field 01 cannot be '13'"),
        ({"f52": "541"}, "four digits"),
        ({"f53": "KES"}, "three digits"),
        ({"f58": "ke"}, "two capital letters"),
        ({"f59": "M" * 26}, "26 characters; at most 25"),
        ({"f60": "N" * 16}, "16 characters; at most 15"),
        ({"f54": "150.001"}, "2 decimal places"),
    ],
)
def test_values_in_the_wrong_format_are_refused(changes: dict[str, str], why: str) -> None:
    refused(kenyan(**changes), Refusal.INVALID, why)


def test_a_currency_we_do_not_know_is_refused_as_unsupported() -> None:
    refused(kenyan(f53="999"), Refusal.UNSUPPORTED, "currency 999")


def test_a_payload_that_cannot_be_encoded_is_refused_when_built() -> None:
    account = tlv.DataObject("26", (tlv.DataObject("00", "ke.mkoba"),))
    with pytest.raises(QrRefused, match="control or invisible character"):
        MerchantPayload((account,), "5411", "404", "KE", "MAMA\tMBOGA", "NAIROBI")
    with pytest.raises(QrRefused, match="static code"):
        MerchantPayload((account,), "5411", "404", "KE", "MAMA", "NAIROBI", Initiation.STATIC, 100)


# Properties ---------------------------------------------------------------------------

_ASCII_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1)


@st.composite
def payloads(draw: st.DrawFn) -> MerchantPayload:
    currency = draw(st.sampled_from(sorted(emvco.CURRENCY_SCALES)))
    initiation = draw(st.sampled_from([None, Initiation.STATIC, Initiation.DYNAMIC]))
    amount_max = 10 ** (12 - emvco.CURRENCY_SCALES[currency]) - 1
    amount = st.integers(1, amount_max)
    if initiation is Initiation.DYNAMIC:
        amount_minor: int | None = draw(amount)
    elif initiation is Initiation.STATIC:
        amount_minor = None
    else:
        amount_minor = draw(st.none() | amount)
    guid = draw(_ASCII_TEXT.filter(lambda text: len(text) <= 32))
    subs = draw(st.dictionaries(st.sampled_from(["01", "02", "05", "99"]), _ASCII_TEXT, max_size=3))
    template = (
        tlv.DataObject("00", guid),
        *(tlv.DataObject(sub_id, value[:15]) for sub_id, value in sorted(subs.items())),
    )
    account_id = draw(st.sampled_from(["26", "27", "40", "51"]))
    accounts = (tlv.DataObject(account_id, template),)
    if draw(st.booleans()):
        accounts = (tlv.DataObject("02", draw(_ASCII_TEXT)[:20]), *accounts)
    reference = draw(st.none() | _ASCII_TEXT.map(lambda text: text[:25]))
    name = draw(st.text(min_size=1, max_size=25).filter(str.isprintable))
    return MerchantPayload(
        merchant_accounts=accounts,
        merchant_category_code=draw(st.from_regex(r"[0-9]{4}", fullmatch=True)),
        currency=currency,
        country=draw(st.from_regex(r"[A-Z]{2}", fullmatch=True)),
        merchant_name=draw(_ASCII_TEXT.map(lambda text: text[:25])),
        merchant_city=draw(_ASCII_TEXT.map(lambda text: text[:15])),
        initiation=initiation,
        amount_minor=amount_minor,
        additional_data=() if reference is None else (tlv.DataObject("05", reference),),
        language=(tlv.DataObject("00", "SW"), tlv.DataObject("01", name))
        if draw(st.booleans())
        else (),
    )


@given(payloads())
def test_any_valid_payload_encodes_and_parses_back_equal(payload: MerchantPayload) -> None:
    text = emvco.encode(payload)
    assert emvco.parse(text) == payload
    assert emvco.encode(emvco.parse(text)) == text


@given(st.text(max_size=600))
def test_any_text_is_a_payload_or_refused_with_a_reason(text: str) -> None:
    try:
        emvco.parse(text)
    except QrRefused as error:
        assert str(error)


@given(
    st.integers(0, len(KENYAN_SAMPLE) - 1), st.characters(min_codepoint=0x20, max_codepoint=0x7E)
)
def test_any_one_changed_character_is_refused(position: int, character: str) -> None:
    changed = KENYAN_SAMPLE[:position] + character + KENYAN_SAMPLE[position + 1 :]
    if changed == KENYAN_SAMPLE:
        return
    with pytest.raises(QrRefused):
        emvco.parse(changed)
