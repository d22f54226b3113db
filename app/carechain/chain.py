"""The CareChain contract through web3.py: calls, transactions signed with the user's own key,
event queries from the deployment block, and refusals explained in words.

The deployment manifest (written by scripts/deploy.py) names the chain id, the address, the ABI
and the hash of the runtime code; `Chain` refuses a chain on which these do not hold.
"""

import functools
import json
import logging
import time
from pathlib import Path

import requests
from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_account.signers.local import LocalAccount
from eth_utils import function_signature_to_4byte_selector, keccak
from web3 import Web3
from web3.exceptions import ContractCustomError, ContractLogicError, TimeExhausted, Web3RPCError

from app.carechain.errors import ServiceUnavailable, TransactionFailed
from app.carechain.locks import named_lock

log = logging.getLogger(__name__)
RECEIPT_TIMEOUT = 120  # seconds
NONCE_RETRIES = 4
# What a node says when another process used the nonce first (Ganache, geth, Besu wordings).
NONCE_CLASHES = ("nonce", "underpriced", "already known", "known transaction")

# What each custom error means to the person who caused it.
EXPLANATIONS = {
    "RegistryAlreadyRegistered": "this account is already registered",
    "RegistryInvalidPublicKey": "the public key does not belong to this account",
    "RegistryNotAPatient": "{0} is not a registered patient",
    "RegistryNotAHospital": "{0} is not a registered hospital",
    "RegistryNotAProvider": "{0} is not a registered doctor or hospital",
    "RegistryProviderSuspended": "{0} is suspended",
    "RegistryProviderNotSuspended": "{0} is not suspended",
    "RegistryRenounceDisabled": "the administrator role cannot be given up",
    "OwnableUnauthorizedAccount": "only the consortium administrator can do this",
    "AccessGrantsEmptyScope": "choose at least one category",
    "AccessGrantsExpiryNotInFuture": "the end of access must be in the future",
    "AccessGrantsExpiryTooFar": "access can be granted for at most ten years",
    "AccessGrantsGrantExists": "this provider already has access: renew, narrow or revoke that grant instead",
    "AccessGrantsNoGrant": "there is no grant for this provider",
    "AccessGrantsGrantExpired": "this grant has expired",
    "AccessGrantsNotLater": "the new end of access must be later than the current one",
    "AccessGrantsNotNarrower": "a grant can only be narrowed: fewer categories, no write right, or an earlier end",
    "RecordIndexEmptyDigest": "the record has no content address",
    "RecordIndexInvalidCategory": "category {0} does not exist",
    "RecordIndexDuplicateRecord": "this record is already stored",
    "RecordIndexUnknownRecord": "there is no such record",
    "RecordIndexUnauthorizedAuthor": "you have no right to add records of this kind for this patient",
    "RecordIndexAlreadySuperseded": "this record has already been replaced by a newer version",
    "RecordIndexNotRecordAuthor": "only the patient or the record's author can replace it",
    "RecordIndexUnauthorizedReader": "only the patient or a provider whose grant covers this record can log reading it",
}


