"""Device readings: every signal is checked and becomes a valid vital-signs Observation; every kind
of bad reading is refused with its reason; a time window becomes a deterministic collection Bundle
that fits in a record."""

import random

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.observation import Observation

from app.carechain import early_warning, records, vitals
from app.carechain.errors import InvalidInput
from app.carechain.records import MAX_RESOURCE_SIZE, Category, Record
from app.carechain.vitals import InvalidReading, validate_reading

PATIENT = "0x0C2dA0Af9e5eBaD6d7b6801904E8f45E095D7f9B"
OTHER = "0x1111111111111111111111111111111111111111"
DEVICE = "0x2222222222222222222222222222222222222222"
NOW = 1_740_823_200  # 2025-03-01T10:00:00Z

# signal: a good raw reading (without measured_at), and what its Observation carries
GOOD = {
    "pulse": ({"value": 72, "unit": "/min"}, "8867-4"),
    "ecg_heart_rate": ({"value": 95, "unit": "/min"}, "76282-3"),
    "spo2": ({"value": 97, "unit": "%"}, "59408-5"),
    "respiration": ({"value": 16, "unit": "/min"}, "9279-1"),
    "temperature": ({"value": 37.2, "unit": "Cel"}, "8310-5"),
    "blood_pressure": ({"value": {"systolic": 128, "diastolic": 82}, "unit": "mm[Hg]"}, "85354-9"),
    "glucose": ({"value": 5.4, "unit": "mmol/L"}, "15074-8"),
    "oxygen_flow": ({"value": 2, "unit": "L/min"}, "3151-8"),
    "consciousness": ({"value": "alert"}, "67775-7"),
    "position": ({"value": "sitting"}, "8361-8"),
    "ecg": ({"value": [0.01, 0.2, 1.1, -0.3], "unit": "mV", "period_ms": 4}, "131328"),
    "gsr": ({"value": 4.5, "unit": "uS"}, "gsr"),
    "emg": ({"value": 0.35, "unit": "mV"}, "emg"),
}


def raw(signal, at=NOW - 30, **changes):
    return {"code": signal, **GOOD[signal][0], "measured_at": at, **changes}


def codes(concept):
    return [coding["code"] for coding in concept["coding"]]


def test_every_signal_has_a_good_reading_here():
    assert set(GOOD) == set(vitals.SIGNALS)


@pytest.mark.parametrize("signal", GOOD)
def test_each_signal_becomes_a_valid_vital_signs_observation(signal):
    reading = validate_reading(raw(signal), NOW)
    resource = vitals.observation(PATIENT, reading, DEVICE)
    Observation.model_validate(resource)
    record = Record.from_fhir(resource)
    assert (record.resource_type, record.category) == ("Observation", Category.VITALS)
    assert resource["status"] == "final" and codes(resource["category"][0]) == ["vital-signs"]
    assert GOOD[signal][1] in codes(resource["code"]) and resource["code"]["text"] == vitals.SIGNALS[signal].name
    assert resource["subject"] == {"reference": f"Patient/{PATIENT}"}
    assert resource["device"] == {"reference": f"Device/{DEVICE}"}
    assert resource["effectiveDateTime"] == "2025-03-01T09:59:30Z"
    assert "device" not in vitals.observation(PATIENT, reading)


@pytest.mark.parametrize("signal, value, unit, interpretation", [
    ("pulse", 72.0, "/min", "N"), ("spo2", 97.0, "%", "N"), ("temperature", 37.2, "Cel", "N"),
    ("glucose", 5.4, "mmol/L", "N"), ("oxygen_flow", 2.0, "L/min", None), ("gsr", 4.5, "uS", None),
    ("emg", 0.35, "mV", None), ("respiration", 16.0, "/min", "N"), ("ecg_heart_rate", 95.0, "/min", "H"),
])
def test_a_measurement_is_a_ucum_quantity_with_its_interpretation(signal, value, unit, interpretation):
    resource = vitals.observation(PATIENT, validate_reading(raw(signal), NOW))
    quantity = resource["valueQuantity"]
    assert (quantity["value"], quantity["code"], quantity["system"]) == (value, unit, "http://unitsofmeasure.org")
    assert [codes(concept) for concept in resource.get("interpretation", [])] == ([[interpretation]] if interpretation
                                                                                 else [])


