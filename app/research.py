"""Research queries on the web: a research institution asks aggregate questions and sees only noisy
aggregates; a patient opts in per category, sees exactly what is shared and which queries used it;
the admin registers institutions, names the steward and sets each dataset's budget and minimum
cohort. The library does the work (research.py, contributions.py); the steward answers beside
the web app (scripts/steward.py)."""

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, url_for
from flask_wtf import FlaskForm
from wtforms import DecimalField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, NumberRange, Optional

from app import backend
from app.accounts import roles_required
from app.carechain.contributions import Contributions
from app.carechain.errors import IntegrityError, InvalidInput, TransactionFailed
from app.carechain.model import checksum
from app.carechain.records import Category
from app.carechain.research import InstitutionNames
from app.carechain.research_stats import AGE_BANDS, DATASETS, MAX_EPSILON, SEXES, STATISTICS, Query
from app.forms import ActionForm, MultiCheckboxField, choices

bp = Blueprint("research", __name__, url_prefix="/research")
DATASET_CHOICES = choices((str(int(dataset)), dataset.label) for dataset in DATASETS)
REFUSED = (InvalidInput, TransactionFailed)


class QueryForm(FlaskForm):
    dataset = SelectField("Dataset", choices=DATASET_CHOICES)
    statistic = SelectField("Statistic", choices=choices([("count", "Count of contributors"),
                                                          ("histogram", "Histogram"),
                                                          ("mean", "Mean of a measure (Vitals, Labs)")]))
    group_by = SelectField("Histogram by", choices=choices([("ageBand", "age band"), ("sex", "sex"),
                                                            ("code", "code (list the codes below)")]))
    codes = TextAreaField("Codes of a histogram by code (system|code, one a line)", validators=[Optional()])
    code = StringField("Only contributors with this code (system|code)", validators=[Optional()])
    age_bands = MultiCheckboxField("Only these age bands", choices=choices((band, band) for band in AGE_BANDS))
    sex = SelectField("Only this sex", choices=choices([("", "any")] + [(sex, sex) for sex in SEXES]))
    measure = StringField("Measure of a mean (system|code)", validators=[Optional()])
    lower = DecimalField("Values clamped from", validators=[Optional()])
    upper = DecimalField("to", validators=[Optional()])
    epsilon = DecimalField("Privacy loss ε spent on this query", places=None, validators=[
        InputRequired("Give the epsilon this query spends."),
        NumberRange(0.000001, MAX_EPSILON, f"Epsilon is above 0 and at most {MAX_EPSILON:g}.")])

    def query(self) -> Query:
        """The query the form describes; InvalidInput in words if it does not make one."""
        statistic = self.statistic.data if self.statistic.data in STATISTICS else None
        data = {"dataset": int(self.dataset.data), "statistic": statistic, "epsilon": float(self.epsilon.data)}
        if self.code.data.strip():
            data["code"] = self.code.data.strip()
        if self.age_bands.data:
            data["ageBands"] = list(self.age_bands.data)
        if self.sex.data:
            data["sex"] = self.sex.data
        if statistic == "histogram":
            data["groupBy"] = self.group_by.data
            if self.group_by.data == "code":
                data["codes"] = [line.strip() for line in (self.codes.data or "").splitlines() if line.strip()]
        if statistic == "mean":
            if self.lower.data is None or self.upper.data is None:
                raise InvalidInput("a mean needs the bounds its values are clamped to")
            data["measure"] = self.measure.data.strip() or None
            data["bounds"] = [float(self.lower.data), float(self.upper.data)]
        return Query.from_json(data)


class ContributionForm(FlaskForm):
    datasets = MultiCheckboxField("Contribute de-identified data from", choices=DATASET_CHOICES,
                                  validators=[DataRequired("Choose at least one category, or opt out.")])


class InstitutionForm(FlaskForm):
    address = StringField("Institution's address", validators=[DataRequired("Give the institution's address.")])
    name = StringField("Name", validators=[DataRequired("Give the institution's name.")])


class StewardForm(FlaskForm):
    address = StringField("Steward's address", validators=[DataRequired("Give the steward's address.")])
    public_key = StringField("Steward's public key (64 bytes, hex)",
                             validators=[DataRequired("Give the steward's public key.")])


class PolicyForm(FlaskForm):
    dataset = SelectField("Dataset", choices=DATASET_CHOICES)
    budget = DecimalField("Budget ε, for all institutions together", places=None, validators=[
        InputRequired("Give the budget."), NumberRange(0, 4000, "The budget is from 0 to 4000.")])
    min_cohort = IntegerField("Minimum cohort", validators=[
        InputRequired("Give the minimum cohort."), NumberRange(1, 65535, "The minimum cohort is from 1 to 65535.")])


def names() -> InstitutionNames:
    return InstitutionNames(current_app.config["CARECHAIN"].data / "institutions.json")


# The researcher

@bp.route("/", methods=["GET", "POST"])
@roles_required("researcher")
def queries():
    research = backend.get_carechain().research
    form = QueryForm()
    if form.validate_on_submit():
        try:
            query_id = research.submit(g.user.account, form.query())
        except REFUSED as error:
            form.form_errors.append(f"Not submitted: {error}.")
        else:
            flash(f"Query {query_id} was submitted and its ε charged to the dataset's budget; the steward answers "
                  f"it within seconds (reload to see it). {backend.mined()}", "success")
            return redirect(url_for("research.queries"))
    institution = research.institution(g.user.account.address)
    return render_template("research/queries.html", form=form, institution=institution,
                           policies=research.policies(), name=names().name_of(institution.address),
                           queries=research.queries(institution=g.user.account.address)), 400 if form.errors else 200


