"""The API reference as a plain page, built from the app's OpenAPI schema on the server.

The stock interactive page loads its scripts and styles from a CDN, which the app's own
content-security policy blocks and which is unreachable offline. This page needs no script at
all: every operation with its parameters, request body and responses, and every schema with
its fields, rendered by the app's templates. The machine-readable schema stays at
``/openapi.json``.
"""

from __future__ import annotations

from typing import Any

METHODS = ("get", "post", "put", "patch", "delete")


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def type_of(schema: dict[str, Any] | None) -> str:
    """A short human form of a JSON schema: ``string``, ``list of ModelInfo``, ``one of: a, b``."""
    if not schema:
        return "any"
    if "$ref" in schema:
        return _ref_name(schema["$ref"])
    if "enum" in schema:
        return "one of: " + ", ".join(str(v) for v in schema["enum"])
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            parts = [type_of(s) for s in schema[key] if s.get("type") != "null"]
            nullable = any(s.get("type") == "null" for s in schema[key])
            return " or ".join(dict.fromkeys(parts)) + (" (optional)" if nullable else "")
    kind = schema.get("type", "any")
    if kind == "array":
        return f"list of {type_of(schema.get('items'))}"
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return f"map of {type_of(schema['additionalProperties'])}"
    if schema.get("format") == "binary":
        return "file"
    return str(kind)


def _limits(schema: dict[str, Any]) -> str:
    words = []
    for key, label in (("minLength", "min length"), ("maxLength", "max length"), ("pattern", "pattern"),
                       ("minItems", "min items"), ("maxItems", "max items"), ("default", "default")):  # fmt: skip
        if key in schema and schema[key] is not None:
            words.append(f"{label} {schema[key]}")
    return ", ".join(words)


def _fields(schema: dict[str, Any], components: dict[str, Any]) -> list[dict[str, str]]:
    if "$ref" in schema:
        schema = components.get(_ref_name(schema["$ref"]), {})
    required = set(schema.get("required", []))
    return [{"name": name, "type": type_of(prop), "required": "yes" if name in required else "",
             "about": " ".join(x for x in (prop.get("description", ""), _limits(prop)) if x)}
            for name, prop in schema.get("properties", {}).items()]  # fmt: skip


def api_reference(openapi: dict[str, Any]) -> dict[str, Any]:
    """Operations grouped by tag, and the schemas, from an OpenAPI document."""
    components = openapi.get("components", {}).get("schemas", {})
    groups: dict[str, list[dict[str, Any]]] = {}
    for path, item in openapi.get("paths", {}).items():
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            params = [{"name": p["name"], "where": p.get("in", ""), "type": type_of(p.get("schema")),
                       "required": "yes" if p.get("required") else "",
                       "about": " ".join(x for x in (p.get("description", ""), _limits(p.get("schema", {}))) if x)}
                      for p in op.get("parameters", [])]  # fmt: skip
            body = []
            for content_type, content in op.get("requestBody", {}).get("content", {}).items():
                body.append({"content_type": content_type, "type": type_of(content.get("schema")),
                             "fields": _fields(content.get("schema", {}), components)})  # fmt: skip
            responses = [{"status": status, "about": r.get("description", ""),
                          "types": ", ".join(f"{ct}: {type_of(c.get('schema'))}" for ct, c in r.get("content", {}).items())}
                         for status, r in sorted(op.get("responses", {}).items())]  # fmt: skip
            security = "bearer token (Authorization: Bearer …)" if path == "/api/evidence" and method == "post" else ""
            entry = {"method": method.upper(), "path": path, "summary": op.get("summary", ""),
                     "description": op.get("description", ""), "params": params, "body": body,
                     "responses": responses, "security": security,
                     "anchor": f"{method}-{path.strip('/').replace('/', '-').replace('{', '').replace('}', '')}"}
            for tag in op.get("tags", ["other"]):
                groups.setdefault(tag, []).append(entry)
    schemas = [{"name": name, "fields": _fields(schema, components), "about": schema.get("description", "")}
               for name, schema in sorted(components.items())]  # fmt: skip
    return {"title": openapi.get("info", {}).get("title", ""), "version": openapi.get("info", {}).get("version", ""),
            "description": openapi.get("info", {}).get("description", ""),
            "groups": sorted(groups.items()), "schemas": schemas}  # fmt: skip
