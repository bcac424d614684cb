"""The schema layer: pydantic checks that speak the archive's own messages, and the
output views that decide what each reader is shown of a speaker."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Annotated

import pytest
from pydantic import Field

from archive.consent.schemas import AgreementKeys, AgreementTerms, Decision
from archive.errors import N_, ValidationError
from archive.interviews.outputs import RecordingView, SpeakerEditorView, SpeakerView
from archive.interviews.schemas import MergeInto, SpeakerChanges
from archive.schemas import Message, Schema
from archive.transcripts.schemas import (
    Claim,
    IndexPointBody,
    RedactionNote,
    RedactionRequest,
    SegmentChanges,
    SegmentEdit,
    Selection,
    SplitAt,
)


class _Typed(Schema):
    count: Annotated[int, Message(N_("%(key)s must be a whole number."), key="count")] = 0
    size: Annotated[int, Field(ge=0)] = 0


def _refusal(model: type[Schema], data: dict, **context) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        model.parse(data, **context)
    return caught.value


def test_a_validator_error_is_the_archive_message_with_its_values():
    error = _refusal(AgreementTerms, {"audio": "loud"})
    assert error.template == "%(key)s must be one of %(choices)s."
    assert error.params == {"key": "audio", "choices": "none, redacted, full"}
    assert error.message == "audio must be one of none, redacted, full."
    assert error.status == 422


def test_pydantics_own_errors_take_the_fields_message_never_pydantics_english():
    error = _refusal(_Typed, {"count": "many"})
    assert error.message == "count must be a whole number."
    # A field without a message of its own is still named, in the archive's words.
    error = _refusal(_Typed, {"size": -1})
    assert error.message == "size is not valid."
    assert "Input should" not in error.message


def test_the_first_error_in_field_order_is_reported_as_the_old_checks_did():
    # notes were checked before identity, identity before access_level.
    error = _refusal(AgreementTerms, {"notes": 5, "identity": "x", "access_level": "x"})
    assert error.message == "notes must be text of at most 20,000 characters."
    error = _refusal(AgreementTerms, {"identity": "x", "access_level": "x"})
    assert error.params["key"] == "identity"


def test_parse_returns_a_model_unchanged_so_views_and_services_may_both_parse():
    body = SpeakerChanges.parse({"pseudonym": " Aigerim "})
    assert SpeakerChanges.parse(body) is body
    assert body.pseudonym == "Aigerim" and body.changed() == ["pseudonym"]


def test_api_only_rules_on_the_agreement_body():
    assert _refusal(AgreementKeys, {"access_level": "open", "x": 1, "a": 2}).message == (
        "Unknown field(s): a, x."
    )
    assert _refusal(AgreementKeys, {}).message == (
        "access_level is required: sealed, catalogue, on_request or open."
    )


def test_a_refused_request_needs_no_expiry_and_an_approval_gets_a_year():
    assert Decision.parse({"approve": False, "expires_on": "nonsense"}).expires_on is None
    assert Decision.parse({"approve": True}).expires_on is not None
    assert _refusal(Decision, {"approve": True, "expires_on": "2001-01-01"}).message == (
        "expires_on must be in the future."
    )


def test_merge_and_index_point_messages():
    assert _refusal(MergeInto, {"into": "S2"}).message == "into must be a speaker id."
    assert _refusal(IndexPointBody, {"time": 99, "title": "x"}, duration=10).message == (
        "time must be between 0 and 10 seconds."
    )


def _speaker(**more):
    interview = SimpleNamespace(identity="pseudonym", id=1)
    fields = dict(
        id=7,
        label="S1",
        role="narrator",
        pseudonym="Aigerim",
        real_name="Real Person",
        aliases=None,
        named=False,
        interview=interview,
    )
    return SimpleNamespace(**(fields | more))


def test_speaker_views_never_carry_a_real_name_the_policy_did_not_choose():
    speaker = _speaker()
    public = SpeakerView.of(None, speaker).as_json()
    assert public == {"id": 7, "label": "S1", "name": "Aigerim", "role": "narrator"}
    editor = SpeakerEditorView.of(None, speaker).as_json()
    assert editor == {**public, "pseudonym": "Aigerim", "has_real_name": True}
    assert "Real Person" not in str(public) + str(editor)


def test_the_public_recording_view_holds_only_its_four_fields():
    recording = SimpleNamespace(
        id=3, position=1, duration=12.5, status="done", original_filename="real-name.wav"
    )
    assert RecordingView.of(recording).as_json() == {
        "id": 3,
        "position": 1,
        "duration": 12.5,
        "status": "done",
    }


@pytest.mark.parametrize("value", [True, 1.0, "1", None])
def test_editor_positions_are_whole_numbers_and_never_booleans(value):
    assert _refusal(SplitAt, {"at": value}).message == (
        "at must be a character position in the segment's text."
    )
    assert _refusal(Selection, {"start": 0, "end": value}).message == (
        "start and end must be character positions (whole numbers)."
    )


def _segment(duration: float | None = 60.0) -> SimpleNamespace:
    recording = SimpleNamespace(duration=duration, interview_id=1)
    return SimpleNamespace(text="Hello.", start=1.0, end=2.0, speaker_id=7, recording=recording)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"text": "x", "version": 2, "parts": []}, "Unknown field(s): parts, version."),
        ({}, "Nothing to change: send text, speaker_id, start or end."),
        ({"text": 5, "start": "x"}, "text must be text of at most 20000 characters."),
        ({"start": "x", "end": 90}, "start and end must be numbers of seconds."),
        ({"end": None}, "start and end must be numbers of seconds."),
        (
            {"start": 3, "speaker_id": True},
            "start and end must satisfy 0 <= start < end <= 60.0 (the recording).",
        ),
        ({"end": 61}, "start and end must satisfy 0 <= start < end <= 60.0 (the recording)."),
        ({"speaker_id": None}, "speaker_id must be a speaker of this interview."),
        ({"speaker_id": True}, "speaker_id must be a speaker of this interview."),
        ({"speaker_id": 2**31}, "speaker_id must be a speaker of this interview."),
    ],
)
def test_segment_changes_refuse_with_the_first_message_in_the_old_order(changes, message):
    assert _refusal(SegmentChanges, changes, segment=_segment()).message == message


def test_segment_changes_keep_what_is_not_sent_and_round_times():
    edit = SegmentChanges.parse({"start": "0.12345", "text": "Hi."}, segment=_segment())
    assert (edit.text, edit.speaker_id, edit.times()) == ("Hi.", 7, (0.123, 2.0))
    # Without a known duration, the end itself is the bound.
    assert SegmentChanges.parse({"end": 500}, segment=_segment(None)).times() == (1.0, 500.0)


@pytest.mark.parametrize("version", [True, 1.0, "3", [1]])
def test_a_version_is_a_whole_number_or_nothing(version):
    message = "version must be the whole number the segment was shown with."
    assert _refusal(Claim, {"version": version}).message == message
    assert Claim.parse({}).version is None and Claim.parse({"version": 4}).version == 4


def test_a_redaction_needs_a_reason_and_a_short_replacement():
    assert _refusal(RedactionNote, {"reason": "  "}).message == (
        "Give a reason for the redaction; it is kept with it."
    )
    assert _refusal(RedactionNote, {"reason": 3, "replacement": "x" * 121}).message == (
        "Give a reason for the redaction; it is kept with it."
    )
    assert _refusal(RedactionNote, {"reason": "ok", "replacement": " " + "x" * 121}).message == (
        "The replacement must be at most 120 characters."
    )
    note = RedactionNote.parse({"reason": " r" * 1500, "replacement": 5})
    assert (len(note.reason), note.replacement) == (2000, "")


@pytest.mark.parametrize("rendered, expected", [(True, True), (1, False), ("true", False)])
def test_only_a_true_rendered_flag_means_the_editor_s_positions(rendered, expected):
    assert RedactionRequest.parse({"rendered": rendered}).rendered is expected
    assert RedactionRequest.parse({}).rendered is False


def test_an_editor_save_needs_something_to_change_before_its_version():
    nothing = "Nothing to change: send text, speaker_id, start or end."
    assert _refusal(SegmentEdit, {"version": "x"}).message == nothing
    assert _refusal(SegmentEdit, {"parts": [], "version": "x"}).message == (
        "version must be the whole number the segment was shown with."
    )
    assert SegmentEdit.parse({"text": "x", "version": 3}).version == 3
    assert _refusal(SplitAt, {"at": "1", "version": "x"}).message == (
        "at must be a character position in the segment's text."
    )
    assert SplitAt.parse({"at": 1}).version is None
