"""The web forms (Flask-WTF: CSRF token and validation on every one).

Record forms turn their input into a library `Record`; the library's own checks (plausible
ranges, FHIR validation, file types and sizes) raise InvalidInput, which the views show beside
the form. Every form that creates a record carries the second it was first shown, so a form sent
twice builds the same record, which the library stores once.
"""

import time
from datetime import datetime, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (BooleanField, DateField, DateTimeLocalField, HiddenField, IntegerField, PasswordField,
                     RadioField, SelectField, SelectMultipleField, StringField, TextAreaField)
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from app.carechain import fhir_rules, profiles, records, vitals
from app.carechain.errors import InvalidInput
from app.carechain.keystore import MIN_PASSWORD_LENGTH
from app.carechain.records import Category
from app.carechain.summaries import RecordQuery

MAX_GRANT_DAYS = 3650  # the contract's ten-year limit


def choices(pairs) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


CATEGORY_CHOICES = choices((str(int(category)), category.label) for category in Category)


class ActionForm(FlaskForm):
    """A button that changes something: only its CSRF token is sent."""


def _password(label="Password"):
    return PasswordField(label, validators=[DataRequired(), Length(
        min=MIN_PASSWORD_LENGTH, max=200, message=f"Use at least {MIN_PASSWORD_LENGTH} characters.")])


def _repeat():
    return PasswordField("Repeat the password", validators=[DataRequired(), EqualTo(
        "password", message="The two passwords differ.")])


class SignupForm(FlaskForm):
    kind = RadioField("I am", default="patient", choices=choices([
        ("patient", "a patient"), ("doctor", "a doctor"), ("hospital", "a hospital")]))
    name = StringField("Name (doctors and hospitals; shown to patients)", validators=[Length(max=80)])
    login_name = StringField("Login name or e-mail address", validators=[Optional(), Length(max=64)],
                             description="What you will log in with, instead of your account's address. "
                                         "Only this server knows it.")
    password = _password()
    confirm = _repeat()

    def validate_name(self, field):
        if self.kind.data != "patient" and not (field.data or "").strip():
            raise ValidationError("Doctors and hospitals give the name patients will see.")


class BackupForm(FlaskForm):
    saved = BooleanField("I have downloaded my keystore file and will remember my password.",
                         validators=[DataRequired("Download the keystore file and tick the box first.")])


