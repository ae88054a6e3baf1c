"""Where moto differs from AWS in ways our correctness depends on, the embedded mode corrects it.

Step Functions: see ``make_stop_execution_wait_for_start``. S3 ranged reads: see
``make_s3_ranged_reads_lazy``. S3 event notifications: see ``make_s3_events_name_the_version``.

DynamoDB evaluates a write's condition and applies the write atomically; moto's server handles
requests on several threads and does not, so two concurrent conditional writes can both pass.
The platform relies on that atomicity (exactly one retry, one approval, one upload wins), so
writes are serialised here.

Lambda: moto would run a function in Docker; ``infra.local.lambda_runtime`` replaces its
invocation with our handlers, in process.

Every correction reaches into moto's internals, so each was checked against one moto release,
``MOTO_VERSION`` (the pin in pyproject.toml). ``install`` refuses any other release and applies
them all; the embedded mode calls it before serving anything.
"""

from __future__ import annotations

import contextvars
import functools
import importlib.metadata
import threading
from collections.abc import Iterator
from typing import Any

# The moto release every correction below (and infra/local/lambda_runtime.py) was checked against;
# pyproject.toml pins the same (tests/unit/test_moto_patches.py holds the two together).
MOTO_VERSION = "5.2.5"
MOTO_REQUIREMENT = f"moto[server,stepfunctions]=={MOTO_VERSION}"


def installed_moto_version() -> str | None:
    try:
        return importlib.metadata.version("moto")
    except importlib.metadata.PackageNotFoundError:
        return None


def check_moto_version() -> None:
    """Refuse to patch a moto release the corrections were not checked against."""
    found = installed_moto_version()
    if found == MOTO_VERSION:
        return
    raise RuntimeError(
        f"the embedded mode's moto corrections were checked against moto {MOTO_VERSION}, but "
        f"{'moto ' + found if found else 'no moto'} is installed. Either install the pinned release "
        f"(pip install '{MOTO_REQUIREMENT}', or `make setup`), or re-check each patch in "
        "infra/local/moto_patches.py and infra/local/lambda_runtime.py against the new moto and "
        "update MOTO_VERSION there and the pin in pyproject.toml."
    )


def install() -> None:
    """Check moto's version, then apply every correction. Safe to call again: each applies once."""
    check_moto_version()
    from infra.local import lambda_runtime  # imports infra.spec: only when the stack starts

    lambda_runtime.install()
    make_dynamodb_writes_atomic()
    make_stop_execution_wait_for_start()
    make_stopped_executions_stay_stopped()
    make_s3_ranged_reads_lazy()
    make_s3_presigned_signatures_checked()
    make_s3_events_name_the_version()
    make_update_expressions_parsed_once()


_WRITE_LOCK = threading.RLock()
_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item")
_applied = False


def make_dynamodb_writes_atomic() -> None:
    global _applied
    if _applied:
        return
    from moto.dynamodb.models import DynamoDBBackend

    for name in _WRITES:
        original = getattr(DynamoDBBackend, name, None)
        if original is None:
            continue

        def locked(*args: Any, __original: Any = original, **kwargs: Any) -> Any:
            with _WRITE_LOCK:
                return __original(*args, **kwargs)

        setattr(DynamoDBBackend, name, functools.wraps(original)(locked))
    _applied = True


_STOP_WAIT_SECONDS = 30.0
_stop_applied = False


def make_stop_execution_wait_for_start() -> None:
    """StopExecution on a just-started execution stops it, as on AWS, instead of a 500.

    moto's ASL interpreter builds an execution's environment on the execution's own thread, after
    parsing the definition; until then the worker's ``env`` is None and StopExecution raised
    AttributeError (a 500 to the caller). Once the environment exists, its program state stays
    None until the first state is entered, and a stop in that window was silently ignored: the
    execution ran on to the end. The patched stop waits until the program is running.
    """
    global _stop_applied
    if _stop_applied:
        return
    import time

    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    original = ExecutionWorker.stop

    def started(worker: Any) -> bool:
        env = getattr(worker, "env", None)
        return env is not None and getattr(env, "_program_state", None) is not None

    def stop(self: Any, *args: Any, **kwargs: Any) -> Any:
        deadline = time.monotonic() + _STOP_WAIT_SECONDS
        while not started(self) and time.monotonic() < deadline:
            time.sleep(0.01)
        return original(self, *args, **kwargs)

    ExecutionWorker.stop = functools.wraps(original)(stop)  # type: ignore[method-assign]
    _stop_applied = True


