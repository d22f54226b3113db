"""NEWS2 scoring against the published chart (both sides of every band edge), the response levels,
the score of a time window, the interpretation codes of every rule, and the alert RiskAssessment."""

import pytest
from fhir.resources.R4B.riskassessment import RiskAssessment

from app.carechain import early_warning as ew
from app.carechain.early_warning import Acvpu, Level, Parameter
from app.carechain.errors import InvalidInput
from app.carechain.records import Category, Record
from app.carechain.vitals import POSITIONS, SIGNALS, Reading

PATIENT = "0x0C2dA0Af9e5eBaD6d7b6801904E8f45E095D7f9B"
NOW = 1_740_823_200  # 2025-03-01T10:00:00Z
NORMAL = dict(respiration_rate=16, spo2=97, on_oxygen=False, systolic_bp=120, pulse=70,
              consciousness="alert", temperature=37.0)


def score(**changes):
    return ew.news2(**{**NORMAL, **changes})


def subscore(parameter, value, **context):
    return score(**{parameter.value: value}, **context).subscores[parameter]


@pytest.mark.parametrize("value, expected", [
    (0, 3), (8, 3), (9, 1), (11, 1), (12, 0), (20, 0), (21, 2), (24, 2), (25, 3), (60, 3)])
def test_respiration_rate_bands(value, expected):
    assert subscore(Parameter.RESPIRATION_RATE, value) == expected


@pytest.mark.parametrize("value, expected", [
    (70, 3), (91, 3), (92, 2), (93, 2), (94, 1), (95, 1), (96, 0), (100, 0)])
@pytest.mark.parametrize("on_oxygen", [False, True])
def test_spo2_scale_1_bands_ignore_oxygen(value, expected, on_oxygen):
    assert subscore(Parameter.SPO2, value, on_oxygen=on_oxygen) == expected


@pytest.mark.parametrize("value, on_air, on_oxygen", [
    (70, 3, 3), (83, 3, 3), (84, 2, 2), (85, 2, 2), (86, 1, 1), (87, 1, 1), (88, 0, 0), (92, 0, 0),
    (93, 0, 1), (94, 0, 1), (95, 0, 2), (96, 0, 2), (97, 0, 3), (100, 0, 3)])
def test_spo2_scale_2_bands_score_high_saturations_on_oxygen_only(value, on_air, on_oxygen):
    assert subscore(Parameter.SPO2, value, spo2_scale=2, on_oxygen=False) == on_air
    assert subscore(Parameter.SPO2, value, spo2_scale=2, on_oxygen=True) == on_oxygen


def test_supplemental_oxygen_scores_2_and_air_0():
    assert score(on_oxygen=True).subscores[Parameter.AIR_OR_OXYGEN] == 2
    assert score(on_oxygen=False).subscores[Parameter.AIR_OR_OXYGEN] == 0


@pytest.mark.parametrize("value, expected", [
    (50, 3), (90, 3), (91, 2), (100, 2), (101, 1), (110, 1), (111, 0), (219, 0), (220, 3), (260, 3)])
def test_systolic_blood_pressure_bands(value, expected):
    assert subscore(Parameter.SYSTOLIC_BP, value) == expected


@pytest.mark.parametrize("value, expected", [
    (20, 3), (40, 3), (41, 1), (50, 1), (51, 0), (90, 0), (91, 1), (110, 1), (111, 2), (130, 2), (131, 3), (200, 3)])
def test_pulse_bands(value, expected):
    assert subscore(Parameter.PULSE, value) == expected


@pytest.mark.parametrize("value, expected", [
    (alertness, 0 if alertness == Acvpu.ALERT else 3) for alertness in Acvpu])
def test_consciousness_scores_3_unless_alert(value, expected):
    assert subscore(Parameter.CONSCIOUSNESS, value.value) == expected


@pytest.mark.parametrize("value, expected", [
    (33.0, 3), (35.0, 3), (35.1, 1), (36.0, 1), (36.1, 0), (38.0, 0), (38.1, 1), (39.0, 1), (39.1, 2), (41.0, 2)])
def test_temperature_bands(value, expected):
    assert subscore(Parameter.TEMPERATURE, value) == expected


