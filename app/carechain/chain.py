"""A contract of the deployment (CareChain, or Research beside it) through web3.py: calls,
transactions signed with the user's own key, event queries from the deployment block, and refusals
explained in words.

The deployment manifest (written by scripts/deploy.py) names the chain id and, per contract, the
address, the ABI and the hash of the runtime code; `Chain` refuses a chain on which these do not hold.
"""

import json
import logging
import threading
import time
from pathlib import Path

import requests
from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_abi.grammar import TupleType, parse
from eth_account.signers.local import LocalAccount
from eth_utils import function_signature_to_4byte_selector, keccak, to_checksum_address
from eth_utils.abi import collapse_if_tuple
from web3 import Web3
from web3.exceptions import TimeExhausted, Web3RPCError
from web3.logs import DISCARD

from app.carechain.errors import ServiceUnavailable, TransactionFailed
from app.carechain.locks import named_lock
from app.carechain.model import checksum

log = logging.getLogger(__name__)
RECEIPT_TIMEOUT = 120  # seconds
NONCE_RETRIES = 4
# What a node says when another process used the nonce first (Ganache, geth, Besu wordings).
NONCE_CLASHES = ("nonce", "underpriced", "already known", "known transaction")
# Gas: a function's first transaction in this process is estimated (eth_estimateGas, which costs
# the node several executions); later ones of the same function shape get the largest estimate
# seen times GAS_MARGIN, checked with one eth_call sent in the same batch as the nonce and fee
# lookups (so a refusal is still explained in words before anything is sent). A transaction that
# runs out of gas anyway is re-estimated and sent again.
GAS_MARGIN = 1.3
# What Ganache answers instead of refusing connections while it shuts down.
NODE_DOWN = ("is disconnected", "Database is not open")

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
    "DevicesNotYourDevice": "{1} is not a device of yours",
    "DevicesAlreadyRevoked": "this device was already revoked",
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
    "EndorsementsAlreadyEndorsed": "you have already endorsed this record",
    "EndorsementsOwnRecord": "you wrote this record: another doctor or hospital has to endorse it",
    "EndorsementsUnauthorizedEndorser": "only a provider who may read this record now can endorse it",
    "KeyRecoveryInvalidThreshold": "choose 2 to 16 shares and a threshold of 2 up to their number",
    "KeyRecoveryTooManyGuardians": "there are more guardians than shares",
    "KeyRecoveryNoGuardians": "{0} has named no guardians",
    "KeyRecoveryAlreadyRequested": "you already asked for the recovery of this account",
    "KeyRecoveryNoOpenRequest": "that recovery request is no longer open: cancelled, completed or older than 7 days",
    "KeyRecoveryNotAGuardian": "{1} is not a guardian of {0}'s key",
    "BreakGlassNotADoctor": "only registered doctors can declare or confirm an emergency",
    "BreakGlassNoSummary": "{0} has no emergency summary",
    "BreakGlassNoReason": "an emergency needs a reason",
    "BreakGlassAlreadyDeclared": "this emergency is already open or waiting for a second doctor's confirmation",
    "BreakGlassNothingToConfirm": "there is no declaration waiting for confirmation: it was confirmed, or lapsed",
    "BreakGlassSelfConfirmation": "a second doctor must confirm, not the one who declared the emergency",
    "BreakGlassWindowClosed": "the emergency window of this doctor for this patient is not open",
    "ResearchNotAdmin": "only the consortium administrator can do this",
    "ResearchInvalidInstitution": "{0} is a CareChain participant (or no address): it cannot be a research institution",
    "ResearchAlreadyRegistered": "{0} is already a research institution",
    "ResearchNotAnInstitution": "{0} is not a registered research institution",
    "ResearchInstitutionSuspended": "the research institution {0} is suspended",
    "ResearchInstitutionNotSuspended": "the research institution {0} is not suspended",
    "ResearchInvalidPublicKey": "the steward's public key does not belong to its address",
    "ResearchNotAPatient": "{0} is not a registered patient",
    "ResearchNoSteward": "the administrator has not named a research steward yet",
    "ResearchNotSteward": "only the research steward can answer queries",
    "ResearchUnknownDataset": "dataset {0} does not exist",
    "ResearchInvalidMinCohort": "the minimum cohort must be at least 1",
    "ResearchBudgetBelowSpent": "the budget cannot be set below what queries have already spent",
    "ResearchInvalidContribution": "the contribution does not match the categories chosen",
    "ResearchInvalidQuery": "a query needs a privacy loss (epsilon) above zero",
    "ResearchBudgetExhausted": "the dataset's privacy budget is exhausted: {1} micro-epsilon left",
    "ResearchQueryNotPending": "query {0} is no longer waiting for an answer",
    "ResearchInvalidOutcome": "an answer needs a result and a refusal a reason",
}


