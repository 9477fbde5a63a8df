#!/usr/bin/env python3
"""docs/events.md against docs/events.schema.json (the one source of event
types and fields): every event type has its section, every section is a
type, and every field the `flow` table names is in the schema."""
import argparse
import json
import os
import re
import sys


def has_path(schema, node, path):
    """True if the dotted path is a property under node (following $ref)."""
    for part in path.split("."):
        while "$ref" in node:
            node = resolve(schema, node["$ref"])
        props = node.get("properties", {})
        if part not in props:
            return False
        node = props[part] if isinstance(props[part], dict) else {}
    return True


def resolve(schema, ref):
    node = schema
    for part in ref.lstrip("#/").split("/"):
        node = node[part]
    return node


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", required=True)
    a = ap.parse_args()
    schema = json.load(open(os.path.join(a.src, "docs", "events.schema.json")))
    doc = open(os.path.join(a.src, "docs", "events.md")).read()
    errors = []
    types = schema["properties"]["event_type"]["enum"]
    sections = re.findall(r"^## `([a-z_]+)`", doc, re.M)
    for t in types:
        if t not in sections:
            errors.append("docs/events.md has no section for event type %s" % t)
    for s in sections:
        if s not in types:
            errors.append("docs/events.md describes %s, which the schema does not have" % s)
    flow = doc[doc.index("## `flow`"):]
    flow = flow[:flow.index("\n## ", 5)]
    fields = 0
    for row in re.findall(r"^\| ([^|]+) \|", flow, re.M):
        for name in re.findall(r"`([a-z_.]+)`", row):
            fields += 1
            if not has_path(schema, schema["$defs"]["flow"], name) and \
                    not has_path(schema, schema["$defs"]["common"], name):
                errors.append("docs/events.md names flow field %s, not in the schema" % name)
    for e in errors:
        print("FAIL:", e)
    print("%d event types, %d flow fields checked: %d problem(s)" % (len(types), fields, len(errors)))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
