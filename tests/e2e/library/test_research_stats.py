"""The differential-privacy engine of research queries (research_stats.py), on its own: what it
counts, how much noise it adds against what it states, and the queries and contributions it
refuses. The steward's answers over the real chain and IPFS are in test_research.py."""

from datetime import date

import pytest

from app.carechain.errors import InvalidInput
from app.carechain.records import Category
from app.carechain.research_stats import CohortTooSmall, Contribution, Query, age_band, answer

DIABETES = "http://snomed.info/sct|44054006"
ASTHMA = "http://snomed.info/sct|195967001"
PULSE = "http://loinc.org|8867-4"


def with_conditions(*codes, band="40-49", sex="female"):
    return Contribution(band, sex, {Category.CONDITIONS: frozenset(codes)}, {})


def with_pulse(value, band="60-69", sex="male"):
    return Contribution(band, sex, {}, {Category.VITALS: {PULSE: value}})


def count(epsilon, **filters):
    return Query.from_json({"dataset": int(Category.CONDITIONS), "statistic": "count", "epsilon": epsilon, **filters})


def test_only_contributors_to_the_dataset_matching_the_filters_are_counted():
    contributors = [with_conditions(DIABETES)] * 20 + [with_conditions(ASTHMA)] * 15 + [with_pulse(70.0)] * 30
    # epsilon 10 gives a noise scale of 0.1: a difference of 4 is beyond any chance (e^-40)
    assert abs(answer(count(10, code=DIABETES), contributors, 10)["values"]["count"] - 20) <= 3
    assert abs(answer(count(10), contributors, 10)["values"]["count"] - 35) <= 3  # not the 30 vitals contributors
    assert abs(answer(count(10, sex="male"), contributors + [with_conditions(band="18-29", sex="male")] * 12,
                      10)["values"]["count"] - 12) <= 3


def test_a_cohort_below_the_minimum_is_refused_whatever_the_noise():
    contributors = [with_conditions(DIABETES)] * 9 + [with_conditions(ASTHMA)] * 40
    with pytest.raises(CohortTooSmall, match="minimum cohort of 10"):
        answer(count(1, code=DIABETES), contributors, 10)
    with pytest.raises(CohortTooSmall):
        answer(count(1, ageBands=["80+"]), contributors, 1)


def test_counts_fall_within_the_stated_accuracy_as_often_as_stated():
    contributors = [with_conditions(DIABETES)] * 50
    results = [answer(count(1), contributors, 10) for _ in range(200)]
    within = sum(abs(r["values"]["count"] - 50) <= r["accuracy"]["count"] for r in results)
    # 95% stated: 176 or fewer of 200 would be 4.5 standard deviations off
    assert 176 < within and len({r["values"]["count"] for r in results}) > 1  # noise, and as much as stated
    assert results[0]["accuracy"]["count"] == pytest.approx(3.38, abs=0.01)  # discrete Laplace, scale 1/epsilon


def test_a_histogram_by_code_splits_epsilon_over_its_codes():
    contributors = [with_conditions(DIABETES, ASTHMA)] * 30 + [with_conditions(ASTHMA)] * 20
    query = Query.from_json({"dataset": 2, "statistic": "histogram", "groupBy": "code", "codes": [DIABETES, ASTHMA],
                             "epsilon": 10})
    result = answer(query, contributors, 10)
    assert abs(result["values"][DIABETES] - 30) <= 6 and abs(result["values"][ASTHMA] - 50) <= 6
    single = answer(count(5), contributors, 10)  # each code's count gets 10 / 2
    assert result["accuracy"][DIABETES] == single["accuracy"]["count"]


def test_a_histogram_by_age_band_has_every_band_and_no_row():
    contributors = [with_conditions(band="30-39")] * 25 + [with_conditions(band="70-79")] * 15
    query = Query.from_json({"dataset": 2, "statistic": "histogram", "groupBy": "ageBand", "epsilon": 10})
    values = answer(query, contributors, 10)["values"]
    assert list(values) == ["0-17", "18-29", "30-39", "40-49", "50-59", "60-69", "70-79", "80+", "unknown"]
    assert abs(values["30-39"] - 25) <= 3 and abs(values["70-79"] - 15) <= 3 and values["0-17"] <= 3


