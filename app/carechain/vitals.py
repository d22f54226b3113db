"""Vital signs: the signals a device (or a person typing) may report, how a reading is checked,
and the FHIR R4 resources built from readings: a vital-signs Observation per reading, and a
collection Bundle per time window.

A device sends each reading as a JSON object:

    {"code": "pulse", "value": 72, "unit": "/min", "measured_at": "2025-03-01T10:00:00Z"}

`code` is a key of SIGNALS; `unit` the UCUM code, one the signal accepts; `measured_at` ISO 8601
with a time zone, or Unix seconds. A blood pressure gives both parts in one reading,
{"value": {"systolic": 120, "diastolic": 80}, "unit": "mm[Hg]"}; position and consciousness give
an answer key as value and no unit; an ECG strip gives its samples in mV as a list (or
space-separated text) and "period_ms", the sampling period. A respiration rate counted from an
airflow (nasal thermistor) sensor is sent as "respiration": the device counts the breaths; raw
airflow waveforms are not accepted. Skin conductance and EMG have no LOINC code: they are coded in
the local system urn:carechain:signal, so other systems will not recognise them.

Every Observation is in the vital-signs category (so the whole window is filed under Vitals),
though the HL7 vital-signs profile defines only the core signs among them.
"""

import math
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from app.carechain import early_warning
from app.carechain.errors import InvalidInput
from app.carechain.records import WINDOW_EXTENSION, Record, canonical_json, fhir_datetime, patient_reference

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
MDC = "urn:iso:std:iso:11073:10101"
LOCAL = "urn:carechain:signal"
UCUM = "http://unitsofmeasure.org"
VITAL_SIGNS_CATEGORY = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                    "code": "vital-signs", "display": "Vital Signs"}]}
GLUCOSE_MG_PER_MMOL = 18.0156  # glucose, 180.156 g/mol

MAX_FUTURE_SECONDS = 5 * 60  # a device clock this far ahead is wrong
MAX_AGE_SECONDS = 24 * 3600  # older readings are stale for alerting; send them sooner
MAX_ECG_SAMPLES = 5000  # 10 s at 500 Hz
ECG_PERIOD_MS = (1, 20)  # 1000 Hz to 50 Hz

# Why a reading was refused (InvalidReading.reason), for counting refusals by kind.
REFUSAL_REASONS = ("malformed", "unknown_code", "bad_time", "clock_off", "not_a_number", "wrong_unit",
                   "impossible_value", "too_long")


