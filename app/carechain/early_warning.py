"""Early-warning rules for device vital signs: the NEWS2 score, an interpretation code for each
reading, and the FHIR RiskAssessment that carries an alert.

This is decision support, not a diagnosis: it flags readings for a clinician to look at and never
rules anything out. NEWS2 (Royal College of Physicians, National Early Warning Score 2, December
2017) is validated for adults aged 16 and over; it is not for children or pregnant women (use a
paediatric or obstetric score), and its response levels assume trained staff acting on the score.
Device readings may be artefacts (a loose probe, a cuff on a moving arm); a score from them is
only as good as the sensors, and a clinician's concern overrides any score.

Signals NEWS2 does not score are interpreted by the documented thresholds below (glucose,
diastolic pressure, a possible fall); skin conductance, EMG and ECG strips get no interpretation,
as no thresholds hold for them without a per-patient baseline or a clinician reading the strip.

Measurements are first rounded half up to the precision the chart is printed in (whole numbers;
one decimal for temperature), as a nurse charting them would: pulse 90.5 is charted 91 and scores
1; temperature 36.05 °C is charted 36.1 and scores 0.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import IntEnum, StrEnum
from typing import TYPE_CHECKING

from app.carechain.errors import InvalidInput
from app.carechain.records import fhir_datetime, patient_reference

if TYPE_CHECKING:
    from app.carechain.vitals import Reading

INFINITY = float("inf")
INTERPRETATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
INTERPRETATIONS = {"N": "Normal", "L": "Low", "H": "High", "LL": "Critical low", "HH": "Critical high",
                   "A": "Abnormal", "AA": "Critical abnormal"}
SEVERITY = {"N": 0, "L": 1, "H": 1, "A": 1, "LL": 2, "HH": 2, "AA": 2}


class Parameter(StrEnum):
    """The seven NEWS2 parameters, in the chart's order."""

    RESPIRATION_RATE = "respiration_rate"
    SPO2 = "spo2"
    AIR_OR_OXYGEN = "air_or_oxygen"
    SYSTOLIC_BP = "systolic_bp"
    PULSE = "pulse"
    CONSCIOUSNESS = "consciousness"
    TEMPERATURE = "temperature"


class Acvpu(StrEnum):
    """Level of consciousness; anything but ALERT (including new confusion) scores 3."""

    ALERT = "alert"
    CONFUSION = "confusion"
    VOICE = "voice"
    PAIN = "pain"
    UNRESPONSIVE = "unresponsive"


class Level(IntEnum):
    """The clinical response a score calls for, comparable: Level.URGENT <= level means act now."""

    NONE = 0       # aggregate 0
    LOW = 1        # aggregate 1-4
    URGENT = 2     # aggregate 5-6, or a single parameter scoring 3
    EMERGENCY = 3  # aggregate 7 or more


# The response each level calls for (RCP NEWS2 chart, clinical response): (short name, what to do)
RESPONSES = {
    Level.NONE: ("routine monitoring", "at least every 12 hours"),
    Level.LOW: ("ward-based response", "assessment by a registered nurse; monitoring at least every 4-6 hours"),
    Level.URGENT: ("urgent response", "review by a clinician competent in assessing acutely ill patients; "
                                      "monitoring at least hourly"),
    Level.EMERGENCY: ("emergency response", "assessment by a team with critical-care competencies; "
                                            "continuous monitoring"),
}
# http://terminology.hl7.org/CodeSystem/risk-probability has no "low-medium", the chart's risk for a
# single parameter scoring 3: it is reported as moderate, like the response it calls for.
RISK = {Level.NONE: ("low", "Low likelihood"), Level.LOW: ("low", "Low likelihood"),
        Level.URGENT: ("moderate", "Moderate likelihood"), Level.EMERGENCY: ("high", "High likelihood")}

# The chart as (highest charted value of a band, what the band gives), lowest band first.
RESPIRATION_BANDS = ((8, 3), (11, 1), (20, 0), (24, 2), (INFINITY, 3))
SPO2_SCALE_1_BANDS = ((91, 3), (93, 2), (95, 1), (INFINITY, 0))
SPO2_SCALE_2_ON_AIR_BANDS = ((83, 3), (85, 2), (87, 1), (INFINITY, 0))
SPO2_SCALE_2_ON_OXYGEN_BANDS = ((83, 3), (85, 2), (87, 1), (92, 0), (94, 1), (96, 2), (INFINITY, 3))
SYSTOLIC_BANDS = ((90, 3), (100, 2), (110, 1), (219, 0), (INFINITY, 3))
PULSE_BANDS = ((40, 3), (50, 1), (90, 0), (110, 1), (130, 2), (INFINITY, 3))
TEMPERATURE_BANDS = ((35.0, 3), (36.0, 1), (38.0, 0), (39.0, 1), (INFINITY, 2))
OXYGEN_SCORE = 2  # any supplemental oxygen; air scores 0

