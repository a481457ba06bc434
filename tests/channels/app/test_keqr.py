"""mkoba's payment codes: what a payee builds, the payer's app reads back exactly; a code
that is damaged, not ours, incomplete or expired is refused with its reason.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mkoba.channels.app import emvco, keqr, tlv
from mkoba.channels.app.emvco import Initiation, MerchantPayload
from mkoba.channels.app.keqr import Payee, PayeeKind, PaymentCode
from mkoba.channels.app.refusal import QrRefused, Refusal
from tests.channels.app.payloads import KENYAN_SAMPLE, obj, raw, with_crc

TILL = Payee(PayeeKind.BUY_GOODS, "174379", "MAMA MBOGA", "NAIROBI", "5411")
PAYBILL = Payee(PayeeKind.PAYBILL, "888880", "KPLC PREPAID", "NAIROBI", "4900")
PERSON = Payee(PayeeKind.SEND_MONEY, "254712345678", "JANE WANJIKU", "NAKURU", "0000")
NOW = datetime(2026, 12, 6, 7, 30, tzinfo=UTC)
EXPIRY = NOW + timedelta(minutes=5)
TOKEN = "Zm9vYmFyYmF6cXV4MTIz"


def dynamic(payee: Payee = TILL, amount_minor: int = 15_000) -> str:
    return keqr.dynamic_code(payee, amount_minor, "INV001", EXPIRY, TOKEN)


def refused(text: str, refusal: Refusal, why: str, now: datetime = NOW) -> QrRefused:
    with pytest.raises(QrRefused, match=why) as caught:
        keqr.read_code(text, now)
    assert caught.value.refusal is refusal
    return caught.value


def test_a_dynamic_code_carries_everything_the_payer_sees() -> None:
    text = dynamic()
    assert text.startswith("00020101021226280008ke.mkoba01061743790202BG")
    assert "5406150.00" in text
    assert f"80540008ke.mkoba0114202612060735000220{TOKEN}" in text
    code = keqr.read_code(text, NOW)
    assert code == PaymentCode(TILL, 15_000, "INV001", EXPIRY, TOKEN)
    assert code.dynamic


def test_the_payload_is_plain_emvco_any_reader_can_check() -> None:
    payload = emvco.parse(dynamic(PERSON, 250))
    assert (payload.currency, payload.country, payload.amount_minor) == ("404", "KE", 250)
    assert payload.initiation is Initiation.DYNAMIC
    assert payload.additional("05") == "INV001"


def test_a_static_code_has_no_amount_expiry_or_token() -> None:
    text = keqr.static_code(PAYBILL, reference="ACC-7781")
    assert emvco.parse(text).amount_minor is None
    assert "80" not in [data_object.id for data_object in tlv.parse_objects(text)]
    code = keqr.read_code(text, NOW + timedelta(days=3650))
    assert code == PaymentCode(PAYBILL, None, "ACC-7781", None, None)
    assert not code.dynamic


def test_a_person_has_no_static_code() -> None:
    with pytest.raises(QrRefused, match="only tills and paybills"):
        keqr.static_code(PERSON)


def test_the_token_never_shows_in_a_repr_or_a_refusal() -> None:
    code = keqr.read_code(dynamic(), NOW)
    assert TOKEN not in repr(code)
    with pytest.raises(QrRefused) as caught:
        keqr.dynamic_code(TILL, 100, "INV001", EXPIRY, "short!token")
    assert "short!token" not in str(caught.value)
    assert "one-time token is 16 to 32" in str(caught.value)


def test_a_signature_is_carried_for_the_validation_server() -> None:
    text = keqr.dynamic_code(TILL, 100, "INV001", EXPIRY, TOKEN, signature="c2lnbmF0dXJl+/=")
    code = keqr.read_code(text, NOW)
    assert code.signature == "c2lnbmF0dXJl+/="
    assert "c2lnbmF0dXJl" not in repr(code)


def test_a_changed_amount_is_refused_by_the_check_digits() -> None:
    tampered = dynamic().replace("5406150.00", "5406950.00")
    refused(tampered, Refusal.CHECKSUM, "check digits do not match")


def test_the_check_digits_are_no_seal() -> None:
    # Anyone can recompute a CRC: such a code reads, with the altered amount. What stops
    # it is the one-time token (and, in a later step, the payee device's signature),
    # which the validation server checks against what the payee issued.
    forged = with_crc(dynamic().replace("5406150.00", "5406950.00"))
    code = keqr.read_code(forged, NOW)
    assert code.amount_minor == 95_000
    assert code.token == TOKEN


@pytest.mark.parametrize("now", [EXPIRY, EXPIRY + timedelta(seconds=1)])
def test_an_expired_code_is_refused(now: datetime) -> None:
    refused(dynamic(), Refusal.EXPIRED, "expired: ask the payee for a new one", now)
    assert keqr.read_code(dynamic(), EXPIRY - timedelta(seconds=1)).expires_at == EXPIRY


def test_someone_elses_code_is_not_ours() -> None:
    refused(KENYAN_SAMPLE, Refusal.UNSUPPORTED, "not an mkoba payment code")


def _ours(*private: tuple[str, str], initiation: str = "12", amount: str | None = "1.00") -> str:
    objects = [("00", "01"), ("01", initiation), ("26", "0008ke.mkoba01061743790202BG")]
    objects += [("52", "5411"), ("53", "404")]
    objects += [("54", amount)] if amount is not None else []
    objects += [("58", "KE"), ("59", "MAMA MBOGA"), ("60", "NAIROBI"), ("62", "0506INV001")]
    if private:
        objects.append(("80", "".join(obj(sub_id, value) for sub_id, value in private)))
    return raw(*objects)


GUID = ("00", "ke.mkoba")


def test_the_hand_written_code_reads_as_built() -> None:
    text = _ours(GUID, ("01", "20261206073500"), ("02", TOKEN))
    assert keqr.read_code(text, NOW) == PaymentCode(TILL, 100, "INV001", EXPIRY, TOKEN)


@pytest.mark.parametrize(
    ("text", "refusal", "why"),
    [
        (_ours(), Refusal.MISSING, "no expiry or token"),
        (_ours(("00", "ke.other"), ("01", "20261206073500")), Refusal.MISSING, "no expiry"),
        (_ours(GUID, ("02", TOKEN)), Refusal.MISSING, "no expiry"),
        (_ours(GUID, ("01", "20261206073500")), Refusal.MISSING, "no one-time token"),
        (_ours(GUID, ("01", "2026120607"), ("02", TOKEN)), Refusal.INVALID, "YYYYMMDDhhmmss"),
        (_ours(GUID, ("01", "20261306073500"), ("02", TOKEN)), Refusal.INVALID, "real date"),
        (_ours(GUID, ("01", "20261206073500"), ("02", "a b")), Refusal.INVALID, "token is 16"),
        (_ours(amount=None), Refusal.MISSING, "must carry its amount"),
        (
            _ours(GUID, ("01", "20261206073500"), ("02", TOKEN), initiation="11", amount=None),
            Refusal.INVALID,
            "static code carries no expiry or token",
        ),
    ],
)
def test_an_incomplete_code_says_what_is_wrong(text: str, refusal: Refusal, why: str) -> None:
    refused(text, refusal, why)


def test_a_code_in_another_currency_is_refused() -> None:
    account = tlv.DataObject("26", (tlv.DataObject("00", "ke.mkoba"),))
    dollars = MerchantPayload((account,), "5411", "840", "KE", "SHOP", "NAIROBI")
    refused(emvco.encode(dollars), Refusal.UNSUPPORTED, "Kenya shillings")


@pytest.mark.parametrize(
    ("account", "refusal", "why"),
    [
        ("0008ke.mkoba0106174379", Refusal.MISSING, "no kind of payee"),
        ("0008ke.mkoba01061743790202XX", Refusal.INVALID, "unknown kind of payee 'XX'"),
        ("0008ke.mkoba0202BG", Refusal.MISSING, "no number paid"),
        ("0008ke.mkoba0106+174370202BG", Refusal.INVALID, "number paid is 1 to 15 digits"),
    ],
)
def test_a_bad_merchant_account_is_refused(account: str, refusal: Refusal, why: str) -> None:
    text = _ours(GUID, ("01", "20261206073500"), ("02", TOKEN))
    text = with_crc(text.replace("26280008ke.mkoba01061743790202BG", obj("26", account)))
    refused(text, refusal, why)


@pytest.mark.parametrize(
    ("payee", "why"),
    [
        (Payee(PayeeKind.BUY_GOODS, "17437x", "SHOP", "NAIROBI", "5411"), "1 to 15 digits"),
        (Payee(PayeeKind.BUY_GOODS, "1" * 16, "SHOP", "NAIROBI", "5411"), "1 to 15 digits"),
        (Payee(PayeeKind.BUY_GOODS, "174379", "S" * 26, "NAIROBI", "5411"), "at most 25"),
        (Payee(PayeeKind.BUY_GOODS, "174379", "SHOP", "NAIROBI", "54111"), "four digits"),
    ],
)
def test_a_payee_the_code_cannot_carry_is_refused(payee: Payee, why: str) -> None:
    with pytest.raises(QrRefused, match=why):
        keqr.dynamic_code(payee, 100, "INV001", EXPIRY, TOKEN)


def test_a_reference_too_long_or_an_amount_of_nothing_is_refused() -> None:
    with pytest.raises(QrRefused, match="reference has at most 25"):
        keqr.dynamic_code(TILL, 100, "R" * 26, EXPIRY, TOKEN)
    with pytest.raises(QrRefused, match="more than zero"):
        keqr.dynamic_code(TILL, 0, "INV001", EXPIRY, TOKEN)


def test_the_example_in_the_docs_is_what_we_build() -> None:
    docs = (Path(__file__).parents[3] / "docs" / "app.md").read_text(encoding="utf-8")
    example = docs.split("```")[1].replace("\n", "")
    expiry = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)
    assert example == keqr.dynamic_code(TILL, 15_000, "INV001", expiry, "abcdefghijklmnop1234")


# Properties ---------------------------------------------------------------------------

_PRINTABLE = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1)
_TOKENS = st.from_regex(r"[A-Za-z0-9_-]{16,32}", fullmatch=True)


@st.composite
def payees(draw: st.DrawFn) -> Payee:
    return Payee(
        kind=draw(st.sampled_from(PayeeKind)),
        number=draw(st.from_regex(r"[0-9]{1,15}", fullmatch=True)),
        name=draw(_PRINTABLE.map(lambda text: text[:25])),
        city=draw(_PRINTABLE.map(lambda text: text[:15])),
        category_code=draw(st.from_regex(r"[0-9]{4}", fullmatch=True)),
    )


@given(
    payees(),
    st.integers(1, 10**10 - 1),
    _PRINTABLE.map(lambda text: text[:25]),
    st.integers(1, 86_400 * 365),
    _TOKENS,
)
def test_any_dynamic_code_reads_back_equal(
    payee: Payee, amount_minor: int, reference: str, lifetime_s: int, token: str
) -> None:
    expires_at = NOW + timedelta(seconds=lifetime_s)
    text = keqr.dynamic_code(payee, amount_minor, reference, expires_at, token)
    code = keqr.read_code(text, NOW)
    assert code == PaymentCode(payee, amount_minor, reference, expires_at, token)
    refused(text, Refusal.EXPIRED, "expired", expires_at)


@given(payees().filter(lambda payee: payee.kind is not PayeeKind.SEND_MONEY))
def test_any_static_code_reads_back_equal(payee: Payee) -> None:
    assert keqr.read_code(keqr.static_code(payee), NOW) == PaymentCode(
        payee, None, None, None, None
    )