class InvalidReading(InvalidInput):
    """A refused reading: the message for people, `reason` (one of REFUSAL_REASONS) for counters."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Unit:
    display: str  # valueQuantity.unit
    per_standard: float = 1  # this unit's measure of one of the signal's standard (first) unit
    coding: tuple = ()  # (system, code, display) where the code depends on the unit, as LOINC's do


@dataclass(frozen=True)
class Signal:
    name: str  # the code's text, and how messages name it
    codings: tuple  # (system, code, display), each added to the Observation's code
    units: dict  # UCUM code: Unit, the standard unit first; empty for answers
    possible: tuple = ()  # (lowest, highest) physically possible, in the standard unit
    answers: dict = field(default_factory=dict)  # answer key: (system, code, display)


BLOOD_PRESSURE_PARTS = {  # part: (LOINC code, display, possible range in mmHg)
    "systolic": ("8480-6", "Systolic blood pressure", (20, 350)),
    "diastolic": ("8462-4", "Diastolic blood pressure", (10, 250)),
}
# ACVPU as answers of LOINC 67775-7; its answer list is AVPU, so new confusion takes the GCS
# verbal answer "Confused". Send "confusion" only for confusion that is new.
CONSCIOUSNESS = {
    early_warning.Acvpu.ALERT: (LOINC, "LA9340-6", "Alert"),
    early_warning.Acvpu.CONFUSION: (LOINC, "LA6560-2", "Confused"),
    early_warning.Acvpu.VOICE: (LOINC, "LA17108-4", "Verbal"),
    early_warning.Acvpu.PAIN: (LOINC, "LA17107-6", "Painful"),
    early_warning.Acvpu.UNRESPONSIVE: (LOINC, "LA9343-0", "Unresponsive"),
}
POSITIONS = {
    "standing": (SNOMED, "10904000", "Orthostatic body position"),
    "sitting": (SNOMED, "33586001", "Sitting position"),
    "lying": (SNOMED, "102538003", "Recumbent body position"),
    "supine": (SNOMED, "40199007", "Supine body position"),
    "prone": (SNOMED, "1240000", "Prone body position"),
    "left_lateral": (SNOMED, "102536004", "Left lateral decubitus position"),
    "right_lateral": (SNOMED, "102535000", "Right lateral decubitus position"),
}
PER_MINUTE = {"/min": Unit("beats/minute")}
SIGNALS = {
    "pulse": Signal("Heart rate", ((LOINC, "8867-4", "Heart rate"),), PER_MINUTE, (0, 350)),
    "ecg_heart_rate": Signal("Heart rate by ECG", ((LOINC, "8867-4", "Heart rate"),
                                                   (LOINC, "76282-3", "Heart rate.beat-to-beat by EKG")),
                             PER_MINUTE, (0, 350)),
    "spo2": Signal("Oxygen saturation", ((LOINC, "2708-6", "Oxygen saturation in Arterial blood"),
                                         (LOINC, "59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry")),
                   {"%": Unit("%")}, (0, 100)),
    "respiration": Signal("Respiratory rate", ((LOINC, "9279-1", "Respiratory rate"),),
                          {"/min": Unit("breaths/minute")}, (0, 100)),
    "temperature": Signal("Body temperature", ((LOINC, "8310-5", "Body temperature"),), {"Cel": Unit("°C")},
                          (20, 45)),
    "blood_pressure": Signal("Blood pressure panel",
                             ((LOINC, "85354-9", "Blood pressure panel with all children optional"),),
                             {"mm[Hg]": Unit("mmHg")}),
    "glucose": Signal("Glucose", (), {
        "mmol/L": Unit("mmol/L", 1, (LOINC, "15074-8", "Glucose [Moles/volume] in Blood")),
        "mg/dL": Unit("mg/dL", GLUCOSE_MG_PER_MMOL, (LOINC, "2339-0", "Glucose [Mass/volume] in Blood")),
    }, (0.5, 100)),
    "oxygen_flow": Signal("Inhaled oxygen flow rate", ((LOINC, "3151-8", "Inhaled oxygen flow rate"),),
                          {"L/min": Unit("L/min")}, (0, 70)),  # 0 is breathing air
    "consciousness": Signal("Level of consciousness (ACVPU)", ((LOINC, "67775-7", "Level of responsiveness"),), {},
                            answers=CONSCIOUSNESS),
    "position": Signal("Body position", ((LOINC, "8361-8", "Body position with respect to gravity"),), {},
                       answers=POSITIONS),
    # one lead, which the device does not name: LOINC's ECG study and MDC's unspecified-lead potential
    "ecg": Signal("ECG strip", ((LOINC, "11524-6", "EKG study"), (MDC, "131328", "MDC_ECG_ELEC_POTL")),
                  {"mV": Unit("mV")}, (-10, 10)),
    "gsr": Signal("Skin conductance (galvanic skin response)", ((LOCAL, "gsr", "Galvanic skin response"),),
                  {"uS": Unit("µS")}, (0, 100)),
    "emg": Signal("Surface EMG amplitude", ((LOCAL, "emg", "Surface electromyography amplitude"),),
                  {"uV": Unit("µV"), "mV": Unit("mV", 0.001)}, (0, 10000)),
}


@dataclass(frozen=True)
class Reading:
    """A checked reading. value: a number in `unit`; (systolic, diastolic) for blood_pressure; the
    answer key for consciousness and position; the samples for ecg (period_ms apart)."""

    signal: str
    value: float | str | tuple
    unit: str
    measured_at: int
    period_ms: float | None = None

    @property
    def standard_value(self) -> float:
        """The number in the signal's standard unit (glucose in mmol/L, EMG in µV)."""
        return self.value / SIGNALS[self.signal].units[self.unit].per_standard