def test_rules_judge_the_value_the_record_stores():
    resource = vitals.observation(PATIENT, validate_reading(raw("temperature", value=36.049), NOW))
    assert resource["valueQuantity"]["value"] == 36.05 and codes(resource["interpretation"][0]) == ["N"]  # 36.1


def test_glucose_keeps_its_unit_with_the_loinc_code_of_that_unit_and_converts_for_the_rules():
    in_mg = validate_reading(raw("glucose", value=100, unit="mg/dL"), NOW)
    in_mmol = validate_reading(raw("glucose", value=5.55, unit="mmol/L"), NOW)
    assert in_mg.standard_value == pytest.approx(5.55, abs=0.01) and in_mmol.standard_value == 5.55
    assert codes(vitals.observation(PATIENT, in_mg)["code"]) == ["2339-0"]
    assert codes(vitals.observation(PATIENT, in_mmol)["code"]) == ["15074-8"]
    assert vitals.observation(PATIENT, in_mg)["valueQuantity"]["unit"] == "mg/dL"
    assert validate_reading(raw("emg", value=0.35, unit="mV"), NOW).standard_value == pytest.approx(350)
    assert validate_reading(raw("emg", value=350, unit="uV"), NOW).standard_value == 350


def test_a_blood_pressure_is_a_panel_of_two_interpreted_components():
    resource = vitals.observation(PATIENT, validate_reading(raw("blood_pressure", value={"systolic": 88,
                                                                                          "diastolic": 55}), NOW))
    assert "valueQuantity" not in resource
    systolic, diastolic = resource["component"]
    assert (codes(systolic["code"]), systolic["valueQuantity"]["value"], codes(systolic["interpretation"][0])) \
        == (["8480-6"], 88.0, ["LL"])
    assert (codes(diastolic["code"]), diastolic["valueQuantity"]["code"], codes(diastolic["interpretation"][0])) \
        == (["8462-4"], "mm[Hg]", ["L"])
    assert codes(resource["interpretation"][0]) == ["LL"]  # the more severe part


def test_an_ecg_strip_is_sampled_data():
    reading = validate_reading(raw("ecg", value="0.0004 -1.23456 2"), NOW)
    assert reading.value == (0.0004, -1.23456, 2.0) and reading.period_ms == 4
    sampled = vitals.observation(PATIENT, reading)["valueSampledData"]
    assert sampled == {"origin": {"value": 0, "unit": "mV", "system": "http://unitsofmeasure.org", "code": "mV"},
                       "period": 4.0, "dimensions": 1, "data": "0 -1.235 2"}


@pytest.mark.parametrize("signal, value, system, code", [
    ("position", "standing", "http://snomed.info/sct", "10904000"),
    ("position", "sitting", "http://snomed.info/sct", "33586001"),
    ("position", "lying", "http://snomed.info/sct", "102538003"),
    ("consciousness", "alert", "http://loinc.org", "LA9340-6"),
    ("consciousness", "confusion", "http://loinc.org", "LA6560-2"),
    ("consciousness", "unresponsive", "http://loinc.org", "LA9343-0"),
])
def test_answers_are_coded(signal, value, system, code):
    resource = vitals.observation(PATIENT, validate_reading(raw(signal, value=value), NOW))
    assert resource["valueCodeableConcept"]["coding"][0] | {"display": None} == {
        "system": system, "code": code, "display": None}


def test_the_context_of_a_reading_shapes_its_interpretation():
    standing = validate_reading(raw("position", value="standing", at=NOW - 8), NOW)
    lying = validate_reading(raw("position", value="lying", at=NOW - 2), NOW)
    assert codes(vitals.observation(PATIENT, lying, previous=standing)["interpretation"][0]) == ["A"]
    assert "interpretation" not in vitals.observation(PATIENT, lying)
    saturation = validate_reading(raw("spo2", value=90), NOW)
    assert codes(vitals.observation(PATIENT, saturation)["interpretation"][0]) == ["LL"]
    assert codes(vitals.observation(PATIENT, saturation, spo2_scale=2)["interpretation"][0]) == ["N"]


