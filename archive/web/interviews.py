"""Interview pages: the list, a new interview, one interview with its recordings."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user

from archive import audit, interviews, policy, recordings
from archive.errors import ArchiveError
from archive.i18n import label
from archive.publishing import linked_data
from archive.transcripts import bags, citations, rendering, review_queue
from archive.web.access import kept_args, public
from archive.web.errors import on_error, translated
from archive.web.forms import EmptyForm, InterviewForm, LanguagesForm, UploadForm

bp = Blueprint("interviews", __name__, url_prefix="/interviews")


@bp.get("/")
@public
def index():
    filters = interviews.CatalogueFilter.from_args(request.args)
    page = interviews.list_visible(
        current_user, page=request.args.get("page", 1, type=int), filters=filters
    )
    return render_template(
        "interviews/index.html",
        page=page,
        filters=filters,
        collections=interviews.collections(),
        access_status=access_status_text,
        args=kept_args(
            request.args,
            ("status", "collection", "language", "year", "access", *interviews.WORK_ARGS),
        ),
        work_filter=interviews.work_filter_label(filters)
        if policy.can(current_user, "create_interview")
        else None,
        doubted=review_queue.doubted_counts(i.id for i in page.items)
        if policy.can(current_user, "review_queue")
        else {},
    )


@bp.route("/new", methods=["GET", "POST"])
def new():
    policy.require(current_user, "create_interview")
    form = InterviewForm()
    if form.validate_on_submit():
        data = {
            "title": form.title.data,
            "summary": form.summary.data,
            "recorded_on": form.recorded_on.data,
            "place": form.place.data,
            "languages": form.languages.data,
            "expected_speakers": form.expected_speakers.data,
            "vocabulary": form.vocabulary.data,
            "speakers": [{"pseudonym": form.narrator_pseudonym.data or "", "role": "narrator"}],
        }
        on_error(lambda: render_template("interviews/new.html", form=form))
        interview = interviews.create_interview(current_user, data)
        flash(gettext("The interview is created. Now add its recordings."), "info")
        notice = rendering.names_notice(interview, gettext)
        if notice:
            flash(notice, "info")
        return redirect(url_for("interviews.detail", interview_id=interview.id))
    return render_template("interviews/new.html", form=form)


@bp.get("/<int:interview_id>")
@public
def detail(interview_id: int):
    interview = interviews.get_visible(current_user, interview_id, "see_metadata")
    segments = None
    if policy.can(current_user, "read_transcript", interview):
        segments = rendering.render(current_user, interview, translation=True)
        audit.record_read(current_user, interview, "transcript_page")
    return render_template(
        "interviews/detail.html",
        interview=interview,
        segments=segments,
        upload_form=UploadForm(),
        button_form=EmptyForm(),
        languages_form=LanguagesForm(languages=", ".join(interview.language_codes)),
        citation=citations.cite(current_user, interview) if segments else None,
        cite_styles=citations.styles(current_user, interview) if segments else None,
        json_ld=linked_data.json_ld(current_user, interview),
        dublin_core=linked_data.dublin_core(current_user, interview),
        contents=rendering.contents_for(current_user, interview) if segments is not None else [],
        translation_track=rendering.translation_track(interview) if segments else None,
        to_check=len(review_queue.risks(interview))
        if policy.can(current_user, "edit_transcript", interview)
        else 0,
    )


@bp.post("/<int:interview_id>/languages")
def languages(interview_id: int):
    """The languages spoken: the next transcription (or a retry) decodes in them."""
    interview = interviews.get_visible(current_user, interview_id, "edit_metadata")
    form = LanguagesForm()
    back = url_for("interviews.detail", interview_id=interview.id) + "#languages"
    if form.validate_on_submit():
        on_error(back)
        interviews.update_languages(current_user, interview, form.languages.data)
        if interview.language_codes:
            flash(
                gettext(
                    "Languages saved: %(codes)s. Recordings transcribed from now on "
                    "(new uploads, and failed ones tried again) are decoded in them.",
                    codes=", ".join(interview.language_codes),
                ),
                "info",
            )
        else:
            flash(
                gettext("No languages listed: the transcription will guess among all languages."),
                "info",
            )
    return redirect(back)


@bp.post("/<int:interview_id>/recordings")
def upload(interview_id: int):
    """The form fallback for browsers without JavaScript; the page's script uses the API."""
    interview = interviews.get_visible(current_user, interview_id, "upload")
    form = UploadForm()
    if not form.validate_on_submit():
        flash(gettext("Choose one or more recordings to upload."), "error")
        return redirect(url_for("interviews.detail", interview_id=interview.id))
    for upload in request.files.getlist("file"):
        if not upload.filename:
            continue
        try:
            recordings.add_recording(current_user, interview, upload.stream, upload.filename)
        except ArchiveError as exc:
            flash(f"{upload.filename}: {translated(exc)}", "error")
        else:
            flash(
                gettext("%(file)s: stored and queued for transcription.", file=upload.filename),
                "info",
            )
    return redirect(url_for("interviews.detail", interview_id=interview.id))


@bp.post("/recordings/<int:recording_id>/retry")
def retry(recording_id: int):
    recording = recordings.get_visible(current_user, recording_id, "retry_job")
    back = url_for("interviews.detail", interview_id=recording.interview_id)
    on_error(back)
    recordings.retry(current_user, recording)
    flash(gettext("The transcription is queued again."), "info")
    return redirect(back)


def access_status_text(interview) -> str:
    """What the catalogue says of access, in the reader's language."""
    if interview.withdrawn_at is not None:
        return label("access", "withdrawn")
    if policy.is_embargoed(interview):
        return gettext("sealed until %(year)s", year=interview.embargo_until.year)
    return label("access", interview.access_level)


@bp.get("/<int:interview_id>/bag")
@public
def bag(interview_id: int):
    """Where the reader's BagIt bag stands, for a browser: the page refreshes itself
    while the bag is being built, then offers the download (no script needed)."""
    interview = interviews.get_visible(current_user, interview_id, "export")
    state = bags.state_of(current_user, interview)
    return render_template(
        "interviews/bag.html", interview=interview, state=state.status if state else "none"
    ), {"Cache-Control": "no-store"}
