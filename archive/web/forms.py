"""WTForms for the account pages; every form carries a CSRF token (Flask-WTF)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    IntegerField,
    MultipleFileField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, EqualTo, Length, NumberRange, Optional

from archive.accounts import MIN_PASSWORD_LENGTH
from archive.models import ROLES

_ROLE_LABELS = {
    "admin": _l("Administrator"),
    "custodian": _l("Custodian"),
    "archivist": _l("Archivist"),
    "interviewer": _l("Interviewer"),
    "researcher": _l("Researcher"),
}
ROLE_CHOICES = [(role, _ROLE_LABELS[role]) for role in ROLES]


class LoginForm(FlaskForm):
    email = EmailField(
        _l("Email"), validators=[DataRequired()], render_kw={"autocomplete": "username"}
    )
    password = PasswordField(
        _l("Password"), validators=[DataRequired()], render_kw={"autocomplete": "current-password"}
    )


class RegisterForm(FlaskForm):
    display_name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=120)])
    email = EmailField(_l("Email"), validators=[DataRequired(), Email()])
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH)],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
        render_kw={"autocomplete": "new-password"},
    )


class NewUserForm(FlaskForm):
    display_name = StringField(_l("Name"), validators=[Length(max=120)])
    email = EmailField(_l("Email"), validators=[DataRequired(), Email()])
    role = SelectField(_l("Role"), choices=ROLE_CHOICES)
    password = PasswordField(
        _l("First password"),
        validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH)],
        render_kw={"autocomplete": "new-password"},
    )


class EditUserForm(FlaskForm):
    role = SelectField(_l("Role"), choices=ROLE_CHOICES)
    active = BooleanField(_l("Account active"))


class TokenForm(FlaskForm):
    label = StringField(_l("What is this token for?"), validators=[Length(max=120)])


class PasswordForm(FlaskForm):
    current = PasswordField(
        _l("Current password"),
        validators=[DataRequired()],
        render_kw={"autocomplete": "current-password"},
    )
    password = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH)],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
        render_kw={"autocomplete": "new-password"},
    )


class EmptyForm(FlaskForm):
    """A form with only the CSRF token, for buttons that change something."""


class InterviewForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=300)])
    summary = TextAreaField(_l("Summary"), validators=[Length(max=20_000)])
    recorded_on = DateField(_l("Date of the interview"), validators=[Optional()])
    place = StringField(_l("Place"), validators=[Length(max=300)])
    languages = StringField(
        _l("Languages spoken"),
        validators=[Length(max=120)],
        render_kw={"placeholder": "ru, kk", "autocomplete": "off", "spellcheck": "false"},
    )
    expected_speakers = IntegerField(
        _l("Number of speakers"), default=2, validators=[Optional(), NumberRange(min=1, max=20)]
    )
    vocabulary = TextAreaField(
        _l("Words the transcription should know"), validators=[Length(max=5_000)]
    )
    narrator_pseudonym = StringField(_l("Narrator's pseudonym"), validators=[Length(max=120)])


class LanguagesForm(FlaskForm):
    languages = StringField(
        _l("Languages spoken"),
        validators=[Length(max=120)],
        render_kw={"placeholder": "ru, kk", "autocomplete": "off", "spellcheck": "false"},
    )


class UploadForm(FlaskForm):
    file = MultipleFileField(_l("Recordings"), validators=[DataRequired()])
