"""The event index: an SQLite mirror of the contract's events, so that pages and flows look up
participants, grants, key bundles, records and their versions, profile digests and the audit trail
in one query instead of scanning `eth_getLogs` from the deployment block.

It follows the chain from the deployment block, a chunk of blocks at a time, and survives restarts
by resuming from the last block it indexed. Before each catch-up it checks that the chain still
holds that block with the hash it saw: a chain that was reset, replaced or reorganised (another
genesis, the contract deployed again) is detected and the index is rebuilt from scratch. Several
threads and processes may share the file (SQLite in WAL mode; one catch-up at a time).

A replacement (`supersedeRecord`: a re-encryption, a correction) emits RecordAdded and
RecordSuperseded in one transaction; the index keeps it as one event, the RecordSuperseded with the
new version's number, category and author, and links the versions of each record.

The index says what happened; the chain decides. Pages show grants, roles and providers as the
caught-up index holds them; every access check and every change is decided by the contract against
its own state, and the readers a new record is encrypted for are confirmed with one batch of calls.
"""

import json
import sqlite3
import threading
import time
from pathlib import Path

from app.carechain.locks import named_lock
from app.carechain.model import Numbering

CHUNK = 5_000  # blocks per eth_getLogs query
INDEX_VERSION = "7"  # bump to rebuild every index when the schema or the rows' meaning changes
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    block INTEGER NOT NULL, log_index INTEGER NOT NULL, time INTEGER NOT NULL, name TEXT NOT NULL,
    patient TEXT, actor TEXT, details TEXT NOT NULL, PRIMARY KEY (block, log_index));