_stay_stopped_applied = False


def make_stopped_executions_stay_stopped() -> None:
    """A stopped execution ends ABORTED, as on AWS, even when a task was running at the stop.

    On AWS StopExecution is final: the execution is ABORTED at once and no later state runs. moto's
    interpreter marks the program stopped, but the task that was running (a Lambda invocation)
    still returns; its result, or its error and the Catch that follows, then fails to set the next
    state of a stopped program, and that RuntimeError reached ``Environment.set_error``, which
    overwrote the stop: the execution ended FAILED (a takedown's StopExecution during Probe did,
    tests/e2e/test_takedown.py). The patched ``set_error`` and ``set_timed_out`` leave a stopped
    program stopped.
    """
    global _stay_stopped_applied
    if _stay_stopped_applied:
        return
    from moto.stepfunctions.parser.asl.eval.environment import Environment
    from moto.stepfunctions.parser.asl.eval.program_state import ProgramStopped

    for name in ("set_error", "set_timed_out"):
        original = getattr(Environment, name)

        def unless_stopped(self: Any, *args: Any, __original: Any = original, **kwargs: Any) -> Any:
            if isinstance(self._program_state, ProgramStopped):
                return None  # the stop is final
            return __original(self, *args, **kwargs)

        setattr(Environment, name, functools.wraps(original)(unless_stopped))
    _stay_stopped_applied = True


_RANGED_GET: contextvars.ContextVar[bool] = contextvars.ContextVar("vod_ranged_get", default=False)
_ranged_applied = False
_whole_value: Any = None  # moto's own FakeKey.value getter, which reads the whole object


class _ObjectWindow:
    """An S3 object's bytes, read only where sliced: stands in for ``FakeKey.value`` during a
    ranged GET, so serving bytes a-b reads b-a+1 bytes, as they are sent, not the whole object."""

    def __init__(self, key: Any) -> None:
        self._key = key

    def __len__(self) -> int:
        return int(self._key.size)

    def __bool__(self) -> bool:
        return len(self) > 0

    def __getitem__(self, item: slice) -> _ObjectRange | bytes:
        if not isinstance(item, slice):
            raise TypeError("an object window is read by slices")
        start, stop, step = item.indices(len(self))
        if step != 1:
            return self.read_all()[item]
        return _ObjectRange(self._key, start, max(start, stop))

    def read_all(self) -> bytes:
        with self._key.lock:
            self._key._value_buffer.seek(0)
            return bytes(self._key._value_buffer.read())


class _ObjectRange:
    """Bytes [start, stop) of an object, streamed to the client block by block: a reader that
    closes the connection early (ffmpeg does, after every seek) costs only what it read."""

    _BLOCK = 1 << 20

    def __init__(self, key: Any, start: int, stop: int) -> None:
        self._key, self._start, self._stop = key, start, stop

    def __len__(self) -> int:
        return self._stop - self._start

    def __iter__(self) -> Iterator[bytes]:
        position = self._start
        while position < self._stop:
            with self._key.lock:
                self._key._value_buffer.seek(position)
                block = self._key._value_buffer.read(min(self._BLOCK, self._stop - position))
            if not block:
                return
            position += len(block)
            yield bytes(block)