@pytest.mark.parametrize("parameter, value, charted, expected", [
    (Parameter.PULSE, 90.5, "91", 1),
    (Parameter.PULSE, 90.49, "90", 0),
    (Parameter.PULSE, 40.5, "41", 1),
    (Parameter.TEMPERATURE, 36.05, "36.1", 0),  # although the float 36.05 is 36.0499...
    (Parameter.TEMPERATURE, 36.04, "36.0", 1),
    (Parameter.TEMPERATURE, 35.05, "35.1", 1),
    (Parameter.TEMPERATURE, 38.05, "38.1", 1),
    (Parameter.RESPIRATION_RATE, 20.5, "21", 2),
    (Parameter.SPO2, 95.5, "96", 0),
    (Parameter.SPO2, 91.4, "91", 3),
    (Parameter.SYSTOLIC_BP, 110.5, "111", 0),
])
def test_values_between_bands_are_rounded_half_up_to_the_chart_first(parameter, value, charted, expected):
    result = score(**{parameter.value: value})
    assert (str(result.charted[parameter]), result.subscores[parameter]) == (charted, expected)


@pytest.mark.parametrize("changes, aggregate, level", [
    ({}, 0, Level.NONE),
    ({"pulse": 95}, 1, Level.LOW),
    ({"respiration_rate": 22, "pulse": 95, "temperature": 38.5}, 4, Level.LOW),
    ({"respiration_rate": 22, "pulse": 115, "temperature": 38.5}, 5, Level.URGENT),
    ({"respiration_rate": 22, "pulse": 115, "spo2": 94, "temperature": 38.5}, 6, Level.URGENT),
    ({"respiration_rate": 22, "pulse": 115, "spo2": 94, "temperature": 39.5}, 7, Level.EMERGENCY),
    ({"respiration_rate": 26}, 3, Level.URGENT),  # a single parameter scoring 3
    ({"consciousness": "confusion", "pulse": 95}, 4, Level.URGENT),
    ({"on_oxygen": True, "spo2": 94}, 3, Level.LOW),  # 3 in all, but no single 3
    ({"respiration_rate": 30, "spo2": 85, "on_oxygen": True, "systolic_bp": 85, "pulse": 140,
      "consciousness": "unresponsive", "temperature": 34.0}, 20, Level.EMERGENCY),
])
def test_the_aggregate_and_single_threes_set_the_level(changes, aggregate, level):
    result = score(**changes)
    assert (result.aggregate, result.level) == (aggregate, level)
    assert result.aggregate == sum(result.subscores.values()) and list(result.subscores) == list(Parameter)


def test_reasons_name_each_scoring_parameter_and_the_summary_the_response():
    result = score(respiration_rate=26, spo2=90, on_oxygen=True, systolic_bp=88, pulse=135,
                   consciousness="confusion", temperature=39.2)
    assert result.reasons == (
        "respiration rate 26/min scores 3", "SpO2 90% (scale 1) scores 3", "supplemental oxygen scores 2",
        "systolic blood pressure 88 mmHg scores 3", "pulse 135/min scores 3", "consciousness: new confusion scores 3",
        "temperature 39.2 °C scores 2")
    assert result.summary == "NEWS2 19: emergency response"
    assert score(respiration_rate=26).summary == "NEWS2 3 (a single parameter scores 3): urgent response"
    assert score(respiration_rate=22, pulse=115, temperature=38.5).summary == "NEWS2 5: urgent response"
    assert score().reasons == () and score().summary == "NEWS2 0: routine monitoring"


@pytest.mark.parametrize("changes, message", [
    ({"spo2_scale": 3}, "SpO2 scale is 1, or 2"),
    ({"consciousness": "sleepy"}, "consciousness is one of alert, confusion"),
    ({"pulse": "fast"}, "pulse must be a number"),
    ({"temperature": float("nan")}, "temperature must be a number"),
    ({"systolic_bp": None}, "systolic blood pressure must be a number"),
])
def test_bad_inputs_to_the_score_are_refused(changes, message):
    with pytest.raises(InvalidInput, match=message):
        score(**changes)


def reading(signal, value, at=NOW, unit=None):
    """A checked reading, in the signal's standard unit unless told."""
    return Reading(signal, value, unit if unit is not None else next(iter(SIGNALS[signal].units), ""), at)


