"""The chain and IPFS connection, opened once per request that needs it and closed on teardown
(as flaskr's db.py does for its database), plus the keystores, the provider directory and the
faucet."""

import threading
import time
import weakref
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount
from flask import Flask, current_app, g

from app.carechain import jsonfile
from app.carechain.directory import ProviderDirectory
from app.carechain.flows import CareChain
from app.carechain.keystore import Keystore
from app.carechain.logins import LoginNames


def get_carechain() -> CareChain:
    """Connects and checks the deployment (chain id and contract code) on first use in a
    request; a stopped chain raises ServiceUnavailable, which errors.py turns into a page. The
    handle catches the event index up and reads the chain's clock once a request
    (`once_per_request`): the menu's counts, the banners and the page itself share them."""
    if "carechain" not in g:
        g.carechain = CareChain.connect(current_app.config["CARECHAIN"])
        g.carechain.once_per_request = True
    return g.carechain


def close_carechain(_error=None) -> None:
    carechain = g.pop("carechain", None)
    if carechain is not None:
        carechain.close()


def keystore() -> Keystore:
    return Keystore(current_app.config["CARECHAIN"].keystores)


def login_names() -> LoginNames:
    return LoginNames(current_app.config["CARECHAIN"].data / "logins.json")


def directory() -> ProviderDirectory:
    if "directory" not in g:
        g.directory = ProviderDirectory(current_app.config["CARECHAIN"].directory)
    return g.directory


def faucet() -> LocalAccount | None:
    key = current_app.config["FAUCET_KEY"]
    return Account.from_key(key) if key else None


def fund(address: str) -> None:
    """Gives a new account ether for gas, where gas costs ether: once per account, ever."""
    account = faucet()
    if account is None:
        return
    ledger = FaucetLedger(current_app.config["CARECHAIN"].keystores.parent / "faucet.json")
    with account_lock(address):
        if address not in ledger:
            get_carechain().fund(account, address)
            ledger.add(address)


_account_locks = weakref.WeakValueDictionary()
_account_locks_guard = threading.Lock()


def account_lock(address: str) -> threading.RLock:
    """One lock per account in this process, for steps that must not run twice at once for it
    (funding, registering); kept only while someone holds it."""
    with _account_locks_guard:
        lock = _account_locks.get(address)
        if lock is None:
            lock = _account_locks[address] = threading.RLock()
        return lock


class FaucetLedger:
    """The accounts the faucet has funded (address -> unix time), in a JSON file beside the
    keystores, so that no account is funded twice, even across restarts."""

    _lock = threading.Lock()  # one reader or writer at a time in this process

    def __init__(self, path: Path):
        self.path = path

    def __contains__(self, address: str) -> bool:
        with self._lock:
            return address in jsonfile.read(self.path)

    def add(self, address: str) -> None:
        with self._lock:
            funded = jsonfile.read(self.path)
            funded[address] = int(time.time())
            jsonfile.write(self.path, funded)


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
