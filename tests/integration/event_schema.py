"""Checks events against docs/events.schema.json (the one source of event
types and fields), with Debian's python3-jsonschema. Shared by the
integration tests: every event a test produces is checked."""
import json
import os
import sys

try:
    import jsonschema
except ImportError:  # install-deps installs python3-jsonschema: never skip
    sys.exit("event_schema: python3-jsonschema is missing (scripts/install-deps.sh installs it; "
             "run the tests with /usr/bin/python3)")

_SCHEMA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs",
                       "events.schema.json")
_validator = None


def validator():
    global _validator
    if _validator is None:
        schema = json.load(open(_SCHEMA))
        jsonschema.Draft202012Validator.check_schema(schema)
        _validator = jsonschema.Draft202012Validator(
            schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    return _validator


def problems(events, limit=5):
    """Up to `limit` descriptions of events that break the schema."""
    out = []
    v = validator()
    for i, e in enumerate(events):
        for err in v.iter_errors(e):
            path = "/".join(str(p) for p in err.absolute_path)
            out.append("event %d (%s) at %s: %s" % (i + 1, e.get("event_type"), path or "top",
                                                    err.message[:200]))
            break
        if len(out) >= limit:
            break
    return out


def check(events, what="events"):
    """Raises AssertionError naming the first events that break the schema."""
    p = problems(events)
    if p:
        raise AssertionError("%s do not match docs/events.schema.json:\n  %s" % (what, "\n  ".join(p)))


def check_file(path, max_events=5000):
    """Checks the first max_events events of an events file."""
    events = []
    with open(path) as f:
        for line in f:
            events.append(json.loads(line))
            if len(events) >= max_events:
                break
    check(events, "events of %s" % os.path.basename(path))


def flat_stats(st):
    """A stats event's `stats` in one level: pinhole's counters, and
    `packets` / `bytes` for `decoder.pkts` / `decoder.bytes`."""
    f = dict(st.get("pinhole", {}))
    f["packets"] = st["decoder"]["pkts"]
    f["bytes"] = st["decoder"]["bytes"]
    f["decoder"] = st["decoder"]
    if "capture" in st:
        f["capture"] = st["capture"]
    return f


def flat(e):
    """A flow event's fields in one level, for tests that read them: its
    `pinhole` judgement, `app_proto` as `app`, `tls.sni` as `sni` and
    `http.hostname` as `http_host`; a stats event's `stats` by flat_stats.
    Other events come back as they are."""
    if e.get("event_type") == "stats":
        return dict(e, stats=flat_stats(e["stats"]))
    if e.get("event_type") != "flow":
        return e
    f = {k: v for k, v in e.items() if k not in ("pinhole", "tls", "http")}
    f.update(e.get("pinhole", {}))
    f["app"] = e.get("app_proto")
    if "tls" in e:
        f["sni"] = e["tls"]["sni"]
    if "http" in e:
        f["http_host"] = e["http"]["hostname"]
    return f


if __name__ == "__main__":
    bad = 0
    for path in sys.argv[1:]:
        evs = [json.loads(line) for line in open(path)]
        for p in problems(evs, limit=20):
            print("%s: %s" % (path, p))
            bad += 1
    sys.exit(1 if bad else 0)
