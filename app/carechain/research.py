"""Research queries on chain (contracts/Research.sol, deployed beside CareChain): institutions, the
steward, each dataset's privacy budget and minimum cohort, and queries with their outcomes.

`Research` is a client composed with a `CareChain` connection (its IPFS store, its clock), over a
`Chain` of its own for the second contract; `CareChain.research` opens it. Queries and results are
plain JSON on IPFS (patients may read what was asked and what was released); the chain holds their
digests, the epsilon charged and the outcome. Lists are read from the contract's events (a few
per query), each confirmed against the contract's state in one batch.

Epsilon is counted on chain in micro-epsilon (1e-6); this module speaks epsilon.
"""

import json
import threading
from dataclasses import dataclass
from pathlib import Path

from eth_account.signers.local import LocalAccount

from app.carechain import jsonfile
from app.carechain.chain import Chain
from app.carechain.errors import CareChainError, IntegrityError, InvalidInput
from app.carechain.model import NO_DIGEST, checksum
from app.carechain.records import Category
from app.carechain.research_stats import DATASETS, Query, dataset_of

MICRO = 1_000_000  # micro-epsilon per epsilon
NOBODY = "0x" + "00" * 20
PENDING, ANSWERED, REFUSED = 1, 2, 3
STATUSES = {PENDING: "waiting for the steward", ANSWERED: "answered", REFUSED: "refused"}
# Why the steward refused a query (the number is on chain).
COHORT_TOO_SMALL, MALFORMED, MISMATCH, UNREADABLE = 1, 2, 3, 4
REFUSALS = {
    COHORT_TOO_SMALL: "fewer contributors match it than the dataset's minimum cohort",
    MALFORMED: "the query is malformed",
    MISMATCH: "the query's dataset or epsilon differs from what was charged on chain",
    UNREADABLE: "the query could not be read from storage",
}
_PLAIN: dict[bytes, dict] = {}  # query and result JSON by digest: immutable, small, shared by the process
PLAIN_CACHE = 2_000


def micro(epsilon: float) -> int:
    return round(epsilon * MICRO)


def canonical(data: dict) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Institution:
    address: str
    suspended: bool
    registered_at: int


@dataclass(frozen=True)
class DatasetPolicy:
    dataset: Category
    budget: float  # epsilon, for all institutions together
    spent: float
    min_cohort: int  # 0: no policy set, no query possible

    @property
    def remaining(self) -> float:
        return round(self.budget - self.spent, 6)


@dataclass(frozen=True)
class ResearchQuery:
    id: int
    institution: str
    dataset: Category
    epsilon: float
    submitted_at: int
    block: int  # of its submission
    digest: bytes  # of the query JSON on IPFS
    status: int
    refusal: int
    result_digest: bytes
    query: Query | None  # None if the stored JSON is not a valid query
    result: dict | None  # the released aggregates, once answered

    @property
    def status_words(self) -> str:
        return STATUSES.get(self.status, "unknown")

    @property
    def refusal_words(self) -> str:
        return REFUSALS.get(self.refusal, f"reason {self.refusal}")

    @property
    def description(self) -> str:
        return self.query.describe() if self.query else "a malformed query"