def complete_set(at=NOW):
    return [reading("respiration", 16.0, at), reading("spo2", 97.0, at), reading("oxygen_flow", 0.0, at),
            reading("blood_pressure", (120.0, 80.0), at), reading("pulse", 70.0, at),
            reading("consciousness", "alert", at), reading("temperature", 37.0, at)]


def test_a_window_is_scored_on_the_latest_reading_of_each_parameter():
    readings = complete_set(NOW - 600) + [
        reading("respiration", 26.0, NOW - 60),  # latest respiration
        reading("pulse", 135.0, NOW - 7200),  # before the window: ignored
        reading("ecg_heart_rate", 95.0, NOW - 30),  # the latest pulse, from the ECG
        reading("oxygen_flow", 2.0, NOW - 30),  # now on oxygen
        reading("temperature", 39.5, NOW + 60),  # after the window: ignored
    ]
    result = ew.score_window(readings, NOW - 900, NOW)
    assert result.subscores == {Parameter.RESPIRATION_RATE: 3, Parameter.SPO2: 0, Parameter.AIR_OR_OXYGEN: 2,
                                Parameter.SYSTOLIC_BP: 0, Parameter.PULSE: 1, Parameter.CONSCIOUSNESS: 0,
                                Parameter.TEMPERATURE: 0}
    assert (result.aggregate, result.level) == (6, Level.URGENT)
    assert ew.score_window(readings, NOW - 900, NOW, spo2_scale=2).subscores[Parameter.SPO2] == 3  # 97% on oxygen


def test_a_window_without_every_parameter_says_which_are_missing():
    readings = [r for r in complete_set() if r.signal not in ("consciousness", "oxygen_flow")]
    result = ew.score_window(readings, NOW - 900, NOW)
    assert result == ew.Incomplete((Parameter.AIR_OR_OXYGEN, Parameter.CONSCIOUSNESS))
    assert result.message == "NEWS2 needs all seven parameters; no reading of air or oxygen, consciousness"
    assert ew.score_window([], NOW - 900, NOW).missing == tuple(Parameter)
    assert ew.score_window(complete_set(NOW - 901), NOW - 900, NOW).missing == tuple(Parameter)


@pytest.mark.parametrize("signal, value, expected", [
    ("pulse", 135.0, "HH"), ("pulse", 95.0, "H"), ("pulse", 70.0, "N"), ("pulse", 45.0, "L"), ("pulse", 35.0, "LL"),
    ("ecg_heart_rate", 131.0, "HH"), ("ecg_heart_rate", 50.0, "L"),
    ("respiration", 26.0, "HH"), ("respiration", 22.0, "H"), ("respiration", 10.0, "L"), ("respiration", 0.0, "LL"),
    ("temperature", 39.5, "H"), ("temperature", 38.1, "H"), ("temperature", 35.5, "L"), ("temperature", 35.0, "LL"),
    ("spo2", 90.0, "LL"), ("spo2", 93.0, "L"), ("spo2", 96.0, "N"),
    ("blood_pressure", (85.0, 60.0), "LL"), ("blood_pressure", (105.0, 70.0), "L"),
    ("blood_pressure", (230.0, 100.0), "HH"), ("blood_pressure", (150.0, 125.0), "HH"),
    ("blood_pressure", (130.0, 95.0), "H"), ("blood_pressure", (120.0, 80.0), "N"),
    ("consciousness", "alert", "N"), ("consciousness", "confusion", "AA"), ("consciousness", "unresponsive", "AA"),
    ("oxygen_flow", 2.0, None), ("gsr", 5.0, None), ("emg", 300.0, None), ("ecg", (0.1, 0.2), None),
    ("position", "lying", None),
])
def test_each_reading_is_interpreted_by_its_rule(signal, value, expected):
    assert ew.interpret(reading(signal, value)) == expected


@pytest.mark.parametrize("value, on_oxygen, expected", [
    (97.0, True, "HH"), (95.0, True, "H"), (93.0, True, "H"), (90.0, True, "N"), (97.0, False, "N"),
    (88.0, False, "N"), (86.0, False, "L"), (83.0, False, "LL")])
def test_spo2_on_scale_2_is_interpreted_against_its_target(value, on_oxygen, expected):
    assert ew.interpret(reading("spo2", value), spo2_scale=2, on_oxygen=on_oxygen) == expected