@pytest.mark.parametrize("reading, reason, message", [
    ("pulse 72", "malformed", "a reading is a JSON object"),
    ({"value": 72, "unit": "/min", "measured_at": NOW}, "unknown_code", "unknown signal code None"),
    (raw("pulse", code="heartbeat"), "unknown_code", "unknown signal code 'heartbeat'; use one of pulse"),
    (raw("pulse", code=["pulse"]), "unknown_code", "unknown signal code"),
    (raw("pulse", value="72"), "not_a_number", "Heart rate must be a number"),
    (raw("pulse", value=None), "not_a_number", "Heart rate must be a number"),
    (raw("pulse", value=True), "not_a_number", "Heart rate must be a number"),
    (raw("pulse", value=float("nan")), "not_a_number", "Heart rate must be a number"),
    (raw("pulse", value=400), "impossible_value", "Heart rate of 400 beats/minute is outside the plausible range 0–35"),
    (raw("pulse", value=-1), "impossible_value", "outside the plausible range"),
    (raw("spo2", value=101), "impossible_value", "outside the plausible range 0–100 %"),
    (raw("temperature", value=19.9), "impossible_value", "outside the plausible range 20–45 °C"),
    (raw("glucose", value=0.2), "impossible_value", "outside the plausible range 0.5–100 mmol/L"),
    (raw("glucose", value=2000, unit="mg/dL"), "impossible_value", "outside the plausible range 9.008–1802 mg/dL"),
    (raw("emg", value=11, unit="mV"), "impossible_value", "outside the plausible range 0–10 mV"),
    (raw("pulse", unit="bpm"), "wrong_unit", "Heart rate is given in UCUM unit '/min', not 'bpm'"),
    (raw("pulse", unit=None), "wrong_unit", "given in UCUM unit '/min', not None"),
    (raw("temperature", unit="[degF]"), "wrong_unit", "UCUM unit 'Cel'"),
    (raw("glucose", unit="mg/dl"), "wrong_unit", "UCUM unit 'mmol/L' or 'mg/dL'"),
    (raw("gsr", unit="µS"), "wrong_unit", "UCUM unit 'uS'"),
    (raw("blood_pressure", unit="mmHg"), "wrong_unit", "UCUM unit 'mm[Hg]'"),
    (raw("pulse", measured_at=None), "bad_time", "measured_at None is not a time"),
    (raw("pulse", measured_at="yesterday"), "bad_time", "'yesterday' is not a time: give ISO 8601"),
    (raw("pulse", measured_at="2025-03-01T10:00:00"), "bad_time", "has no time zone"),
    (raw("pulse", measured_at=True), "bad_time", "is not a time"),
    (raw("pulse", at=NOW + 301), "clock_off", "5 minutes in the future: check the device's clock"),
    (raw("pulse", measured_at="2025-03-01T11:00:00+00:00"), "clock_off", "60 minutes in the future"),
    (raw("pulse", at=NOW - 24 * 3600 - 1), "clock_off", "more than 24 hours ago"),
    (raw("blood_pressure", value=[128, 82]), "malformed", 'a blood pressure value is {"systolic"'),
    (raw("blood_pressure", value={"systolic": 128}), "malformed", "a blood pressure value is"),
    (raw("blood_pressure", value={"systolic": 80, "diastolic": 82}), "impossible_value", "higher than the diastolic"),
    (raw("blood_pressure", value={"systolic": "128", "diastolic": 82}), "not_a_number",
     "Systolic blood pressure must be a number"),
    (raw("blood_pressure", value={"systolic": 400, "diastolic": 82}), "impossible_value",
     "Systolic blood pressure of 400 mmHg is outside the plausible range"),
    (raw("position", value="flying"), "impossible_value", "Body position 'flying' is not one of standing, sitting"),
    (raw("consciousness", value=["alert"]), "impossible_value", "is not one of alert, confusion, voice"),
    (raw("ecg", value=[0.1] * (vitals.MAX_ECG_SAMPLES + 1)), "too_long", "at most 5000 samples, not 5001"),
    (raw("ecg", value=[]), "malformed", "ECG samples are a list"),
    (raw("ecg", value={"lead": "I"}), "malformed", "ECG samples are a list"),
    (raw("ecg", value="0.1 0.2 x"), "malformed", "ECG samples must all be numbers"),
    (raw("ecg", value=[0.1, None]), "malformed", "ECG samples must all be numbers"),
    (raw("ecg", value=[0.1, True]), "malformed", "ECG samples must all be numbers"),
    (raw("ecg", value="0.1 nan"), "malformed", "ECG samples must all be numbers"),
    (raw("ecg", value=[0.1, 512]), "impossible_value", "ECG samples lie between -10 and 10 mV"),
    (raw("ecg", period_ms=None), "malformed", "needs period_ms, the sampling period, from 1 to 20 ms"),
    (raw("ecg", period_ms=0.1), "malformed", "needs period_ms"),
    (raw("ecg", unit="uV"), "wrong_unit", "UCUM unit 'mV'"),
])
def test_bad_readings_are_refused_with_a_reason(reading, reason, message):
    with pytest.raises(InvalidReading, match=message.replace("(", r"\(").replace("[", r"\[")) as refused:
        validate_reading(reading, NOW)
    assert refused.value.reason == reason and reason in vitals.REFUSAL_REASONS
    assert isinstance(refused.value, InvalidInput)