class Research:
    def __init__(self, carechain, chain: Chain):
        self.carechain = carechain
        self.chain = chain

    @classmethod
    def of(cls, carechain) -> "Research":
        settings = carechain.settings
        chain = Chain(settings.rpc_url, settings.manifest, contract="Research")
        chain.check_deployment(cached=True)
        return cls(carechain, chain)

    @property
    def store(self):
        return self.carechain.store

    # Institutions

    def register_institution(self, admin: LocalAccount, institution: str) -> dict:
        return self.chain.transact(admin, "registerInstitution", checksum(institution, "institution address"))

    def suspend_institution(self, admin: LocalAccount, institution: str) -> dict:
        return self.chain.transact(admin, "suspendInstitution", checksum(institution, "institution address"))

    def reinstate_institution(self, admin: LocalAccount, institution: str) -> dict:
        return self.chain.transact(admin, "reinstateInstitution", checksum(institution, "institution address"))

    def institution(self, address: str) -> Institution | None:
        registered, suspended, registered_at = self.chain.call("institutionOf", checksum(address))
        return Institution(checksum(address), suspended, registered_at) if registered else None

    def institutions(self) -> list[Institution]:
        """Every registered institution, in registration order, as the chain holds it now."""
        addresses = list(dict.fromkeys(event["args"]["institution"]
                                       for event in self.chain.events("InstitutionRegistered")))
        states = self.chain.call_many([("institutionOf", (address,)) for address in addresses])
        return [Institution(address, suspended, registered_at)
                for address, (registered, suspended, registered_at) in zip(addresses, states) if registered]

    # The steward

    def set_steward(self, admin: LocalAccount, steward: str, public_key: bytes) -> dict:
        return self.chain.transact(admin, "setSteward", checksum(steward, "steward address"), public_key)

    def steward(self) -> tuple[str, bytes] | None:
        """The steward's address and public key (None: not named yet)."""
        address = self.chain.call("steward")
        if address == NOBODY:
            return None
        named = self.chain.events("StewardSet", steward=address)
        if not named:
            raise IntegrityError("the steward's public key is not on chain")
        return address, bytes(named[-1]["args"]["publicKey"])

    def steward_history(self) -> list[tuple[int, str]]:
        """(block, steward) of every naming, oldest first."""
        return [(event["blockNumber"], event["args"]["steward"]) for event in self.chain.events("StewardSet")]

    # Datasets

    def set_policy(self, admin: LocalAccount, dataset: Category, budget: float, min_cohort: int) -> dict:
        if not 0 <= budget <= 4000 or round(budget, 6) != budget:
            raise InvalidInput("a budget is an epsilon from 0 to 4000 with at most 6 decimals")
        if not 1 <= min_cohort <= 65535:
            raise InvalidInput("the minimum cohort is a number from 1 to 65535")
        return self.chain.transact(admin, "setDatasetPolicy", int(dataset_of(dataset)), micro(budget), min_cohort)

    def policy(self, dataset: Category) -> DatasetPolicy:
        return self.policies([dataset])[0]

    def policies(self, datasets=DATASETS) -> list[DatasetPolicy]:
        states = self.chain.call_many([("datasetOf", (int(dataset_of(dataset)),)) for dataset in datasets])
        return [DatasetPolicy(Category(dataset), budget / MICRO, spent / MICRO, min_cohort)
                for dataset, (budget, spent, min_cohort) in zip(datasets, states)]

    # Queries

    def submit(self, institution: LocalAccount, query: Query) -> int:
        """Stores the query's canonical JSON (plain: patients may read it) and submits it, charging
        its epsilon to the dataset's budget; returns its id. A refusal unpins the stored JSON."""
        data = canonical(query.to_json())
        digest = self.store.put(data)
        try:
            receipt = self.chain.transact(institution, "submitQuery", int(query.dataset), digest, micro(query.epsilon))
        except CareChainError:
            if not any(event["args"]["query"] == digest for event in self.chain.events("QuerySubmitted")):
                self.store.unpin(digest)
            raise
        (submitted,) = self.chain.events_of(receipt, "QuerySubmitted")
        return submitted["id"]

    def queries(self, institution: str | None = None, dataset: Category | None = None,
                ids: list[int] | None = None) -> list[ResearchQuery]:
        """Queries (of an institution, of a dataset, or by id), newest first, with their outcome
        now, their query and, if answered, their result."""
        filters = {"institution": checksum(institution)} if institution else {}
        if dataset is not None:
            filters["dataset"] = int(dataset_of(dataset))
        if ids is not None:
            filters["id"] = list(ids)
        events = self.chain.events("QuerySubmitted", **filters)
        states = self.chain.call_many([("queryOf", (event["args"]["id"],)) for event in events])
        found = []
        for event, state in zip(events, states):
            institution_, dataset_, status, refusal, epsilon, submitted_at, digest, result = state
            found.append(ResearchQuery(
                event["args"]["id"], institution_, Category(dataset_), epsilon / MICRO, submitted_at,
                event["blockNumber"], bytes(digest), status, refusal, bytes(result), self._query(bytes(digest)),
                self.plain(bytes(result)) if status == ANSWERED else None))
        return sorted(found, key=lambda query: query.id, reverse=True)

    def pending(self) -> list[ResearchQuery]:
        return [query for query in self.queries() if query.status == PENDING][::-1]

    def answer(self, steward: LocalAccount, query_id: int, result: dict) -> bytes:
        """Stores the result's JSON (plain) and records it as query `query_id`'s answer."""
        digest = self.store.put(canonical(result))
        self.chain.transact(steward, "answerQuery", query_id, digest)
        return digest

    def refuse(self, steward: LocalAccount, query_id: int, reason: int) -> dict:
        return self.chain.transact(steward, "refuseQuery", query_id, reason)

    def plain(self, digest: bytes) -> dict | None:
        """A query's or result's JSON object from IPFS (None if it is missing or not an object)."""
        if digest == NO_DIGEST:
            return None
        if digest not in _PLAIN:
            try:
                data = json.loads(self.store.get(digest))
            except (IntegrityError, ValueError):
                return None
            if not isinstance(data, dict):
                return None
            if len(_PLAIN) >= PLAIN_CACHE:
                _PLAIN.pop(next(iter(_PLAIN)))
            _PLAIN[digest] = data
        return _PLAIN[digest]

    def _query(self, digest: bytes) -> Query | None:
        data = self.plain(digest)
        try:
            return Query.from_json(data) if data is not None else None
        except InvalidInput:
            return None


class InstitutionNames:
    """Institutions' names as the admin gave them: public, off chain, in a JSON file (as the provider
    directory keeps providers' names), since the chain knows institutions by address only."""

    _lock = threading.Lock()  # one writer at a time in this process

    def __init__(self, path: Path):
        self.path = Path(path)

    def name_of(self, address: str) -> str | None:
        return jsonfile.read(self.path).get(address)

    def set(self, address: str, name: str) -> None:
        name = " ".join((name or "").split())
        if not name or len(name) > 80:
            raise InvalidInput("give the institution's name, under 80 characters")
        with self._lock:
            names = jsonfile.read(self.path)
            names[checksum(address)] = name
            jsonfile.write(self.path, names)
