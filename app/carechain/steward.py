"""The research steward: the one account (named by the admin, with a key of its own) that opens the
patients' contributions and answers queries with noisy aggregates (research_stats.answer).

`Steward.answer_pending` takes the latest block B, the contributions of the patients opted in after
B (from the chain's events; each opened with the steward's key and checked against the patient,
the steward and the datasets the chain names) and answers or refuses every pending query:

- a query whose JSON is missing or malformed, or whose dataset or epsilon differs from what the
  chain charged, is refused with that reason;
- a query whose filters match fewer contributors than the dataset's minimum cohort is refused;
- any other is answered with its result JSON, plain on IPFS, naming B (`asOfBlock`) so that each
  patient can tell whether it counted them.

An opt-out therefore takes effect for every query answered after it. A contribution that does not
open (damaged, sealed for an earlier steward) is left out and logged. `run` does so every few
seconds until stopped; `make run` runs the demo's steward beside the web app (scripts/steward.py).
"""

import logging
import threading

from eth_account.signers.local import LocalAccount

from app.carechain.contributions import Contributions
from app.carechain.errors import CareChainError, IntegrityError
from app.carechain.research import (COHORT_TOO_SMALL, MALFORMED, MISMATCH, REFUSALS, UNREADABLE, ResearchQuery,
                                    micro)
from app.carechain.research_stats import CohortTooSmall, Contribution, answer

log = logging.getLogger(__name__)
INTERVAL = 2.0  # seconds between looks at the chain


class Steward:
    def __init__(self, carechain, account: LocalAccount):
        self.carechain = carechain
        self.account = account
        self.research = carechain.research
        self.contributions = Contributions(carechain)
        self._opened: dict[bytes, Contribution] = {}  # by digest: contributions are immutable

    def answer_pending(self) -> list[tuple[int, str]]:
        """Answers or refuses every pending query; returns (id, "answered" or the refusal's words)."""
        pending = self.research.pending()
        if not pending:
            return []
        named = self.research.steward()
        if named is None or named[0] != self.account.address:
            log.warning("%s is not the research steward: queries wait for the steward named", self.account.address)
            return []
        block = self.research.chain.latest_block()
        opened = self._opened_at(block)
        outcomes = []
        for query in pending:
            outcomes.append((query.id, self._settle(query, opened, block)))
        return outcomes

    def run(self, stop: threading.Event, interval: float = INTERVAL) -> None:
        """Answers what is pending every `interval` seconds until `stop` is set; a stopped chain or
        IPFS node is logged and tried again."""
        while not stop.is_set():
            try:
                for query_id, outcome in self.answer_pending():
                    log.info("steward %s: query %d %s", self.account.address, query_id, outcome)
            except CareChainError as error:
                log.warning("steward %s: %s", self.account.address, error)
            stop.wait(interval)

    def _settle(self, query: ResearchQuery, opened: list[tuple[set, Contribution]], block: int) -> str:
        reason = self._problem(query)
        if reason is None:
            policy = self.research.policy(query.dataset)
            cohort = [contribution for datasets, contribution in opened if query.dataset in datasets]
            try:
                result = answer(query.query, cohort, max(policy.min_cohort, 1))
            except CohortTooSmall:
                reason = COHORT_TOO_SMALL
            else:
                self.research.answer(self.account, query.id, {**result, "query": query.id, "asOfBlock": block})
                return "answered"
        self.research.refuse(self.account, query.id, reason)
        return f"refused: {REFUSALS[reason]}"

    def _problem(self, query: ResearchQuery) -> int | None:
        if self.research.plain(query.digest) is None:
            return UNREADABLE
        if query.query is None:
            return MALFORMED
        if query.query.dataset != query.dataset or micro(query.query.epsilon) != micro(query.epsilon):
            return MISMATCH
        return None

    def _opened_at(self, block: int) -> list[tuple[set, Contribution]]:
        """(datasets, contribution) of every patient contributing after `block` for this steward."""
        found, kept = [], {}
        for contributor in self.contributions.contributors_at(block):
            if contributor.steward != self.account.address:
                continue
            contribution = self._opened.get(contributor.digest)
            if contribution is None:
                try:
                    contribution = self.contributions.open(self.account, contributor)
                except IntegrityError as error:
                    log.warning("the contribution of %s is left out: %s", contributor.patient, error)
                    continue
            kept[contributor.digest] = contribution
            found.append((set(contributor.datasets), contribution))
        self._opened = kept  # replaced and withdrawn contributions are forgotten
        return found
