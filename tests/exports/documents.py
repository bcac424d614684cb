"""The transcript the export and import tests start from: two parts, two speakers,
Kazakh text, index points; ``make_doc(**changes)`` gives it with fields changed."""

from __future__ import annotations

from archive.exports import ExportDocument, ExportSegment, IndexPoint

PART_2 = 600.0  # the first part lasts ten minutes

NARRATOR = "Гүлнара"
INTERVIEWER = "Марат Ж."
LONG = (
    "Мен Алматы қаласының орталығында болдым, көшеде адамдар көп еді, "
    "[redacted] маған телефон соғып, үйге қайт деді, бірақ мен қала ішінде "
    "тағы біраз уақыт жүрдім және не болып жатқанын көруге тырыстым."
)


def seg(id_, recording, start, end, offset, speaker, text):
    role = "narrator" if speaker == NARRATOR else "interviewer"
    return ExportSegment(id_, recording, start, end, offset, speaker, role, text)


def make_doc(**changes) -> ExportDocument:
    fields = dict(
        interview_id=7,
        title="Қаңтар оқиғалары, Алматы",
        summary="A witness of the January 2022 events in Алматы.",
        recorded_on="2022-03-01",
        place="Алматы",
        language="kk",
        collection="Qantar 2022",
        duration=PART_2 + 300.0,
        citation="Гүлнара, interview 7, Testimony Archive, 2022.",
        url="https://archive.example/interviews/7",
        speakers=((INTERVIEWER, "interviewer"), (NARRATOR, "narrator")),
        segments=(
            seg(1, 11, 1.5, 4.0, 0.0, INTERVIEWER, "Сіз сол күні қай жерде болдыңыз?"),
            seg(2, 11, 4.5, 9.0, 0.0, NARRATOR, "Алматы, қала орталығында."),
            seg(3, 11, 9.0, 40.0, 0.0, NARRATOR, LONG),
            seg(4, 12, 5.25, 8.0, PART_2, INTERVIEWER, "Кейін не болды?"),
            seg(5, 12, 8.5, 14.0, PART_2, NARRATOR, "Қала [redacted] тыныш болды."),
        ),
        index_points=(
            IndexPoint(0.0, "Кіріспе", ("Алматы", "қала"), "Гүлнара describes the square."),
            IndexPoint(PART_2 + 5.25, "Кейінгі күндер", (), ""),
        ),
        access_level="on_request",
        audio_permission="redacted",
    )
    fields.update(changes)
    return ExportDocument(**fields)
