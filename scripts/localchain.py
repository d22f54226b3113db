"""The local development chain: Ganache run with the settings of ganache.json.

ganache.json mirrors Ganache's own option names ({"chain": {"chainId": 1337}} is
`--chain.chainId 1337`), so every Ganache option can be set there without code changes.
"""

import json
from pathlib import Path

# The library reads the same file for its defaults; these names are also this module's interface.
from app.carechain.settings import LOCAL_CHAIN_CONFIG, ROOT, chain_id, rpc_url  # noqa: F401

GANACHE_BIN = ROOT / "node_modules" / ".bin" / "ganache"
# The test chains run beside a running product chain: brownie's on the next port, the one of the
# end-to-end tests on the port after.
TEST_PORT_OFFSET = 1
E2E_PORT_OFFSET = 2


def load_settings(path: Path = LOCAL_CHAIN_CONFIG) -> dict:
    """Returns ganache.json with the database path made absolute (it is relative to the repo)."""
    settings = json.loads(path.read_text())
    database = settings.get("database", {})
    if "dbPath" in database:
        database["dbPath"] = str((ROOT / database["dbPath"]).resolve())
    return settings


def cli_args(settings: dict) -> list[str]:
    """Turns nested settings into Ganache command-line flags."""
    args = []
    for namespace, options in settings.items():
        for name, value in options.items():
            if isinstance(value, bool):
                value = "true" if value else "false"
            args += [f"--{namespace}.{name}", str(value)]
    return args


def e2e_settings(settings: dict, database: str) -> dict:
    """The settings of the end-to-end tests' chain: the product's, on its own port and database."""
    port = int(settings.get("server", {}).get("port", 8545)) + E2E_PORT_OFFSET
    return {**settings, "server": {**settings.get("server", {}), "port": port}, "database": {"dbPath": str(database)}}


def dev_account(index: int):
    """Ganache's deterministic account number `index` (an eth_account LocalAccount), derived from
    the mnemonic in ganache.json: for tests and demos only, never for real data."""
    from eth_account import Account

    Account.enable_unaudited_hdwallet_features()
    mnemonic = load_settings()["wallet"]["mnemonic"]
    return Account.from_mnemonic(mnemonic, account_path=f"m/44'/60'/0'/0/{index}")


def public_key(account) -> bytes:
    """The 64-byte uncompressed public key of a LocalAccount."""
    return account._key_obj.public_key.to_bytes()
