"""The chain and IPFS connection, opened once per request that needs it and closed on teardown
(as flaskr's db.py does for its database), plus the keystores and the provider directory."""

from eth_account import Account
from eth_account.signers.local import LocalAccount
from flask import Flask, current_app, g

from app.carechain.directory import ProviderDirectory
from app.carechain.flows import CareChain
from app.carechain.keystore import Keystore


def get_carechain() -> CareChain:
    """Connects and checks the deployment (chain id and contract code) on first use in a
    request; a stopped chain raises ServiceUnavailable, which errors.py turns into a page."""
    if "carechain" not in g:
        g.carechain = CareChain.connect(current_app.config["CARECHAIN"])
    return g.carechain


def close_carechain(_error=None) -> None:
    carechain = g.pop("carechain", None)
    if carechain is not None:
        carechain.close()


def keystore() -> Keystore:
    return Keystore(current_app.config["CARECHAIN"].keystores)


def directory() -> ProviderDirectory:
    if "directory" not in g:
        g.directory = ProviderDirectory(current_app.config["CARECHAIN"].directory)
    return g.directory


def faucet() -> LocalAccount | None:
    key = current_app.config["FAUCET_KEY"]
    return Account.from_key(key) if key else None


def fund(address: str) -> None:
    """Gives a new account ether for gas, where gas costs ether."""
    account = faucet()
    if account is not None:
        get_carechain().fund(account, address)


def mined() -> str:
    """The outcome of this request's transactions, for the message after a change."""
    receipts = g.carechain.chain.receipts if "carechain" in g else []
    if not receipts:
        return ""
    blocks = sorted({receipt["blockNumber"] for receipt in receipts})
    where = f"block {blocks[0]}" if len(blocks) == 1 else f"blocks {blocks[0]}–{blocks[-1]}"
    count = "1 transaction" if len(receipts) == 1 else f"{len(receipts)} transactions"
    return f"{count} mined in {where}."


def init_app(app: Flask) -> None:
    app.teardown_appcontext(close_carechain)
