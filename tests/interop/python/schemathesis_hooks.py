"""Schemathesis hooks for the property-based run against `grpcx gateway` (tests/interop/).

The demo pauses as long as a request's `delay` asks, so generated delays are kept short;
request streams are NDJSON bodies, one JSON message a line."""

import json
import re

import schemathesis

LONGEST_DELAY = 0.2  # seconds


def short_delay(value):
    if not isinstance(value, str):
        return True
    match = re.fullmatch(r"-?([0-9]+)(\.[0-9]+)?s", value)
    if not match:
        return True
    return float(value[:-1]) <= LONGEST_DELAY


@schemathesis.hook
def filter_query(ctx, query):
    return query is None or short_delay(query.get("delay"))


@schemathesis.hook
def filter_body(ctx, body):
    return not isinstance(body, dict) or short_delay(body.get("delay"))


@schemathesis.serializer("application/x-ndjson")
def ndjson(ctx, value):
    return (json.dumps(value) + "\n").encode()