def make_s3_ranged_reads_lazy() -> None:
    """A ranged GET reads only its range, as S3 serves it.

    moto reads the whole object into memory for every GET and slices the range out afterwards:
    about 0.4 s of the server's CPU per ranged read of a 600 MB source on this machine, and
    2.3 s for one ffprobe seek. ffmpeg seeking a presigned URL, the index-based split and each
    worker reading its own span are all ranged reads, so the emulator, not the pipeline, set
    their cost. During a ranged GET the object's value is a window whose slices stream from
    the stored object; a GET that ends up not ranged gets the whole object as before.

    Served by moto's HTTP server only (the embedded stack): in-process mocks keep plain bytes.
    """
    global _ranged_applied
    if _ranged_applied:
        return
    from flask import has_request_context
    from moto.s3.models import FakeKey
    from moto.s3.responses import S3Response

    global _whole_value
    value_property: Any = FakeKey.__dict__["value"]
    _whole_value = value_property.fget
    original_key_response = S3Response.key_response

    def value(self: Any) -> Any:
        if _RANGED_GET.get():
            return _ObjectWindow(self)
        return _whole_value(self)

    def key_response(self: Any, request: Any, full_url: str, *args: Any, **kwargs: Any) -> Any:
        range_header = request.headers.get("range") or ""
        ranged = (
            has_request_context()  # moto's HTTP server, not its in-process botocore stub
            and request.method == "GET"
            and range_header != ""
            and "," not in range_header  # S3 answers a multi-range GET with the whole object
        )
        if not ranged:
            return original_key_response(self, request, full_url, *args, **kwargs)
        token = _RANGED_GET.set(True)
        try:
            status, headers, body = original_key_response(self, request, full_url, *args, **kwargs)
        finally:
            _RANGED_GET.reset(token)
        if isinstance(body, _ObjectWindow):  # the range was not served as a range
            body = body.read_all()
        return status, headers, body

    FakeKey.value = property(value, value_property.fset)  # type: ignore[assignment]
    S3Response.key_response = functools.wraps(original_key_response)(key_response)  # type: ignore[method-assign]
    _ranged_applied = True


_signatures_applied = False


def presigned_signature_matches(request: Any, secret_key: str) -> bool:
    """Whether a SigV4 query-signed (presigned) request carries the signature S3 would compute.

    S3 signs every header named in ``X-Amz-SignedHeaders`` with its value: a presigned PUT that
    signed ``content-length`` and ``if-none-match`` is refused (403 SignatureDoesNotMatch) when the
    body is of another length or the header is dropped. moto checks no presigned signature.
    """
    import hashlib
    import hmac
    from urllib.parse import parse_qsl, quote

    query = parse_qsl(request.query_string.decode(), keep_blank_values=True)
    params = dict(query)
    credential = params.get("X-Amz-Credential", "").split("/")
    if len(credential) != 5:
        return False
    _access_key, day, region, service, _terminator = credential
    signed_headers = params.get("X-Amz-SignedHeaders", "")
    canonical_query = "&".join(
        f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(query) if k != "X-Amz-Signature"
    )
    header_lines = []
    for name in signed_headers.split(";"):
        value = request.headers.get(name)
        if value is None:
            return False  # a signed header the request does not carry
        header_lines.append(f"{name}:{' '.join(value.split())}\n")
    canonical = "\n".join(
        [
            request.method,
            quote(request.path, safe="/-_.~"),
            canonical_query,
            "".join(header_lines),
            signed_headers,
            "UNSIGNED-PAYLOAD",
        ]
    )
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256",
            params.get("X-Amz-Date", ""),
            scope,
            hashlib.sha256(canonical.encode()).hexdigest(),
        ]
    )
    key = ("AWS4" + secret_key).encode()
    for part in (day, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, params.get("X-Amz-Signature", ""))


def make_s3_presigned_signatures_checked() -> None:
    """A presigned S3 request whose signature does not hold is refused, as S3 refuses it.

    moto serves any presigned URL whatever was signed, so a PUT signed for 100 bytes took 4 MB
    and one signed with ``If-None-Match: *`` could drop the header and overwrite the source.
    The embedded stack signs with one known secret (``AWS_SECRET_ACCESS_KEY``, "testing"), so
    the server recomputes the signature over the headers the URL signed, with their values.

    Served by moto's HTTP server only (the embedded stack): in-process mocks are not presigned.
    """
    global _signatures_applied
    if _signatures_applied:
        return
    import os

    from flask import has_request_context
    from moto.s3.responses import S3Response

    original_key_response = S3Response.key_response

    def key_response(self: Any, request: Any, full_url: str, *args: Any, **kwargs: Any) -> Any:
        presigned = (
            has_request_context()
            and request.args.get("X-Amz-Algorithm") == "AWS4-HMAC-SHA256"
            and "X-Amz-Signature" in request.args
        )
        secret = os.environ.get("AWS_SECRET_ACCESS_KEY", "testing")
        if presigned and not presigned_signature_matches(request, secret):
            body = (
                '<?xml version="1.0" encoding="UTF-8"?><Error><Code>SignatureDoesNotMatch</Code>'
                "<Message>The request signature we calculated does not match the signature you "
                "provided.</Message></Error>"
            )
            return 403, {"Content-Type": "application/xml"}, body
        return original_key_response(self, request, full_url, *args, **kwargs)

    S3Response.key_response = functools.wraps(original_key_response)(key_response)  # type: ignore[method-assign]
    _signatures_applied = True


