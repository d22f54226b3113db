"""A patient's vital signs over a period, for the charts: every reading of the period's vitals
records (device windows, readings typed in by hand) as series against their normal band, and the
alerts raised meanwhile. Opening them is one batch of access checks and, for a provider, one
transaction logging every record read.
"""

import time
from dataclasses import dataclass

from eth_account.signers.local import LocalAccount

from app.carechain import early_warning, vitals
from app.carechain.model import checksum
from app.carechain.records import Category
from app.carechain.vitals import parse_time

MAX_HOURS = 7 * 24
# Charted signals: key -> (label, unit shown, normal band, what to chart). The bands are where
# NEWS2 scores 0 (SpO2 on scale 1) and, for glucose and diastolic pressure, early_warning's
# documented thresholds.
CHARTS = {
    "pulse": ("Pulse", "/min", (51, 90)),
    "spo2": ("SpO2", "%", (96, 100)),
    "respiration": ("Respiration", "/min", (12, 20)),
    "temperature": ("Temperature", "°C", (36.1, 38.0)),
    "blood_pressure": ("Blood pressure", "mmHg", (111, 219)),
    "glucose": ("Glucose", "mmol/L", (4.0, 11.0)),
    "oxygen_flow": ("Oxygen", "L/min", None),
    "gsr": ("Skin conductance", "µS", None),
    "emg": ("EMG", "µV", None),
}
DIASTOLIC_BAND = (60, 89)
SIGNAL_OF_CODE = {signal.name: key for key, signal in vitals.SIGNALS.items()}
CHARTED_AS = {"ecg_heart_rate": "pulse"}  # a heart rate from the ECG joins the pulse


@dataclass(frozen=True)
class Reading:
    """One reading as the table shows it."""

    at: int
    signal: str
    label: str
    text: str  # value and unit, or the answer
    interpretation: str | None  # H, L, HH, LL, A, AA, N


@dataclass(frozen=True)
class VitalsHistory:
    patient: str
    since: int
    until: int
    charts: list[dict]  # the vitals_charts macro's format (app/static/vitals_charts.js)
    latest: list[Reading]  # the latest reading of each signal
    alerts: list[tuple[int, str, str]]  # (second, level, summary)
    records: int  # how many records were opened


class VitalsHistoryFlows:
    """Flows of `CareChain` (see flows.py)."""

    def vitals_history(self, reader: LocalAccount, patient: str, hours: int = 24) -> VitalsHistory:
        """The patient's vitals of the last `hours` (1 to a week), opened as `reader`."""
        patient = checksum(patient)
        hours = min(max(int(hours), 1), MAX_HOURS)
        until = int(time.time())  # readings carry the devices' clocks, not the chain's
        since = until - hours * 3600
        entries = self._vitals_entries(patient, since - self.settings.vitals_window)
        opened = self.read_records(reader, patient, [entry.digest for entry in entries]) if entries else []
        readings, alerts = [], []
        for record in opened:
            resources = [entry["resource"] for entry in record.record.resource.get("entry", [])] \
                if record.record.resource_type == "Bundle" else [record.record.resource]
            for resource in resources:
                if resource.get("resourceType") == "RiskAssessment":
                    alerts.append(_alert(resource))
                elif resource.get("resourceType") == "Observation":
                    readings += _readings(resource)
        readings = sorted((r for r in readings if since <= r[0] <= until), key=lambda r: (r[0], r[1]))
        alerts = sorted((a for a in alerts if since <= a[0] <= until), key=lambda a: a[0])
        return VitalsHistory(patient, since, until, _charts(readings, alerts), _latest(readings), alerts, len(opened))

    def _vitals_entries(self, patient: str, since: int) -> list:
        """The patient's current vitals entries added since `since`, walking the index back from
        the newest a page at a time."""
        found, last = [], self.participant(patient).record_count
        while last >= 1:
            first = max(1, last - 99)
            page = self.records(patient, first, last - first + 1)
            found += [entry for entry in page if entry.category == Category.VITALS and entry.superseded_by == 0
                      and not entry.disputed and entry.added_at >= since]
            if page[0].added_at < since:
                break
            last = first - 1
        return found


def _readings(observation: dict) -> list[tuple]:
    """(second, signal, value, unit, interpretation) of an Observation; a blood pressure gives one
    row holding (systolic, diastolic)."""
    signal = SIGNAL_OF_CODE.get(observation.get("code", {}).get("text"))
    if signal is None:
        return []
    at = parse_time(observation.get("effectiveDateTime"), "effectiveDateTime")
    interpretation = _code(observation.get("interpretation"))
    if "component" in observation:
        values = tuple(part.get("valueQuantity", {}).get("value") for part in observation["component"])
        return [(at, signal, values, "mmHg", interpretation or _worst(observation["component"]))]
    if "valueQuantity" in observation:
        quantity = observation["valueQuantity"]
        value = quantity.get("value")
        if quantity.get("code") == "mg/dL":
            value = round(value / vitals.GLUCOSE_MG_PER_MMOL, 1)
        return [(at, signal, value, "mmol/L" if signal == "glucose" else quantity.get("unit", ""), interpretation)]
    if "valueCodeableConcept" in observation:
        return [(at, signal, observation["valueCodeableConcept"].get("coding", [{}])[0].get("display", ""), "",
                 interpretation)]
    return []  # an ECG strip: shown with its record, not charted


def _charts(readings: list[tuple], alerts: list[tuple]) -> list[dict]:
    markers = [[at, level, summary] for at, level, summary in alerts]
    charts = []
    for key, (label, unit, band) in CHARTS.items():
        rows = [r for r in readings if CHARTED_AS.get(r[1], r[1]) == key]
        if not rows and key not in ("pulse", "spo2", "respiration", "temperature", "blood_pressure"):
            continue  # a signal nobody measured is left out, except NEWS2's own
        chart = {"key": key, "label": label, "unit": unit, "band": list(band) if band else None, "alerts": markers}
        if key == "blood_pressure":
            chart.update(points=[[at, value[0]] for at, _, value, _, _ in rows], line="Systolic",
                         series={"label": "Diastolic", "points": [[at, value[1]] for at, _, value, _, _ in rows],
                                 "band": list(DIASTOLIC_BAND)})
        else:
            chart["points"] = [[at, value] for at, _, value, _, _ in rows]
        charts.append(chart)
    return charts


def _latest(readings: list[tuple]) -> list[Reading]:
    latest = {}
    for at, signal, value, unit, interpretation in readings:
        latest[signal] = (at, signal, value, unit, interpretation)
    return [Reading(at, signal, vitals.SIGNALS[signal].name, _text(value, unit), interpretation)
            for at, signal, value, unit, interpretation in sorted(latest.values(), key=lambda r: r[1])]


def _text(value, unit: str) -> str:
    if isinstance(value, tuple):
        return f"{value[0]:g}/{value[1]:g} {unit}"
    if isinstance(value, (int, float)):
        return f"{value:g} {unit}".strip()
    return str(value)


def _alert(resource: dict) -> tuple[int, str, str]:
    level, rationale = early_warning.alert_level(resource)
    return parse_time(resource.get("occurrenceDateTime"), "occurrenceDateTime"), level, rationale or "alert"


def _code(interpretation) -> str | None:
    codes = [coding.get("code") for concept in interpretation or [] for coding in concept.get("coding", [])]
    return codes[0] if codes else None


def _worst(components: list) -> str | None:
    codes = [code for part in components if (code := _code(part.get("interpretation")))]
    return max(codes, key=lambda code: early_warning.SEVERITY.get(code, 0)) if codes else None