def validate_reading(raw: dict, now: int) -> Reading:
    """Checks one device reading (other keys than those above are ignored, as is a unit given for
    an answer) against `now` (Unix seconds); raises InvalidReading naming the first problem found."""
    if not isinstance(raw, dict):
        raise InvalidReading("a reading is a JSON object with code, value, unit and measured_at", "malformed")
    code = raw.get("code")
    if not isinstance(code, str) or code not in SIGNALS:
        raise InvalidReading(f"unknown signal code {code!r}; use one of {', '.join(SIGNALS)}", "unknown_code")
    measured_at = parse_time(raw.get("measured_at"), "measured_at")
    if measured_at > now + MAX_FUTURE_SECONDS:
        raise InvalidReading(f"measured_at is {(measured_at - now) // 60} minutes in the future: check the device's "
                             "clock", "clock_off")
    if measured_at < now - MAX_AGE_SECONDS:
        raise InvalidReading(f"measured_at is more than {MAX_AGE_SECONDS // 3600} hours ago: check the device's "
                             "clock, or send readings sooner", "clock_off")
    return _reading(code, raw.get("value"), raw.get("unit"), measured_at, raw.get("period_ms"))


def parse_time(value, name: str) -> int:
    """Unix seconds from Unix seconds or ISO 8601 text with a time zone."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return int(value)
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise InvalidReading(f"{name} {value!r} is not a time: give ISO 8601 with a time zone "
                             "(2025-03-01T10:00:00Z) or Unix seconds", "bad_time") from None
    if moment.tzinfo is None:
        raise InvalidReading(f"{name} {value!r} has no time zone: add one, e.g. Z for UTC", "bad_time")
    return int(moment.timestamp())


def _reading(code: str, value, unit, measured_at: int, period_ms=None) -> Reading:
    signal = SIGNALS[code]
    if signal.answers:
        if not isinstance(value, str) or value not in signal.answers:
            raise InvalidReading(f"{signal.name} {value!r} is not one of {', '.join(signal.answers)}",
                                 "impossible_value")
        return Reading(code, str(value), "", measured_at)
    _check_unit(signal, unit)
    if code == "blood_pressure":
        return Reading(code, _blood_pressure(value), unit, measured_at)
    if code == "ecg":
        return _ecg_strip(signal, value, unit, measured_at, period_ms)
    number = _number(value, signal.name)
    _check_possible(signal.name, number, signal.possible, signal.units[unit])
    return Reading(code, number, unit, measured_at)


def _blood_pressure(value) -> tuple[float, float]:
    if not isinstance(value, dict) or set(value) != set(BLOOD_PRESSURE_PARTS):
        raise InvalidReading('a blood pressure value is {"systolic": ..., "diastolic": ...}', "malformed")
    for part, (_, name, possible) in BLOOD_PRESSURE_PARTS.items():
        _check_possible(name, _number(value[part], name), possible, SIGNALS["blood_pressure"].units["mm[Hg]"])
    systolic, diastolic = (_number(value[part], part) for part in BLOOD_PRESSURE_PARTS)
    if systolic <= diastolic:
        raise InvalidReading("the systolic pressure must be higher than the diastolic pressure", "impossible_value")
    return systolic, diastolic


def _ecg_strip(signal: Signal, value, unit: str, measured_at: int, period_ms) -> Reading:
    samples = value.split() if isinstance(value, str) else value
    if not isinstance(samples, list) or not samples:
        raise InvalidReading("ECG samples are a list of numbers or space-separated text", "malformed")
    if len(samples) > MAX_ECG_SAMPLES:
        raise InvalidReading(f"an ECG strip holds at most {MAX_ECG_SAMPLES} samples, not {len(samples)}",
                             "too_long")
    try:
        samples = tuple(_sample(sample) for sample in samples)
    except (TypeError, ValueError):
        raise InvalidReading("ECG samples must all be numbers", "malformed") from None
    low, high = signal.possible
    if not (low <= min(samples) and max(samples) <= high):
        raise InvalidReading(f"ECG samples lie between {low} and {high} mV; others are not a heart's",
                             "impossible_value")
    low, high = ECG_PERIOD_MS
    if isinstance(period_ms, bool) or not isinstance(period_ms, (int, float)) or not low <= period_ms <= high:
        raise InvalidReading(f"an ECG strip needs period_ms, the sampling period, from {low} to {high} ms",
                             "malformed")
    return Reading("ecg", samples, unit, measured_at, float(period_ms))


def _sample(sample) -> float:
    if isinstance(sample, bool) or not math.isfinite(number := float(sample)):
        raise ValueError(sample)
    return number


def _number(value, name: str) -> float:
    """A JSON number (not text, a boolean, NaN or infinite), kept to the two decimals the Observation
    stores, so that the rules judge what the record shows."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidReading(f"{name} must be a number", "not_a_number")
    return round(float(value), 2)