# Signals NEWS2 does not score, as (highest charted value, interpretation) in the standard unit.
# Glucose, mmol/L to one decimal, for adults with diabetes in hospital: below 4.0 is hypoglycaemia
# and below 3.0 clinically significant hypoglycaemia (JBDS-IP 01, The Hospital Management of
# Hypoglycaemia in Adults with Diabetes Mellitus, 2021: "4 is the floor"; International
# Hypoglycaemia Study Group 2017, level 2); above 11.0 is the JBDS 02 (diabetic ketoacidosis)
# threshold at which to check ketones; above 20 is severe hyperglycaemia (Therapeutic Guidelines,
# Diabetes: "eg more than 20 mmol/L"). Targets are individual; a clinician may set others.
GLUCOSE_BANDS = ((2.9, "LL"), (3.9, "L"), (11.0, "N"), (20.0, "H"), (INFINITY, "HH"))
# Diastolic mmHg: below 60 low (NHS: low blood pressure is below 90/60), 90 or more high (NICE
# NG136: clinic hypertension from 140/90), 120 or more severe hypertension (NICE NG136: 180/120).
DIASTOLIC_BANDS = ((59, "L"), (89, "N"), (119, "H"), (INFINITY, "HH"))
# A possible fall: lying within this many seconds of standing (positions as vitals.POSITIONS keys).
# It cannot tell a fall from lying down quickly on purpose; it asks someone to check.
FALL_SECONDS = 10
LYING = frozenset({"lying", "supine", "prone", "left_lateral", "right_lateral"})

NEWS2_METHOD = ("http://snomed.info/sct", "1104051000000101",
                "Royal College of Physicians NEWS2 (National Early Warning Score 2) total score")
NEWS2_AGGREGATE_EXTENSION = "urn:carechain:news2-aggregate"


@dataclass(frozen=True)
class Score:
    """A NEWS2 score: the aggregate, each parameter's sub-score and charted value, the level."""

    aggregate: int
    subscores: dict[Parameter, int]
    charted: dict[Parameter, Decimal | bool | Acvpu]
    level: Level
    reasons: tuple[str, ...]  # one per parameter that scores, e.g. "respiration rate 26/min scores 3"
    spo2_scale: int

    @property
    def summary(self) -> str:
        """E.g. "NEWS2 3 (a single parameter scores 3): urgent response"."""
        single = " (a single parameter scores 3)" if self.level == Level.URGENT and self.aggregate < 5 else ""
        return f"NEWS2 {self.aggregate}{single}: {RESPONSES[self.level][0]}"


@dataclass(frozen=True)
class Incomplete:
    """No score: NEWS2 needs all seven parameters and these have no reading."""

    missing: tuple[Parameter, ...]

    @property
    def message(self) -> str:
        names = ", ".join(parameter.value.replace("_", " ") for parameter in self.missing)
        return f"NEWS2 needs all seven parameters; no reading of {names}"