class Chain:
    def __init__(self, rpc_url: str, manifest_path: Path, timeout: float = 30, contract: str = "CareChain"):
        connection = _Connection.of(rpc_url, Path(manifest_path), timeout, contract)
        self.rpc_url = rpc_url
        self.chain_id = connection.chain_id
        self.deploy_block = connection.deploy_block
        self.code_hash = connection.code_hash
        self.w3 = connection.w3
        self.contract = connection.contract
        self._errors = connection.errors
        self._functions = connection.functions
        self.receipts: list = []  # of the transactions this instance sent, for showing their outcome

    @property
    def address(self) -> str:
        return self.contract.address

    def check_deployment(self, cached: bool = False) -> None:
        """Refuses a chain with another id, or without the manifest's contract code. The full check
        (chain id, code, the deployment block's hash) is one batch request; with `cached`, a
        deployment this process already checked on this URL is confirmed by its chain id and the
        hash of its deployment block alone (one smaller batch), so a chain replaced meanwhile (reset,
        another genesis, redeployed) is still refused at the next connection."""
        key = (self.rpc_url, self.chain_id, self.address, self.code_hash, self.deploy_block)
        known = _DEPLOYMENTS.get(key) if cached else None
        requests_ = [("eth_chainId", []), ("eth_getBlockByNumber", [hex(self.deploy_block), False])]
        if known is None:
            requests_.append(("eth_getCode", [self.address, "latest"]))
        answers = self._batch(requests_)
        chain_id, block = (answer.get("result") for answer in answers[:2])
        chain_id = int(chain_id, 16) if isinstance(chain_id, str) else chain_id
        if chain_id != self.chain_id:
            _DEPLOYMENTS.pop(key, None)
            raise ServiceUnavailable(f"the chain at {self.rpc_url} has id {chain_id}, the deployment is for {self.chain_id}")
        block_hash = block.get("hash") if isinstance(block, dict) else None
        if known is None:
            code = answers[2].get("result") or "0x"
            if keccak(hexstr=code) != self.code_hash:
                raise ServiceUnavailable(f"the contract of the deployment manifest is not on the chain at {self.rpc_url}")
            if block_hash:
                _DEPLOYMENTS[key] = block_hash
        elif block_hash != known:
            _DEPLOYMENTS.pop(key, None)
            raise ServiceUnavailable(f"the contract of the deployment manifest is not on the chain at {self.rpc_url} "
                                     "(the chain was replaced)")

    def call(self, function: str, *args):
        return self.call_many([(function, args)])[0]

    def call_many(self, calls: list[tuple[str, tuple]]) -> list:
        """Several (function, arguments) calls in one batch request; their results in order, as
        web3 gives them (one output unwrapped, addresses checksummed). A call the contract refuses
        raises TransactionFailed with its reason."""
        if not calls:
            return []
        encoded = [(self._functions[function], self._functions[function].encode(args)) for function, args in calls]
        answers = self._batch([("eth_call", [{"to": self.address, "data": data}, "latest"]) for _, data in encoded])
        results = []
        for (function, _), answer in zip(encoded, answers):
            if "error" in answer:
                raise self._refusal(function.name, answer["error"])
            results.append(function.decode(answer.get("result") or "0x"))
        return results

    def transact(self, account: LocalAccount, function: str, *args, before_sending=None) -> dict:
        """Signs with `account`, sends, and waits until mined. A refusal raises TransactionFailed
        with its reason before anything is sent; nothing half-happens. One account's transactions
        are sent one at a time (see `_serialized`), so two tabs or a double click never race for a
        nonce. `before_sending()`, if given, runs once the chain's dry run passed and before the
        transaction is signed: what must be done before it (an exception there sends nothing)."""
        encoder = self._functions[function]
        shape = (function, encoder.input_types)
        request = {"from": account.address, "to": self.address, "data": encoder.encode(args)}

        for attempt in range(2):
            known_gas = _GAS.get(shape) if attempt == 0 else None

            def build(nonce: int, fees: dict, check) -> dict:
                if check.get("error"):
                    raise self._refusal(function, check["error"])
                if before_sending:
                    before_sending()
                gas = int(known_gas * GAS_MARGIN) if known_gas else int(check["result"], 16)
                if not known_gas:
                    _GAS[shape] = max(_GAS.get(shape, 0), gas)
                    gas = int(gas * GAS_MARGIN)  # the estimate of a path may fall short for another one
                return {"type": 2, "chainId": self.chain_id, "nonce": nonce, "to": self.address,
                        "data": request["data"], "value": 0, "gas": gas, **fees}

            check = ("eth_call", [request, "latest"]) if known_gas else ("eth_estimateGas", [request])
            receipt, gas = self._serialized(account, build, check)
            if receipt["status"] == 1:
                self.receipts.append(receipt)
                return receipt
            if receipt["gasUsed"] < gas or attempt == 1:
                break
            log.warning("%s ran out of gas with %d (cached estimate); estimating again", function, gas)
            _GAS.pop(shape, None)
        raise TransactionFailed(f"transaction {receipt['transactionHash'].hex()} was reverted")

    def _refusal(self, function: str, error: dict) -> TransactionFailed:
        """TransactionFailed in words for the error of an eth_call or eth_estimateGas: the custom
        error's explanation when the node gives revert data (Ganache puts it in `data`, or in
        `data.result` when estimating), else a plain sentence."""
        data = error.get("data")
        if isinstance(data, dict):
            data = data.get("result") or data.get("data")
        if isinstance(data, str) and len(data) > 2:
            return TransactionFailed(*self.explain(data))
        message = str(error.get("message", "")).lower()
        if "insufficient funds" in message:
            return TransactionFailed("this account has too little ether to pay for the transaction")
        log.warning("%s refused before sending: %s", function, error)
        return TransactionFailed("the chain refused the transaction: it would fail")

    def _serialized(self, account: LocalAccount, build, check: tuple | None = None) -> tuple[dict, int]:
        """Builds, signs, sends and waits for one transaction of `account` while holding that
        account's lock; returns (receipt, gas limit). The account's next nonce, the fee fields and
        `check` (an eth_call or eth_estimateGas request, whose answer `build(nonce, fees, answer)`
        gets) are asked in one batch request. The nonce is read from the chain's pending count each
        time, so nothing needs to survive a restart and a transaction the chain dropped is simply
        replaced; a nonce taken meanwhile by another process is retried."""
        with named_lock("transactions", self.chain_id, account.address):
            for attempt in range(NONCE_RETRIES):
                answers = self._nonce_fees_and(account, check)
                nonce, block, tip = (answer.get("result") for answer in answers[:3])
                if nonce is None or block is None or tip is None:
                    log.warning("the chain did not answer the nonce and fee lookups: %s", answers[:3])
                    raise TransactionFailed("the chain did not accept the transaction; nothing was changed, "
                                            "try again in a moment")
                tip = int(tip, 16)
                fees = {"maxPriorityFeePerGas": tip, "maxFeePerGas": tip + 2 * int(block.get("baseFeePerGas", "0x0"), 16)}
                transaction = build(int(nonce, 16), fees, answers[3] if check else None)
                signed = account.sign_transaction(transaction)
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
                    # Ganache mines at once (instamine), so the first receipt query finds it.
                    return self._rpc(lambda: self.w3.eth.wait_for_transaction_receipt(
                        tx_hash, timeout=RECEIPT_TIMEOUT, poll_latency=0.02)), transaction["gas"]
                except TimeExhausted:
                    raise TransactionFailed(
                        f"transaction {tx_hash.hex()} was sent but not mined within {RECEIPT_TIMEOUT // 60} minutes: "
                        "check the page again before repeating the change") from None
                except Web3RPCError as error:  # e.g. a node shutting down: "Database is not open"
                    log.warning("the chain failed while transaction %s was waiting: %s", tx_hash.hex(), error)
                    raise ServiceUnavailable(
                        f"the chain at {self.rpc_url} cannot be reached while transaction {tx_hash.hex()} waits "
                        "to be mined; is it running? Check the page again before repeating the change") from None

    def _nonce_fees_and(self, account: LocalAccount, check: tuple | None) -> list[dict]:
        """The raw answers to the account's next nonce, the latest block (its base fee), the
        priority fee and `check`, in one batch request."""
        return self._batch([("eth_getTransactionCount", [account.address, "pending"]),
                            ("eth_getBlockByNumber", ["latest", False]),
                            ("eth_maxPriorityFeePerGas", [])] + ([check] if check else []))

    def events(self, event: str, **indexed) -> list:
        """Every `event` since the deployment whose indexed arguments equal `indexed` (a list
        matches any of its values), oldest first. The library reads the event index instead; this
        is for checking it and for tools."""
        return self._rpc(lambda: list(getattr(self.contract.events, event).get_logs(
            from_block=self.deploy_block, argument_filters=indexed or None)))

    def events_of(self, receipt: dict, event: str) -> list:
        """The arguments of each `event` the contract emitted in the transaction of `receipt`."""
        return [entry["args"] for entry in getattr(self.contract.events, event)().process_receipt(receipt, errors=DISCARD)]

    def latest_block(self) -> int:
        return self._rpc(lambda: self.w3.eth.block_number)

    def blocks(self, numbers) -> dict[int, tuple[int, str]]:
        """(timestamp, hash) of blocks, fetched in one batch request."""
        numbers = sorted(set(numbers))
        if not numbers:
            return {}

        def fetch():
            with self.w3.batch_requests() as batch:
                for number in numbers:
                    batch.add(self.w3.eth.get_block(number))
                return {block["number"]: (block["timestamp"], block["hash"].hex()) for block in batch.execute()}

        return self._rpc(fetch)

    def head_and_hash(self, number: int | None) -> tuple[tuple[int, str, int], str | None]:
        """The latest block's (number, hash, timestamp) and the hash of block `number` (None if
        there is no such block, or no number), in one batch request: how the event index notices a
        replaced chain, and the chain's clock at that moment. Hashes as `blocks` gives them."""
        answers = self._batch([("eth_getBlockByNumber", ["latest", False])]
                              + ([("eth_getBlockByNumber", [hex(number), False])] if number is not None else []))
        latest = answers[0].get("result")
        if not latest:
            raise ServiceUnavailable(f"the chain at {self.rpc_url} answered without its latest block")
        block = answers[1].get("result") if number is not None else None
        return ((int(latest["number"], 16), latest["hash"].removeprefix("0x"), int(latest["timestamp"], 16)),
                block["hash"].removeprefix("0x") if block else None)

    def logs(self, first: int, last: int) -> list:
        """Every log of the contract in blocks `first` to `last`, undecoded."""
        return self._rpc(lambda: self.w3.eth.get_logs({"address": self.address, "fromBlock": first, "toBlock": last}))

    def latest_time(self) -> int:
        """The latest block's timestamp (one raw request, without web3's block formatting)."""
        block = self._rpc(lambda: self.w3.provider.make_request("eth_getBlockByNumber", ["latest", False])).get("result")
        if not block:
            raise ServiceUnavailable(f"the chain at {self.rpc_url} answered without its latest block")
        return int(block["timestamp"], 16)

    def send_ether(self, sender: LocalAccount, to: str, wei: int) -> dict:
        def build(nonce: int, fees: dict, _check) -> dict:
            return {"type": 2, "to": to, "value": wei, "gas": 21_000, "chainId": self.chain_id, "nonce": nonce, **fees}

        return self._serialized(sender, build)[0]

    def explain(self, data) -> tuple[str, str | None]:
        """(message, error name) for the revert data of a custom error."""
        raw = bytes.fromhex(data.removeprefix("0x")) if isinstance(data, str) else bytes(data or b"")
        known = self._errors.get(raw[:4])
        if known is None:
            return "the chain refused the transaction", None
        name, types = known
        try:  # addresses as people see them elsewhere: checksummed
            args = [to_checksum_address(arg) if kind == "address" else arg
                    for kind, arg in zip(types, abi_decode(types, raw[4:]))]
        except Exception:
            args = ()
        template = EXPLANATIONS.get(name, name)
        return (template.format(*args) if args else template), name

    def _batch(self, requests_: list[tuple[str, list]]) -> list[dict]:
        """Raw JSON-RPC requests in one batch; the raw answers (each with `result` or `error`), in order."""
        answers = self._rpc(lambda: self.w3.provider.make_batch_request(requests_))
        if any(sign in str(answer.get("error", "")) for answer in (answers if isinstance(answers, list) else [answers])
               for sign in NODE_DOWN):
            raise ServiceUnavailable(f"the chain at {self.rpc_url} cannot be reached; is it running?")
        if not isinstance(answers, list) or len(answers) != len(requests_):
            log.warning("the chain at %s answered a batch with %s", self.rpc_url, answers)
            raise ServiceUnavailable(f"the chain at {self.rpc_url} answered with an error")
        return sorted(answers, key=lambda answer: answer.get("id", 0)) if all("id" in a for a in answers) else answers

    def _rpc(self, request):
        try:
            return request()
        except (requests.ConnectionError, requests.Timeout):
            raise ServiceUnavailable(f"the chain at {self.rpc_url} cannot be reached; is it running?") from None
        except requests.HTTPError as error:
            log.warning("the chain at %s answered %s", self.rpc_url, error)
            raise ServiceUnavailable(f"the chain at {self.rpc_url} answered with an error") from None
        except Web3RPCError as error:
            if any(sign in str(error) for sign in NODE_DOWN):
                raise ServiceUnavailable(f"the chain at {self.rpc_url} cannot be reached; is it running?") from None
            raise