def test_means_are_of_clamped_values_within_the_stated_accuracy():
    contributors = [with_pulse(60.0)] * 20 + [with_pulse(80.0)] * 20 + [with_pulse(400.0)] * 10  # 400 clamps to 200
    query = Query.from_json({"dataset": 0, "statistic": "mean", "measure": PULSE, "bounds": [30, 200], "epsilon": 4})
    true_mean = (20 * 60 + 20 * 80 + 10 * 200) / 50
    results = [answer(query, contributors, 10) for _ in range(100)]
    within = sum(abs(r["values"]["mean"] - true_mean) <= r["accuracy"]["mean"] for r in results)
    assert within >= 85 and abs(sum(r["values"]["mean"] for r in results) / 100 - true_mean) < 10


@pytest.mark.parametrize("query, reason", [
    ({"dataset": 4, "statistic": "count", "epsilon": 1}, "dataset must be one of"),
    ({"dataset": 2, "statistic": "count", "epsilon": 0}, "epsilon must be"),
    ({"dataset": 2, "statistic": "count", "epsilon": 11}, "epsilon must be"),
    ({"dataset": 2, "statistic": "count", "epsilon": 0.1234567}, "6 decimals"),
    ({"dataset": 2, "statistic": "rows", "epsilon": 1}, "statistic must be"),
    ({"dataset": 2, "statistic": "histogram", "epsilon": 1}, "only a histogram, is grouped"),
    ({"dataset": 2, "statistic": "count", "groupBy": "sex", "epsilon": 1}, "only a histogram, is grouped"),
    ({"dataset": 2, "statistic": "histogram", "groupBy": "code", "epsilon": 1}, "lists its codes"),
    ({"dataset": 2, "statistic": "mean", "measure": PULSE, "bounds": [0, 1], "epsilon": 1}, "Vitals or Labs"),
    ({"dataset": 0, "statistic": "mean", "measure": PULSE, "epsilon": 1}, "only a mean"),
    ({"dataset": 0, "statistic": "mean", "measure": PULSE, "bounds": [5, 5], "epsilon": 1}, "lower bound"),
    ({"dataset": 2, "statistic": "count", "code": "diabetes", "epsilon": 1}, "system|code"),
    ({"dataset": 2, "statistic": "count", "ageBands": ["41-42"], "epsilon": 1}, "age bands"),
    ({"dataset": 2, "statistic": "count", "patient": "0xabc", "epsilon": 1}, "a query is an object"),
])
def test_malformed_queries_are_refused_in_words(query, reason):
    with pytest.raises(InvalidInput, match=reason):
        Query.from_json(query)


def test_a_query_has_one_canonical_form_and_says_what_it_asks():
    query = Query.from_json({"statistic": "count", "ageBands": ["50-59", "40-49"], "dataset": 2, "epsilon": 0.5,
                             "code": DIABETES})
    assert Query.from_json(query.to_json()) == query
    assert query.to_json() == {"dataset": 2, "statistic": "count", "epsilon": 0.5, "code": DIABETES,
                               "ageBands": ["40-49", "50-59"]}
    assert query.describe() == f"Count of contributors in Conditions, with {DIABETES}, aged 40-49 or 50-59"


def test_a_contribution_holds_bands_and_codes_and_refuses_anything_else():
    contribution = Contribution("30-39", "female", {Category.CONDITIONS: frozenset({DIABETES})},
                                {Category.VITALS: {PULSE: 72.5}})
    assert Contribution.from_json(contribution.to_json()) == contribution
    for tampered in ({**contribution.to_json(), "name": "Ada Lovelace"},
                     {**contribution.to_json(), "ageBand": "34"},
                     {**contribution.to_json(), "codes": {"4": ["a|b"]}},  # documents hold free text
                     {**contribution.to_json(), "measures": {"0": {PULSE: float("nan")}}}):
        with pytest.raises(InvalidInput):
            Contribution.from_json(tampered)


@pytest.mark.parametrize("born, band", [
    (date(2010, 6, 2), "0-17"), (date(2008, 6, 1), "18-29"), (date(2008, 6, 2), "0-17"),
    (date(1990, 3, 14), "30-39"), (date(1946, 6, 1), "80+"), (None, "unknown"),
])
def test_age_bands_are_counted_in_whole_years_on_the_day(born, band):
    assert age_band(born, date(2026, 6, 1)) == band
