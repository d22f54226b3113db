"""Where the time of one read and one add goes, step by step, measured from the outside: while a
flow is repeated, the library functions (and web3's) that carry out each step are wrapped with a
stopwatch, and every JSON-RPC and IPFS request is counted. Nothing in the library is edited, so a
step whose function the library no longer has (or no longer calls) is reported as such, never as
zero. The flows run on one thread while instrumented.
"""

import functools
import importlib
import json
import threading
import time
from collections import Counter, defaultdict
from contextlib import contextmanager

# Each step: its label and the functions ("module:Class.attribute" or "module:function") whose
# calls, outermost only, make it up.
READ_STEPS = [
    ("index entry and access check (recordAccessOf), record number",
     ["app.carechain.reading:ReadingFlows._readable_entries"]),
    ("fetch from IPFS", ["app.carechain.ipfs:IpfsStore._fetch"]),
    ("re-hash the fetched bytes", ["app.carechain.ipfs:IpfsStore._verify"]),
    ("decrypt (unwrap the key, open)", ["app.carechain.crypto:unwrap_key", "app.carechain.crypto:open_sealed"]),
    ("verify the signature", ["app.carechain.crypto:record_signer"]),
    ("author's role", ["app.carechain.reading:ReadingFlows._author_role"]),
    ("log the read (mined)", ["app.carechain.reading:ReadingFlows._log_reads"]),
]
ADD_STEPS = [
    ("patient's role", ["app.carechain.registry:RegistryFlows._require_role"]),
    ("sign the record", ["app.carechain.crypto:sign_record"]),
    ("readers lookup", ["app.carechain.grants:GrantFlows.readers"]),
    ("encrypt (seal, wrap keys)", ["app.carechain.storage:StorageFlows._encrypt"]),
    ("pin on IPFS", ["app.carechain.ipfs:IpfsStore.put"]),
    ("new index entry from the receipt (its event, the block's time)",
     ["app.carechain.chain:Chain.events_of", "app.carechain.chain:Chain.blocks"]),
    ("storage quota (its file read and written)",
     ["app.carechain.quota:StorageQuota.check", "app.carechain.quota:StorageQuota.count"]),
    # web3's build_transaction (nonce, fees, eth_estimateGas one by one), or the library's own
    # batch of the nonce, the fees and a gas estimate or check.
    ("nonce, fees and gas estimate",
     ["web3.contract.contract:ContractFunction.build_transaction", "app.carechain.chain:Chain._nonce_fees_and"]),
    ("sign the transaction", ["eth_account.signers.local:LocalAccount.sign_transaction"]),
    ("send", ["web3.eth.eth:Eth.send_raw_transaction"]),
    ("receipt (mined)", ["web3.eth.eth:Eth.wait_for_transaction_receipt"]),
]
# Every round trip, whatever function makes it: (kind, target, how to name the request from the
# target's arguments, and how many calls it carries). web3 sends single and batch JSON-RPC
# requests through the same session.
ROUND_TRIPS = [
    ("JSON-RPC", "web3._utils.http_session_manager:HTTPSessionManager.make_post_request",
     lambda args: _rpc_request(args[2])),
    ("IPFS", "ipfshttpclient.http_requests:ClientSync._request", lambda args: (args[2].strip("/"), 1)),
]


def _rpc_request(data) -> tuple[str, int]:
    """The method of a JSON-RPC request, or the methods of a batch; and the number of calls."""
    request = json.loads(data)
    if isinstance(request, dict):
        return request["method"], 1
    methods = Counter(item["method"] for item in request)
    return "batch (" + " + ".join(f"{count} {method}" for method, count in methods.items()) + ")", len(request)


def _resolve(target: str):
    """(owner, attribute name, current value) of a target, or None if the code has no such thing."""
    module_name, _, path = target.partition(":")
    try:
        owner = importlib.import_module(module_name)
    except ImportError:
        return None
    *parents, name = path.split(".")
    for parent in parents:
        owner = getattr(owner, parent, None)
    # vars(), not getattr(): a method must be put back as the function its class defined.
    if owner is None or name not in vars(owner):
        return None
    return owner, name, vars(owner)[name]


def _wrapped(original, wrap):
    """`wrap` applied to a function, or to the function inside a static or class method."""
    if isinstance(original, (staticmethod, classmethod)):
        return type(original)(wrap(original.__func__))
    return wrap(original)