# Per process: the largest gas estimate seen per function shape (name, argument types).
_GAS: dict[tuple, int] = {}
# Per process: deployments checked in full, (URL, chain id, address, code hash, deployment block)
# -> the hash of the deployment block then.
_DEPLOYMENTS: dict[tuple, str] = {}


class _Connection:
    """What a `Chain` needs of its manifest and node that never changes while the manifest does
    not: web3's contract object (building it from the ABI took most of a page's Python time), the
    functions' encoders and the error table. One per process and (URL, manifest, timeout, contract), shared by every
    `Chain`: web3 keeps a session per thread and a batch per context, so threads may share it."""

    _cache: dict[tuple, tuple[tuple, "_Connection"]] = {}  # key -> (the manifest's version, connection)
    _guard = threading.Lock()

    def __init__(self, rpc_url: str, manifest: dict, timeout: float, contract: str, manifest_path: Path):
        deployment = manifest["contracts"].get(contract)
        if deployment is None:
            raise ServiceUnavailable(f"the deployment manifest at {manifest_path} has no {contract} contract: "
                                     "deploy the contracts again (make run does so when the contracts changed)")
        self.chain_id = int(manifest["chainId"])
        self.deploy_block = int(deployment["deployBlock"])
        self.code_hash = bytes.fromhex(deployment["runtimeCodeHash"].removeprefix("0x"))
        self.w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": timeout}))
        # web3's validation middleware asks eth_chainId before every eth_call and eth_estimateGas
        # (a round trip each): the chain id is checked by `check_deployment`, and transactions are
        # signed with the manifest's. No ENS names are used either.
        self.w3.middleware_onion.remove("validation")
        self.w3.middleware_onion.remove("ens_name_to_address")
        self.contract = self.w3.eth.contract(address=deployment["address"], abi=deployment["abi"])
        self.functions = {item["name"]: _Function(item) for item in deployment["abi"] if item["type"] == "function"}
        self.errors = {
            function_signature_to_4byte_selector(f"{item['name']}({','.join(i['type'] for i in item['inputs'])})"): (
                item["name"],
                [i["type"] for i in item["inputs"]],
            )
            for item in deployment["abi"]
            if item["type"] == "error"
        }

    @classmethod
    def of(cls, rpc_url: str, manifest_path: Path, timeout: float, contract: str) -> "_Connection":
        try:
            stat = manifest_path.stat()
        except FileNotFoundError:
            raise ServiceUnavailable(f"no deployment manifest at {manifest_path}: deploy the contracts first") from None
        key = (rpc_url, str(manifest_path.resolve()), timeout, contract)
        version = (stat.st_mtime_ns, stat.st_size)  # a redeployment rewrites the manifest
        with cls._guard:
            cached = cls._cache.get(key)
            if cached is None or cached[0] != version:
                try:
                    manifest = json.loads(manifest_path.read_text())
                except FileNotFoundError:
                    raise ServiceUnavailable(f"no deployment manifest at {manifest_path}: "
                                             "deploy the contracts first") from None
                cached = cls._cache[key] = (version, cls(rpc_url, manifest, timeout, contract, manifest_path))
            return cached[1]