CREATE INDEX IF NOT EXISTS events_by_patient ON events (patient, name, block, log_index);
CREATE INDEX IF NOT EXISTS events_by_name ON events (name, time);
CREATE INDEX IF NOT EXISTS events_by_actor ON events (actor, name, block, log_index);
CREATE INDEX IF NOT EXISTS events_by_name ON events (name, time);
CREATE TABLE IF NOT EXISTS participants (
    address TEXT PRIMARY KEY, role TEXT NOT NULL, affiliation TEXT, public_key BLOB NOT NULL,
    block INTEGER NOT NULL, log_index INTEGER NOT NULL, registered_at INTEGER NOT NULL,
    suspended INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS participants_by_affiliation ON participants (affiliation);
CREATE TABLE IF NOT EXISTS grants (
    patient TEXT NOT NULL, grantee TEXT NOT NULL, categories INTEGER NOT NULL, can_write INTEGER NOT NULL,
    expires_at INTEGER NOT NULL, block INTEGER NOT NULL, log_index INTEGER NOT NULL,
    PRIMARY KEY (patient, grantee));
CREATE INDEX IF NOT EXISTS grants_by_grantee ON grants (grantee);
CREATE INDEX IF NOT EXISTS grants_by_age ON grants (patient, block, log_index);
CREATE TABLE IF NOT EXISTS bundles (
    patient TEXT NOT NULL, grantee TEXT NOT NULL, bundle BLOB NOT NULL, block INTEGER NOT NULL,
    log_index INTEGER NOT NULL, PRIMARY KEY (block, log_index));
CREATE INDEX IF NOT EXISTS bundles_by_grant ON bundles (patient, grantee);
CREATE INDEX IF NOT EXISTS bundles_by_digest ON bundles (bundle);
CREATE TABLE IF NOT EXISTS records (
    patient TEXT NOT NULL, digest BLOB NOT NULL, number INTEGER NOT NULL, origin INTEGER NOT NULL,
    author TEXT NOT NULL, replaced_by INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (patient, digest));
CREATE INDEX IF NOT EXISTS records_current ON records (patient, replaced_by, origin);
CREATE INDEX IF NOT EXISTS records_by_origin ON records (patient, origin, number);
CREATE INDEX IF NOT EXISTS records_by_number ON records (patient, number);
CREATE TABLE IF NOT EXISTS profiles (patient TEXT PRIMARY KEY, digest BLOB NOT NULL);
"""
# A record's versions: `number` is the chain's number of each entry; `origin` the number of the
# record's first version, shared by all its versions (the number people see); `replaced_by` the
# number of the next version (0 while current).
# event -> (argument naming the account, role, argument naming its affiliation: a doctor's hospital,
# a device's patient)
REGISTRATIONS = {"PatientRegistered": ("patient", "patient", None), "HospitalRegistered": ("hospital", "hospital", None),
                 "DoctorRegistered": ("doctor", "doctor", "hospital"), "DeviceAuthorized": ("device", "device", "patient")}
# The argument naming who acted, for events whose actor is neither a reader, an author, a doctor nor the patient.
ACTORS = {"RecoveryRequested": "requester", "RecoveryApproved": "guardian", "EmergencyConfirmed": "confirmer",
          "EmergencyShareReleased": "hospital"}


class EventIndex:
    """One per file and process (see `open`), shared by every request's connection."""

    _open: dict[Path, "EventIndex"] = {}
    _opening = threading.Lock()

    @classmethod
    def open(cls, path: Path, chain) -> "EventIndex":
        path = Path(path).resolve()
        with cls._opening:
            if path not in cls._open:
                cls._open[path] = cls(path, chain)
            return cls._open[path]

    def __init__(self, path: Path, chain):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        with named_lock("event index", self.path):
            self._create_schema()
        self._lock = threading.RLock()  # one statement at a time on the shared connection
        self._caught_up: tuple[float, int] | None = None  # (when the last catch-up began, its block)
        self.chain_time: int | None = None  # the timestamp of the latest block the last catch-up saw
        self._decoders = _decoders_of(chain)

    def _create_schema(self) -> None:
        """Creates the tables; an index file another version wrote (other tables or columns) is
        emptied first, and `sync` then rebuilds it from the chain."""
        if self._db.execute("PRAGMA user_version").fetchone()[0] != int(INDEX_VERSION):
            tables = [name for (name,) in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            for table in tables:
                self._db.execute(f"DROP TABLE {table}")
        self._db.executescript(SCHEMA)
        self._db.execute(f"PRAGMA user_version = {int(INDEX_VERSION)}")

    def close(self) -> None:
        self._db.close()

    # Following the chain

    def sync(self, chain) -> int:
        """Indexes every block up to `chain`'s latest; returns that block's number. A thread that
        waited while another one's catch-up began and ended takes its result: that catch-up saw
        every block there was when this one asked."""
        asked = time.monotonic()
        with named_lock("event index", self.path), self._lock:
            if self._caught_up is not None and self._caught_up[0] > asked:
                return self._caught_up[1]
            began = time.monotonic()
            self._caught_up = (began, self._catch_up(chain))
            return self._caught_up[1]

    def _catch_up(self, chain) -> int:
        identity = json.dumps([INDEX_VERSION, chain.chain_id, chain.address, chain.deploy_block])
        meta = dict(self._db.execute("SELECT key, value FROM meta"))
        if meta.get("identity") != identity:
            self._rebuild()
            self._db.execute("INSERT OR REPLACE INTO meta VALUES ('identity', ?)", (identity,))
            meta = {}
        last = int(meta["last_block"]) if "last_block" in meta else None
        head, last_hash = chain.head_and_hash(last)
        if last is not None and last_hash != meta["last_hash"]:  # reset, replaced or reorganised
            self._rebuild()
            last = None
        latest = head[0]
        first = chain.deploy_block if last is None else last + 1
        for start in range(first, latest + 1, CHUNK):
            self._index_blocks(chain, start, min(start + CHUNK - 1, latest), head)
        self.chain_time = head[2]
        return latest

    def _rebuild(self) -> None:
        with self._db:
            for table in ("events", "participants", "grants", "bundles", "records", "profiles"):
                self._db.execute(f"DELETE FROM {table}")
            self._db.execute("DELETE FROM meta WHERE key IN ('last_block', 'last_hash')")

    def _index_blocks(self, chain, start: int, end: int, head: tuple[int, str, int]) -> None:
        """Indexes blocks `start` to `end`; `head` is the latest block's (number, hash, time), which
        saves asking for it again (a catch-up of the newest blocks often needs no other)."""
        logs = chain.logs(start, end)
        decoded = [self._decoders[bytes(log["topics"][0])].process_log(log) for log in logs
                   if log["topics"] and bytes(log["topics"][0]) in self._decoders]
        known = {head[0]: (head[2], head[1])}
        blocks = known | chain.blocks(({event["blockNumber"] for event in decoded} | {end}) - known.keys())
        end_hash = blocks[end][1]
        self._db.execute("BEGIN IMMEDIATE")
        try:
            indexed = self._db.execute("SELECT value FROM meta WHERE key = 'last_block'").fetchone()
            if indexed and int(indexed[0]) >= start:  # another process indexed these blocks meanwhile
                self._db.execute("ROLLBACK")
                return
            for event in decoded:
                self._apply(event, blocks[event["blockNumber"]][0])
            self._db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                                 [("last_block", str(end)), ("last_hash", end_hash)])
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def _apply(self, event, time: int) -> None:
        name, args = event["event"], dict(event["args"])
        position = (event["blockNumber"], event["logIndex"])
        patient = args.get("patient")
        actor = (args.get(ACTORS.get(name)) or args.get("reader") or args.get("author") or args.get("doctor")
                 or args.get("provider") or patient)
        details = {key: (bytes(value).hex() if isinstance(value, bytes) else value)
                   for key, value in args.items() if key != "patient"}
        if name == "RecordSuperseded":
            actor = self._apply_supersession(patient, bytes(args["oldDigest"]), bytes(args["newDigest"]),
                                             event["blockNumber"], details)
        self._db.execute("INSERT OR REPLACE INTO events VALUES (?, ?, ?, ?, ?, ?, ?)",
                         (*position, time, name, patient, actor, json.dumps(details)))
        if name in REGISTRATIONS:
            field, role, affiliation = REGISTRATIONS[name]
            self._db.execute("INSERT OR REPLACE INTO participants VALUES (?, ?, ?, ?, ?, ?, ?, 0)",
                             (args[field], role, args[affiliation] if affiliation else None, bytes(args["publicKey"]),
                              *position, time))
        elif name in ("ProviderSuspended", "ProviderReinstated"):
            self._db.execute("UPDATE participants SET suspended = ? WHERE address = ?",
                             (name == "ProviderSuspended", args["provider"]))
        elif name == "DeviceRevoked":
            self._db.execute("UPDATE participants SET suspended = 1 WHERE address = ?", (args["device"],))
        elif name == "AccessGranted":  # a grant's position is when it was (last) given: the grants page's order
            self._db.execute("INSERT OR REPLACE INTO grants VALUES (?, ?, ?, ?, ?, ?, ?)",
                             (patient, args["grantee"], args["categories"], args["canWrite"], args["expiresAt"],
                              *position))
        elif name == "AccessNarrowed":
            self._db.execute("UPDATE grants SET categories = ?, can_write = ?, expires_at = ? "
                             "WHERE patient = ? AND grantee = ?",
                             (args["categories"], args["canWrite"], args["expiresAt"], patient, args["grantee"]))
        elif name == "AccessRenewed":
            self._db.execute("UPDATE grants SET expires_at = ? WHERE patient = ? AND grantee = ?",
                             (args["expiresAt"], patient, args["grantee"]))
        elif name == "AccessRevoked":
            self._db.execute("UPDATE grants SET expires_at = 0 WHERE patient = ? AND grantee = ?",
                             (patient, args["grantee"]))
        elif name == "RecordAdded":
            self._db.execute("INSERT OR REPLACE INTO records VALUES (?, ?, ?, ?, ?, 0)",
                             (patient, bytes(args["digest"]), args["number"], args["number"], args["author"]))
        elif name == "ProfileUpdated":
            self._db.execute("INSERT OR REPLACE INTO profiles VALUES (?, ?)", (patient, bytes(args["digest"])))
        if name in ("AccessGranted", "AccessRenewed") and any(args["keyBundle"]):
            self._db.execute("INSERT OR REPLACE INTO bundles VALUES (?, ?, ?, ?, ?)",
                             (patient, args["grantee"], bytes(args["keyBundle"]), *position))

    def _apply_supersession(self, patient: str, old: bytes, new: bytes, block: int, details: dict) -> str:
        """Links a new version to the record it replaces, and folds the RecordAdded event of the
        same transaction into this one's row (`details` gains its number and category): one change,
        one line of the audit trail. Returns the actor: the new version's author."""
        (origin,) = self._db.execute("SELECT origin FROM records WHERE patient = ? AND digest = ?",
                                     (patient, old)).fetchone()
        number, author = self._db.execute("SELECT number, author FROM records WHERE patient = ? AND digest = ?",
                                          (patient, new)).fetchone()
        self._db.execute("UPDATE records SET origin = ? WHERE patient = ? AND digest = ?", (origin, patient, new))
        self._db.execute("UPDATE records SET replaced_by = ? WHERE patient = ? AND digest = ?", (number, patient, old))
        log_index, added = self._db.execute(
            "SELECT log_index, details FROM events WHERE block = ? AND patient = ? AND name = 'RecordAdded' "
            "AND json_extract(details, '$.digest') = ?", (block, patient, new.hex())).fetchone()
        self._db.execute("DELETE FROM events WHERE block = ? AND log_index = ?", (block, log_index))
        details.update(number=number, category=json.loads(added)["category"])
        return author

    # Looking things up (call `sync` first)

    def public_key(self, address: str) -> bytes | None:
        rows = self._query("SELECT public_key FROM participants WHERE address = ?", address)
        return rows[0][0] if rows else None

    def providers(self, limit: int | None = None, offset: int = 0,
                  roles: tuple[str, ...] = ("hospital", "doctor")) -> list[tuple[str, str, str | None, bool, int]]:
        """(address, role, hospital, suspended, registered_at) of hospitals and doctors (or of
        `roles`), in registration order: all, or `limit` of them after the first `offset`."""
        return [(address, role, hospital, bool(suspended), registered_at)
                for address, role, hospital, suspended, registered_at in self._query(
                    "SELECT address, role, affiliation, suspended, registered_at FROM participants "
                    f"WHERE role IN ({_marks(roles)}) ORDER BY block, log_index LIMIT ? OFFSET ?",
                    *roles, _rows(limit), offset)]

    def provider_count(self) -> int:
        return self._query("SELECT COUNT(*) FROM participants WHERE role IN ('hospital', 'doctor')")[0][0]

    def doctors_of(self, hospital: str) -> list[str]:
        return self._column("SELECT address FROM participants WHERE role = 'doctor' AND affiliation = ? "
                            "ORDER BY block, log_index", hospital)

    def devices_of(self, patient: str) -> list[tuple[str, bool, int]]:
        """(address, revoked, paired_at) of the patient's devices, in pairing order."""
        return [(address, bool(revoked), paired_at) for address, revoked, paired_at in self._query(
            "SELECT address, suspended, registered_at FROM participants WHERE role = 'device' AND affiliation = ? "
            "ORDER BY block, log_index", patient)]

    def acknowledgements(self, patient: str) -> dict[bytes, list[tuple[str, int]]]:
        """digest -> (doctor, time) of each acknowledgement of the patient's alerts, oldest first."""
        found: dict[bytes, list[tuple[str, int]]] = {}
        for actor, second, details in self._query(
                "SELECT actor, time, details FROM events WHERE patient = ? AND name = 'AlertAcknowledged' "
                "ORDER BY block, log_index", patient):
            found.setdefault(bytes.fromhex(json.loads(details)["digest"]), []).append((actor, second))
        return found

    def records_added_after(self, patient: str, block: int, categories) -> int:
        """How many records of the patient in `categories` were added after `block`: first versions
        only, not corrections or re-encryptions."""
        wanted = {int(category) for category in categories}
        numbers = [added["number"] for added in (json.loads(details) for (details,) in self._query(
            "SELECT details FROM events WHERE patient = ? AND name = 'RecordAdded' AND block > ?", patient, block))
            if added["category"] in wanted]
        return len(self._column(f"SELECT number FROM records WHERE patient = ? AND number = origin "
                                f"AND number IN ({_marks(numbers)})", patient, *numbers))

    def endorsement_policies(self) -> dict[int, tuple[int, bool]]:
        """category -> (endorsements required, from distinct hospitals) as the admin last set them;
        categories never set are left out."""
        policies = {}
        for (details,) in self._query("SELECT details FROM events WHERE name = 'EndorsementPolicySet' "
                                      "ORDER BY block, log_index"):
            policy = json.loads(details)
            policies[policy["category"]] = (policy["required"], policy["distinctHospitals"])
        return policies

    def owner(self) -> str | None:
        """The contract's owner (the consortium admin) as its ownership transfers left it."""
        rows = self._query("SELECT details FROM events WHERE name = 'OwnershipTransferred' "
                           "ORDER BY block DESC, log_index DESC LIMIT 1")
        return json.loads(rows[0][0])["newOwner"] if rows else None

    def roles(self, addresses) -> dict[str, str]:
        """Roles of the registered accounts among `addresses`."""
        addresses = list(addresses)
        return dict(self._query(f"SELECT address, role FROM participants WHERE address IN ({_marks(addresses)})",
                                *addresses))

    def standing(self, address: str) -> tuple[str, str | None, bool] | None:
        """(role, affiliation, suspended) of a registered account as its events left it."""
        rows = self._query("SELECT role, affiliation, suspended FROM participants WHERE address = ?", address)
        return (rows[0][0], rows[0][1], bool(rows[0][2])) if rows else None

    def grants(self, patient: str, grantees: list[str]) -> dict[str, tuple[int, int, bool]]:
        """grantee -> (expires_at, categories, can_write) of the patient's grants to `grantees`, as
        their events left them (grantees never granted are left out; a revoked grant expires at 0)."""
        return {grantee: (expires_at, categories, bool(can_write)) for grantee, expires_at, categories, can_write
                in self._query("SELECT grantee, expires_at, categories, can_write FROM grants WHERE patient = ? "
                               f"AND grantee IN ({_marks(grantees)})", patient, *grantees)}

    def grantees_of(self, patient: str, limit: int | None = None) -> list[str]:
        """The patient's grantees, revoked ones left out, newest grant first."""
        return self._column("SELECT grantee FROM grants WHERE patient = ? AND expires_at != 0 "
                            "ORDER BY block DESC, log_index DESC LIMIT ?", patient, _rows(limit))

    def live_grantees(self, patient: str, category: int, now: int) -> list[str]:
        """Grantees whose grant covers `category` and had not expired at `now`."""
        return self._column("SELECT grantee FROM grants WHERE patient = ? AND expires_at > ? "
                            "AND (categories >> ?) & 1", patient, now, int(category))

    def grants_to(self, grantees: list[str]) -> list[tuple[str, str, int, int, bool]]:
        """(patient, grantee, expires_at, categories, can_write) of the unrevoked grants to any of
        `grantees`, oldest first."""
        return [(*row[:4], bool(row[4])) for row in self._query(
            "SELECT patient, grantee, expires_at, categories, can_write FROM grants "
            f"WHERE grantee IN ({_marks(grantees)}) AND expires_at != 0 ORDER BY block, log_index", *grantees)]

    def bundles(self, patient: str, grantees: list[str]) -> list[bytes]:
        """Digests of the key bundles the patient delivered to `grantees`, newest first."""
        return self._column(f"SELECT bundle FROM bundles WHERE patient = ? AND grantee IN ({_marks(grantees)}) "
                            "ORDER BY block DESC, log_index DESC", patient, *grantees)

    def bundle_delivered(self, patient: str, bundle: bytes) -> bool:
        return bool(self._query("SELECT 1 FROM bundles WHERE patient = ? AND bundle = ?", patient, bytes(bundle)))

    def record_numbers(self, patient: str, digests) -> dict[bytes, Numbering]:
        digests = [bytes(digest) for digest in digests]
        return {bytes(digest): Numbering(number, origin) for digest, number, origin in self._query(
            f"SELECT digest, number, origin FROM records WHERE patient = ? AND digest IN ({_marks(digests)})",
            patient, *digests)}

    def profiles(self, patients: list[str]) -> dict[str, bytes]:
        """patient -> digest of the current encrypted profile, for those of `patients` who have one."""
        return {patient: bytes(digest) for patient, digest in self._query(
            f"SELECT patient, digest FROM profiles WHERE patient IN ({_marks(patients)}) AND digest != ?",
            *patients, bytes(32))}

    def numbered(self, patient: str, first: int, last: int | None) -> list[tuple[bytes, Numbering]]:
        """(digest, numbering) of the patient's entries numbered `first` to `last` (None: the
        newest), in number order."""
        return [(bytes(digest), Numbering(number, origin)) for digest, number, origin in self._query(
            "SELECT digest, number, origin FROM records WHERE patient = ? AND number BETWEEN ? AND ? ORDER BY number",
            patient, first, last if last is not None else 2**63 - 1)]

    def current_records(self, patient: str, limit: int, offset: int = 0) -> list[tuple[bytes, Numbering]]:
        """(digest, numbering) of the current version of `limit` of the patient's records after the
        first `offset`, newest record first (by first version: a re-encryption moves nothing)."""
        return [(bytes(digest), Numbering(number, origin)) for digest, number, origin in self._query(
            "SELECT digest, number, origin FROM records WHERE patient = ? AND replaced_by = 0 "
            "ORDER BY origin DESC LIMIT ? OFFSET ?", patient, limit, offset)]

    def current_record_count(self, patient: str) -> int:
        return self._query("SELECT COUNT(*) FROM records WHERE patient = ? AND replaced_by = 0", patient)[0][0]

    def versions(self, patient: str, digest: bytes) -> list[tuple[bytes, Numbering]]:
        """(digest, numbering) of every version of the record `digest` belongs to, oldest first."""
        return [(bytes(found), Numbering(number, origin)) for found, number, origin in self._query(
            "SELECT digest, number, origin FROM records WHERE patient = ? AND origin = "
            "(SELECT origin FROM records WHERE patient = ? AND digest = ?) ORDER BY number",
            patient, patient, bytes(digest))]

    def events(self, patient: str, names, limit: int | None = None,
               before: tuple[int, int] | None = None) -> list[tuple]:
        """(block, log_index, time, name, actor, details) of the patient's events `names`,
        oldest first: the newest `limit` of those strictly before the position `before`."""
        names = list(names)
        block, log_index = before or (1 << 62, 0)
        rows = self._query(
            f"SELECT block, log_index, time, name, actor, details FROM events WHERE patient = ? "
            f"AND name IN ({_marks(names)}) AND (block < ? OR (block = ? AND log_index < ?)) "
            "ORDER BY block DESC, log_index DESC LIMIT ?",
            patient, *names, block, block, log_index, _rows(limit))
        return [(*row[:5], json.loads(row[5])) for row in reversed(rows)]

    def events_named(self, names, since: int = 0) -> list[tuple]:
        """(block, log_index, time, name, patient, details) of the events `names` at or after the
        second `since`, whoever's, oldest first."""
        names = list(names)
        rows = self._query(f"SELECT block, log_index, time, name, patient, details FROM events "
                           f"WHERE name IN ({_marks(names)}) AND time >= ? ORDER BY block, log_index", *names, since)
        return [(*row[:5], json.loads(row[5])) for row in rows]

    def events_by(self, actor: str, names) -> list[tuple]:
        """(block, log_index, time, name, patient, details) of the events `names` that `actor` (a
        reader, author, doctor or provider) caused, oldest first."""
        names = list(names)
        rows = self._query(f"SELECT block, log_index, time, name, patient, details FROM events WHERE actor = ? "
                           f"AND name IN ({_marks(names)}) ORDER BY block, log_index", actor, *names)
        return [(*row[:5], json.loads(row[5])) for row in rows]
    def recent_events(self, name: str, since: int) -> list[tuple[int, str, dict]]:
        """(time, patient, details) of every `name` event at or after the second `since`, whoever's,
        oldest first."""
        return [(time, patient, json.loads(details)) for time, patient, details in self._query(
            "SELECT time, patient, details FROM events WHERE name = ? AND time >= ? ORDER BY block, log_index",
            name, since)]

    def _query(self, sql: str, *parameters) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, parameters).fetchall()

    def _column(self, sql: str, *parameters) -> list:
        return [row[0] for row in self._query(sql, *parameters)]


def _marks(values: list) -> str:
    """Placeholders for an IN list (an empty list matches nothing)."""
    return ",".join("?" * len(values)) or "NULL"


def _rows(limit: int | None) -> int:
    return -1 if limit is None else limit  # SQLite: a negative LIMIT means none


def _decoders_of(chain) -> dict:
    """The contract's events by the topic of their signature."""
    return {
        bytes(chain.w3.keccak(text=f"{item['name']}({','.join(i['type'] for i in item['inputs'])})")):
            getattr(chain.contract.events, item["name"])()
        for item in chain.contract.abi if item["type"] == "event"
    }
