"""Schemathesis hooks of the conformance run (test/e2e/conformance.test.ts loads them through SCHEMATHESIS_HOOKS).

Two things the fuzzer cannot know from the OpenAPI document alone:

- A cursor is a value a list handed out (the document says so, and that anything else is
  `400 invalid_request`), and it belongs to the list it came from: the same path (one job's
  results, not another's) and the same filters (`factoryId`, `status`). A string the fuzzer
  makes up is not one, so in *positive* cases (the ones the server must accept) the cursor is
  replaced with a real one of that operation, collected by the test before the run, and the
  filters it was not collected with are dropped; where the path is another (a stateful step's
  job) or no cursor was collected (a list with one page), the positive case goes without a
  cursor. Negative cases keep their made-up cursors: they still reach the server and must be
  refused cleanly, never with a 5xx.
- A result reports a serial its authorization granted (the document says so, and api.md that
  any other is `400 invalid_request`): positive reports for an authorization this run was
  granted name its serials, learnt from the authorization responses.
- Rules between fields that JSON Schema cannot state and the document states in words (a
  job's `notAfter` later than its `notBefore`; inline serials that stay within 2^53 and 64
  characters for the units the job may hand out; exactly one of `serial`, `mac`, `uid` in a unit
  lookup; no two columns or unit fields of one name; a pool format writing at most 64
  characters): positive cases that break one are not
  sent as positive (the server's 400 for them is right); negative cases still are.
- Factories named in a positive body are factories the account has (learnt from the answers):
  a made-up `factoryId` is rightly `404`, which the stateful phase would take for its
  just-created programmer or person being gone.
- The test's own count of requests and statuses: every HTTP exchange is tallied here, so the
  test can assert how many requests were made and that none answered 5xx without trusting the
  run's own summary alone.
"""

import json
import os
import re
import threading
from collections import Counter
from datetime import datetime

import schemathesis

_CURSORS = json.loads(os.environ.get("FLASHLINE_FUZZ_CURSORS", "{}"))
_TALLY_FILE = os.environ.get("FLASHLINE_FUZZ_TALLY")
_lock = threading.Lock()
_tally: Counter = Counter()
_granted_serials: dict = {}


def _is_positive(case):
    meta = case.meta
    return meta is not None and meta.generation.mode.is_positive


def _with_real_cursor(case):
    """A positive case's cursor: the one collected for this operation on this very list, or none."""
    if not case.query or "cursor" not in case.query:
        return
    harvested = _CURSORS.get(case.operation.definition.raw.get("operationId", ""))
    if harvested is not None and all(str(case.path_parameters.get(name)) == value for name, value in harvested["pathParameters"].items()):
        case.query = {"cursor": harvested["cursor"], **({"limit": case.query["limit"]} if "limit" in case.query else {})}
    else:
        case.query = {name: value for name, value in case.query.items() if name != "cursor"}


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


_SERIAL_NUMBER = re.compile(r"\{n(?::(0?)(\d{1,2}))?\}")
# As shared/domain/jobs.ts: a job without a count limit is checked for 2^32 units; serials are at most 64 characters.
_UNLIMITED_JOB_UNITS = 2**32
_MAX_SAFE_INTEGER = 2**53 - 1
_MAX_SERIAL_LENGTH = 64


def _breaks_serial_rule(body):
    """Inline serials that would pass 2^53 or 64 characters (UTF-16 units, as JavaScript counts) within the units the job may hand out."""
    serials = body.get("serials") if isinstance(body, dict) else None
    if not isinstance(serials, dict) or not isinstance(serials.get("start"), (int, float)):
        return False
    restrictions = body.get("restrictions") if isinstance(body.get("restrictions"), dict) else {}
    units = int(restrictions.get("maxCount") or _UNLIMITED_JOB_UNITS)
    last = int(serials["start"]) + (units - 1) * int(serials.get("step") or 1)
    if last > _MAX_SAFE_INTEGER:
        return True
    rendered = _SERIAL_NUMBER.sub(lambda m: str(last).zfill(int(m.group(2))) if m.group(2) else str(last), serials.get("format") or "SN-{n:08}")
    return len(rendered.encode("utf-16-le", "surrogatepass")) // 2 > _MAX_SERIAL_LENGTH


