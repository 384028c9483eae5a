"""Schemathesis hooks for the contract stage (.ci/run): data shapes the spec
states in words that JSON Schema has no keyword for, and the media types
schemathesis cannot read or write by itself. Nothing here hides a failure."""

import ast
import base64
import datetime
import functools
import threading

import schemathesis
from hypothesis import strategies as st

# CPython 3.11 (this machine's Python) keeps the AST builder's recursion
# depth in interpreter-wide state, so two threads parsing at once can corrupt
# it and one of them raises "SystemError: AST constructor recursion depth
# mismatch" (python/cpython#106905; the state is per call from 3.13).
# Hypothesis parses source with `ast.parse` to describe a strategy's lambdas,
# and schemathesis runs two workers as threads (schemathesis.toml): a CI run
# failed on this, in Hypothesis's own code, with no request made. Parses take
# turns here; nothing else changes. A re-entrant lock, because a finalizer run
# by the garbage collector inside a parse may parse again on the same thread.
_AST_LOCK = threading.RLock()
_ast_parse = ast.parse


@functools.wraps(_ast_parse)
def _parse_in_turn(*args, **kwargs):
    with _AST_LOCK:
        return _ast_parse(*args, **kwargs)


ast.parse = _parse_in_turn

# Dates and times lie in the years 1900-2200 (info.description; the server
# answers 400 `date_out_of_range` outside them). JSON Schema's `format` has no
# range, so the generator is told here; the range is published in the spec.
DAYS = st.dates(min_value=datetime.date(1900, 1, 2), max_value=datetime.date(2200, 12, 30))
schemathesis.openapi.format("date", DAYS.map(lambda d: d.isoformat()))
schemathesis.openapi.format(
    "date-time",
    st.datetimes(
        min_value=datetime.datetime(1900, 1, 2),
        max_value=datetime.datetime(2200, 12, 30),
        timezones=st.just(datetime.timezone.utc),
    ).map(lambda t: t.isoformat()),
)


# Cursors are tokens the server issues (`next_cursor`); the spec names them
# by format (crm-page-cursor, crm-feed-cursor) because a pattern cannot say
# which base64url strings decode to a position. A made-up one is refused 400
# `invalid` by design; these strategies make positions of the server's own
# spelling (crates/api/src/extract/context.rs, routes/feed.rs), so every
# generated cursor is one the server could have issued.
def _b64(text):
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


schemathesis.openapi.format("crm-page-cursor", st.uuids().map(lambda u: _b64(f"v1:{u}")))
schemathesis.openapi.format(
    "crm-feed-cursor",
    st.tuples(st.integers(0, 2**40), st.integers(0, 2**20)).map(lambda p: _b64(f"f1:{p[0]}:{p[1]}")),
)


# POST /intake/email takes the raw message (RFC 5322) as its body: text,
# sent as it is. Any text is a message the intake reads (it cleans what it
# must and notes it), so a value of another JSON type, which the negative
# phase makes to test type checks, has no message/rfc822 spelling that
# differs from text: it is sent as no body at all, which the server refuses.
@schemathesis.serializer("message/rfc822")
def rfc822(ctx, value):
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    return b""


# Invoices and quotes are PDF files: the body must be one, and the schema
# (`type: string`, binary) is checked against it as text.
@schemathesis.deserializer("application/pdf")
def pdf(ctx, response):
    if not response.content.startswith(b"%PDF-"):
        raise ValueError("the body is not a PDF file")
    return response.content.decode("latin-1")
