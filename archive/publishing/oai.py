"""OAI-PMH 2.0: the catalogue as a visitor sees it, for libraries that harvest it.

One record per interview a visitor may find in the catalogue (``policy.visible``
for nobody signed in), in Dublin Core (``oai_dc``) with every typed field through
``rendering.metadata_for`` and every speaker through ``identity.display_name``:
what the catalogue page shows a visitor, and nothing more.

Deleted records: an interview a visitor could once find (an agreement of it, not
the withdrawal, made it listed) and can no longer (withdrawn, or sealed again) is
answered with a header of ``status="deleted"``, its identifier and datestamp, and
nothing else. The archive never deletes an interview row nor an agreement, so the
repository says ``deletedRecord`` is ``persistent``: a harvester that missed the
change for years still learns of it. An interview that was never listed is never
mentioned, deleted or not: its id stays unknown, like every sealed record.

Resumption tokens are stateless: the request's arguments and the last id sent,
signed with the application's key (a harvester cannot forge one to reach beyond
the catalogue, and a server restart does not break a harvest).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask import current_app, url_for
from itsdangerous import BadSignature, URLSafeSerializer
from lxml import etree
from sqlalchemy import and_, exists, func, or_, select

from archive import policy
from archive.exports.common import ORGANIZATION, xml_safe
from archive.extensions import db
from archive.models import Agreement, Collection, Interview
from archive.publishing import linked_data
from archive.transcripts import rendering

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
OAI_DC_NS = "http://www.openarchives.org/OAI/2.0/oai_dc/"
DC_NS = "http://purl.org/dc/elements/1.1/"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
ID_NS = "http://www.openarchives.org/OAI/2.0/oai-identifier"
SCHEMA = "http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd"
DC_SCHEMA = "http://www.openarchives.org/OAI/2.0/oai_dc.xsd"

GRANULARITY = "YYYY-MM-DDThh:mm:ssZ"
DELETED_RECORD = "persistent"
DEFAULT_PAGE_SIZE = 100
FORMATS = {"oai_dc": (DC_SCHEMA, OAI_DC_NS)}
SET_PREFIX = "collection:"

# The arguments each verb takes: required, optional; ``resumptionToken`` is exclusive.
VERBS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "Identify": (frozenset(), frozenset()),
    "ListMetadataFormats": (frozenset(), frozenset({"identifier"})),
    "ListSets": (frozenset(), frozenset()),
    "ListIdentifiers": (frozenset({"metadataPrefix"}), frozenset({"from", "until", "set"})),
    "ListRecords": (frozenset({"metadataPrefix"}), frozenset({"from", "until", "set"})),
    "GetRecord": (frozenset({"identifier", "metadataPrefix"}), frozenset()),
}
PAGED = frozenset({"ListIdentifiers", "ListRecords", "ListSets"})

_STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}Z)?$")


class OAIError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# -- The request ------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    """What a list verb asks for, as carried from page to page by the token."""

    verb: str
    prefix: str | None = None
    start: str | None = None  # ``from`` as given (kept to echo and to re-encode)
    until: str | None = None
    set_spec: str | None = None
    after: int = 0  # the last id sent
    cursor: int = 0  # how many were sent before this page

    @property
    def collection_id(self) -> int | None:
        if self.set_spec is None:
            return None
        return int(self.set_spec.removeprefix(SET_PREFIX))


def parse(args: Any) -> tuple[str, dict[str, str], Query | None]:
    """The verb, its arguments (one value each) and, for a list verb, its query.

    Raises ``OAIError`` with the code the protocol prescribes for what is wrong."""
    verbs = args.getlist("verb")
    if len(verbs) != 1 or verbs[0] not in VERBS:
        raise OAIError("badVerb", "The verb is missing, repeated or not an OAI-PMH verb.")
    verb = verbs[0]
    given: dict[str, str] = {}
    for key in args:
        if key == "verb":
            continue
        values = args.getlist(key)
        if len(values) != 1:
            raise OAIError("badArgument", f"The argument {key} is repeated.")
        given[key] = values[0]
    required, optional = VERBS[verb]
    if "resumptionToken" in given:
        if verb not in PAGED:
            raise OAIError("badArgument", f"{verb} takes no resumptionToken.")
        if len(given) != 1:
            raise OAIError("badArgument", "A resumptionToken is the only argument besides verb.")
        return verb, given, _read_token(verb, given["resumptionToken"])
    unknown = set(given) - required - optional
    if unknown:
        raise OAIError("badArgument", f"{verb} takes no argument {sorted(unknown)[0]}.")
    missing = required - set(given)
    if missing:
        raise OAIError("badArgument", f"{verb} needs the argument {sorted(missing)[0]}.")
    if "metadataPrefix" in given and given["metadataPrefix"] not in FORMATS:
        raise OAIError(
            "cannotDisseminateFormat", "This repository serves the metadataPrefix oai_dc only."
        )
    if verb not in ("ListIdentifiers", "ListRecords"):
        return verb, given, Query(verb) if verb == "ListSets" else None
    start, until = given.get("from"), given.get("until")
    for value in (start, until):
        if value is not None and not _STAMP.match(value):
            raise OAIError("badArgument", f"{GRANULARITY} or YYYY-MM-DD, not {value!r}.")
        if value is not None:
            _moment(value, end=False)
    if start and until:
        if len(start) != len(until):
            raise OAIError("badArgument", "from and until must have the same granularity.")
        if _moment(start, end=False) > _moment(until, end=True):
            raise OAIError("badArgument", "from is later than until.")
    set_spec = given.get("set")
    if set_spec is not None and not re.fullmatch(rf"{SET_PREFIX}\d{{1,9}}", set_spec):
        raise OAIError("badArgument", f"There is no set {set_spec!r} here.")
    return verb, given, Query(verb, given["metadataPrefix"], start, until, set_spec)


def _moment(value: str, end: bool) -> datetime:
    """A datestamp as naive UTC; a day as its first (``from``) or last (``until``) second."""
    try:
        if len(value) == 10:
            day = datetime.combine(date.fromisoformat(value), datetime.min.time())
            return day + timedelta(days=1, microseconds=-1) if end else day
        moment = datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        raise OAIError("badArgument", f"{value!r} is no date.") from None
    return moment + timedelta(microseconds=999_999) if end else moment


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="oai-pmh resumption")


def _token(query: Query, after: int, cursor: int) -> str:
    return _serializer().dumps(
        [query.verb, query.prefix, query.start, query.until, query.set_spec, after, cursor]
    )


def _read_token(verb: str, token: str) -> Query:
    try:
        values = _serializer().loads(token)
        token_verb, prefix, start, until, set_spec, after, cursor = values
    except (BadSignature, ValueError, TypeError):
        raise OAIError("badResumptionToken", "The resumptionToken is not one of ours.") from None
    if token_verb != verb or not isinstance(after, int) or not isinstance(cursor, int):
        raise OAIError("badResumptionToken", "The resumptionToken belongs to another verb.")
    return Query(verb, prefix, start, until, set_spec, after, cursor)


# -- What a visitor may see ----------------------------------------------------------


def _once_listed():
    """An agreement of the interview (not its withdrawal) that listed it in the catalogue."""
    return exists().where(
        Agreement.interview_id == Interview.id,
        Agreement.access_level.in_(policy.LISTED_LEVELS),
        Agreement.withdrawn.is_(False),
    )


def _records(query: Query):
    """Interviews a visitor sees (live) or once saw (deleted), filtered by the query."""
    live = policy.visible_clause(None, "list")
    clause = or_(live, _once_listed())
    if query.start:
        clause = and_(clause, Interview.updated_at >= _moment(query.start, end=False))
    if query.until:
        clause = and_(clause, Interview.updated_at <= _moment(query.until, end=True))
    if query.collection_id is not None:
        clause = and_(clause, Interview.collection_id == query.collection_id)
    return clause, live


def is_live(interview: Interview) -> bool:
    return policy.can(None, "list", interview)


def find(identifier: str) -> Interview:
    """The interview behind an identifier a visitor may know; anything else idDoesNotExist."""
    match = re.fullmatch(rf"oai:{re.escape(repository_id())}:interview/(\d{{1,9}})", identifier)
    interview = db.session.get(Interview, int(match.group(1))) if match else None
    if interview is not None and not is_live(interview):
        once = db.session.scalar(select(_once_listed().where(Interview.id == interview.id)))
        interview = interview if once else None
    if interview is None:
        raise OAIError("idDoesNotExist", f"No record {identifier!r} here.")
    return interview


# -- The response ----------------------------------------------------------------------


def repository_id() -> str:
    configured = current_app.config.get("OAI_REPOSITORY_ID")
    if configured:
        return configured
    host = url_for("oai.endpoint", _external=True).split("/")[2]
    return host.rsplit(":", 1)[0] if not host.endswith("]") else host


def identifier_of(interview_id: int) -> str:
    return f"oai:{repository_id()}:interview/{interview_id}"


def stamp(moment: datetime | None) -> str:
    return (moment or datetime(1970, 1, 1)).strftime("%Y-%m-%dT%H:%M:%SZ")


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sub(parent, tag: str, text: str | None = None, ns: str = OAI_NS, **attrs):
    element = etree.SubElement(parent, f"{{{ns}}}{tag}", {k: v for k, v in attrs.items() if v})
    if text is not None:
        element.text = xml_safe(text)
    return element


def respond(args: Any, base_url: str) -> bytes:
    """The whole OAI-PMH response document for the request's arguments."""
    root = etree.Element(f"{{{OAI_NS}}}OAI-PMH", nsmap={None: OAI_NS, "xsi": XSI_NS})
    root.set(f"{{{XSI_NS}}}schemaLocation", f"{OAI_NS} {SCHEMA}")
    _sub(root, "responseDate", now())
    request_element = _sub(root, "request", base_url)
    try:
        verb, given, query = parse(args)
    except OAIError as error:
        _sub(root, "error", error.message, code=error.code)
        return _bytes(root)
    # The request is echoed only once its arguments are known to be legal.
    request_element.set("verb", verb)
    for key, value in sorted(given.items()):
        request_element.set(key, value)
    try:
        body = _sub(root, verb)
        VERB_HANDLERS[verb](body, given, query)
    except OAIError as error:
        root.remove(body)
        _sub(root, "error", error.message, code=error.code)
    return _bytes(root)