class _Function:
    """One contract function's call data and results, from its ABI entry: web3's contract functions
    look the entry up and check the whole ABI for clashes on every call (about 1.5 ms each), and
    format results through a generic walk of the types (several ms for a page of records)."""

    def __init__(self, abi: dict):
        self.name = abi["name"]
        self.input_types = tuple(collapse_if_tuple(item) for item in abi["inputs"])
        self.output_types = tuple(collapse_if_tuple(item) for item in abi["outputs"])
        self._selector = function_signature_to_4byte_selector(f"{self.name}({','.join(self.input_types)})")
        self._outputs = [parse(output) for output in self.output_types]

    def encode(self, args: tuple) -> str:
        return "0x" + (self._selector + abi_encode(self.input_types, args)).hex()

    def decode(self, data: str):
        values = abi_decode(self.output_types, bytes.fromhex(data.removeprefix("0x")))
        results = [_normalized(kind, value) for kind, value in zip(self._outputs, values)]
        return results[0] if len(results) == 1 else results


def _normalized(kind, value):
    """`value` of the ABI type `kind` as web3 returns it: addresses checksummed, arrays as lists."""
    if kind.is_array:
        return [_normalized(kind.item_type, item) for item in value]
    if isinstance(kind, TupleType):
        return tuple(_normalized(component, item) for component, item in zip(kind.components, value))
    if kind.base == "address":
        return checksum(value)
    return value
