"""Responses encoded with orjson."""

from __future__ import annotations

from typing import Any

import orjson
from flask import Response
from flask.json.provider import DefaultJSONProvider
from werkzeug.sansio.response import Response as SansioResponse


class OrjsonProvider(DefaultJSONProvider):
    """Responses encoded with orjson (keys in insertion order, compact, UTF-8). What orjson
    cannot encode as the standard library would (a lone surrogate, an integer past 64 bits,
    a type only Flask knows, keyword options) goes to Flask's default provider, unchanged."""

    _OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        if kwargs:
            return super().dumps(obj, **kwargs)
        try:
            return orjson.dumps(obj, default=self.default, option=self._OPTIONS).decode()
        except TypeError:
            return super().dumps(obj)

    def response(self, *args: Any, **kwargs: Any) -> SansioResponse:
        obj = self._prepare_response_obj(args, kwargs)
        if (self.compact is None and self._app.debug) or self.compact is False:
            return super().response(obj)
        try:
            data = orjson.dumps(
                obj, default=self.default, option=self._OPTIONS | orjson.OPT_APPEND_NEWLINE
            )
        except TypeError:
            return super().response(obj)
        return Response(data, mimetype=self.mimetype)