class LoginForm(FlaskForm):
    address = StringField("Login name, e-mail or account address", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("Password", validators=[DataRequired()])


class ImportKeyForm(FlaskForm):
    private_key = PasswordField("Private key (64 hexadecimal characters)", validators=[DataRequired(), Length(max=70)])
    password = _password("New password")
    confirm = _repeat()


class ImportKeystoreForm(FlaskForm):
    keystore = FileField("Keystore file (JSON)", validators=[FileRequired()])
    password = PasswordField("Its password", validators=[DataRequired()])


def first_shown(shown_at: str | None) -> int:
    """The second a form was first shown (kept across a resubmission), if plausible, else now."""
    now = int(time.time())
    try:
        shown = int(shown_at)
    except (TypeError, ValueError):
        return now
    return shown if now - 86400 <= shown <= now + 60 else now


class RecordForm(FlaskForm):
    """Base of the forms that create a record."""

    filed_under: Category | None = None  # the category of its records; None: decided by the input
    shown_at = HiddenField()

    def offer_only(self, categories) -> None:
        """Narrows the categories a user may choose to `categories` (a doctor's write grant)."""

    def created_at(self) -> int:
        return first_shown(self.shown_at.data)

    def record(self, patient: str) -> records.Record:
        raise NotImplementedError


class VitalsForm(RecordForm):
    filed_under = Category.VITALS
    kind = SelectField("Measurement", choices=choices([
        ("pulse", "Heart rate (beats/min)"), ("blood_pressure", "Blood pressure (mmHg)"),
        ("spo2", "Oxygen saturation (%)"), ("temperature", "Body temperature (°C)"), ("glucose", "Glucose (mg/dL)")]))
    value = StringField("Value (systolic for blood pressure)", validators=[DataRequired(), Length(max=20)])
    diastolic = StringField("Diastolic (blood pressure only)", validators=[Optional(), Length(max=20)])
    measured_at = DateTimeLocalField("Measured at (empty for now)", validators=[Optional()])
    time_zone = HiddenField()  # the zone the page showed times in (static/localtime.js)

    def record(self, patient):
        if self.kind.data == "blood_pressure":
            if not self.diastolic.data:
                raise InvalidInput("blood pressure needs the diastolic value too")
            value = (self.value.data, self.diastolic.data)
        else:
            value = self.value.data
        measured = self.measured_at.data
        measured_at = int(measured.replace(tzinfo=user_zone(self.time_zone.data)).timestamp()) if measured \
            else self.created_at()
        if measured_at > time.time() + 300:
            raise InvalidInput("the measurement time is in the future")
        return vitals.vital_sign(patient, self.kind.data, value, measured_at)


class DiagnosisForm(RecordForm):
    filed_under = Category.CONDITIONS
    diagnosis = StringField("Diagnosis", validators=[DataRequired(), Length(max=200)])

    def record(self, patient):
        return records.condition(patient, self.diagnosis.data, self.created_at())


class PrescriptionForm(RecordForm):
    filed_under = Category.MEDICATIONS
    medication = StringField("Medication and strength", validators=[DataRequired(), Length(max=200)])
    dosage = StringField("Dosage", validators=[DataRequired(), Length(max=200)])

    def record(self, patient):
        return records.prescription(patient, self.medication.data, self.dosage.data, self.created_at())


class FhirForm(RecordForm):
    """One FHIR resource, uploaded as a file or pasted (kept in the form when it is refused)."""

    resource = FileField("FHIR R4 resource: a JSON file", description="One of " + ", ".join(
        sorted(kind for kind in records.CATEGORY_OF if kind != "Bundle")) + ".")  # Bundles come from devices
    pasted = TextAreaField("…or paste its JSON here", render_kw={"rows": 12, "spellcheck": "false"})

    def validate_pasted(self, field):
        if (self.resource.data is not None) == bool((field.data or "").strip()):
            raise ValidationError("Give the resource once: choose a file or paste it, not both."
                                  if self.resource.data is not None else "Choose a JSON file or paste a FHIR resource.")

    def record(self, patient):
        if self.resource.data is not None:
            data = self.resource.data.read(records.MAX_RESOURCE_SIZE + 1)
            if not data:
                raise InvalidInput("the file is empty")
        else:
            data = self.pasted.data.encode()
        record = records.Record.from_fhir(data, created_at=self.created_at())
        fhir_rules.check_patient(record.resource, patient)
        return record


class BundleImportForm(FlaskForm):
    bundle = FileField("FHIR R4 Bundle: a JSON file (collection, transaction, batch, document or searchset)",
                       validators=[FileRequired("Choose a Bundle file.")])


class DocumentForm(RecordForm):
    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    category = SelectField("Category", choices=CATEGORY_CHOICES, default=str(int(Category.DOCUMENTS)))
    file = FileField("File (PDF, PNG, JPEG or text, up to 20 MB)", validators=[FileRequired("Choose a file.")])

    def offer_only(self, categories):
        self.category.choices = [choice for choice in CATEGORY_CHOICES if Category(int(choice.value)) in categories]

    def record(self, patient):
        data = self.file.data.read(records.MAX_ATTACHMENT_SIZE + 1)
        return records.document(patient, self.title.data, data, sniff_type(self.file.data.filename, data),
                                self.created_at(), Category(int(self.category.data)))


RECORD_FORMS = {
    "vitals": VitalsForm,
    "diagnosis": DiagnosisForm,
    "prescription": PrescriptionForm,
    "document": DocumentForm,
    "fhir": FhirForm,
}


def sniff_type(filename: str | None, data: bytes) -> str | None:
    """A file's type from its bytes (what the browser claims is not trusted); text needs .txt."""
    for content_type, signatures in records.ATTACHMENT_TYPES.items():
        if signatures and data.startswith(signatures):
            return content_type
    if (filename or "").lower().endswith(".txt"):
        return "text/plain"
    return None


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class RedactedCopyForm(FlaskForm):
    """What to withhold from a copy of a record and whom to share it with; the choices are the
    record's elements and its category's readers, and the library names any it does not know."""

    withheld = MultiCheckboxField("Withhold these parts", choices=[], validate_choice=False)
    recipients = MultiCheckboxField("Share the copy with", choices=[], validate_choice=False)


class ScopeForm(FlaskForm):
    """What a grant gives: categories, rights and its end; approving a request for access adjusts it."""

    categories = MultiCheckboxField("Records they may see", choices=CATEGORY_CHOICES,
                                    validators=[DataRequired("Choose at least one category.")])
    access = RadioField("Rights", default="read", choices=choices([("read", "Read"), ("write", "Read and add records")]))
    days = IntegerField("For how many days", validators=[Optional(), NumberRange(1, MAX_GRANT_DAYS)])
    until = DateField("…or until (the end of that day)", validators=[Optional()])
    time_zone = HiddenField()  # the zone the page showed times in (static/localtime.js)

    def expires_at(self, now: int) -> int:
        return expiry(self.days.data, self.until.data, now, user_zone(self.time_zone.data))


class GrantForm(ScopeForm):
    provider = SelectField("Doctor or hospital", validators=[InputRequired("Choose a doctor or hospital.")])


class AccessRequestForm(FlaskForm):
    """A doctor's or hospital's request to a patient for access."""

    patient = StringField("Patient's address", validators=[DataRequired("Give the patient's address (0x…).")])
    categories = MultiCheckboxField("Records you ask to see", choices=CATEGORY_CHOICES,
                                    validators=[DataRequired("Choose at least one category.")])
    access = RadioField("Rights", default="read", choices=choices([("read", "Read"), ("write", "Read and add records")]))
    days = IntegerField("For how many days", validators=[InputRequired("Give a number of days (1–3650)."),
                                                         NumberRange(1, MAX_GRANT_DAYS)])
    reason = TextAreaField("Why (only the patient and you can read it)", validators=[Length(max=1000)])


class RenewForm(FlaskForm):
    days = IntegerField("Days from now", validators=[Optional(), NumberRange(1, MAX_GRANT_DAYS)])
    until = DateField("…or until", validators=[Optional()])
    time_zone = HiddenField()

    def expires_at(self, now: int) -> int:
        return expiry(self.days.data, self.until.data, now, user_zone(self.time_zone.data))


class NarrowForm(FlaskForm):
    categories = MultiCheckboxField("Keep these categories", choices=CATEGORY_CHOICES,
                                    validators=[DataRequired("Keep at least one category, or revoke instead.")])
    access = RadioField("Rights", choices=choices([("read", "Read"), ("write", "Read and add records")]))
    rotate_dropped = BooleanField("Re-encrypt the records of the categories dropped, so keys they kept open nothing current",
                          default=True)


class RevokeForm(FlaskForm):
    rotate = BooleanField("Also re-encrypt the records they could read, so keys they kept open nothing current",
                          default=True)


def user_zone(name: str | None) -> tzinfo:
    """The time zone the user's page showed times in, which its script sends with the form; UTC,
    which pages show without JavaScript, when there is none or it is unknown."""
    try:
        return ZoneInfo(name) if name else timezone.utc
    except (ZoneInfoNotFoundError, ValueError):
        return timezone.utc


def expiry(days: int | None, until, now: int, zone: tzinfo = timezone.utc) -> int:
    """The end of access from a number of days, or the end of a date in the user's zone."""
    if (days is None) == (until is None):
        raise InvalidInput("give either a number of days or an end date")
    if days is not None:
        return now + days * 86400
    end = int(datetime(until.year, until.month, until.day, 23, 59, 59, tzinfo=zone).timestamp())
    if end <= now:
        raise InvalidInput("the end date must be in the future")
    if end > now + MAX_GRANT_DAYS * 86400:
        raise InvalidInput("access can be granted for at most ten years")
    return end


class RecordFilterForm(FlaskForm):
    """A records list's filters, sent in the URL (a GET form changes nothing, so no CSRF token)."""

    class Meta:
        csrf = False

    text = StringField("Title contains", validators=[Optional(), Length(max=100)])
    category = SelectField("Category", default="", choices=choices([("", "All categories")]) + CATEGORY_CHOICES)
    since = DateField("From", validators=[Optional()])
    until = DateField("To", validators=[Optional()])
    order = SelectField("Order", default="newest", choices=choices([("newest", "Newest first"),
                                                                     ("oldest", "Oldest first")]))

    def query(self) -> RecordQuery:
        """The filters as a library query. An invalid field (a malformed date) keeps its error to
        show beside it and filters nothing."""
        self.validate()
        valid = {name: None if field.errors else field.data for name, field in self._fields.items()}
        return RecordQuery(Category(int(valid["category"])) if valid["category"] else None, valid["since"],
                           valid["until"], valid["text"] or "", valid["order"] == "oldest")


class DeviceForm(FlaskForm):
    label = StringField("Device name", validators=[DataRequired(), Length(max=60)],
                        description="What you will recognise it by, e.g. \"Bedside hub\" or \"Phone\".")
    spo2_scale_2 = BooleanField("Score oxygen saturation on NEWS2's scale 2 (target 88–92%)",
                                description="Only if a clinician prescribed it, for hypercapnic respiratory failure "
                                            "(e.g. some people with COPD).")


class ProviderForm(FlaskForm):
    role = RadioField("Register as", default="doctor", choices=choices([("doctor", "Doctor"), ("hospital", "Hospital")]))
    name = StringField("Name", validators=[DataRequired(), Length(max=80)])
    address = StringField("Account address", validators=[DataRequired(), Length(max=42)])
    public_key = StringField("Public key (hex; filled in for sign-up requests)", validators=[Optional(), Length(max=140)])
    hospital = SelectField("Hospital (doctors)", validators=[Optional()], choices=[])


class ProfileForm(FlaskForm):
    """A patient's profile: who providers granted access see instead of an address. The library
    checks every value (InvalidInput); the form only bounds the lengths."""

    given = StringField("Given name", validators=[DataRequired("Give your given name."), Length(max=profiles.MAX_NAME)])
    family = StringField("Family name", validators=[DataRequired("Give your family name."),
                                                    Length(max=profiles.MAX_NAME)])
    birth_date = DateField("Birth date", validators=[InputRequired("Give your birth date.")])
    gender = SelectField("Sex", choices=choices([("", "Choose…"), *profiles.GENDERS.items()]),
                         validators=[DataRequired("Choose one.")])
    phone = StringField("Phone (optional)", validators=[Optional(), Length(max=32)])
    email = StringField("E-mail (optional)", validators=[Optional(), Length(max=254)])
    photo = FileField(f"Photo (optional; PNG or JPEG, up to {profiles.MAX_PHOTO_SIZE >> 10} KB)")
    remove_photo = BooleanField("Remove the photo")
    shown_at = HiddenField()

    def updated_at(self) -> int:
        """The second the form was first shown, so a form sent twice seals the same profile."""
        return first_shown(self.shown_at.data)

    def photo_of(self, current: "profiles.Profile | None") -> tuple[bytes, str]:
        """The uploaded photo and its type sniffed from its bytes, else the current one unless removed."""
        upload = self.photo.data
        if upload and getattr(upload, "filename", ""):
            data = upload.read(profiles.MAX_PHOTO_SIZE + 1)
            return data, sniff_type(upload.filename, data) or ""
        if current is None or self.remove_photo.data:
            return b"", ""
        return current.photo, current.photo_type


class ApiTokenForm(FlaskForm):
    """An access token for the FHIR API (see fhir_api.py): what it may read, and for how long."""
    name = StringField("Name", validators=[Optional(), Length(max=80)],
                       description="What will use it (\"Ward EHR\"), so you know which token to revoke.")
    scope = StringField("Scope", default="user/*.read", validators=[DataRequired(), Length(max=400)],
                        description="SMART scopes, read only: user/*.read, or e.g. "
                                    "\"user/Patient.read user/Observation.read\".")
    hours = SelectField("Valid for", default="1", choices=choices([("1", "1 hour"), ("4", "4 hours"),
                                                                   ("8", "8 hours")]))
