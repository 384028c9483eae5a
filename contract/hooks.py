"""Schemathesis hooks for the contract stage (.ci/run): data shapes the spec
states in words that JSON Schema has no keyword for, and the media types
schemathesis cannot read or write by itself. Nothing here hides a failure."""

import datetime

import schemathesis
from hypothesis import strategies as st

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


# POST /intake/email takes the raw message (RFC 5322) as its body: text,
# sent as it is.
schemathesis.serializer.alias("message/rfc822", "text/plain")


# Invoices and quotes are PDF files: the body must be one, and the schema
# (`type: string`, binary) is checked against it as text.
@schemathesis.deserializer("application/pdf")
def pdf(ctx, response):
    if not response.content.startswith(b"%PDF-"):
        raise ValueError("the body is not a PDF file")
    return response.content.decode("latin-1")