class Chain:
    def __init__(self, rpc_url: str, manifest_path: Path, timeout: float = 30):
        try:
            manifest = json.loads(Path(manifest_path).read_text())
        except FileNotFoundError:
            raise ServiceUnavailable(f"no deployment manifest at {manifest_path}: deploy the contracts first") from None
        deployment = manifest["contracts"]["CareChain"]
        self.rpc_url = rpc_url
        self.chain_id = int(manifest["chainId"])
        self.deploy_block = int(deployment["deployBlock"])
        self.code_hash = bytes.fromhex(deployment["runtimeCodeHash"].removeprefix("0x"))
        self.w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": timeout}))
        self.contract = self.w3.eth.contract(address=deployment["address"], abi=deployment["abi"])
        self.receipts: list = []  # of the transactions this instance sent, for showing their outcome
        self._errors = {
            function_signature_to_4byte_selector(f"{item['name']}({','.join(i['type'] for i in item['inputs'])})"): (
                item["name"],
                [i["type"] for i in item["inputs"]],
            )
            for item in deployment["abi"]
            if item["type"] == "error"
        }

    @property
    def address(self) -> str:
        return self.contract.address

    @functools.cached_property
    def admin(self) -> str:
        """The consortium administrator: the contract's owner now (the role can be handed on),
        not the deployer the manifest names."""
        return self.call("owner")

    def check_deployment(self) -> None:
        """Refuses a chain with another id, or without the manifest's contract code."""
        chain_id = self._rpc(lambda: self.w3.eth.chain_id)
        if chain_id != self.chain_id:
            raise ServiceUnavailable(f"the chain at {self.rpc_url} has id {chain_id}, the deployment is for {self.chain_id}")
        code = self._rpc(lambda: self.w3.eth.get_code(self.address))
        if keccak(code) != self.code_hash:
            raise ServiceUnavailable(f"the contract of the deployment manifest is not on the chain at {self.rpc_url}")

    def call(self, function: str, *args):
        return self._rpc(lambda: getattr(self.contract.functions, function)(*args).call())

    def call_many(self, calls: list[tuple[str, tuple]]) -> list:
        """Several (function, arguments) calls in one batch request; their results in order."""
        if not calls:
            return []

        def fetch():
            with self.w3.batch_requests() as batch:
                for function, args in calls:
                    batch.add(getattr(self.contract.functions, function)(*args))
                return batch.execute()

        return self._rpc(fetch)

    def transact(self, account: LocalAccount, function: str, *args) -> dict:
        """Signs with `account`, sends, and waits until mined. A refusal raises TransactionFailed
        with its reason before anything is sent; nothing half-happens. One account's transactions
        are sent one at a time (see `_serialized`), so two tabs or a double click never race for a
        nonce."""
        call = getattr(self.contract.functions, function)(*args)

        def build(nonce: int) -> dict:
            try:
                return call.build_transaction({"from": account.address, "chainId": self.chain_id, "nonce": nonce})
            except ContractCustomError as error:
                raise TransactionFailed(*self.explain(error.data)) from None
            except ContractLogicError as error:
                # Ganache reports a custom error met while estimating gas as revert data in `result`.
                data = error.data.get("result") if isinstance(error.data, dict) else None
                if data and len(data) > 2:
                    raise TransactionFailed(*self.explain(data)) from None
                log.warning("%s refused while estimating gas: %s", function, error)
                raise TransactionFailed("the chain refused the transaction: it would fail") from None

        receipt = self._serialized(account, build)
        if receipt["status"] != 1:
            raise TransactionFailed(f"transaction {receipt['transactionHash'].hex()} was reverted")
        self.receipts.append(receipt)
        return receipt

    def _serialized(self, account: LocalAccount, build) -> dict:
        """Builds (with the account's next nonce), signs, sends and waits for one transaction of
        `account` while holding that account's lock. The nonce is read from the chain's pending
        count each time, so nothing needs to survive a restart and a transaction the chain dropped
        is simply replaced; a nonce taken meanwhile by another process is retried."""
        with named_lock("transactions", self.chain_id, account.address):
            for attempt in range(NONCE_RETRIES):
                nonce = self._rpc(lambda: self.w3.eth.get_transaction_count(account.address, "pending"))
                signed = account.sign_transaction(self._rpc(lambda: build(nonce)))
                try:
                    tx_hash = self._rpc(lambda: self.w3.eth.send_raw_transaction(signed.raw_transaction))
                except Web3RPCError as error:
                    problem = str(error).lower()
                    if "insufficient funds" in problem:
                        raise TransactionFailed("this account has too little ether to pay for the transaction") from None
                    if any(word in problem for word in NONCE_CLASHES) and attempt + 1 < NONCE_RETRIES:
                        time.sleep(0.05 * (attempt + 1))
                        continue
                    log.warning("the chain refused a transaction of %s: %s", account.address, error)
                    raise TransactionFailed("the chain did not accept the transaction; nothing was changed, "
                                            "try again in a moment") from None
                try:
                    return self._rpc(lambda: self.w3.eth.wait_for_transaction_receipt(
                        tx_hash, timeout=RECEIPT_TIMEOUT, poll_latency=0.02))
                except TimeExhausted:
                    raise TransactionFailed(
                        f"transaction {tx_hash.hex()} was sent but not mined within {RECEIPT_TIMEOUT // 60} minutes: "
                        "check the page again before repeating the change") from None

    def events(self, event: str, from_block: int | None = None, to_block: int | None = None, **indexed) -> list:
        """Every `event` from `from_block` (default: the deployment) to `to_block` (default: the
        latest) whose indexed arguments equal `indexed` (a list matches any of its values), oldest
        first."""
        return self._rpc(
            lambda: list(
                getattr(self.contract.events, event).get_logs(
                    from_block=max(from_block or 0, self.deploy_block), to_block=to_block,
                    argument_filters=indexed or None,
                )
            )
        )

    def raw_events(self, event: str, from_block: int | None = None, to_block: int | None = None, **indexed) -> list:
        """Like `events`, undecoded: each log's topics hold its indexed arguments (addresses here),
        which is all some pages need, at a fraction of the decoding cost."""
        abi = next(item for item in self.contract.abi if item["type"] == "event" and item["name"] == event)
        signature = keccak(text=f"{event}({','.join(i['type'] for i in abi['inputs'])})")
        topics = [signature] + [
            abi_encode([i["type"]], [indexed[i["name"]]]) if i["name"] in indexed else None
            for i in abi["inputs"] if i["indexed"]
        ]
        while topics and topics[-1] is None:
            topics.pop()
        query = {"address": self.address, "fromBlock": max(from_block or 0, self.deploy_block),
                 "toBlock": "latest" if to_block is None else to_block,
                 "topics": [topic if topic is None else "0x" + bytes(topic).hex() for topic in topics]}
        return self._rpc(lambda: self.w3.eth.get_logs(query))

    def latest_block(self) -> int:
        return self._rpc(lambda: self.w3.eth.block_number)

    def block_times(self, numbers) -> dict[int, int]:
        """Timestamps of blocks, fetched in one batch request."""
        numbers = sorted(set(numbers))
        if not numbers:
            return {}

        def fetch():
            with self.w3.batch_requests() as batch:
                for number in numbers:
                    batch.add(self.w3.eth.get_block(number))
                return {block["number"]: block["timestamp"] for block in batch.execute()}

        return self._rpc(fetch)

    def latest_time(self) -> int:
        return self._rpc(lambda: self.w3.eth.get_block("latest")["timestamp"])

    def send_ether(self, sender: LocalAccount, to: str, wei: int) -> dict:
        def build(nonce: int) -> dict:
            return {"to": to, "value": wei, "gas": 21_000, "chainId": self.chain_id, "nonce": nonce,
                    "maxFeePerGas": self.w3.eth.gas_price * 2, "maxPriorityFeePerGas": self.w3.eth.max_priority_fee}

        return self._serialized(sender, build)

    def explain(self, data) -> tuple[str, str | None]:
        """(message, error name) for the revert data of a custom error."""
        raw = bytes.fromhex(data.removeprefix("0x")) if isinstance(data, str) else bytes(data or b"")
        known = self._errors.get(raw[:4])
        if known is None:
            return "the chain refused the transaction", None
        name, types = known
        try:
            args = abi_decode(types, raw[4:])
        except Exception:
            args = ()
        template = EXPLANATIONS.get(name, name)
        return (template.format(*args) if args else template), name

    def _rpc(self, request):
        try:
            return request()
        except (requests.ConnectionError, requests.Timeout):
            raise ServiceUnavailable(f"the chain at {self.rpc_url} cannot be reached; is it running?") from None
        except requests.HTTPError as error:
            log.warning("the chain at %s answered %s", self.rpc_url, error)
            raise ServiceUnavailable(f"the chain at {self.rpc_url} answered with an error") from None