_events_applied = False
_sequence = iter(range(1, 1 << 62))
_sequence_lock = threading.Lock()


def make_s3_events_name_the_version() -> None:
    """An S3 event notification names the object's ``versionId`` (in a versioned bucket) and a
    ``sequencer``, as S3's do.

    moto's records carry neither, so the starter could not fix a video's source by version, and
    two different objects with the same bytes (one ETag) looked like one upload delivered twice.
    The sequencer is a process-wide counter in hex: unique per event and increasing, as S3's is
    per key (a redelivery of one event repeats the record itself, sequencer included).
    """
    global _events_applied
    if _events_applied:
        return
    from moto.s3 import notifications

    original = notifications._get_s3_event

    def get_s3_event(event_name: str, bucket: Any, key: Any, notification_id: str) -> Any:
        event = original(event_name, bucket, key, notification_id)
        with _sequence_lock:
            sequencer = f"{next(_sequence):016X}"
        for record in event.get("Records", []):
            obj = record["s3"]["object"]
            obj["sequencer"] = sequencer
            if bucket.is_versioned and getattr(key, "version_id", None) not in (None, "null"):
                obj["versionId"] = key.version_id
        return event

    notifications._get_s3_event = functools.wraps(original)(get_s3_event)
    _events_applied = True


_expressions_applied = False
_CHECKED_LIMIT = 4096
# The validators of an update expression that look at nothing but the expression, its names and
# the table's key attributes: once an expression passed them, it passes them again.
_SHAPE_CHECKS = ("ActionCountValidator", "OverlappingPathsValidator", "UpdateHashRangeKeyValidator")


def make_update_expressions_parsed_once() -> None:
    """An UpdateItem's expression is parsed and shape-checked once per distinct expression, not on
    every call (speed only: what an update does and refuses is unchanged).

    moto parses an update expression twice per UpdateItem (the response layer, then the backend)
    and runs three of its ten validator passes on nothing but the expression's shape. A
    playback heartbeat's expression has about 25 clauses, so that was half of moto's time per
    heartbeat (tests/bench/sessions_bench.py). The parsed tree is memoised by expression
    (``Validator`` deep-copies it before it substitutes values, and the response layer only reads
    it); the shape checks are skipped for an (expression, names, table keys) that passed them."""
    global _expressions_applied
    if _expressions_applied:
        return
    from moto.dynamodb.parsing import expressions as expressions_module
    from moto.dynamodb.parsing import validators as validators_module

    expressions: Any = expressions_module  # moto's parsing modules are untyped
    validators: Any = validators_module
    parse = expressions.UpdateExpressionParser.make.__func__

    @functools.lru_cache(maxsize=1024)
    def parsed(expression: str) -> Any:
        return parse(expressions.UpdateExpressionParser, expression)

    expressions.UpdateExpressionParser.make = classmethod(lambda cls, expression: parsed(expression))

    checked: dict[tuple[Any, ...], Any] = {}
    update_validator = validators.UpdateExpressionValidator
    original_init = validators.Validator.__init__

    def init(self: Any, expression: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, expression, *args, **kwargs)
        names = tuple(sorted((self.expression_attribute_names or {}).items()))
        self._shape_key = (id(expression), names, tuple(self.table.table_key_attrs))
        self._shape_source = expression  # held while its id is a key: ids are never reused

    def validate(self: Any) -> Any:
        key = getattr(self, "_shape_key", None)
        if isinstance(self, update_validator) and key is not None and key in checked:
            self.processors = [p for p in self.processors if type(p).__name__ not in _SHAPE_CHECKS]
        node = original_validate(self)
        if isinstance(self, update_validator) and key is not None:
            if len(checked) >= _CHECKED_LIMIT:
                checked.clear()
            checked[key] = self._shape_source
        return node

    original_validate = validators.Validator.validate
    validators.Validator.__init__ = init
    validators.Validator.validate = validate
    _expressions_applied = True
