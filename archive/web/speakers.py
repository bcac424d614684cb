"""The speakers page: naming, merging, revealing."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user

from archive import interviews
from archive.interviews import speakers
from archive.models import SPEAKER_ROLES
from archive.transcripts import rendering
from archive.web.errors import on_error
from archive.web.forms import EmptyForm

bp = Blueprint("speakers", __name__)


@bp.get("/interviews/<int:interview_id>/speakers")
def index(interview_id: int):
    interview = interviews.get_visible(current_user, interview_id, "manage_speakers")
    return _page(interview)


def _page(interview, revealed: dict | None = None) -> str:
    return render_template(
        "speakers/index.html",
        interview=interview,
        speakers=list(interview.speakers),
        counts=speakers.segment_counts(interview),
        roles=SPEAKER_ROLES,
        form=EmptyForm(),
        revealed=revealed or {},
        has_real_name=speakers.has_real_name,
    )


@bp.post("/interviews/<int:interview_id>/speakers/<int:speaker_id>")
def update(interview_id: int, speaker_id: int):
    interview = interviews.get_visible(current_user, interview_id, "manage_speakers")
    speaker = speakers.get_speaker(interview, speaker_id)
    data = {"pseudonym": request.form.get("pseudonym", ""), "role": request.form.get("role")}
    if request.form.get("real_name", "").strip():
        data["real_name"] = request.form["real_name"]
    if request.form.get("aliases", "").strip():
        data["aliases"] = request.form["aliases"]
    if request.form.get("clear_names") == "yes":
        data.update(real_name="", aliases=[])
    on_error(lambda: _page(interview))
    speakers.update_speaker(current_user, speaker, data)
    flash(gettext("%(speaker)s saved.", speaker=speaker.label), "info")
    notice = rendering.names_notice(interview, gettext)
    if notice:
        flash(notice, "info")
    return redirect(url_for("speakers.index", interview_id=interview.id))


@bp.post("/interviews/<int:interview_id>/speakers/<int:speaker_id>/merge")
def merge(interview_id: int, speaker_id: int):
    interview = interviews.get_visible(current_user, interview_id, "manage_speakers")
    merged = speakers.get_speaker(interview, speaker_id)
    keep = speakers.get_speaker(interview, request.form.get("into", type=int) or 0)
    speakers.merge_speakers(current_user, keep, merged)
    flash(
        gettext("%(merged)s is merged into %(kept)s.", merged=merged.label, kept=keep.label),
        "info",
    )
    return redirect(url_for("speakers.index", interview_id=interview.id))


@bp.post("/interviews/<int:interview_id>/speakers/<int:speaker_id>/reveal")
def reveal(interview_id: int, speaker_id: int):
    interview = interviews.get_visible(current_user, interview_id, "reveal_identity")
    speaker = speakers.get_speaker(interview, speaker_id)
    on_error(lambda: _page(interview))
    names = speakers.reveal(current_user, speaker, request.form.get("reason", ""))
    return _page(interview, revealed={speaker.id: names})


@bp.get("/interviews/<int:interview_id>/speakers/<int:speaker_id>/sample.mp3")
def sample(interview_id: int, speaker_id: int):
    interview = interviews.get_visible(current_user, interview_id, "manage_speakers")
    clip = speakers.sample_clip(speakers.get_speaker(interview, speaker_id))
    if clip is None:
        abort(404)
    return Response(clip, mimetype="audio/mpeg", headers={"Cache-Control": "no-store"})