def news2(*, respiration_rate, spo2, on_oxygen: bool, systolic_bp, pulse, consciousness, temperature,
          spo2_scale: int = 1) -> Score:
    """Scores one complete set of observations. spo2_scale is the patient's: 2 only for those
    prescribed an 88-92% target (hypercapnic respiratory failure), decided by a clinician."""
    if spo2_scale not in (1, 2):
        raise InvalidInput("the SpO2 scale is 1, or 2 for a prescribed 88-92% target")
    try:
        consciousness = Acvpu(consciousness)
    except ValueError:
        raise InvalidInput(f"consciousness is one of {', '.join(Acvpu)}") from None
    words = "new confusion" if consciousness == Acvpu.CONFUSION else consciousness.value
    rows = {  # parameter: (value as charted, sub-score, how it reads), in the chart's order
        Parameter.RESPIRATION_RATE: _scored("respiration rate", respiration_rate, 0, RESPIRATION_BANDS, "{}/min"),
        Parameter.SPO2: _scored("SpO2", spo2, 0, spo2_bands(spo2_scale, on_oxygen), f"{{}}% (scale {spo2_scale})"),
        Parameter.AIR_OR_OXYGEN: (bool(on_oxygen), OXYGEN_SCORE if on_oxygen else 0, "supplemental oxygen"),
        Parameter.SYSTOLIC_BP: _scored("systolic blood pressure", systolic_bp, 0, SYSTOLIC_BANDS, "{} mmHg"),
        Parameter.PULSE: _scored("pulse", pulse, 0, PULSE_BANDS, "{}/min"),
        Parameter.CONSCIOUSNESS: (consciousness, 0 if consciousness == Acvpu.ALERT else 3, f"consciousness: {words}"),
        Parameter.TEMPERATURE: _scored("temperature", temperature, 1, TEMPERATURE_BANDS, "{} °C"),
    }
    subscores = {parameter: score for parameter, (_, score, _) in rows.items()}
    aggregate = sum(subscores.values())
    if aggregate >= 7:
        level = Level.EMERGENCY
    elif aggregate >= 5 or 3 in subscores.values():
        level = Level.URGENT
    else:
        level = Level.LOW if aggregate else Level.NONE
    return Score(aggregate, subscores, {parameter: charted for parameter, (charted, _, _) in rows.items()}, level,
                 tuple(f"{words} scores {score}" for _, score, words in rows.values() if score), spo2_scale)


def spo2_bands(spo2_scale: int, on_oxygen: bool) -> tuple:
    """Scale 2 scores high saturations only on oxygen: 93% or more on air is on target."""
    if spo2_scale == 1:
        return SPO2_SCALE_1_BANDS
    return SPO2_SCALE_2_ON_OXYGEN_BANDS if on_oxygen else SPO2_SCALE_2_ON_AIR_BANDS


# parameter: (argument of news2, the signals (vitals.SIGNALS keys) measuring it, its value in a reading)
SOURCES = {
    Parameter.RESPIRATION_RATE: ("respiration_rate", ("respiration",), lambda reading: reading.value),
    Parameter.SPO2: ("spo2", ("spo2",), lambda reading: reading.value),
    Parameter.AIR_OR_OXYGEN: ("on_oxygen", ("oxygen_flow",), lambda reading: reading.value > 0),
    Parameter.SYSTOLIC_BP: ("systolic_bp", ("blood_pressure",), lambda reading: reading.value[0]),
    Parameter.PULSE: ("pulse", ("pulse", "ecg_heart_rate"), lambda reading: reading.value),
    Parameter.CONSCIOUSNESS: ("consciousness", ("consciousness",), lambda reading: reading.value),
    Parameter.TEMPERATURE: ("temperature", ("temperature",), lambda reading: reading.value),
}


def score_window(readings: Iterable[Reading], start: int, end: int, spo2_scale: int = 1) -> Score | Incomplete:
    """Scores the latest reading of each parameter measured in [start, end] (seconds). A pulse is
    the latest of "pulse" and "ecg_heart_rate"; air or oxygen comes from "oxygen_flow" (0 L/min is
    air) and is never assumed, since assuming air would hide 2 points."""
    in_window = [reading for reading in readings if start <= reading.measured_at <= end]
    values, missing = {}, []
    for parameter, (argument, signals, value_of) in SOURCES.items():
        found = [reading for reading in in_window if reading.signal in signals]
        if found:
            values[argument] = value_of(max(found, key=lambda reading: reading.measured_at))
        else:
            missing.append(parameter)
    return Incomplete(tuple(missing)) if missing else news2(**values, spo2_scale=spo2_scale)


# signal: (decimals charted, NEWS2 bands) for the signals interpreted as the chart scores them
CHARTED_SIGNALS = {"pulse": (0, PULSE_BANDS), "ecg_heart_rate": (0, PULSE_BANDS),
                   "respiration": (0, RESPIRATION_BANDS), "temperature": (1, TEMPERATURE_BANDS)}


