"""Differential privacy for research queries: the aggregate a researcher asked for, released with
noise calibrated by OpenDP, over the de-identified contributions of the patients who opted in.

The privacy unit is one patient: each contributes at most one row (a `Contribution`) to a
dataset, and every filter of a query looks at one row at a time, so adding or removing a patient
changes each count by at most one and each clamped sum by at most the clamp's largest magnitude.
OpenDP computes the noise scale from that and from the query's epsilon; a query that releases
several numbers (a histogram by code, a mean) splits its epsilon among them, so that the whole
query costs exactly the epsilon recorded for it on chain.

The minimum cohort is a disclosure rule on top: a query whose filters match fewer contributors
than the dataset's minimum is refused (`CohortTooSmall`). The refusal is an exact fact about the
data; the query's budget is spent all the same (see the README, "Research queries").
"""

import math
import re
from dataclasses import dataclass
from datetime import date

import opendp.prelude as dp

from app.carechain.errors import CareChainError, InvalidInput
from app.carechain.records import Category

# OpenDP keeps its measurements outside the formally vetted core behind this flag; the ones used
# here (count, count by categories, clamp, sum, Laplace) are its documented building blocks.
dp.enable_features("contrib")

DATASETS = (Category.VITALS, Category.LABS, Category.CONDITIONS, Category.MEDICATIONS)
CODED = (Category.CONDITIONS, Category.MEDICATIONS)  # a contributor holds codes
MEASURED = (Category.VITALS, Category.LABS)  # a contributor holds a mean value per code
AGE_BANDS = ("0-17", "18-29", "30-39", "40-49", "50-59", "60-69", "70-79", "80+", "unknown")
SEXES = ("female", "male", "other", "unknown")
STATISTICS = ("count", "histogram", "mean")
GROUPINGS = {"ageBand": AGE_BANDS, "sex": SEXES}  # and "code": the query's own codes
MAX_EPSILON = 10.0  # per query
MAX_BINS = 20  # codes of a histogram by code
MAX_CODES = 2000  # codes of one contributor in one dataset
MAX_MAGNITUDE = 1e6  # of a mean's clamp bounds
CONFIDENCE = 0.95  # of the accuracy stated beside each released number
CODE = re.compile(r"^[^|\s]{1,200}\|[^|\s]{1,100}$")  # "system|code", as FHIR search writes a token


class CohortTooSmall(CareChainError):
    """The contributors matching the query's filters are fewer than the dataset's minimum."""


def age_band(birth_date: date | None, on: date) -> str:
    if birth_date is None:
        return "unknown"
    age = on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))
    if age < 18:
        return "0-17"
    if age < 30:
        return "18-29"
    return "80+" if age >= 80 else f"{age // 10 * 10}-{age // 10 * 10 + 9}"


def dataset_of(value) -> Category:
    """The research dataset a value names (its category number); InvalidInput for anything else."""
    try:
        dataset = Category(int(value))
    except (ValueError, TypeError):
        dataset = None
    if dataset not in DATASETS:
        raise InvalidInput("the dataset must be one of " + ", ".join(d.label for d in DATASETS))
    return dataset


