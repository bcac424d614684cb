"""OAI-PMH 2.0 at /oai (archive/publishing/oai.py): GET or a form POST, always as a visitor."""

from __future__ import annotations

from flask import Blueprint, Response, request, url_for

from archive.extensions import csrf
from archive.publishing import oai
from archive.web.access import public

bp = Blueprint("oai", __name__)


@bp.route("/oai", methods=["GET", "POST"])
@csrf.exempt
@public
def endpoint():
    # A harvester signs in nowhere: whoever asks is answered as a visitor, even a
    # signed-in custodian, so a record never holds more than the catalogue shows.
    args = request.form if request.method == "POST" else request.args
    body = oai.respond(args, url_for("oai.endpoint", _external=True))
    return Response(
        body,
        mimetype="text/xml",
        headers={"Access-Control-Allow-Origin": "*", "Cache-Control": "no-store"},
    )