# A pool format's fields and the most characters each writes (shared/domain/serial-format.ts:
# {n} unpadded up to 2^53, 16 digits; {n:K}, {X:K}, {x:K} exactly K; a {chars:…} or {check:…} one).
_FORMAT_FIELD = re.compile(r"\{\{|\}\}|\{(n|X|x)(?::0?(\d+))?\}|\{(?:chars|check):[^}]*\}")


# The format language as the document describes it: fixed text, literal braces, the listed fields.
_FORMAT_SYNTAX = re.compile(r"(?:[^{}]|\{\{|\}\}|\{(?:n|X|x)(?::0?\d+)?\}|\{chars:[^{}]+\}|\{check:(?:luhn|mod37-36|mod11-10)\})*")


def _format_writes_too_much(case):
    """A serial pool format outside the language the document describes, or that may write more than the 64 characters it allows ("At most 64 characters written")."""
    body = case.body
    if case.operation.path != "/v1/serial-pools" or case.method.upper() != "POST" or not isinstance(body, dict) or not isinstance(body.get("format"), str):
        return False
    if not _FORMAT_SYNTAX.fullmatch(body["format"]):
        return True
    def width(match):
        if match.group(0) in ("{{", "}}"):
            return "_"
        if match.group(1) is not None:
            return "_" * (int(match.group(2)) if match.group(2) else 16)
        return "_"
    written = _FORMAT_FIELD.sub(width, body["format"])
    return len(written.encode("utf-16-le", "surrogatepass")) // 2 > _MAX_SERIAL_LENGTH


_known_factories: set = set()


def _learn_factories(value):
    """Every factory id an answer names: the account's factories, as this run has seen them."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "factoryId" and isinstance(item, str):
                with _lock:
                    _known_factories.add(item)
            else:
                _learn_factories(item)
    elif isinstance(value, list):
        for item in value:
            _learn_factories(item)


def _with_real_factories(case):
    """A positive body names factories the account has: a made-up id is rightly 404, which the stateful
    phase would read as its just-created programmer (or person) being gone."""
    body = case.body
    with _lock:
        known = sorted(_known_factories)
    if not isinstance(body, dict) or not known:
        return
    if isinstance(body.get("factoryId"), str) and body["factoryId"] not in known:
        body["factoryId"] = known[0]
    if isinstance(body.get("factoryIds"), list) and any(item not in known for item in body["factoryIds"]):
        body["factoryIds"] = known[: max(1, min(len(body["factoryIds"]), len(known)))]


def _repeats_a_name(body):
    for key in ("columns", "unitFields"):
        items = body.get(key) if isinstance(body, dict) else None
        if isinstance(items, list):
            names = [item.get("name") for item in items if isinstance(item, dict)]
            if len(set(map(str, names))) != len(names):
                return True
    return False


def _not_one_lookup(case):
    return case.operation.path == "/v1/units" and sum(1 for name in ("serial", "mac", "uid") if name in (case.query or {})) != 1


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
    if not _is_positive(case):
        return True
    return not (_breaks_window_rule(case.body) or _breaks_serial_rule(case.body) or _repeats_a_name(case.body) or _not_one_lookup(case) or _format_writes_too_much(case))


@schemathesis.hook
def before_call(context, case, kwargs):
    # Here, not in map_case: a stateful step gets its authorizationId (and a job's id in the path) from a link after map_case ran.
    if not _is_positive(case):
        return
    _with_real_cursor(case)
    _with_real_factories(case)
    if case.operation.path == "/v1/device/results":
        _with_granted_serials(case)


@schemathesis.hook
def after_call(context, case, response):
    key = f"{case.operation.method.upper()} {case.operation.path} {response.status_code}"
    if response.status_code in (200, 201):
        try:
            _learn_factories(response.json())
        except ValueError:
            pass
    # A deleted factory is no longer the account's: positive bodies stop naming it.
    if case.operation.method.upper() == "DELETE" and case.operation.path == "/v1/factories/{factoryId}" and response.status_code == 204:
        with _lock:
            _known_factories.discard((case.path_parameters or {}).get("factoryId"))
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
