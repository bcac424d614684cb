"""WTForms for the account pages; every form carries a CSRF token (Flask-WTF)."""

from __future__ import annotations

from flask_babel import lazy_gettext
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

ROLE_CHOICES = [(role, role.capitalize()) for role in ROLES]
LANGUAGE_CHOICES = [
    ("", "Detect it from the recording"),
    ("en", "English"),
    ("ru", "Russian"),
    ("kk", "Kazakh"),
    ("uk", "Ukrainian"),
    ("de", "German"),
    ("fr", "French"),
    ("es", "Spanish"),
    ("ar", "Arabic"),
    ("tr", "Turkish"),
    ("uz", "Uzbek"),
    ("be", "Belarusian"),
    ("ka", "Georgian"),
    ("hy", "Armenian"),
    ("az", "Azerbaijani"),
    ("fa", "Persian"),
    ("zh", "Chinese"),
]


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired()], render_kw={"autocomplete": "username"})
    password = PasswordField(
        "Password", validators=[DataRequired()], render_kw={"autocomplete": "current-password"}
    )


class RegisterForm(FlaskForm):
    display_name = StringField("Your name", validators=[DataRequired(), Length(max=120)])
    email = EmailField("Email", validators=[DataRequired(), Email()])
    password = PasswordField(
        "Password",
        validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH)],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        "Repeat the password",
        validators=[DataRequired(), EqualTo("password", message="The passwords differ.")],
        render_kw={"autocomplete": "new-password"},
    )


class NewUserForm(FlaskForm):
    display_name = StringField("Name", validators=[Length(max=120)])
    email = EmailField("Email", validators=[DataRequired(), Email()])
    role = SelectField("Role", choices=ROLE_CHOICES)
    password = PasswordField(
        "First password",
        validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH)],
        render_kw={"autocomplete": "new-password"},
    )


class EditUserForm(FlaskForm):
    role = SelectField("Role", choices=ROLE_CHOICES)
    active = BooleanField("Account active")


class TokenForm(FlaskForm):
    label = StringField("What is this token for?", validators=[Length(max=120)])


class PasswordForm(FlaskForm):
    current = PasswordField(
        "Current password",
        validators=[DataRequired()],
        render_kw={"autocomplete": "current-password"},
    )
    password = PasswordField(
        "New password",
        validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH)],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        "Repeat the new password",
        validators=[DataRequired(), EqualTo("password", message="The passwords differ.")],
        render_kw={"autocomplete": "new-password"},
    )


class EmptyForm(FlaskForm):
    """A form with only the CSRF token, for buttons that change something."""


class InterviewForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired(), Length(max=300)])
    summary = TextAreaField("Summary", validators=[Length(max=20_000)])
    recorded_on = DateField("Date of the interview", validators=[Optional()])
    place = StringField("Place", validators=[Length(max=300)])
    languages = StringField(
        lazy_gettext("Languages spoken"),
        validators=[Length(max=120)],
        render_kw={"placeholder": "ru, kk", "autocomplete": "off", "spellcheck": "false"},
    )
    expected_speakers = IntegerField(
        "Number of speakers", default=2, validators=[Optional(), NumberRange(min=1, max=20)]
    )
    vocabulary = TextAreaField(
        "Words the transcription should know", validators=[Length(max=5_000)]
    )
    narrator_pseudonym = StringField("Narrator's pseudonym", validators=[Length(max=120)])


class LanguagesForm(FlaskForm):
    languages = StringField(
        lazy_gettext("Languages spoken"),
        validators=[Length(max=120)],
        render_kw={"placeholder": "ru, kk", "autocomplete": "off", "spellcheck": "false"},
    )


class UploadForm(FlaskForm):
    file = MultipleFileField("Recordings", validators=[DataRequired()])
