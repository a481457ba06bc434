"""Products: one module per use case, each a small class with ``name`` and ``run``."""

from __future__ import annotations

from mkoba.processor.processor import Product
from mkoba.products.agent_queries import CommissionStatement, SetLanguage
from mkoba.products.app_code import AppCode
from mkoba.products.balance import Balance
from mkoba.products.business import business_products
from mkoba.products.buy_airtime import BuyAirtime
from mkoba.products.buy_goods import BuyGoods
from mkoba.products.change_pin import ChangePin
from mkoba.products.deposit import Deposit
from mkoba.products.email_statements import EmailCode, FullStatement, RegisterEmail
from mkoba.products.emoney import IssueEmoney, RedeemEmoney
from mkoba.products.float_transfer import FloatTransfer
from mkoba.products.gifts import BuyGift
from mkoba.products.kit import Kit
from mkoba.products.name_lookup import NameLookup
from mkoba.products.onboarding import OnboardBusiness
from mkoba.products.pay_bill import PayBill
from mkoba.products.pay_request import PayRequest
from mkoba.products.pin_admin import OperatorUnlock, PinUnlockSelf, ResetPin, UnlockPin
from mkoba.products.redeem_gift import CashGift, RedeemGift
from mkoba.products.redeem_voucher import RedeemVoucher
from mkoba.products.register import Register
from mkoba.products.register_customer import RegisterCustomer
from mkoba.products.requests import DeclineRequest, MyRequests, RequestMoney
from mkoba.products.reversals import DecideReversal, RequestReversal
from mkoba.products.send_money import SendMoney
from mkoba.products.split_bill import BillStatus, SplitBill
from mkoba.products.statement import MiniStatement
from mkoba.products.tickets import AssignTicket, NoteTicket, OpenTicket, ResolveTicket
from mkoba.products.vouchers import SendUnregistered
from mkoba.products.wallet_admin import FreezeWallet, SetKycTier, UnfreezeWallet
from mkoba.products.withdraw import Withdraw


def all_products(kit: Kit | None = None) -> dict[str, Product]:
    """Every product, by name, with the kit some of them use (a fresh one by default)."""
    kit = Kit() if kit is None else kit
    products: list[Product] = [
        Register(),
        RegisterCustomer(),
        SendMoney(kit),
        Deposit(),
        Withdraw(),
        Balance(),
        MiniStatement(),
        ChangePin(),
        NameLookup(),
        PayBill(),
        BuyGoods(),
        BuyAirtime(kit),
        SendUnregistered(kit),
        RedeemVoucher(kit),
        RequestReversal(),
        DecideReversal(approve=True),
        DecideReversal(approve=False),
        FloatTransfer(),
        UnlockPin(),
        OperatorUnlock(),
        ResetPin(),
        PinUnlockSelf(),
        CommissionStatement(),
        SetLanguage(),
        EmailCode(kit),
        AppCode(),
        RegisterEmail(kit),
        FullStatement(),
        IssueEmoney(),
        RedeemEmoney(),
        FreezeWallet(),
        UnfreezeWallet(),
        SetKycTier(),
        OpenTicket(),
        NoteTicket(),
        AssignTicket(),
        ResolveTicket(),
        OnboardBusiness(),
        RequestMoney(),
        PayRequest(),
        DeclineRequest(),
        SplitBill(),
        BillStatus(),
        MyRequests(),
        BuyGift(kit),
        RedeemGift(kit),
        CashGift(kit),
        *business_products(),
    ]
    return {product.name: product for product in products}