# The patient

@bp.route("/mine", methods=["GET", "POST"])
@roles_required("patient")
def contribution():
    carechain = backend.get_carechain()
    contributions = Contributions(carechain)
    form = ContributionForm()
    if form.validate_on_submit():
        try:
            contributions.contribute(g.user.account, [Category(int(value)) for value in form.datasets.data])
        except REFUSED as error:
            form.form_errors.append(f"Not changed: {error}.")
        else:
            flash(f"Your de-identified data is shared for research. {backend.mined()}", "success")
            return redirect(url_for("research.contribution"))
    current = contributions.current(g.user.account.address)
    if current and not form.is_submitted():
        form.datasets.data = [str(int(dataset)) for dataset in current.datasets]
    shared, problem, new_records = None, None, 0
    if current:
        new_records = contributions.records_since(current)
        try:
            shared = contributions.open(g.user.account, current)
        except IntegrityError as error:
            problem = str(error)
    named = carechain.research.steward()
    return render_template("research/contribution.html", form=form, current=current, shared=shared,
                           problem=problem, new_records=new_records, steward=named[0] if named else None,
                           withdraw=ActionForm(),
                           used=contributions.used_by(g.user.account.address), names=names(),
                           datasets=DATASETS), 400 if form.errors else 200


@bp.post("/mine/withdraw")
@roles_required("patient")
def withdraw():
    if not ActionForm().validate_on_submit():
        flash("Nothing changed; reload the page and try again.", "error")
    else:
        try:
            Contributions(backend.get_carechain()).withdraw(g.user.account)
        except REFUSED as error:
            flash(f"Not changed: {error}.", "error")
        else:
            flash(f"You opted out: no later answer counts your data. {backend.mined()}", "success")
    return redirect(url_for("research.contribution"))


# The admin

@bp.get("/admin")
@roles_required("admin")
def admin():
    return _admin_page()


@bp.post("/admin/institutions")
@roles_required("admin")
def register_institution():
    form = InstitutionForm()
    if form.validate_on_submit():
        try:
            address = checksum(form.address.data.strip(), "institution address")
            names().set(address, form.name.data)  # a name filed for an address the chain then refuses is never shown
            backend.get_carechain().research.register_institution(g.user.account, address)
        except REFUSED as error:
            form.form_errors.append(f"Not registered: {error}.")
        else:
            flash(f"{form.name.data} is a research institution. {backend.mined()}", "success")
            return redirect(url_for("research.admin"))
    return _admin_page(institution_form=form)


@bp.post("/admin/institutions/<address>/<action>")
@roles_required("admin")
def change_institution(address, action):
    if action not in ("suspend", "reinstate"):
        abort(404)
    if not ActionForm().validate_on_submit():
        flash("Nothing changed; reload the page and try again.", "error")
        return redirect(url_for("research.admin"))
    research = backend.get_carechain().research
    try:
        address = checksum(address, "institution address")
        (research.suspend_institution if action == "suspend" else research.reinstate_institution)(g.user.account,
                                                                                                   address)
    except REFUSED as error:
        flash(f"Nothing changed: {error}.", "error")
    else:
        outcome = "is suspended: it may submit no query until reinstated" if action == "suspend" else "is reinstated"
        flash(f"{names().name_of(address) or address} {outcome}. {backend.mined()}", "success")
    return redirect(url_for("research.admin"))


@bp.post("/admin/steward")
@roles_required("admin")
def set_steward():
    form = StewardForm()
    if form.validate_on_submit():
        try:
            address = checksum(form.address.data.strip(), "steward address")
            public_key = bytes.fromhex(form.public_key.data.strip().removeprefix("0x"))
        except ValueError:
            form.public_key.errors.append("The public key is 64 bytes written in hexadecimal.")
        except InvalidInput as error:
            form.address.errors.append(f"{error}.")
        else:
            try:
                backend.get_carechain().research.set_steward(g.user.account, address, public_key)
            except REFUSED as error:
                form.form_errors.append(f"Not changed: {error}.")
            else:
                flash(f"The research steward is {address}; patients renew their contributions for it. "
                      f"{backend.mined()}", "success")
                return redirect(url_for("research.admin"))
    return _admin_page(steward_form=form)


@bp.post("/admin/policies")
@roles_required("admin")
def set_policy():
    form = PolicyForm()
    if form.validate_on_submit():
        dataset = Category(int(form.dataset.data))
        try:
            backend.get_carechain().research.set_policy(g.user.account, dataset, float(form.budget.data),
                                                        form.min_cohort.data)
        except REFUSED as error:
            form.form_errors.append(f"Not changed: {error}.")
        else:
            flash(f"{dataset.label}: a budget of ε {float(form.budget.data):g} and a minimum cohort of "
                  f"{form.min_cohort.data}. {backend.mined()}", "success")
            return redirect(url_for("research.admin"))
    return _admin_page(policy_form=form)


def _admin_page(institution_form=None, steward_form=None, policy_form=None):
    research = backend.get_carechain().research
    forms = [institution_form, steward_form, policy_form]
    return render_template(
        "research/admin.html", institutions=research.institutions(), names=names(),
        steward=research.steward(), policies=research.policies(), action=ActionForm(),
        institution_form=institution_form or InstitutionForm(formdata=None),
        steward_form=steward_form or StewardForm(formdata=None),
        policy_form=policy_form or PolicyForm(formdata=None)), 400 if any(f and f.errors for f in forms) else 200