def test_readings_at_the_edges_of_the_clock_are_accepted():
    assert validate_reading(raw("pulse", at=NOW + 300), NOW).measured_at == NOW + 300
    assert validate_reading(raw("pulse", at=NOW - 24 * 3600), NOW).measured_at == NOW - 24 * 3600
    assert validate_reading(raw("pulse", measured_at="2025-03-01T11:00:00+01:00"), NOW).measured_at == NOW
    assert validate_reading(raw("pulse", measured_at=NOW + 0.9), NOW).measured_at == NOW


def window_observations():
    """Three minutes of pulse and SpO2, built from readings."""
    return [vitals.observation(PATIENT, validate_reading(raw(signal, at=NOW - 180 + minute * 60), NOW), DEVICE)
            for minute in range(3) for signal in ("pulse", "spo2")]


def test_a_window_is_a_collection_bundle_in_time_order():
    observations = window_observations()
    bundle = vitals.window_bundle(PATIENT, observations, NOW - 180, NOW)
    Bundle.model_validate(bundle)
    record = Record.from_fhir(bundle)
    assert (record.category, record.title) == (Category.VITALS, "Vital signs: 6 readings, 2025-03-01 09:57-10:00 UTC")
    assert (bundle["type"], bundle["timestamp"]) == ("collection", "2025-03-01T10:00:00Z")
    assert bundle["meta"]["extension"] == [{"url": records.WINDOW_EXTENSION, "valuePeriod": {
        "start": "2025-03-01T09:57:00Z", "end": "2025-03-01T10:00:00Z"}}]
    times = [entry["resource"]["effectiveDateTime"] for entry in bundle["entry"]]
    assert times == sorted(times) and len(times) == 6
    assert all(entry["fullUrl"] == vitals.full_url(entry["resource"]) for entry in bundle["entry"])


def test_the_same_readings_give_the_same_bundle_and_duplicates_count_once():
    observations = window_observations()
    bundle = vitals.window_bundle(PATIENT, observations, NOW - 180, NOW)
    shuffled = random.Random(7).sample(observations, len(observations))
    assert vitals.window_bundle(PATIENT, shuffled + observations[:2], NOW - 180, NOW) == bundle
    urls = [entry["fullUrl"] for entry in bundle["entry"]]
    assert len(set(urls)) == 6 and all(url.startswith("urn:uuid:") for url in urls)
    changed = vitals.observation(PATIENT, validate_reading(raw("pulse", value=73, at=NOW - 180), NOW), DEVICE)
    assert vitals.full_url(changed) not in urls


def test_a_window_may_carry_its_alert_last():
    readings = [validate_reading(raw(signal, at=NOW - 60, **values), NOW) for signal, values in [
        ("respiration", {"value": 26}), ("spo2", {}), ("oxygen_flow", {"value": 0}), ("blood_pressure", {}),
        ("pulse", {}), ("consciousness", {}), ("temperature", {})]]
    observations = [vitals.observation(PATIENT, reading, DEVICE) for reading in readings]
    score = early_warning.score_window(readings, NOW - 900, NOW)
    alert = early_warning.risk_assessment(PATIENT, score, NOW, [vitals.full_url(o) for o in observations])
    bundle = vitals.window_bundle(PATIENT, observations, NOW - 900, NOW, alert)
    record = Record.from_fhir(bundle)
    assert record.title == "Vital signs: 7 readings, 2025-03-01 09:45-10:00 UTC, with an alert"
    assert bundle["entry"][-1] == {"fullUrl": vitals.full_url(alert), "resource": alert}
    urls = {entry["fullUrl"] for entry in bundle["entry"]}
    assert {basis["reference"] for basis in alert["basis"]} < urls


