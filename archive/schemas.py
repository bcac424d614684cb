"""One schema layer for what people send: pydantic models, archive messages.

A JSON body (and the dict a form or the CLI hands a service) is checked by one
pydantic model per operation, kept in the domain's ``schemas`` module next to its
services (``archive/consent/schemas.py``, ``archive/interviews/schemas.py``).
Services call ``Model.parse(data)`` first, so a view may validate the body
itself and pass the model on (``parse`` returns a model unchanged), while tests,
samples and the CLI keep passing plain dicts.

Why not pydantic's own messages: they are English only and name pydantic's
types. Every error here is an archive message, marked with ``N_`` and
translated like the rest (``archive.errors``):

- a validator raises ``invalid(N_("..."), **params)``;
- a field whose check is pydantic's own (a type, a bound) carries
  ``Message(N_("..."))`` in its ``Annotated`` metadata, the message for any of
  pydantic's errors on that field.

The first error in field order is the one reported, as the hand-written checks
did: fields are declared in the order they used to be checked.

Output views are models too (``View``): one per role where the API shapes
output by role, built from a record and the reader, so what a role sees is
written once, in the schema, never by hand in a view.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self

import pydantic
from pydantic import BaseModel, ConfigDict
from pydantic_core import PydanticCustomError

from archive.errors import N_, ValidationError

#: The error type our validators raise; its context carries the archive message.
ARCHIVE_ERROR = "archive"


class Message:
    """``Annotated`` metadata: the archive message for pydantic's errors on a field."""

    def __init__(self, template: str, **params: object) -> None:
        self.template = template
        self.params = params


def invalid(template: str, **params: object) -> PydanticCustomError:
    """The error a validator raises: an archive message (``N_`` text) and its values."""
    return PydanticCustomError(
        ARCHIVE_ERROR,
        template % params if params else template,
        {"template": template, "params": params},
    )


def reraised(exc: ValidationError) -> PydanticCustomError:
    """A service's own check (``check_languages``...) used inside a validator."""
    return invalid(exc.template, **exc.params)


class Schema(BaseModel):
    """An operation's input. Unknown keys are ignored unless the model says otherwise."""

    model_config = ConfigDict(extra="ignore")

    @classmethod
    def parse(cls, data: Mapping[str, Any] | Schema, **context: Any) -> Self:
        """The validated model, or a ``ValidationError`` with the archive's message.

        ``context``: what a check needs to know besides the body (an interview's
        duration...), as ``info.context`` in the validators."""
        if isinstance(data, cls):
            return data
        if isinstance(data, Schema):
            data = data.model_dump()
        try:
            return cls.model_validate(dict(data), context=context or None)
        except pydantic.ValidationError as exc:
            raise archive_error(cls, exc) from None


def archive_error(model: type[BaseModel], exc: pydantic.ValidationError) -> ValidationError:
    """The first of pydantic's errors as the archive message its field declares."""
    error = exc.errors(include_url=False)[0]
    if error["type"] == ARCHIVE_ERROR:
        context = error["ctx"]
        return ValidationError(context["template"], **context["params"])
    field = model.model_fields.get(str(error["loc"][0])) if error["loc"] else None
    for meta in field.metadata if field else ():
        if isinstance(meta, Message):
            return ValidationError(meta.template, **meta.params)
    name = ".".join(str(part) for part in error["loc"]) or model.__name__
    return ValidationError(N_("%(field)s is not valid."), field=name)


class View(BaseModel):
    """An output view: what one kind of reader is shown of a record."""

    model_config = ConfigDict(from_attributes=True)

    def as_json(self) -> dict[str, Any]:
        """The view as a JSON-ready dict, in field order."""
        return self.model_dump(mode="json")
