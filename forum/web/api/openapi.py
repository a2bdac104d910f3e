"""The OpenAPI 3 document, built from the same route table that wires the API."""
from __future__ import annotations

import re

from aiohttp import web

from forum.keys import openapi_key

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {
        "type": "object",
        "required": ["code", "message"],
        "properties": {
            "code": {"type": "string"},
            "message": {"type": "string"},
            "fields": {"type": "object", "additionalProperties": {"type": "string"}},
            # the X-Request-Id of the request: quoted to support, it finds the server's log lines
            "request_id": {"type": "string"},
        },
    }},
}


def build(routes) -> dict:
    paths: dict[str, dict] = {}
    schemas: dict[str, dict] = {"Error": ERROR_SCHEMA}
    for route in routes:
        operation: dict = {"operationId": route.name, "summary": route.summary, "responses": {
            str(route.status): {"description": "Success", "content": {"application/json": {"schema": {"type": "object"}}}},
            "4XX": {"description": "Error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
        }}
        parameters = [
            {"name": name, "in": "path", "required": True,
             "schema": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1} if name.endswith("_id")
             else {"type": "string", "maxLength": 200}}
            for name in re.findall(r"{(\w+)}", route.path)
        ]
        parameters += [{"name": name, "in": "query", "required": required, "schema": {"type": kind}}
                       for name, kind, required in route.query]
        if route.path.endswith("/threads") and route.method == "GET":
            parameters.append({"name": "before", "in": "query", "required": False, "schema": {"type": "string"}})
        if parameters:
            operation["parameters"] = parameters
        if route.body is not None:
            schema = route.body.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(schema.pop("$defs", {}))
            schemas[route.body.__name__] = schema
            operation["requestBody"] = {"required": not route.body_optional, "content": {"application/json": {
                "schema": {"$ref": f"#/components/schemas/{route.body.__name__}"}}}}
        if route.upload is not None:  # multipart/form-data: a file and text fields, read as they stream
            properties = {"file": {"type": "string", "format": "binary"},
                          **{name: {"type": "string"} for name in route.upload}}
            operation["requestBody"] = {"required": True, "content": {"multipart/form-data": {
                "schema": {"type": "object", "properties": properties, "required": ["file"]}}}}
        if route.auth:
            operation["security"] = [{"session": []}]
            if route.method != "GET":
                operation["description"] = "Needs the X-CSRF-Token header from /login or /me."
        paths.setdefault(route.path, {})[route.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "forum API", "version": "1",
                 "description": "Discussions and working groups. Errors answer {\"error\": {code, message, fields}}."},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"session": {"type": "apiKey", "in": "cookie", "name": "forum_session"}},
        },
    }


async def serve(request: web.Request) -> web.Response:
    return web.json_response(request.app[openapi_key])