@pytest.mark.parametrize("patient, start, end, message", [
    (OTHER, NOW - 180, NOW, "Observations of its patient only"),
    (PATIENT, NOW - 120, NOW, "an Observation at 2025-03-01T09:57:00Z is outside the window"),
    (PATIENT, NOW - 180, NOW - 61, "outside the window 2025-03-01T09:57:00Z to 2025-03-01T09:58:59Z"),
    (PATIENT, NOW, NOW - 180, "a window ends after it starts"),
])
def test_a_window_holds_only_its_patients_observations_within_it(patient, start, end, message):
    with pytest.raises(InvalidInput, match=message):
        vitals.window_bundle(patient, window_observations(), start, end)


def test_records_refuse_bundles_that_are_not_a_window_of_vital_signs():
    bundle = vitals.window_bundle(PATIENT, window_observations(), NOW - 180, NOW)
    lab = {**bundle["entry"][0]["resource"], "category": [{"coding": [{"code": "laboratory"}]}]}
    condition = {"resourceType": "Condition", "subject": {"reference": f"Patient/{PATIENT}"}, "code": {"text": "Flu"}}
    for changed, message in [
        ({"type": "batch"}, "a Bundle record is a collection"),
        ({"entry": []}, "holds at least one vital-signs Observation"),
        ({"entry": [{"fullUrl": "urn:uuid:1", "resource": lab}]}, "one has another category"),
        ({"entry": [{"resource": condition}]}, "only vital-signs Observations and RiskAssessments, not Condition"),
        ({"entry": [{"resource": {**lab, "category": bundle["entry"][0]["resource"]["category"], "status": "done"}}]},
         "status must be one of"),
    ]:
        with pytest.raises(InvalidInput, match=message):
            Record.from_fhir({**bundle, **changed})


def test_a_full_window_of_ten_signals_and_ecg_strips_fits_in_a_record():
    """15 minutes: ten signals each minute and a 10-second ECG strip at 500 Hz each minute, the
    samples at their widest text (-9.999)."""
    rng = random.Random(1)
    observations = []
    for minute in range(15):
        at = NOW - 900 + minute * 60
        for signal in ("pulse", "ecg_heart_rate", "spo2", "respiration", "temperature", "blood_pressure", "glucose",
                       "oxygen_flow", "gsr", "emg"):
            observations.append(vitals.observation(PATIENT, validate_reading(raw(signal, at=at), NOW), DEVICE))
        strip = [round(rng.uniform(-9.999, -1), 3) for _ in range(vitals.MAX_ECG_SAMPLES)]
        observations.append(vitals.observation(PATIENT, validate_reading(raw("ecg", at=at, value=strip, period_ms=2),
                                                                         NOW), DEVICE))
    record = Record.from_fhir(vitals.window_bundle(PATIENT, observations, NOW - 900, NOW))
    assert len(record.resource["entry"]) == 165
    assert len(record.resource_json) < 0.7 * MAX_RESOURCE_SIZE
    with pytest.raises(InvalidInput, match="larger than 1 MB"):
        Record.from_fhir(vitals.window_bundle(PATIENT, observations + [
            {**observation, "effectiveDateTime": observation["effectiveDateTime"].replace(":00Z", ":30Z")}
            for observation in observations if "valueSampledData" in observation], NOW - 900, NOW))


def test_vital_signs_typed_in_by_hand_use_the_same_vocabulary():
    record = vitals.vital_sign(PATIENT, "glucose", "105", measured_at=NOW)
    assert record.title == "Glucose: 105 mg/dL" and codes(record.resource["code"]) == ["2339-0"]
    assert vitals.vital_sign(PATIENT, "glucose", "105", measured_at=NOW) == record
    with pytest.raises(InvalidInput, match="Heart rate must be a number"):
        vitals.vital_sign(PATIENT, "pulse", "fast")
    with pytest.raises(InvalidInput, match="unknown vital sign 'ecg'"):
        vitals.vital_sign(PATIENT, "ecg", "1 2 3")
