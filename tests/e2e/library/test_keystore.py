"""Encrypted keystores: create, import a key or a keystore file, unlock; wrong passwords and bad
input are refused; no private key is written in the clear."""

import json
import stat

import pytest
from eth_account import Account

from app.carechain.errors import InvalidInput, UnknownAccount, WrongPassword
from app.carechain.keystore import Keystore


def test_create_and_unlock(tmp_path):
    keystore = Keystore(tmp_path)
    account = keystore.create("correct horse")
    path = tmp_path / f"{account.address}.json"
    assert keystore.addresses() == [account.address] and account.address in keystore
    assert account.key.hex() not in path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert keystore.unlock(account.address.lower(), "correct horse").key == account.key


def test_wrong_password_and_unknown_account(tmp_path):
    keystore = Keystore(tmp_path)
    account = keystore.create("correct horse")
    with pytest.raises(WrongPassword):
        keystore.unlock(account.address, "wrong horse")
    with pytest.raises(UnknownAccount):
        keystore.unlock(Account.create().address, "correct horse")
    with pytest.raises(InvalidInput, match="not an Ethereum address"):
        keystore.unlock("0x123", "correct horse")


def test_import_key_and_keystore(tmp_path):
    keystore = Keystore(tmp_path / "a")
    original = Account.create()
    assert keystore.import_key(original.key.hex(), "long enough").address == original.address
    with pytest.raises(InvalidInput, match="already exists"):
        keystore.import_key(original.key.hex(), "long enough")
    with pytest.raises(InvalidInput, match="not a private key"):
        keystore.import_key("0xnothex", "long enough")

    other = Keystore(tmp_path / "b")
    exported = json.dumps(Account.encrypt(original.key, "export pass"))
    with pytest.raises(WrongPassword):
        other.import_keystore(exported, "not the pass")
    assert other.addresses() == []
    assert other.import_keystore(exported, "export pass").address == original.address
    with pytest.raises(InvalidInput, match="not an Ethereum keystore"):
        other.import_keystore("{}", "export pass")


def test_short_password_is_refused(tmp_path):
    with pytest.raises(InvalidInput, match="at least 8"):
        Keystore(tmp_path).create("short")
    assert Keystore(tmp_path).addresses() == []