@pytest.mark.parametrize("value, unit, expected", [
    (2.9, "mmol/L", "LL"), (3.0, "mmol/L", "L"), (3.9, "mmol/L", "L"), (4.0, "mmol/L", "N"), (11.0, "mmol/L", "N"),
    (11.1, "mmol/L", "H"), (20.0, "mmol/L", "H"), (20.1, "mmol/L", "HH"), (3.95, "mmol/L", "N"),
    (53.0, "mg/dL", "LL"), (54.0, "mg/dL", "L"), (70.0, "mg/dL", "L"), (72.0, "mg/dL", "N"),
    (198.0, "mg/dL", "N"), (200.0, "mg/dL", "H"), (360.0, "mg/dL", "H"), (363.0, "mg/dL", "HH"),
])
def test_glucose_thresholds_in_either_unit(value, unit, expected):
    assert ew.interpret(reading("glucose", value, unit=unit)) == expected


@pytest.mark.parametrize("diastolic, expected", [
    (40, "L"), (59, "L"), (60, "N"), (89, "N"), (90, "H"), (119, "H"), (120, "HH"), (59.5, "N")])
def test_diastolic_thresholds(diastolic, expected):
    assert ew.blood_pressure_interpretations(190, diastolic)[1] == expected


@pytest.mark.parametrize("before, after, seconds, expected", [
    ("standing", "lying", 5, "A"), ("standing", "supine", ew.FALL_SECONDS, "A"), ("standing", "prone", 1, "A"),
    ("standing", "lying", ew.FALL_SECONDS + 1, None), ("sitting", "lying", 5, None),
    ("standing", "standing", 5, None), ("standing", "sitting", 5, None),
])
def test_lying_soon_after_standing_is_a_possible_fall(before, after, seconds, expected):
    previous = reading("position", before, NOW)
    assert ew.interpret(reading("position", after, NOW + seconds), previous=previous) == expected


def test_rules_and_vocabulary_agree():
    assert ew.LYING < set(POSITIONS) and {value.value for value in Acvpu} == set(SIGNALS["consciousness"].answers)
    assert {signal for _, signals, _ in ew.SOURCES.values() for signal in signals} <= set(SIGNALS)


@pytest.mark.parametrize("changes, risk", [
    ({}, "low"), ({"pulse": 95}, "low"), ({"respiration_rate": 26}, "moderate"),
    ({"respiration_rate": 22, "pulse": 115, "temperature": 38.5}, "moderate"),
    ({"respiration_rate": 22, "pulse": 115, "spo2": 94, "temperature": 39.5}, "high"),
])
def test_the_alert_is_a_valid_risk_assessment(changes, risk):
    result = score(**changes)
    basis = ["urn:uuid:9b9dfe0d-1747-424f-a739-35f7be8e8d71", "urn:uuid:0f3e1e2c-6a44-5b3e-8d2c-1c9f6e1f2a10"]
    resource = ew.risk_assessment(PATIENT, result, NOW, basis)
    RiskAssessment.model_validate(resource)
    record = Record.from_fhir(resource)
    assert (record.category, record.title) == (Category.VITALS, result.summary)
    assert resource["status"] == "final" and resource["subject"] == {"reference": f"Patient/{PATIENT}"}
    assert resource["occurrenceDateTime"] == "2025-03-01T10:00:00Z"
    assert resource["method"]["coding"][0]["code"] == "1104051000000101"
    assert resource["extension"] == [{"url": ew.NEWS2_AGGREGATE_EXTENSION, "valueInteger": result.aggregate}]
    prediction = resource["prediction"][0]
    assert prediction["qualitativeRisk"]["coding"][0]["code"] == risk
    assert prediction["qualitativeRisk"]["coding"][0]["system"] == "http://terminology.hl7.org/CodeSystem/risk-probability"
    assert prediction["rationale"] == result.summary
    assert resource["mitigation"].startswith(ew.RESPONSES[result.level][0])
    assert [reference["reference"] for reference in resource["basis"]] == basis
    notes = [note["text"] for note in resource["note"]]
    assert notes[:-1] == (list(result.reasons) or ["every parameter scores 0"]) and "not a diagnosis" in notes[-1]
    assert "basis" not in ew.risk_assessment(PATIENT, result, NOW)