def _check_unit(signal: Signal, unit) -> None:
    if not isinstance(unit, str) or unit not in signal.units:
        accepted = " or ".join(repr(code) for code in signal.units)
        raise InvalidReading(f"{signal.name} is given in UCUM unit {accepted}, not {unit!r}", "wrong_unit")


def _check_possible(name: str, value: float, possible: tuple, unit: Unit) -> None:
    low, high = (limit * unit.per_standard for limit in possible)
    if not low <= value <= high:
        raise InvalidReading(f"{name} of {value:g} {unit.display} is outside the plausible range "
                             f"{low:.4g}–{high:.4g} {unit.display}", "impossible_value")


def observation(patient: str, reading: Reading, device: str | None = None, *, spo2_scale: int = 1,
                on_oxygen: bool = False, previous: Reading | None = None) -> dict:
    """A FHIR R4 vital-signs Observation of the reading, by `device` (an address) if given, with the
    interpretation of early_warning.interpret: give the patient's SpO2 scale, whether they are on
    oxygen, and (for a position) the previous position reading when known."""
    signal = SIGNALS[reading.signal]
    unit = signal.units.get(reading.unit)
    codings = signal.codings + ((unit.coding,) if unit and unit.coding else ())
    resource = {
        "resourceType": "Observation",
        "status": "final",
        "category": [VITAL_SIGNS_CATEGORY],
        "code": _concept(codings, signal.name),
        "subject": patient_reference(patient),
        "effectiveDateTime": fhir_datetime(reading.measured_at),
        **({"device": {"reference": f"Device/{device}"}} if device else {}),
    }
    if signal.answers:
        resource["valueCodeableConcept"] = _concept((signal.answers[reading.value],))
    elif reading.signal == "blood_pressure":
        interpretations = early_warning.blood_pressure_interpretations(*reading.value)
        resource["component"] = [
            {"code": _concept(((LOINC, code, name),)), "valueQuantity": _quantity(value, reading.unit, unit),
             "interpretation": [_interpretation(interpretation)]}
            for value, interpretation, (code, name, _) in zip(reading.value, interpretations,
                                                              BLOOD_PRESSURE_PARTS.values())
        ]
    elif reading.signal == "ecg":
        resource["valueSampledData"] = {
            "origin": _quantity(0, reading.unit, unit), "period": reading.period_ms, "dimensions": 1,
            "data": " ".join(f"{round(sample, 3) + 0.0:g}" for sample in reading.value),  # µV precision
        }
    else:
        resource["valueQuantity"] = _quantity(reading.value, reading.unit, unit)
    interpretation = early_warning.interpret(reading, spo2_scale=spo2_scale, on_oxygen=on_oxygen, previous=previous)
    if interpretation:
        resource["interpretation"] = [_interpretation(interpretation)]
    return resource