def _bytes(root) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _identify(body, given, query) -> None:
    config = current_app.config
    _sub(body, "repositoryName", config.get("OAI_REPOSITORY_NAME") or ORGANIZATION)
    _sub(body, "baseURL", url_for("oai.endpoint", _external=True))
    _sub(body, "protocolVersion", "2.0")
    _sub(body, "adminEmail", config.get("OAI_ADMIN_EMAIL") or "archive@example.org")
    earliest = db.session.scalar(select(func.min(Interview.updated_at)))
    _sub(body, "earliestDatestamp", stamp(earliest))
    _sub(body, "deletedRecord", DELETED_RECORD)
    _sub(body, "granularity", GRANULARITY)
    description = _sub(body, "description")
    described = etree.SubElement(
        description, f"{{{ID_NS}}}oai-identifier", nsmap={None: ID_NS, "xsi": XSI_NS}
    )
    described.set(f"{{{XSI_NS}}}schemaLocation", f"{ID_NS} {ID_NS}.xsd")
    for tag, text in (
        ("scheme", "oai"),
        ("repositoryIdentifier", repository_id()),
        ("delimiter", ":"),
        ("sampleIdentifier", identifier_of(1)),
    ):
        _sub(described, tag, text, ns=ID_NS)


def _list_metadata_formats(body, given, query) -> None:
    if "identifier" in given:
        find(given["identifier"])
    for prefix, (schema, namespace) in FORMATS.items():
        format_element = _sub(body, "metadataFormat")
        _sub(format_element, "metadataPrefix", prefix)
        _sub(format_element, "schema", schema)
        _sub(format_element, "metadataNamespace", namespace)