class StepTimer:
    """Wraps the steps' functions while `instrumented()` is active; totals per step and counts of
    round trips accumulate until `reset()`."""

    def __init__(self, steps: list[tuple[str, list[str]]]):
        self.steps = steps
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: Counter = Counter()
        self.round_trips: dict[str, Counter] = defaultdict(Counter)  # kind -> request name -> requests
        self.requested_calls: Counter = Counter()  # kind -> calls, those inside batches included
        self.background: set[str] = set()  # steps that ran on another thread than the flow's
        self.flow_thread: int | None = None
        self._active = threading.local()

    def reset(self) -> None:
        self.seconds.clear()
        self.calls.clear()
        self.round_trips.clear()
        self.requested_calls.clear()
        self.background.clear()

    def missing(self) -> set[str]:
        """Labels of steps none of whose functions exists any more."""
        return {label for label, targets in self.steps if not any(_resolve(t) for t in targets)}

    @contextmanager
    def instrumented(self):
        patched = []
        try:
            for label, targets in self.steps:
                for found in filter(None, map(_resolve, targets)):
                    patched.append(found)
                    setattr(found[0], found[1], _wrapped(found[2], functools.partial(self._timed, label)))
            for kind, target, name_of in ROUND_TRIPS:
                found = _resolve(target)
                if found:
                    patched.append(found)
                    setattr(found[0], found[1], _wrapped(found[2], functools.partial(self._counted, kind, name_of)))
            yield self
        finally:
            for owner, name, original in reversed(patched):
                setattr(owner, name, original)

    def _timed(self, label: str, function):
        def timed(*args, **kwargs):
            active = self._active.__dict__.setdefault("labels", set())
            if label in active:  # an inner call of the same step: counted once, by the outer one
                return function(*args, **kwargs)
            active.add(label)
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[label] += time.perf_counter() - start
                self.calls[label] += 1
                active.discard(label)
                if self.flow_thread is not None and threading.get_ident() != self.flow_thread:
                    self.background.add(label)
        return timed

    def _counted(self, kind: str, name_of, function):
        def counted(*args, **kwargs):
            name, calls = name_of(args)
            self.round_trips[kind][name] += 1
            self.requested_calls[kind] += calls
            return function(*args, **kwargs)
        return counted


def summary(timer: StepTimer, runs: int = 1) -> str:
    """Requests and calls per run, e.g. "4 JSON-RPC requests (1,003 calls) + 1 IPFS"."""
    return " + ".join(f"{sum(requests.values()) / runs:,g} {kind} ({timer.requested_calls[kind] / runs:,g} calls)"
                      for kind, requests in timer.round_trips.items()) or "none"


def breakdown(title: str, steps, flow, runs: int) -> str:
    """A markdown table of the milliseconds per run each step of `flow()` takes (mean of `runs`
    runs, after one run to warm caches up), what is left between the steps, and the round trips.
    A step the flow runs on a thread of its own, beside the others, is marked so and left out of
    the sum; the flow's wait for it, if any, is in what is left."""
    timer = StepTimer(steps)
    flow()
    with timer.instrumented():
        timer.reset()
        timer.flow_thread = threading.get_ident()
        start = time.perf_counter()
        for _ in range(runs):
            flow()
        total = (time.perf_counter() - start) / runs * 1000
    missing = timer.missing()
    rows = [f"{title} (mean of {runs} runs, {total:.1f} ms each):", "",
            "| step | ms per run | calls per run | share |", "|---|---:|---:|---:|"]
    accounted = 0.0
    for label, _ in steps:
        if label in missing:
            rows.append(f"| {label} | not found: the library changed | - | - |")
            continue
        if not timer.calls[label]:
            rows.append(f"| {label} | not called | 0 | - |")
            continue
        ms = timer.seconds[label] / runs * 1000
        if label in timer.background:
            rows.append(f"| {label} (on a thread of its own, beside other steps) | {ms:.1f} | "
                        f"{timer.calls[label] / runs:g} | - |")
            continue
        accounted += ms
        rows.append(f"| {label} | {ms:.1f} | {timer.calls[label] / runs:g} | {ms / total:.0%} |")
    rest = "Python between the steps" + (", waiting for a step beside them" if timer.background else "")
    rows.append(f"| everything else ({rest}) | {total - accounted:.1f} | - | {(total - accounted) / total:.0%} |")
    for kind, requests in timer.round_trips.items():
        per_run = ", ".join(f"{name} {count / runs:g}" for name, count in requests.most_common())
        count, calls = sum(requests.values()) / runs, timer.requested_calls[kind] / runs
        carrying = f", carrying {calls:g} calls" if calls != count else ""
        rows.append(f"\n{kind} requests per run: {count:g}{carrying} ({per_run}).")
    return "\n".join(rows)
