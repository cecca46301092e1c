"""Schemathesis hooks of the conformance run (test/e2e/conformance.test.ts loads them through SCHEMATHESIS_HOOKS).

Two things the fuzzer cannot know from the OpenAPI document alone:

- A cursor is a value a list handed out (the document says so, and that anything else is
  `400 invalid_request`). A string the fuzzer makes up is not one, so in *positive* cases (the
  ones the server must accept) the cursor is replaced with a real one of that operation,
  collected by the test before the run. Negative cases keep their made-up cursors: they still
  reach the server and must be refused cleanly, never with a 5xx.
- A result reports a serial its authorization granted (the document says so, and api.md that
  any other is `400 invalid_request`): positive reports for an authorization this run was
  granted name its serials, learnt from the authorization responses.
- Rules between fields that JSON Schema cannot state and the document states in words (a
  job's `notAfter` later than its `notBefore`): positive cases that break one are not sent
  as positive (the server's 400 for them is right); negative cases still are.
- The test's own count of requests and statuses: every HTTP exchange is tallied here, so the
  test can assert how many requests were made and that none answered 5xx without trusting the
  run's own summary alone.
"""

import json
import os
import threading
from collections import Counter
from datetime import datetime

import schemathesis

_CURSORS = json.loads(os.environ.get("FLASHLINE_FUZZ_CURSORS", "{}"))
_TALLY_FILE = os.environ.get("FLASHLINE_FUZZ_TALLY")
_lock = threading.Lock()
_tally: Counter = Counter()
_granted_serials: dict = {}


@schemathesis.hook
def map_case(context, case):
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return case
    if not case.query or "cursor" not in case.query:
        return case
    real = _CURSORS.get(case.operation.definition.raw.get("operationId", ""))
    if real is not None:
        case.query = {**case.query, "cursor": real}
    return case


def _with_granted_serials(case):
    body = case.body
    if not isinstance(body, dict) or not isinstance(body.get("results"), list):
        return
    with _lock:
        serials = _granted_serials.get(body.get("authorizationId"))
    if not serials:
        return
    results = [dict(result, serial=serials[i % len(serials)]) if isinstance(result, dict) else result for i, result in enumerate(body["results"])]
    case.body = {**body, "results": results}


def _instant(value):
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        return None


def _breaks_window_rule(body):
    restrictions = body.get("restrictions") if isinstance(body, dict) else None
    if not isinstance(restrictions, dict):
        return False
    not_before, not_after = _instant(restrictions.get("notBefore")), _instant(restrictions.get("notAfter"))
    if not_before is None or not_after is None:
        return False
    try:
        return not_after <= not_before
    except TypeError:  # one with an offset, one without: not a valid pair of timestamps anyway
        return False


@schemathesis.hook
def filter_case(context, case):
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return True
    return not _breaks_window_rule(case.body)


@schemathesis.hook
def before_call(context, case, kwargs):
    # Here, not in map_case: a stateful step gets its authorizationId from a link after map_case ran.
    meta = case.meta
    if meta is not None and meta.generation.mode.is_positive and case.operation.path == "/v1/device/results":
        _with_granted_serials(case)


@schemathesis.hook
def after_call(context, case, response):
    key = f"{case.operation.method.upper()} {case.operation.path} {response.status_code}"
    if case.operation.path == "/v1/device/authorizations" and response.status_code in (200, 201):
        try:
            granted = response.json()
            with _lock:
                _granted_serials[granted["authorizationId"]] = granted["serials"]
        except (ValueError, KeyError, TypeError):
            pass
    with _lock:
        _tally[key] += 1
        if _TALLY_FILE:
            # Rewritten whole after each call: the file is small, and a run stopped half-way still leaves a count.
            with open(_TALLY_FILE, "w", encoding="utf-8") as handle:
                json.dump(_tally, handle)