@dataclass(frozen=True)
class Contribution:
    """One patient's de-identified data: an age band, a sex, and per dataset the codes held or the
    mean value per code. No dates, free text or identifiers. It has a key for every dataset the
    patient contributes to, even one with nothing in it (a patient without conditions still counts
    among the contributors to Conditions)."""

    age_band: str
    sex: str
    codes: dict[Category, frozenset[str]]
    measures: dict[Category, dict[str, float]]

    def holds(self, dataset: Category) -> bool:
        return dataset in self.codes or dataset in self.measures

    def has(self, dataset: Category, code: str) -> bool:
        return code in self.codes.get(dataset, ()) or code in self.measures.get(dataset, {})

    def to_json(self) -> dict:
        return {"version": 1, "ageBand": self.age_band, "sex": self.sex,
                "codes": {str(int(d)): sorted(codes) for d, codes in sorted(self.codes.items())},
                "measures": {str(int(d)): dict(sorted(values.items())) for d, values in sorted(self.measures.items())}}

    @classmethod
    def from_json(cls, data: dict) -> "Contribution":
        if not isinstance(data, dict) or data.get("version") != 1 or set(data) != {
                "version", "ageBand", "sex", "codes", "measures"}:
            raise InvalidInput("a contribution must be an object of version 1 with ageBand, sex, codes and measures")
        if data["ageBand"] not in AGE_BANDS or data["sex"] not in SEXES:
            raise InvalidInput("a contribution's age band or sex is not one of the known values")
        codes = {dataset: frozenset(_codes(values))
                 for dataset, values in _per_dataset(data["codes"], CODED, list).items()}
        measures = {dataset: {_code(code): _finite(value) for code, value in values.items()}
                    for dataset, values in _per_dataset(data["measures"], MEASURED, dict).items()}
        return cls(data["ageBand"], data["sex"], codes, measures)


@dataclass(frozen=True)
class Query:
    """An aggregate over one dataset: a count, a histogram (by age band, sex or code) or a mean of
    one measure clamped to bounds, of the contributors matching the filters (a code held, age
    bands, a sex)."""

    dataset: Category
    statistic: str
    epsilon: float
    code: str | None = None
    age_bands: tuple[str, ...] = ()
    sex: str | None = None
    group_by: str | None = None
    codes: tuple[str, ...] = ()
    measure: str | None = None
    bounds: tuple[float, float] | None = None

    @classmethod
    def from_json(cls, data: dict) -> "Query":
        known = {"dataset", "statistic", "epsilon", "code", "ageBands", "sex", "groupBy", "codes", "measure", "bounds"}
        if not isinstance(data, dict) or not set(data) <= known:
            raise InvalidInput(f"a query is an object with the keys {', '.join(sorted(known))}")
        dataset = dataset_of(data.get("dataset") if isinstance(data.get("dataset"), int) else None)  # a JSON number
        epsilon = data.get("epsilon")
        if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or not 0 < epsilon <= MAX_EPSILON:
            raise InvalidInput(f"epsilon must be a number above 0 and at most {MAX_EPSILON:g}")
        if round(epsilon, 6) != epsilon or epsilon < 1e-6:
            raise InvalidInput("epsilon is counted in millionths: give at most 6 decimals")
        age_bands = data.get("ageBands", [])
        if not isinstance(age_bands, list) or not set(age_bands) <= set(AGE_BANDS) or len(set(age_bands)) != len(
                age_bands):
            raise InvalidInput("the age bands must be a list of distinct bands among " + ", ".join(AGE_BANDS))
        if data.get("sex") not in (None, *SEXES):
            raise InvalidInput("the sex must be one of " + ", ".join(SEXES))
        query = cls(dataset, data.get("statistic"), float(epsilon),
                    code=_code(data["code"]) if data.get("code") is not None else None,
                    age_bands=tuple(b for b in AGE_BANDS if b in age_bands), sex=data.get("sex"),
                    group_by=data.get("groupBy"), codes=tuple(_codes(data.get("codes", []))),
                    measure=_code(data["measure"]) if data.get("measure") is not None else None,
                    bounds=_bounds(data["bounds"]) if data.get("bounds") is not None else None)
        query._check_shape()
        return query

    def _check_shape(self) -> None:
        if self.statistic not in STATISTICS:
            raise InvalidInput("the statistic must be one of " + ", ".join(STATISTICS))
        histogram, mean = self.statistic == "histogram", self.statistic == "mean"
        if histogram != (self.group_by is not None) or self.group_by not in (None, "code", *GROUPINGS):
            raise InvalidInput("a histogram, and only a histogram, is grouped: by ageBand, sex or code")
        if (self.group_by == "code") != bool(self.codes) or len(self.codes) > MAX_BINS:
            raise InvalidInput(f"a histogram by code, and only one, lists its codes (1 to {MAX_BINS}, distinct)")
        if mean != (self.measure is not None and self.bounds is not None):
            raise InvalidInput("a mean, and only a mean, names a measure and the bounds its values are clamped to")
        if mean and self.dataset not in MEASURED:
            raise InvalidInput("a mean is taken over Vitals or Labs, whose contributors hold values")

    def to_json(self) -> dict:
        fields = {"dataset": int(self.dataset), "statistic": self.statistic, "epsilon": self.epsilon,
                  "code": self.code, "ageBands": list(self.age_bands), "sex": self.sex, "groupBy": self.group_by,
                  "codes": list(self.codes), "measure": self.measure,
                  "bounds": list(self.bounds) if self.bounds else None}
        return {key: value for key, value in fields.items() if value not in (None, [])}

    def describe(self) -> str:
        if self.statistic == "count":
            words = "Count of contributors"
        elif self.statistic == "histogram":
            by = {"ageBand": "age band", "sex": "sex"}.get(self.group_by) or "code (" + ", ".join(self.codes) + ")"
            words = f"Contributors by {by}"
        else:
            low, high = self.bounds
            words = f"Mean of {self.measure} (values clamped to {low:g} to {high:g})"
        words += f" in {self.dataset.label}"
        if self.code:
            words += f", with {self.code}"
        if self.age_bands:
            words += ", aged " + " or ".join(self.age_bands)
        if self.sex:
            words += f", {self.sex}"
        return words

    def matches(self, contribution: Contribution) -> bool:
        return (contribution.holds(self.dataset)
                and (self.code is None or contribution.has(self.dataset, self.code))
                and (self.measure is None or self.measure in contribution.measures.get(self.dataset, {}))
                and (not self.age_bands or contribution.age_band in self.age_bands)
                and (self.sex is None or contribution.sex == self.sex))