def _list_sets(body, given, query: Query) -> None:
    # Collections are few: one page. Their names as a visitor reads them.
    collections = list(db.session.scalars(select(Collection).order_by(Collection.id)))
    if not collections:
        raise OAIError("noSetHierarchy", "This archive has no collections yet.")
    for collection in collections:
        element = _sub(body, "set")
        _sub(element, "setSpec", f"{SET_PREFIX}{collection.id}")
        _sub(element, "setName", rendering.shown(None, None, collection.title))


def page_size() -> int:
    size = current_app.config.get("OAI_PAGE_SIZE") or DEFAULT_PAGE_SIZE
    return max(1, int(size))


def _list(body, given, query: Query, full: bool) -> None:
    clause, live = _records(query)
    total = db.session.scalar(select(func.count()).select_from(Interview).where(clause))
    size = page_size()
    rows = db.session.execute(
        select(Interview, live.label("live"))
        .where(clause, Interview.id > query.after)
        .order_by(Interview.id)
        .limit(size + 1)
    ).all()
    if not rows and query.cursor == 0:
        raise OAIError("noRecordsMatch", "No record matches these arguments.")
    more = len(rows) > size
    for interview, is_shown in rows[:size]:
        if full:
            _record(_sub(body, "record"), interview, bool(is_shown))
        else:
            _header(body, interview, bool(is_shown))
    if more or query.cursor:
        token = _token(query, rows[size - 1][0].id, query.cursor + size) if more else None
        _sub(
            body,
            "resumptionToken",
            token or "",
            completeListSize=str(total),
            cursor=str(query.cursor),
        )


def _header(parent, interview: Interview, live: bool) -> None:
    header = _sub(parent, "header", status=None if live else "deleted")
    _sub(header, "identifier", identifier_of(interview.id))
    _sub(header, "datestamp", stamp(interview.updated_at))
    if live and interview.collection_id is not None:
        _sub(header, "setSpec", f"{SET_PREFIX}{interview.collection_id}")


def _record(parent, interview: Interview, live: bool) -> None:
    _header(parent, interview, live)
    if live:
        dublin_core(_sub(parent, "metadata"), interview)


def dublin_core(parent, interview: Interview) -> None:
    """``oai_dc:dc`` as a visitor may read the interview's catalogue entry."""
    dc = etree.SubElement(
        parent, f"{{{OAI_DC_NS}}}dc", nsmap={"oai_dc": OAI_DC_NS, "dc": DC_NS, "xsi": XSI_NS}
    )
    dc.set(f"{{{XSI_NS}}}schemaLocation", f"{OAI_DC_NS} {DC_SCHEMA}")
    for name, value in linked_data.dublin_core(None, interview):
        _sub(dc, name, value, ns=DC_NS)


def _get_record(body, given, query) -> None:
    interview = find(given["identifier"])
    _record(_sub(body, "record"), interview, is_live(interview))


VERB_HANDLERS = {
    "Identify": _identify,
    "ListMetadataFormats": _list_metadata_formats,
    "ListSets": _list_sets,
    "ListIdentifiers": lambda body, given, query: _list(body, given, query, full=False),
    "ListRecords": lambda body, given, query: _list(body, given, query, full=True),
    "GetRecord": _get_record,
}