def interpret(reading: Reading, *, spo2_scale: int = 1, on_oxygen: bool = False,
              previous: Reading | None = None) -> str | None:
    """The reading's v3 ObservationInterpretation code (N, L, H, LL, HH, A, AA), or None where no
    rule applies (oxygen flow, a therapy; ECG strip, skin conductance, EMG). NEWS2 parameters
    follow the chart: scoring 3 is critical (LL, HH, AA), 1-2 is L or H by the side of the normal
    band. A blood pressure gives its more severe part; a position is A (a possible fall) when
    lying within FALL_SECONDS of `previous`, a standing position."""
    signal, value = reading.signal, reading.value
    if signal in CHARTED_SIGNALS:
        decimals, bands = CHARTED_SIGNALS[signal]
        return _chart_interpretation(bands, _charted(value, decimals, signal))
    if signal == "spo2":
        return _chart_interpretation(spo2_bands(spo2_scale, on_oxygen), _charted(value, 0, signal))
    if signal == "blood_pressure":
        return max(blood_pressure_interpretations(*value), key=SEVERITY.get)
    if signal == "glucose":
        return _band(GLUCOSE_BANDS, _charted(reading.standard_value, 1, signal))
    if signal == "consciousness":
        return "N" if value == Acvpu.ALERT else "AA"
    if signal == "position" and previous is not None and previous.value == "standing" and value in LYING:
        return "A" if 0 <= reading.measured_at - previous.measured_at <= FALL_SECONDS else None
    return None


def blood_pressure_interpretations(systolic, diastolic) -> tuple[str, str]:
    """(systolic, diastolic): the systolic by the NEWS2 chart, the diastolic by DIASTOLIC_BANDS."""
    return (_chart_interpretation(SYSTOLIC_BANDS, _charted(systolic, 0, "systolic")),
            _band(DIASTOLIC_BANDS, _charted(diastolic, 0, "diastolic")))


def risk_assessment(patient: str, score: Score, assessed_at: int, basis: Iterable[str] = ()) -> dict:
    """The alert as a FHIR R4 RiskAssessment: NEWS2 as the method, the level as qualitativeRisk,
    the aggregate in the rationale (and, for machines, the urn:carechain:news2-aggregate
    extension), the response to take as mitigation, the reasons as notes, and `basis` the
    references (e.g. Bundle fullUrls "urn:uuid:...") of the observations scored."""
    system, code, display = NEWS2_METHOD
    risk, risk_display = RISK[score.level]
    return {
        "resourceType": "RiskAssessment",
        "extension": [{"url": NEWS2_AGGREGATE_EXTENSION, "valueInteger": score.aggregate}],
        "status": "final",
        "method": {"coding": [{"system": system, "code": code, "display": display}], "text": "NEWS2"},
        "subject": patient_reference(patient),
        "occurrenceDateTime": fhir_datetime(assessed_at),
        **({"basis": [{"reference": reference} for reference in basis]} if basis else {}),
        "prediction": [{
            "outcome": {"text": "Clinical deterioration"},
            "qualitativeRisk": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/risk-probability",
                                            "code": risk, "display": risk_display}]},
            "rationale": score.summary,
        }],
        "mitigation": ": ".join(RESPONSES[score.level]),
        "note": [{"text": reason} for reason in score.reasons or ("every parameter scores 0",)]
                + [{"text": "Decision support from device readings, not a diagnosis."}],
    }


def alert_level(risk: dict) -> tuple[str, str]:
    """("urgent" or "emergency", the rationale) of a RiskAssessment `risk_assessment` built: its
    qualitative risk is high for an emergency response only."""
    prediction = risk.get("prediction", [{}])[0]
    codes = [coding.get("code") for coding in prediction.get("qualitativeRisk", {}).get("coding", [])]
    return "emergency" if "high" in codes else "urgent", prediction.get("rationale", "")


def _scored(name: str, value, decimals: int, bands: tuple, unit_format: str) -> tuple[Decimal, int, str]:
    charted = _charted(value, decimals, name)
    return charted, _band(bands, charted), f"{name} {unit_format.format(charted)}"


def _charted(value, decimals: int, name: str) -> Decimal:
    """The value as charted: rounded half up to `decimals` (Decimal of its text, so 36.05 is 36.05)."""
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise InvalidInput(f"{str(name).replace('_', ' ')} must be a number") from None
    if isinstance(value, bool) or not number.is_finite():
        raise InvalidInput(f"{str(name).replace('_', ' ')} must be a number")
    return number.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def _band(bands: tuple, charted: Decimal):
    """What the band holding `charted` gives; edges compared as written (2.9, not the float's 2.8999...)."""
    return next(given for highest, given in bands if charted <= Decimal(str(highest)))


def _chart_interpretation(bands: tuple, charted: Decimal) -> str:
    """N for a 0; below the 0 band L (LL for a 3); above it H (HH for a 3)."""
    score = _band(bands, charted)
    if score == 0:
        return "N"
    low = charted <= Decimal(str(next(highest for highest, given in bands if given == 0)))
    return ("L" if low else "H") * (2 if score == 3 else 1)
