"""An STK prompt's record: what was pushed, its stored row and outcome, and its answer.

``prompts.Prompts`` runs the prompts (timers, answers, restarts); this is the
record each of them is, as stored in ``daraja_prompts`` and as the handset and
the query see it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from mkoba.channels.daraja.codes import Result, described
from mkoba.channels.daraja.schema import PROMPT_COLUMNS
from mkoba.codes import Code
from mkoba.ledger import Write, WriteMode
from mkoba.money import format_amount
from mkoba.processor.plan import Row

if TYPE_CHECKING:
    from mkoba.channels.daraja.state import Daraja

# A prompt longer than this cannot be pushed to a handset (ResultCode 1025).
prompt_length_max = 182
SUCCESS = described("0")
# What a prompt's outcome sets, by its checkout id.
OUTCOME_COLUMNS = ("checkout_id", "state", "result_code", "result_desc", "receipt", "updated")


@dataclass(slots=True)
class Prompt:
    """One STK push and what became of it."""

    checkout_id: str
    merchant_request_id: str
    app_id: int
    shortcode: str
    party_b: str
    kind: str
    msisdn: str
    amount: int
    account: str
    description: str
    callback_url: str
    business: str
    created: int
    expires: int
    state: str = "pending"
    result: Result | None = None
    receipt: str = ""
    # The front that owns it while it is open ("" in one process).
    owner: str = ""

    @property
    def request_id(self) -> str:
        """The TranProc request an approval becomes."""
        return f"stk:{self.app_id}:{self.checkout_id}"

    @property
    def open(self) -> bool:
        """Whether the prompt still waits for (or is acting on) an answer."""
        return self.state in ("pending", "answering")

    def row(self, now: int) -> Write:
        """The prompt as first stored."""
        values = (
            self.checkout_id,
            self.merchant_request_id,
            self.app_id,
            self.shortcode,
            self.party_b,
            self.kind,
            self.msisdn,
            self.amount,
            self.account,
            self.description,
            self.callback_url,
            self.state,
            "",
            "",
            "",
            self.created,
            self.expires,
            now,
            self.owner,
        )
        return Write("daraja_prompts", (*PROMPT_COLUMNS, "owner"), values)

    def owned(self, now: int) -> Write:
        """The prompt's new owner (a front took it over from one that is gone)."""
        return Write(
            "daraja_prompts",
            ("checkout_id", "owner", "updated"),
            (self.checkout_id, self.owner, now),
            ("checkout_id",),
            WriteMode.UPDATE,
        )

    def update(self, now: int) -> Write:
        """The prompt's outcome."""
        result = self.result or described("1019")
        return Write(
            "daraja_prompts",
            OUTCOME_COLUMNS,
            (self.checkout_id, self.state, result.code, result.description, self.receipt, now),
            ("checkout_id",),
            WriteMode.UPDATE,
        )


def completed_row(checkout_id: str) -> Row:
    """A prompt's outcome when its payment commits: the receipt and time come with it."""
    return Row(
        "daraja_prompts",
        OUTCOME_COLUMNS,
        (checkout_id, "completed", SUCCESS.code, SUCCESS.description, "", 0),
        ("checkout_id",),
        WriteMode.UPDATE,
        receipt="receipt",
        time="updated",
    )


class Answer(NamedTuple):
    """What the handset is told after answering a prompt."""

    ok: bool
    code: str
    message: str
    receipt: str | None
    result: Result


# A PIN that is not 4 to 6 digits: M-Pesa's handset would not send it; the customer is told.
BAD_PIN = Answer(
    False, str(Code.INVALID_INPUT), "Enter your 4-digit M-PESA PIN.", None, described("2001")
)


def business_name(daraja: Daraja, shortcode: str) -> str:
    """The name of the business behind a shortcode, as the handset shows it."""
    code = daraja.registry.shortcodes.get(shortcode)
    party = None if code is None else daraja.directory.get(code.party_id)
    return party.name if party is not None else shortcode


def prompt_text(prompt: Prompt, currency: Any) -> str:
    """What the handset shows."""
    money = format_amount(prompt.amount, currency)
    text = f"Do you want to pay {money} to {prompt.business.upper()}"
    if prompt.kind == "paybill" and prompt.account:
        text += f" account no. {prompt.account}"
    return text + "? Enter M-PESA PIN:"


def closed_answer(prompt: Prompt | None) -> Answer:
    if prompt is None:
        return Answer(False, "unknown_prompt", "There is no such request.", None, described("1019"))
    result = prompt.result or described("1019")
    return Answer(
        False, "closed", "This request was already answered or has expired.", None, result
    )


def prompt_of(row: tuple[Any, ...]) -> Prompt:
    """A prompt as its row holds it (its business name is filled in by the caller)."""
    values = dict(zip(PROMPT_COLUMNS, row, strict=True))
    code = str(values["result_code"])
    prompt = Prompt(
        checkout_id=str(values["checkout_id"]),
        merchant_request_id=str(values["merchant_request_id"]),
        app_id=int(values["app_id"]),
        shortcode=str(values["shortcode"]),
        party_b=str(values["party_b"]),
        kind=str(values["kind"]),
        msisdn=str(values["msisdn"]),
        amount=int(values["amount"]),
        account=str(values["account"]),
        description=str(values["description"]),
        callback_url=str(values["callback_url"]),
        business="",
        created=int(values["created"]),
        expires=int(values["expires"]),
        state=str(values["state"]),
        result=Result(code, str(values["result_desc"])) if code else None,
        receipt=str(values["receipt"]),
    )
    return prompt


def answer_json(answer: Answer, request_id: str) -> dict[str, Any]:
    """An answer in the native API's envelope, with Daraja's result code in ``data``."""
    return {
        "ok": answer.ok,
        "code": answer.code,
        "message": answer.message,
        "receipt": answer.receipt,
        "request_id": request_id,
        "data": {"ResultCode": answer.result.code, "ResultDesc": answer.result.description},
    }