def observations_of(patient: str, device: str | None, readings: list, spo2_scale: int = 1) -> list[dict]:
    """Observations of readings in time order, each interpreted on the patient's SpO2 scale, with
    the oxygen the patient was on then and, for a position, the position before (a fall)."""
    observations, on_oxygen, previous_position = [], False, None
    for reading in readings:
        if reading.signal == "oxygen_flow":
            on_oxygen = reading.value > 0
        observations.append(observation(patient, reading, device, spo2_scale=spo2_scale, on_oxygen=on_oxygen,
                                        previous=previous_position))
        if reading.signal == "position":
            previous_position = reading
    return observations


def full_url(resource: dict) -> str:
    """A Bundle entry's fullUrl, derived from the content: the same resource, the same urn:uuid."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'urn:carechain:' + canonical_json(resource).decode())}"


def window_bundle(patient: str, observations, start: int, end: int, alert: dict | None = None) -> dict:
    """One time window [start, end] (seconds) of a patient's Observations as a FHIR R4 collection
    Bundle, in time order, an identical Observation once; `alert` (a RiskAssessment) last. The
    Bundle's timestamp is the window's end; its meta carries the window as a urn:carechain:window
    extension (valuePeriod), as a Bundle has no extensions of its own."""
    if end < start:
        raise InvalidInput("a window ends after it starts")
    entries = {}
    for resource in observations:
        if resource.get("resourceType") != "Observation" or resource.get("subject") != patient_reference(patient):
            raise InvalidInput("a window holds Observations of its patient only")
        if not start <= parse_time(resource.get("effectiveDateTime"), "effectiveDateTime") <= end:
            raise InvalidInput(f"an Observation at {resource['effectiveDateTime']} is outside the window "
                               f"{fhir_datetime(start)} to {fhir_datetime(end)}")
        entries[full_url(resource)] = resource
    ordered = sorted(entries.items(), key=lambda entry: (entry[1]["effectiveDateTime"], entry[0]))
    if alert is not None:
        ordered.append((full_url(alert), alert))
    return {
        "resourceType": "Bundle",
        "meta": {"extension": [{"url": WINDOW_EXTENSION,
                                "valuePeriod": {"start": fhir_datetime(start), "end": fhir_datetime(end)}}]},
        "type": "collection",
        "timestamp": fhir_datetime(end),
        "entry": [{"fullUrl": url, "resource": resource} for url, resource in ordered],
    }


# What the web form offers, in the units it names.
MANUAL_UNITS = {"pulse": "/min", "spo2": "%", "temperature": "Cel", "glucose": "mg/dL", "blood_pressure": "mm[Hg]"}


def vital_sign(patient: str, kind: str, value, measured_at: int | None = None) -> Record:
    """A vital sign typed in by hand: kind is pulse, spo2, temperature, glucose (mg/dL), or
    blood_pressure with value (systolic, diastolic) in mmHg; numbers may be given as text."""
    if kind not in MANUAL_UNITS:
        raise InvalidInput(f"unknown vital sign {kind!r}; use one of {', '.join(MANUAL_UNITS)}")
    if kind == "blood_pressure":
        try:
            systolic, diastolic = value
        except (TypeError, ValueError):
            raise InvalidInput("blood pressure needs a systolic and a diastolic value") from None
        value = {"systolic": _typed(systolic, "Systolic blood pressure"),
                 "diastolic": _typed(diastolic, "Diastolic blood pressure")}
    else:
        value = _typed(value, SIGNALS[kind].name)
    measured_at = int(time.time()) if measured_at is None else measured_at
    reading = _reading(kind, value, MANUAL_UNITS[kind], measured_at)
    return Record.from_fhir(observation(patient, reading), created_at=measured_at)


def _typed(text, name: str) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        raise InvalidInput(f"{name} must be a number") from None


def _concept(codings, text: str | None = None) -> dict:
    concept = {"coding": [{"system": system, "code": code, "display": display} for system, code, display in codings]}
    return {**concept, "text": text} if text else concept


def _quantity(value: float, unit_code: str, unit: Unit) -> dict:
    return {"value": value, "unit": unit.display, "system": UCUM, "code": unit_code}


def _interpretation(code: str) -> dict:
    return _concept(((early_warning.INTERPRETATION_SYSTEM, code, early_warning.INTERPRETATIONS[code]),))