def answer(query: Query, contributions: list[Contribution], min_cohort: int) -> dict:
    """The query's result with noise: {"statistic", "values": {label: number}, "accuracy": {label:
    half-width of the CONFIDENCE interval}, "confidence", "epsilon", "mechanism"}. Only the
    contributions matching the query (the dataset held, the filters) are counted."""
    cohort = [c for c in contributions if query.matches(c)]
    if len(cohort) < min_cohort:
        raise CohortTooSmall(f"fewer contributors match this query than the dataset's minimum cohort of {min_cohort}")
    if query.statistic == "count":
        released = {"count": _count(len(cohort), query.epsilon)}
    elif query.group_by == "code":
        share = query.epsilon / len(query.codes)  # a contributor may hold every code: one count each
        released = {code: _count(sum(c.has(query.dataset, code) for c in cohort), share) for code in query.codes}
    elif query.statistic == "histogram":
        bins = GROUPINGS[query.group_by]
        labels = [c.age_band if query.group_by == "ageBand" else c.sex for c in cohort]
        released = _histogram(labels, bins, query.epsilon)
    else:
        released = {"mean": _mean([c.measures[query.dataset][query.measure] for c in cohort], query.bounds,
                                  query.epsilon)}
    return {"statistic": query.statistic, "values": {label: value for label, (value, _) in released.items()},
            "accuracy": {label: accuracy for label, (_, accuracy) in released.items()}, "confidence": CONFIDENCE,
            "epsilon": query.epsilon, "mechanism": f"Laplace noise calibrated by OpenDP {dp.__version__}"}


def _count(true_count: int, epsilon: float) -> tuple[int, float]:
    """A count with discrete Laplace noise (a patient changes it by at most 1); below zero is
    reported as zero, which only moves it towards the truth."""
    measurement = _calibrated(lambda scale: dp.t.make_count(_domain(int), dp.symmetric_distance())
                              >> dp.m.then_laplace(scale), epsilon)
    noisy = measurement([0] * true_count)
    return max(0, noisy), _accuracy(measurement, discrete=True)


def _histogram(labels: list[str], bins: tuple[str, ...], epsilon: float) -> dict[str, tuple[int, float]]:
    measurement = _calibrated(lambda scale: dp.t.make_count_by_categories(
        _domain(str), dp.symmetric_distance(), categories=list(bins), null_category=False)
        >> dp.m.then_laplace(scale), epsilon)
    accuracy = _accuracy(measurement, discrete=True)
    return {label: (max(0, count), accuracy) for label, count in zip(bins, measurement(labels))}


def _mean(values: list[float], bounds: tuple[float, float], epsilon: float) -> tuple[float | None, float | None]:
    """A clamped sum and a count, each with half the epsilon; the mean is their quotient. Its
    stated accuracy holds whenever both lie within their intervals (each at half the miss rate):
    |S'/N' - S/N| = |(S' - S) - (S/N)(N' - N)| / N' <= (a_sum + M a_count) / N', M the clamp's
    largest magnitude. None when the noisy count is not positive."""
    low, high = bounds
    total = _calibrated(lambda scale: dp.t.make_clamp(_domain(float), dp.symmetric_distance(), (low, high))
                        >> dp.t.then_sum() >> dp.m.then_laplace(scale), epsilon / 2)
    count = _calibrated(lambda scale: dp.t.make_count(_domain(float), dp.symmetric_distance())
                        >> dp.m.then_laplace(scale), epsilon / 2)
    noisy_total, noisy_count = total(values), count(values)
    if noisy_count <= 0:
        return None, None
    alpha = (1 - CONFIDENCE) / 2
    bound = (_accuracy(total, discrete=False, alpha=alpha)
             + max(abs(low), abs(high)) * _accuracy(count, discrete=True, alpha=alpha)) / noisy_count
    return round(min(max(noisy_total / noisy_count, low), high), 6), round(bound, 6)


@dataclass(frozen=True)
class _Calibrated:
    measurement: dp.Measurement
    scale: float

    def __call__(self, data):
        return self.measurement(data)


def _calibrated(make, epsilon: float) -> _Calibrated:
    """The measurement of the smallest noise scale whose privacy loss for one patient is at most
    `epsilon`, found by OpenDP's own search."""
    scale = dp.binary_search_param(make, d_in=1, d_out=epsilon)
    return _Calibrated(make(scale), scale)


def _accuracy(measurement: _Calibrated, discrete: bool, alpha: float = 1 - CONFIDENCE) -> float:
    scale = measurement.scale
    to_accuracy = dp.discrete_laplacian_scale_to_accuracy if discrete else dp.laplacian_scale_to_accuracy
    return round(to_accuracy(scale, alpha), 6)


def _domain(atom: type):
    return dp.vector_domain(dp.atom_domain(T=atom, nan=False) if atom is float else dp.atom_domain(T=atom))


def _per_dataset(data, allowed: tuple[Category, ...], kind: type) -> dict[Category, object]:
    if not isinstance(data, dict):
        raise InvalidInput("a contribution's codes and measures are objects keyed by dataset")
    found = {}
    for key, values in data.items():
        if key not in {str(int(d)) for d in allowed} or not isinstance(values, kind) or len(values) > MAX_CODES:
            raise InvalidInput(f"a contribution holds no such dataset, or too much in it: {key!r}")
        found[Category(int(key))] = values
    return found


def _codes(values) -> list[str]:
    if not isinstance(values, list) or len(set(values)) != len(values):
        raise InvalidInput("codes are a list of distinct system|code tokens")
    return [_code(value) for value in values]


def _code(value) -> str:
    if not isinstance(value, str) or not CODE.match(value):
        raise InvalidInput(f"{value!r} is not a code written as system|code")
    return value


def _finite(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidInput(f"{value!r} is not a finite number")
    return float(value)


def _bounds(value) -> tuple[float, float]:
    if not isinstance(value, list) or len(value) != 2:
        raise InvalidInput("the bounds are a list of two numbers, the lower first")
    low, high = (_finite(v) for v in value)
    if not low < high or max(abs(low), abs(high)) > MAX_MAGNITUDE:
        raise InvalidInput(f"the lower bound must be below the upper, both within ±{MAX_MAGNITUDE:g}")
    return low, high
