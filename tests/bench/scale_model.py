"""Scale model of the chunked pipeline on AWS: upload-to-viewable, upload-to-READY and cost.

From per-chunk encode speeds measured on this machine (with the pipeline's own ffmpeg arguments)
and a documented model of Lambda, S3 and Step Functions, predict how long a 1080p source of a
given length takes to become playable (lowest rung) and READY (every rung), at several fan-outs,
and what one hour of source costs. The model follows the pipeline step by step:

    upload complete -> S3 event -> SQS -> starter Lambda -> Step Functions execution
    -> AcquireSlot -> Probe -> Moderate (one Lambda decodes the whole source)
    -> Split (stream copy to chunks in /tmp, audio encoded whole, then the chunks uploaded)
    -> Map pass 1 (lowest rung per chunk) -> Stitch lowest rung + master -> VIEWABLE
    -> Map pass 2 (remaining rungs, one decode) -> Stitch all rungs, master rewritten
    -> Thumbnails (from the lowest rung) -> Publish -> READY

That is the pipeline as built (infra/statemachines/media_pipeline.asl.json, with Distributed
Map children as STANDARD workflows). Designs that are not built are variants of
:class:`Assumptions`: Moderate fanned out over time ranges (and how it samples), the split by
index, a split that uploads chunks while it cuts, Express children, thumbnails beside pass 2.

Fan-out F is a deployment setting: the deployer sets CHUNK_TARGET_SECONDS (default 60 s) to the
chunk length below, so that a source of the target length yields about F chunks, and
MAP_MAX_CONCURRENCY (default 1000) to at least F.

Every number the model does not measure is a field of :class:`Assumptions` with its source in
``ASSUMPTION_SOURCES``; docs/scale-model.md discusses them and the results.

    python -m tests.bench.scale_model                        # measure (~1.5 CPU-minutes), model, print
    python -m tests.bench.scale_model --reuse-measurements   # model again from bench.json
    python -m tests.bench.run --only model                   # the same, as a make-bench section

The pure part (everything above ``# Measurement``) is unit-tested in tests/unit/test_scale_model.py.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RESULTS_FILE = Path(__file__).resolve().parent / "results" / "bench.json"
SECTION = "scale_model"

MB = 1_000_000  # S3 and network rates are in decimal megabytes per second
HOUR = 3600.0

# The grid the issue asks for: 10-minute, 1-hour and 4-hour 1080p sources at these fan-outs.
DURATIONS_S: tuple[float, ...] = (600.0, 3600.0, 4 * 3600.0)
FANOUTS: tuple[int, ...] = (1, 10, 100, 1000)
# Issue 5's targets for the model: a 1-hour 1080p source at 1000-way fan-out.
TARGET_DURATION_S = 3600.0
TARGET_FANOUT = 1000
TARGET_VIEWABLE_S = 60.0
TARGET_READY_S = 180.0
# The settings' defaults (functions/shared/settings.py): a fan-out is CHUNK_TARGET_SECONDS chosen for it
DEFAULT_CHUNK_TARGET_S = 60.0
DEFAULT_MAP_MAX_CONCURRENCY = 1000
MEMORY_SWEEP_MB: tuple[int, ...] = (1769, 3538, 5307, 7076, 8846, 10240)


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measured:
    """What this machine measured. CPU seconds are per vCPU: ffmpeg pinned to one core."""

    pass1_cpu_s_per_source_s: float  # lowest rung only: marginal CPU seconds per source second
    pass1_fixed_cpu_s: float  # per-chunk fixed CPU cost (process start, decoder and x264 init)
    pass2_cpu_s_per_source_s: float  # the remaining rungs in one ffmpeg (one decode, split+scale)
    pass2_fixed_cpu_s: float
    parallel_efficiency: float  # share of each extra vCPU ffmpeg turns into speed (0..1)
    split_copy_mb_s: float  # ffmpeg stream-copy split throughput (local disk, page cache)
    import_s: float  # cold import of the transcode handler module
    probe_local_s: float  # probe() of a local file (two ffprobe runs)
    sample_cpu_s_per_source_s: float  # moderation frame sampling (decode everything, keep a few)
    storyboard_fixed_s: float  # storyboard from the lowest rung, one vCPU
    storyboard_s_per_source_s: float

    @property
    def pass1_speed_per_vcpu(self) -> float:
        """Seconds of source encoded per vCPU-second (marginal), lowest rung."""
        return 1.0 / self.pass1_cpu_s_per_source_s

    @property
    def pass2_speed_per_vcpu(self) -> float:
        return 1.0 / self.pass2_cpu_s_per_source_s

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {k: round(v, 5) for k, v in dataclasses.asdict(self).items()}
        out["pass1_speed_per_vcpu"] = round(self.pass1_speed_per_vcpu, 3)
        out["pass2_speed_per_vcpu"] = round(self.pass2_speed_per_vcpu, 3)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Measured:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: float(v) for k, v in data.items() if k in names})


@dataclass(frozen=True)
class Rates:
    """Bit rates (bits per second) of the source and of the ladder's passes."""

    source_bps: float
    pass1_out_bps: float  # lowest rung, video + audio
    pass2_out_bps: float  # the other rungs together
    pass2_rungs: int


def ladder_rates(source_video_bps: float, source_audio_bps: float) -> Rates:
    """The 1080p ladder the pipeline chooses for a 1920x1080 source, as bit rates."""
    from functions.pipeline.logic.ladder import choose_ladder

    ladder = choose_ladder(1920, 1080)
    lowest, rest = ladder[-1], ladder[:-1]
    return Rates(
        source_bps=source_video_bps + source_audio_bps,
        pass1_out_bps=float(lowest.video_bitrate + lowest.audio_bitrate),
        pass2_out_bps=float(sum(r.video_bitrate + r.audio_bitrate for r in rest)),
        pass2_rungs=len(rest),
    )


@dataclass(frozen=True)
class Assumptions:
    """Everything the model does not measure. Sources: ASSUMPTION_SOURCES (and the docs)."""

    # Lambda compute
    mb_per_vcpu: float = 1769.0
    max_vcpus: float = 6.0
    max_memory_mb: int = 10240
    lambda_cpu_relative: float = 1.0  # a Lambda vCPU against one vCPU of the measuring machine
    parallel_efficiency: float | None = None  # None: the measured value
    architecture: str = "x86_64"
    # Memory of each function (chunk workers are the knob; the rest mirror infra/spec.py)
    worker_memory_mb: int = 10240
    split_memory_mb: int = 3008
    moderate_memory_mb: int = 3008
    moderate_timeout_s: float = 600.0
    moderate_sampling_budget_s: float = 290.0  # sample_frames' timeout: (timeout - 20 s) / 2
    slot_memory_mb: int = 256
    probe_memory_mb: int = 1024
    starter_memory_mb: int = 256
    stitch_memory_mb: int = 1024
    thumbnails_memory_mb: int = 2048
    publish_memory_mb: int = 512
    split_ephemeral_mb: int = 10240
    # Lambda start and scaling
    runtime_init_s: float = 0.4  # sandbox + runtime + layers, before our imports
    burst_per_function: int = 1000  # new execution environments per function ...
    burst_interval_s: float = 10.0  # ... per this many seconds
    account_concurrency: int = 1000
    lambda_timeout_s: float = 900.0
    # Retry of Lambda.TooManyRequestsException in the state machine: waits before each retry
    throttle_retry_waits_s: tuple[float, ...] = (1.0, 3.0, 9.0)
    # S3 from Lambda
    s3_down_mb_s: float = 90.0
    s3_up_mb_s: float = 90.0
    s3_first_byte_s: float = 0.03
    s3_parallel_requests: int = 16  # storage.upload_directory / download_hls_as_ts workers
    stitch_parallel_requests: int = 32  # storage.get_json_many workers
    split_io_overlap: bool = False  # True: upload each chunk while cutting (not built)
    split_audio_cpu_s_per_source_s: float = 0.02  # the split also encodes the audio, whole (AAC)
    # Event path to the execution
    s3_event_to_sqs_s: float = 0.5
    sqs_to_lambda_s: float = 0.5
    start_execution_s: float = 0.1
    # Step Functions
    transition_s: float = 0.05
    task_overhead_s: float = 0.05  # Step Functions -> Lambda invoke and back
    inline_map_max_concurrency: int = 40
    inline_map_max_chunks: int = 40  # INLINE_MAP_MAX_CHUNKS: more chunks take the Distributed Map
    distributed_map_max_concurrency: int = 10000
    dmap_run_start_s: float = 1.0  # Map Run creation before the first child starts
    dmap_child_start_rate_per_s: float = 500.0  # children started per second
    dmap_result_s: float = 1.0  # collecting child results (ResultWriter) after the last child
    express_children: bool = False  # Distributed Map children as Express (not built) or Standard
    express_max_duration_s: float = 300.0
    standard_transition_bucket: float = 5000.0
    standard_transition_refill_per_s: float = 1500.0
    child_transitions: int = 3  # per Standard child execution (start, task, end)
    inline_iteration_transitions: int = 2  # per inline Map iteration in the parent's history
    parent_transitions: int = 16  # the parent's own states, end to end
    straggler_factor: float = 1.2  # the slowest of n parallel workers against the typical one
    # Source and media
    source_video_bps: float = 8_000_000.0  # the bench's source: H.264 8 Mb/s 1080p30
    source_audio_bps: float = 192_000.0
    segment_s: int = 4
    index_bytes_per_source_s: float = 1000.0  # MP4 sample tables read by ffprobe and the split
    # Pipeline shape
    split_mode: str = "copy"  # "copy": one Lambda copies chunks; "index": workers seek the source
    moderation_mode: str = "single"  # "single": one Lambda (built); "fanned": Map over time ranges
    pass2_same_function: bool = True  # pass 2 reuses pass 1's warm environments
    frame_sample_fps: float = 1.0
    frame_max_samples: int = 300
    sample_cap: str = "per_chunk"  # how fanned-out Moderate samples: per_chunk | per_video | global_grid
    thumbnails_beside_pass2: bool = False  # True: Thumbnails in parallel with pass 2 (not built)
    classifier_threads: int = 4  # RekognitionClassifier max_workers
    rekognition_latency_s: float = 0.2
    rekognition_tps: float = 50.0
    moderation_verdict_s: float = 0.2  # DynamoDB writes of scores and verdict
    stitch_base_s: float = 0.3
    poster_s: float = 0.5
    publish_s: float = 0.3
    db_update_s: float = 0.05
    # Prices (us-east-1)
    lambda_gb_s_x86: float = 0.0000166667
    lambda_gb_s_arm: float = 0.0000133334
    lambda_request: float = 0.20 / 1_000_000
    lambda_ephemeral_gb_s: float = 0.0000000309
    sfn_standard_transition: float = 0.025 / 1000
    sfn_express_request: float = 1.00 / 1_000_000
    sfn_express_gb_s: float = 0.00001667
    sfn_express_memory_mb: int = 64
    s3_put: float = 0.005 / 1000
    s3_get: float = 0.0004 / 1000
    rekognition_image: float = 0.001

    def to_dict(self) -> dict[str, Any]:
        return {
            name: {"value": value, "source": ASSUMPTION_SOURCES.get(name, "")}
            for name, value in dataclasses.asdict(self).items()
        }


_LAMBDA_MEMORY = "AWS Lambda docs, Configure function memory: 1,769 MB = one vCPU; up to 6 vCPUs at 10,240 MB"
_LAMBDA_SCALING = (
    "AWS Lambda docs, Lambda scaling behavior: 1,000 execution environments every 10 s per function"
)
_S3_GUIDE = "Amazon S3 docs, Performance guidelines: one request per 85-90 MB/s of throughput"
_S3_LATENCY = "S3 performance whitepaper: small requests' median latency is in the tens of milliseconds"
_SFN_MAP = "Step Functions docs, Map state: Inline up to 40 concurrent iterations; Distributed up to 10,000"
_SFN_QUOTAS = "Step Functions docs, Quotas: StateTransition bucket 5,000, refill 1,500/s (us-east-1)"
_UNDOCUMENTED = "assumption (not documented by AWS); see docs/scale-model.md for the sensitivity"
_SPEC = "infra/spec.py"
ASSUMPTION_SOURCES: dict[str, str] = {
    "mb_per_vcpu": _LAMBDA_MEMORY,
    "max_vcpus": _LAMBDA_MEMORY,
    "max_memory_mb": _LAMBDA_MEMORY,
    "lambda_cpu_relative": "assumption: a Lambda vCPU as fast as one vCPU (hyperthread) of this AMD EPYC VM",
    "parallel_efficiency": "measured here (2 cores against 1) unless set",
    "architecture": "infra/stack.py default; arm64 cost is reported at the same speed (unmeasured)",
    "worker_memory_mb": "the model's choice for chunk workers (see the memory sweep)",
    "split_memory_mb": _SPEC + " (pipeline-split)",
    "moderate_memory_mb": _SPEC + " (pipeline-moderate)",
    "moderate_timeout_s": _SPEC + " (pipeline-moderate timeout_s)",
    "moderate_sampling_budget_s": "functions/moderation/logic/saga_step.py: sample_frames(timeout="
    + "time_budget(remaining_ms) / 2), time_budget = remaining - 20 s (media_steps.SAFETY_MARGIN_S)",
    "slot_memory_mb": _SPEC + " (pipeline-acquire-slot)",
    "probe_memory_mb": _SPEC,
    "starter_memory_mb": _SPEC,
    "stitch_memory_mb": _SPEC + " (pipeline-stitch)",
    "thumbnails_memory_mb": _SPEC,
    "publish_memory_mb": _SPEC,
    "split_ephemeral_mb": "assumption: /tmp for chunks in flight (Lambda allows up to 10,240 MB)",
    "runtime_init_s": "AWS Lambda docs (execution environment): cold starts range from under 100 ms "
    + "to over 1 s; 0.4 s assumed for a Python runtime with the ffmpeg layer, before our imports (measured)",
    "burst_per_function": _LAMBDA_SCALING,
    "burst_interval_s": _LAMBDA_SCALING,
    "account_concurrency": "AWS Lambda quotas: 1,000 concurrent executions per Region by default (raisable)",
    "lambda_timeout_s": "AWS Lambda quotas: 900 s maximum timeout",
    "throttle_retry_waits_s": "infra/statemachines/media_pipeline.asl.json: Lambda.TooManyRequestsException "
    + "retried after 1 s, backoff 3, 3 attempts",
    "s3_down_mb_s": _S3_GUIDE + " (taken as one function's rate; Lambda network bandwidth is not documented)",
    "s3_up_mb_s": _S3_GUIDE,
    "s3_first_byte_s": _S3_LATENCY,
    "s3_parallel_requests": "functions/pipeline/logic/storage.py (16 workers)",
    "stitch_parallel_requests": "functions/pipeline/logic/storage.py get_json_many (32 workers)",
    "split_io_overlap": "functions/pipeline/logic/chunked_steps.py split_step: ffmpeg cuts every chunk "
    + "into /tmp, then the chunks are uploaded one after another (False); True is not built",
    "split_audio_cpu_s_per_source_s": "spot check on this machine, not part of measure(): ffmpeg 5.1 "
    + "native AAC, 600 s stereo 48 kHz at 192 kb/s took 12.2 CPU-s (the split's ffmpeg runs it)",
    "s3_event_to_sqs_s": "assumption; S3 docs: event notifications typically arrive in seconds",
    "sqs_to_lambda_s": "assumption: SQS long polling by the event source mapping",
    "start_execution_s": _UNDOCUMENTED,
    "transition_s": _UNDOCUMENTED,
    "task_overhead_s": _UNDOCUMENTED,
    "inline_map_max_concurrency": _SFN_MAP,
    "inline_map_max_chunks": "functions/shared/settings.py INLINE_MAP_MAX_CHUNKS (chunks, not fan-out)",
    "distributed_map_max_concurrency": _SFN_MAP,
    "dmap_run_start_s": _UNDOCUMENTED,
    "dmap_child_start_rate_per_s": _UNDOCUMENTED,
    "dmap_result_s": _UNDOCUMENTED,
    "express_children": "infra/statemachines/media_pipeline.asl.json: ExecutionType STANDARD (moto "
    + "accepts only STANDARD); Express children are not built",
    "express_max_duration_s": "Step Functions docs, Quotas: Express executions run at most 5 minutes",
    "standard_transition_bucket": _SFN_QUOTAS,
    "standard_transition_refill_per_s": _SFN_QUOTAS,
    "child_transitions": "assumption: one Task per child (entered, task, succeeded)",
    "inline_iteration_transitions": "assumption: one Task per iteration",
    "parent_transitions": "count of the parent's states on the happy path (AcquireSlot ... Published: 15, "
    + "and the start)",
    "straggler_factor": "assumption; ExCamera and Sprocket both report stragglers at high fan-out",
    "source_video_bps": "tests/bench/run.py generate_source (-b:v 8M)",
    "source_audio_bps": "tests/bench/run.py generate_source (-b:a 192k)",
    "segment_s": "functions/shared/settings.py SEGMENT_SECONDS",
    "index_bytes_per_source_s": "assumption: MP4 sample tables, about 20 bytes per video frame plus audio",
    "split_mode": "as built: copy (chunked_steps.split_step); 'index' is not built",
    "moderation_mode": "as built: single (the Moderate state runs before ChoosePath/Split, one Lambda); "
    + "'fanned' is not built",
    "pass2_same_function": "assumption: both passes are the same function and memory",
    "frame_sample_fps": "functions/shared/settings.py FRAME_SAMPLE_FPS",
    "frame_max_samples": "functions/shared/settings.py FRAME_MAX_SAMPLES",
    "sample_cap": "fanned-out Moderate only (not built): how each range worker samples",
    "thumbnails_beside_pass2": "as built: Thumbnails runs after StitchFinal (media_pipeline.asl.json); "
    + "True is not built",
    "classifier_threads": "functions/moderation/logic/classifier.py RekognitionClassifier(max_workers=4)",
    "rekognition_latency_s": _UNDOCUMENTED,
    "rekognition_tps": "assumption: DetectModerationLabels TPS quota (Rekognition quotas; varies by Region)",
    "moderation_verdict_s": "assumption",
    "stitch_base_s": "assumption: list results, write playlists",
    "poster_s": "assumption: one seek and one JPEG from the source",
    "publish_s": "assumption: DynamoDB write + EventBridge PutEvents",
    "db_update_s": "assumption",
    "lambda_gb_s_x86": "AWS Lambda pricing, us-east-1, first tier",
    "lambda_gb_s_arm": "AWS Lambda pricing, us-east-1, first tier",
    "lambda_request": "AWS Lambda pricing",
    "lambda_ephemeral_gb_s": "AWS Lambda pricing (ephemeral storage above 512 MB)",
    "sfn_standard_transition": "AWS Step Functions pricing (Standard)",
    "sfn_express_request": "AWS Step Functions pricing (Express)",
    "sfn_express_gb_s": "AWS Step Functions pricing (Express, first tier)",
    "sfn_express_memory_mb": "AWS Step Functions pricing: Express memory billed in 64-MB chunks",
    "s3_put": "Amazon S3 pricing (PUT, COPY, POST, LIST)",
    "s3_get": "Amazon S3 pricing (GET, SELECT)",
    "rekognition_image": "Amazon Rekognition pricing: DetectModerationLabels, first 1M images",
}


# --------------------------------------------------------------------------------------------
# Lambda and Map arithmetic
# --------------------------------------------------------------------------------------------


def vcpus_for_memory(memory_mb: float, a: Assumptions) -> float:
    """CPU share of a function: one vCPU per 1,769 MB, never more than six."""
    if memory_mb <= 0:
        raise ValueError("memory must be positive")
    return min(a.max_vcpus, memory_mb / a.mb_per_vcpu)


def effective_vcpus(vcpus: float, efficiency: float) -> float:
    """What ffmpeg makes of ``vcpus``: the first is used fully, each further one at ``efficiency``."""
    if vcpus <= 1.0:
        return vcpus
    return 1.0 + (vcpus - 1.0) * efficiency


def chunk_length(duration_s: float, fanout: int, segment_s: int) -> int:
    """Target chunk length: the duration shared by the fan-out, rounded up to whole segments."""
    if duration_s <= 0 or fanout < 1 or segment_s < 1:
        raise ValueError("duration, fan-out and segment length must be positive")
    per_chunk = duration_s / fanout
    segments = math.ceil(per_chunk / segment_s - 1e-9)
    return max(segment_s, segments * segment_s)


def chunk_count(duration_s: float, length_s: float) -> int:
    return max(1, math.ceil(duration_s / length_s - 1e-9))


def scaling_waves(n: int, burst: int, interval_s: float) -> list[tuple[float, int]]:
    """(time new environments become available, how many) for ``n`` cold invocations at once."""
    waves: list[tuple[float, int]] = []
    left, k = n, 0
    while left > 0:
        take = min(burst, left)
        waves.append((k * interval_s, take))
        left -= take
        k += 1
    return waves


def throttled_start(available_at: float, retry_waits: tuple[float, ...]) -> float | None:
    """When an invocation throttled at t=0 finally starts, given the state machine's retries.

    Step Functions retries after each wait in turn; the invocation starts at the first attempt at
    or after ``available_at``. None: every retry came too early and the task failed.
    """
    attempt_at = 0.0
    if available_at <= attempt_at:
        return attempt_at
    for wait in retry_waits:
        attempt_at += wait
        if attempt_at >= available_at:
            return attempt_at
    return None


def map_kind(chunks: int, a: Assumptions) -> str:
    """As built the split chooses by chunk count (INLINE_MAP_MAX_CHUNKS), not by fan-out."""
    return "inline" if chunks <= a.inline_map_max_chunks else "distributed"


@dataclass(frozen=True)
class MapPhase:
    seconds: float  # from the Map state entered to its last result collected
    last_start_s: float  # when the last worker started, relative to the Map state entered
    waves: int  # Lambda scaling waves needed (1: everything started in the first burst)
    throttle_failures: int  # workers whose throttle retries ran out: the Map (and video) fails
    notes: tuple[str, ...] = ()  # worth knowing
    blockers: tuple[str, ...] = ()  # the Map cannot work like this


def map_phase(n: int, worker_s: float, *, fanout: int, warm: bool, a: Assumptions) -> MapPhase:
    """Makespan of a Map over ``n`` equal workers taking ``worker_s`` each.

    ``fanout`` is the Map's MaxConcurrency (MAP_MAX_CONCURRENCY, set by the deployer to the fan-out).
    """
    kind = map_kind(n, a)
    notes: list[str] = []
    blockers: list[str] = []
    limit = a.inline_map_max_concurrency if kind == "inline" else a.distributed_map_max_concurrency
    concurrency = min(n, fanout, limit)
    rounds = math.ceil(n / concurrency)
    if kind == "inline":
        last_child = 0.0
        tail = 0.0
    else:
        last_child = a.dmap_run_start_s + (min(n, concurrency) - 1) / a.dmap_child_start_rate_per_s
        tail = a.dmap_result_s
        if not a.express_children:
            transitions = min(n, concurrency) * a.child_transitions
            excess = max(0.0, transitions - a.standard_transition_bucket)
            if excess:
                last_child += excess / a.standard_transition_refill_per_s
                notes.append("Standard children exceed the state-transition burst: throttled")
    waves_needed, failures, last_wave_start = 1, 0, 0.0
    if not warm:
        waves = scaling_waves(min(n, concurrency), a.burst_per_function, a.burst_interval_s)
        waves_needed = len(waves)
        for ready_at, count in waves:
            started = throttled_start(ready_at, a.throttle_retry_waits_s)
            if started is None:
                failures += count
            else:
                last_wave_start = max(last_wave_start, started)
        if failures:
            blockers.append(f"{failures} workers exhaust their Lambda throttling retries: the Map fails")
    if min(n, concurrency) > a.account_concurrency:
        extra_rounds = math.ceil(min(n, concurrency) / a.account_concurrency) - 1
        rounds += extra_rounds
        notes.append("fan-out above the account's concurrency limit: workers queue behind each other")
    last_start = max(last_child, last_wave_start)
    straggle = a.straggler_factor if n > 1 else 1.0
    seconds = last_start + worker_s * straggle + (rounds - 1) * worker_s + tail
    if worker_s > a.lambda_timeout_s:
        blockers.append(f"a worker needs {worker_s:.0f} s: above Lambda's {a.lambda_timeout_s:.0f} s limit")
    if kind == "distributed" and a.express_children and worker_s > a.express_max_duration_s:
        blockers.append("a child runs longer than Express allows (5 min): needs Standard children")
    return MapPhase(
        seconds=seconds,
        last_start_s=last_start,
        waves=waves_needed,
        throttle_failures=failures,
        notes=tuple(notes),
        blockers=tuple(blockers),
    )


# --------------------------------------------------------------------------------------------
# The pipeline, step by step
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Invocation:
    """Lambda invocations of one kind, for the bill."""

    name: str
    memory_mb: int
    billed_s: float  # per invocation, init included (billed since August 2025)
    count: int
    ephemeral_mb: int = 512


@dataclass
class Prediction:
    duration_s: float
    fanout: int
    chunk_s: int
    chunks: int
    map_kind: str
    worker_memory_mb: int
    steps_s: dict[str, float] = field(default_factory=dict)  # durations on the way
    viewable_s: float = 0.0
    ready_s: float = 0.0
    workers_s: dict[str, float] = field(default_factory=dict)  # one chunk worker, each pass
    invocations: list[Invocation] = field(default_factory=list)
    cost: dict[str, float] = field(default_factory=dict)  # per video, dollars
    cost_per_source_hour: dict[str, float] = field(default_factory=dict)
    lambda_gb_s: float = 0.0
    notes: list[str] = field(default_factory=list)
    blockers: list[str] = field(default_factory=list)  # why this configuration cannot run as modelled

    @property
    def feasible(self) -> bool:
        return not self.blockers

    def add_phase(self, name: str, phase: MapPhase) -> None:
        self.notes.extend(f"{name}: {note}" for note in phase.notes)
        self.blockers.extend(f"{name}: {blocker}" for blocker in phase.blockers)

    def to_dict(self) -> dict[str, Any]:
        return {
            "duration_s": self.duration_s,
            "fanout": self.fanout,
            "chunk_s": self.chunk_s,
            "chunks": self.chunks,
            "map_kind": self.map_kind,
            "worker_memory_mb": self.worker_memory_mb,
            "viewable_s": round(self.viewable_s, 1),
            "ready_s": round(self.ready_s, 1),
            "steps_s": {k: round(v, 2) for k, v in self.steps_s.items()},
            "workers_s": {k: round(v, 2) for k, v in self.workers_s.items()},
            "cost_per_video_usd": {k: round(v, 5) for k, v in self.cost.items()},
            "cost_per_source_hour_usd": {k: round(v, 4) for k, v in self.cost_per_source_hour.items()},
            "lambda_gb_s": round(self.lambda_gb_s, 1),
            "feasible": self.feasible,
            "blockers": self.blockers,
            "notes": self.notes,
        }


def cold_start_s(m: Measured, a: Assumptions) -> float:
    return a.runtime_init_s + m.import_s / a.lambda_cpu_relative


def _efficiency(m: Measured, a: Assumptions) -> float:
    return m.parallel_efficiency if a.parallel_efficiency is None else a.parallel_efficiency


def _compute_s(
    fixed_cpu_s: float, cpu_per_s: float, seconds: float, memory_mb: int, m: Measured, a: Assumptions
) -> float:
    """Wall time of CPU work on a function of this size: the fixed part does not parallelise."""
    vcpus = vcpus_for_memory(memory_mb, a)
    single = min(1.0, vcpus) * a.lambda_cpu_relative
    parallel = effective_vcpus(vcpus, _efficiency(m, a)) * a.lambda_cpu_relative
    return fixed_cpu_s / single + cpu_per_s * seconds / parallel


def _transfer_s(
    nbytes: float, rate_mb_s: float, requests: int, a: Assumptions, parallel: int | None = None
) -> float:
    in_flight = parallel or a.s3_parallel_requests
    rounds = math.ceil(requests / in_flight) if requests else 0
    return nbytes / (rate_mb_s * MB) + rounds * a.s3_first_byte_s


def encode_worker_s(
    pass_no: int, chunk_s: float, m: Measured, a: Assumptions, rates: Rates, *, cold: bool
) -> float:
    """One chunk worker: invoke, (cold start), fetch the chunk, encode, upload its segments."""
    if pass_no == 1:
        fixed, per_s, out_bps, rungs = m.pass1_fixed_cpu_s, m.pass1_cpu_s_per_source_s, rates.pass1_out_bps, 1
    else:
        fixed, per_s, out_bps, rungs = (
            m.pass2_fixed_cpu_s,
            m.pass2_cpu_s_per_source_s,
            rates.pass2_out_bps,
            rates.pass2_rungs,
        )
    fetch_requests = 2 if a.split_mode == "index" else 1  # index mode: a ranged read after the header
    fetch = _transfer_s(chunk_s * rates.source_bps / 8, a.s3_down_mb_s, fetch_requests, a)
    encode = _compute_s(fixed, per_s, chunk_s, a.worker_memory_mb, m, a)
    objects = rungs * (math.ceil(chunk_s / a.segment_s) + 1)  # segments + a chunk playlist per rung
    upload = _transfer_s(chunk_s * out_bps / 8, a.s3_up_mb_s, objects, a)
    return a.task_overhead_s + (cold_start_s(m, a) if cold else 0.0) + fetch + encode + upload


def _classify_s(frames_per_worker: int, frames_total: int, a: Assumptions) -> float:
    per_worker = math.ceil(frames_per_worker / a.classifier_threads) * a.rekognition_latency_s
    return max(per_worker, frames_total / a.rekognition_tps)


def moderation_frames(duration_s: float, workers: int, range_s: float, a: Assumptions) -> tuple[int, int]:
    """(frames per worker, frames in total) sampled for moderation.

    One sampler over the whole video keeps a frame every ``max(1/fps, duration/max_samples)``
    seconds. Fanned out, it depends on what each worker is told (``sample_cap``):
    ``per_chunk``: sample_frames on the range as if it were the video (FRAME_SAMPLE_FPS, the cap
    per range); ``per_video``: the whole video's interval, but every range still keeps its first
    frame; ``global_grid``: sample times on one grid over the whole video, each range keeps the
    grid points it holds (the single sampler's frames, split up).
    """
    whole = min(math.ceil(duration_s * a.frame_sample_fps - 1e-9), a.frame_max_samples)
    if workers <= 1:
        return whole, whole
    interval = max(1.0 / a.frame_sample_fps, duration_s / a.frame_max_samples)
    if a.sample_cap == "per_chunk":
        per = min(math.ceil(range_s * a.frame_sample_fps - 1e-9), a.frame_max_samples)
        return per, per * workers
    if a.sample_cap == "per_video":
        per = max(1, math.ceil(range_s / interval - 1e-9))
        return per, per * workers
    if a.sample_cap == "global_grid":
        return math.ceil(range_s / interval - 1e-9), whole
    raise ValueError(f"unknown sample_cap {a.sample_cap!r}")


def predict(duration_s: float, fanout: int, m: Measured, a: Assumptions) -> Prediction:
    rates = ladder_rates(a.source_video_bps, a.source_audio_bps)
    length = chunk_length(duration_s, fanout, a.segment_s)
    n = chunk_count(duration_s, length)
    kind = map_kind(n, a)
    p = Prediction(
        duration_s=duration_s,
        fanout=fanout,
        chunk_s=length,
        chunks=n,
        map_kind=kind,
        worker_memory_mb=a.worker_memory_mb,
    )
    cold = cold_start_s(m, a)
    step = a.transition_s + a.task_overhead_s
    source_bytes = duration_s * rates.source_bps / 8
    chunk_bytes = length * rates.source_bps / 8
    index_bytes = duration_s * a.index_bytes_per_source_s
    calls: list[Invocation] = []

    # Upload complete -> S3 event -> SQS -> starter -> StartExecution
    ingest = a.s3_event_to_sqs_s + a.sqs_to_lambda_s + cold + a.start_execution_s
    calls.append(Invocation("starter", a.starter_memory_mb, cold + a.start_execution_s + a.db_update_s, 1))

    # AcquireSlot: a DynamoDB semaphore (no waiting modelled: the slot is free)
    slot_work = cold + a.db_update_s
    calls.append(Invocation("acquire-slot", a.slot_memory_mb, slot_work, 1))
    slot = step + slot_work

    # Probe: two ffprobe runs over a presigned URL (the header and index, then the tail)
    probe_cpu = m.probe_local_s / (min(1.0, vcpus_for_memory(a.probe_memory_mb, a)) * a.lambda_cpu_relative)
    probe_work = cold + probe_cpu + 4 * a.s3_first_byte_s + index_bytes / (a.s3_down_mb_s * MB)
    calls.append(Invocation("probe", a.probe_memory_mb, probe_work + a.db_update_s, 1))
    probe = step + probe_work + a.db_update_s

    # Moderate: frames sampled (every frame decoded) and classified, once or per time range
    frames_total: int
    if a.moderation_mode == "single":
        per, frames_total = moderation_frames(duration_s, 1, duration_s, a)
        decode = _compute_s(0.0, m.sample_cpu_s_per_source_s, duration_s, a.moderate_memory_mb, m, a)
        fetch = _transfer_s(source_bytes, a.s3_down_mb_s, 1, a)
        sampling = max(decode, fetch)
        work = cold + sampling + _classify_s(per, frames_total, a) + a.moderation_verdict_s
        moderate = step + work
        calls.append(Invocation("moderate", a.moderate_memory_mb, work, 1))
        if sampling > a.moderate_sampling_budget_s:
            p.blockers.append(
                f"moderate: frame sampling needs {sampling:.0f} s, above its"
                f" {a.moderate_sampling_budget_s:.0f} s budget (frame_sampling_failed)"
            )
        elif work > a.moderate_timeout_s:
            p.blockers.append(f"moderate: needs {work:.0f} s, above its {a.moderate_timeout_s:.0f} s timeout")
        p.workers_s["moderate"] = work
    else:
        per, frames_total = moderation_frames(duration_s, n, length, a)
        decode = _compute_s(0.0, m.sample_cpu_s_per_source_s, length, a.moderate_memory_mb, m, a)
        fetch = _transfer_s(chunk_bytes, a.s3_down_mb_s, 2, a)
        worker = a.task_overhead_s + cold + max(decode, fetch) + _classify_s(per, frames_total, a)
        phase = map_phase(n, worker, fanout=fanout, warm=False, a=a)
        reduce_work = cold + a.moderation_verdict_s
        moderate = a.transition_s + phase.seconds + step + reduce_work
        calls.append(Invocation("moderate-range", a.moderate_memory_mb, worker - a.task_overhead_s, n))
        calls.append(Invocation("moderate-verdict", a.moderate_memory_mb, reduce_work, 1))
        p.add_phase("moderate", phase)
        p.workers_s["moderate"] = worker

    # Split: one Lambda stream-copies the source into chunks (or only reads the index)
    if a.split_mode == "index":
        split_work = cold + 2 * a.s3_first_byte_s + index_bytes / (a.s3_down_mb_s * MB) + 0.2
        split_puts = 0
    else:
        read = source_bytes / (a.s3_down_mb_s * MB)
        write = source_bytes / (a.s3_up_mb_s * MB)
        # One ffmpeg: stream copy of the video and the audio encoded whole, mostly one thread
        cpu = source_bytes / (m.split_copy_mb_s * MB) + a.split_audio_cpu_s_per_source_s * duration_s
        cut = cpu / (min(1.0, vcpus_for_memory(a.split_memory_mb, a)) * a.lambda_cpu_relative)
        if a.split_io_overlap:  # not built: each chunk uploaded as soon as it is cut
            last_chunk_upload = chunk_bytes / (a.s3_up_mb_s * MB) + a.s3_first_byte_s
            moving = max(read, write, cut) + last_chunk_upload
        else:  # as built: cut everything into /tmp (reading overlaps the cut), then upload in turn
            moving = max(read, cut) + write + n * a.s3_first_byte_s
            video_bytes = duration_s * a.source_video_bps / 8  # the chunks: video only
            if video_bytes > a.split_ephemeral_mb * 1024 * 1024:
                p.blockers.append(
                    f"split: the chunks ({video_bytes / 1e9:.1f} GB) do not fit in /tmp "
                    f"({a.split_ephemeral_mb} MB): it cuts them all before uploading"
                )
        split_work = cold + a.s3_first_byte_s + moving
        split_puts = n
        if split_work > a.lambda_timeout_s:
            p.blockers.append(f"split: needs {split_work:.0f} s, above Lambda's limit")
    calls.append(Invocation("split", a.split_memory_mb, split_work, 1, ephemeral_mb=a.split_ephemeral_mb))
    split = step + split_work

    # Pass 1: lowest rung per chunk
    w1 = encode_worker_s(1, length, m, a, rates, cold=True)
    pass1 = map_phase(n, w1, fanout=fanout, warm=False, a=a)
    calls.append(Invocation("encode-pass1", a.worker_memory_mb, w1 - a.task_overhead_s, n))
    p.add_phase("pass 1", pass1)

    # Stitch the lowest rung's playlist from the chunks' playlists, write the master: VIEWABLE
    stitch1_work = (
        cold
        + a.stitch_base_s
        + _transfer_s(0, a.s3_down_mb_s, n, a, a.stitch_parallel_requests)
        + 2 * a.s3_first_byte_s
    )
    calls.append(Invocation("stitch", a.stitch_memory_mb, stitch1_work + a.db_update_s, 1))
    stitch1 = step + stitch1_work + a.db_update_s

    p.steps_s.update(
        ingest=ingest,
        acquire_slot=slot,
        probe=probe,
        moderate=moderate,
        split=split,
        pass1=a.transition_s + pass1.seconds,
        stitch_viewable=stitch1,
    )
    p.viewable_s = sum(p.steps_s.values())

    # Pass 2: the remaining rungs per chunk; warm if the same function served pass 1
    warm = a.pass2_same_function
    w2 = encode_worker_s(2, length, m, a, rates, cold=not warm)
    pass2 = map_phase(n, w2, fanout=fanout, warm=warm, a=a)
    calls.append(Invocation("encode-pass2", a.worker_memory_mb, w2 - a.task_overhead_s, n))
    p.add_phase("pass 2", pass2)
    stitch2_work = (
        a.stitch_base_s
        + _transfer_s(0, a.s3_down_mb_s, n * rates.pass2_rungs, a, a.stitch_parallel_requests)
        + (rates.pass2_rungs + 1) * a.s3_first_byte_s
    )
    calls.append(Invocation("stitch", a.stitch_memory_mb, stitch2_work, 1))
    after_pass2 = a.transition_s + pass2.seconds + step + stitch2_work

    # Thumbnails: a poster from the source, a storyboard from the lowest rung; as built after the
    # final stitch, in the variant beside pass 2
    low_segments = math.ceil(duration_s / a.segment_s)
    low_bytes = duration_s * rates.pass1_out_bps / 8
    board = _compute_s(
        m.storyboard_fixed_s, m.storyboard_s_per_source_s, duration_s, a.thumbnails_memory_mb, m, a
    )
    thumbs_work = (
        cold
        + a.poster_s
        + _transfer_s(low_bytes, a.s3_down_mb_s, low_segments + 1, a)
        + board
        + 3 * a.s3_first_byte_s
    )
    calls.append(Invocation("thumbnails", a.thumbnails_memory_mb, thumbs_work, 1))
    thumbs = step + thumbs_work

    # ReviewGate: a Choice state between Thumbnails and Publish
    publish = a.transition_s + step + cold + a.publish_s
    calls.append(Invocation("publish", a.publish_memory_mb, cold + a.publish_s, 1))
    p.steps_s.update(pass2_and_stitch=after_pass2, thumbnails=thumbs, publish=publish)
    if a.thumbnails_beside_pass2:
        p.ready_s = p.viewable_s + max(after_pass2, thumbs) + publish
        if thumbs > after_pass2:
            p.notes.append("thumbnails, not pass 2, decide READY")
    else:
        p.ready_s = p.viewable_s + after_pass2 + thumbs + publish
    p.workers_s.update(pass1=w1, pass2=w2)

    p.invocations = calls
    requests = request_counts(duration_s, n, length, frames_total, split_puts, rates, a)
    children = [(n, w1), (n, w2)] + ([(n, p.workers_s["moderate"])] if a.moderation_mode != "single" else [])
    p.cost = cost_breakdown(calls, requests, map_kind=kind, map_children=children, a=a)
    p.lambda_gb_s = sum(c.memory_mb / 1024 * c.billed_s * c.count for c in calls)
    hours = duration_s / HOUR
    p.cost_per_source_hour = {k: v / hours for k, v in p.cost.items()}
    return p


def request_counts(
    duration_s: float, n: int, length: int, frames: int, split_puts: int, rates: Rates, a: Assumptions
) -> dict[str, int]:
    segments_per_chunk = math.ceil(length / a.segment_s)
    puts = (
        split_puts
        + n * (segments_per_chunk + 1)  # pass 1: segments + chunk playlist
        + n * rates.pass2_rungs * (segments_per_chunk + 1)  # pass 2
        + 2  # lowest playlist + master (viewable)
        + rates.pass2_rungs
        + 1  # the other playlists + master rewritten
        + 3  # poster, sprite, WebVTT
    )
    moderation_gets = 1 if a.moderation_mode == "single" else 2 * n
    gets = (
        3  # probe: header, index, tail
        + moderation_gets
        + (2 if a.split_mode == "index" else 1) * n * 2  # both passes fetch their chunk
        + (0 if a.split_mode == "index" else 1)  # the split reads the source (one stream)
        + n  # stitch 1 reads the chunk playlists
        + n * rates.pass2_rungs  # stitch 2
        + math.ceil(duration_s / a.segment_s)
        + 2  # thumbnails: the lowest rung's segments and playlist, the poster's seek
    )
    return {"puts": puts, "gets": gets, "frames": frames}


def cost_breakdown(
    calls: list[Invocation],
    requests: dict[str, int],
    *,
    map_kind: str,
    map_children: list[tuple[int, float]],
    a: Assumptions,
) -> dict[str, float]:
    """Dollars per video. ``map_children``: (iterations, seconds each) of every Map state."""
    gb_s_price = a.lambda_gb_s_arm if a.architecture == "arm64" else a.lambda_gb_s_x86
    gb_s = sum(c.memory_mb / 1024 * c.billed_s * c.count for c in calls)
    ephemeral = sum(max(0, c.ephemeral_mb - 512) / 1024 * c.billed_s * c.count for c in calls)
    invocations = sum(c.count for c in calls)
    lambda_usd = gb_s * gb_s_price + invocations * a.lambda_request + ephemeral * a.lambda_ephemeral_gb_s

    transitions = a.parent_transitions
    express_usd = 0.0
    for count, child_s in map_children:
        if map_kind == "inline":
            transitions += count * a.inline_iteration_transitions
        elif a.express_children:
            child_gb_s = a.sfn_express_memory_mb / 1024 * math.ceil(child_s * 10) / 10
            express_usd += count * (a.sfn_express_request + child_gb_s * a.sfn_express_gb_s)
        else:
            transitions += count * a.child_transitions
    sfn_usd = transitions * a.sfn_standard_transition + express_usd
    s3_usd = requests["puts"] * a.s3_put + requests["gets"] * a.s3_get
    rekognition_usd = requests["frames"] * a.rekognition_image
    return {
        "lambda": lambda_usd,
        "step_functions": sfn_usd,
        "s3_requests": s3_usd,
        "pipeline_total": lambda_usd + sfn_usd + s3_usd,
        "rekognition": rekognition_usd,
        "total_with_rekognition": lambda_usd + sfn_usd + s3_usd + rekognition_usd,
    }


# --------------------------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------------------------


def _label(duration_s: float) -> str:
    return f"{duration_s / 3600:g} h" if duration_s >= 3600 else f"{duration_s / 60:g} min"


def model_report(m: Measured, a: Assumptions) -> dict[str, Any]:
    """Every prediction the section reports: the grid, the target, variants, a memory sweep."""
    grid = [predict(d, f, m, a) for d in DURATIONS_S for f in FANOUTS]
    target = predict(TARGET_DURATION_S, TARGET_FANOUT, m, a)
    fanned = dataclasses.replace(a, moderation_mode="fanned")
    grid_only = dataclasses.replace(fanned, sample_cap="global_grid")
    best = dataclasses.replace(grid_only, split_mode="index")
    express_best = dataclasses.replace(best, express_children=True)
    all_fixes = dataclasses.replace(express_best, thumbnails_beside_pass2=True)
    # (name, built?, assumptions): each changes the as-built pipeline as its name says
    variants: list[tuple[str, bool, Assumptions]] = [
        ("as built", True, a),
        ("Moderate fanned out per range, 1 fps per range", False, fanned),
        (
            "Moderate fanned out, per-video interval",
            False,
            dataclasses.replace(fanned, sample_cap="per_video"),
        ),
        ("Moderate fanned out on one global frame grid", False, grid_only),
        ("split by index (workers seek the source)", False, dataclasses.replace(a, split_mode="index")),
        ("split uploads each chunk as it cuts", False, dataclasses.replace(a, split_io_overlap=True)),
        ("Express children instead of Standard", False, dataclasses.replace(a, express_children=True)),
        ("thumbnails beside pass 2", False, dataclasses.replace(a, thumbnails_beside_pass2=True)),
        ("split by index + global frame grid", False, best),
        ("split by index + global frame grid + Express", False, express_best),
        ("the same + thumbnails beside pass 2", False, all_fixes),
        ("the same with 1769 MB workers", False, dataclasses.replace(all_fixes, worker_memory_mb=1769)),
        (
            "as built, pass 2 in its own function (cold again)",
            False,
            dataclasses.replace(a, pass2_same_function=False),
        ),
        (
            "as built, S3 at half the assumed rate",
            True,
            dataclasses.replace(a, s3_down_mb_s=a.s3_down_mb_s / 2, s3_up_mb_s=a.s3_up_mb_s / 2),
        ),
        ("as built, Lambda vCPU 30% slower than here", True, dataclasses.replace(a, lambda_cpu_relative=0.7)),
        ("as built, Lambda vCPU 50% faster than here", True, dataclasses.replace(a, lambda_cpu_relative=1.5)),
        ("as built on arm64 (same speed assumed)", False, dataclasses.replace(a, architecture="arm64")),
    ]
    variant_rows = []
    for name, built, assumptions in variants:
        v = predict(TARGET_DURATION_S, TARGET_FANOUT, m, assumptions)
        variant_rows.append(
            {
                "variant": name,
                "built": built,
                "viewable_s": round(v.viewable_s, 1),
                "ready_s": round(v.ready_s, 1),
                "cost_per_source_hour_usd": round(v.cost_per_source_hour["pipeline_total"], 4),
                "feasible": v.feasible,
                "blockers": v.blockers,
            }
        )
    # As deployed with the defaults: CHUNK_TARGET_SECONDS = 60 s, MAP_MAX_CONCURRENCY = 1000
    defaults = [
        predict(d, min(DEFAULT_MAP_MAX_CONCURRENCY, math.ceil(d / DEFAULT_CHUNK_TARGET_S)), m, a)
        for d in DURATIONS_S
    ]
    sweep = []
    for memory in MEMORY_SWEEP_MB:
        s = predict(TARGET_DURATION_S, TARGET_FANOUT, m, dataclasses.replace(a, worker_memory_mb=memory))
        sweep.append(
            {
                "worker_memory_mb": memory,
                "vcpus": round(vcpus_for_memory(memory, a), 2),
                "viewable_s": round(s.viewable_s, 1),
                "ready_s": round(s.ready_s, 1),
                "cost_per_source_hour_usd": round(s.cost_per_source_hour["pipeline_total"], 4),
            }
        )
    return {
        "measured": m.to_dict(),
        "assumptions": a.to_dict(),
        "predictions": [g.to_dict() for g in grid],
        "target": {
            "duration_s": TARGET_DURATION_S,
            "fanout": TARGET_FANOUT,
            "viewable_s": round(target.viewable_s, 1),
            "viewable_target_s": TARGET_VIEWABLE_S,
            "viewable_met": target.viewable_s < TARGET_VIEWABLE_S,
            "ready_s": round(target.ready_s, 1),
            "ready_target_s": TARGET_READY_S,
            "ready_met": target.ready_s < TARGET_READY_S,
            "steps_s": {k: round(v, 2) for k, v in target.steps_s.items()},
            "feasible": target.feasible,
            "blockers": target.blockers,
        },
        "defaults_60s_chunks": [d.to_dict() for d in defaults],
        "variants_1h_1000": variant_rows,
        "memory_sweep_1h_1000": sweep,
    }


def _rows(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        f"{'source':>7} {'fan-out':>7} {'chunk':>6} {'chunks':>6} {'map':>11} {'viewable':>9} {'READY':>8}"
        f" {'$/src-h':>8} {'+rekog':>7}  notes",
    ]
    for row in rows:
        cost = row["cost_per_source_hour_usd"]
        notes = "; ".join(row["blockers"] + row["notes"])
        lines.append(
            f"{_label(row['duration_s']):>7} {row['fanout']:>7} {row['chunk_s']:>5}s {row['chunks']:>6}"
            f" {row['map_kind']:>11} {row['viewable_s']:>8.1f}s {row['ready_s']:>7.1f}s"
            f" {cost['pipeline_total']:>8.3f} {cost['total_with_rekognition']:>7.3f}  {notes}"
        )
    return lines


def format_report(report: dict[str, Any]) -> str:
    memory = report["assumptions"]["worker_memory_mb"]["value"]
    children = "Express" if report["assumptions"]["express_children"]["value"] else "Standard"
    moderation = report["assumptions"]["moderation_mode"]["value"]
    lines = [
        f"Scale model, as built (1080p source, worker memory {memory} MB, Moderate {moderation}, "
        f"Distributed Map children {children}); fan-out F = CHUNK_TARGET_SECONDS set for F chunks",
        "",
        *_rows(report["predictions"]),
        "",
        "With the settings' defaults (CHUNK_TARGET_SECONDS 60, MAP_MAX_CONCURRENCY 1000):",
        *_rows(report.get("defaults_60s_chunks", [])),
    ]
    t = report["target"]
    lines += [
        "",
        f"Target (1 h at 1000-way): viewable {t['viewable_s']} s (< {t['viewable_target_s']:g} s: "
        f"{'met' if t['viewable_met'] else 'NOT met'}), READY {t['ready_s']} s "
        f"(< {t['ready_target_s']:g} s: {'met' if t['ready_met'] else 'NOT met'})"
        + ("" if t.get("feasible", True) else "; infeasible: " + "; ".join(t["blockers"])),
        "  steps: " + ", ".join(f"{k} {v:.1f}s" for k, v in t["steps_s"].items()),
        "",
        "Variants at 1 h, 1000-way:",
    ]
    for v in report["variants_1h_1000"]:
        built = "built" if v.get("built") else "NOT built"
        lines.append(
            f"  {v['variant']:<52} {built:<9} viewable {v['viewable_s']:>6.1f}s  READY {v['ready_s']:>6.1f}s"
            f"  ${v['cost_per_source_hour_usd']:.3f}/src-h{'' if v['feasible'] else '  (infeasible)'}"
        )
    lines.append("")
    lines.append("Worker memory at 1 h, 1000-way:")
    for s in report["memory_sweep_1h_1000"]:
        lines.append(
            f"  {s['worker_memory_mb']:>6} MB ({s['vcpus']:.2f} vCPU)  viewable {s['viewable_s']:>6.1f}s"
            f"  READY {s['ready_s']:>6.1f}s  ${s['cost_per_source_hour_usd']:.3f}/src-h"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Measurement (make bench only: ffmpeg on this machine)
# --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _pinned(cpus: set[int]) -> Iterator[None]:
    """Children started inside inherit this CPU affinity (ffmpeg then sees only these cores)."""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(action: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child processes it waited for)."""
    cpu0, t0 = _children_cpu_s(), time.monotonic()
    action()
    return time.monotonic() - t0, _children_cpu_s() - cpu0


def _concat_copy(inputs: list[Path], out: Path) -> Path:
    listing = out.with_suffix(".txt")
    listing.write_text("".join(f"file '{p}'\n" for p in inputs))
    subprocess.run(
        ["ffmpeg", "-y", "-v", "error", "-f", "concat", "-safe", "0", "-i", str(listing), "-map", "0",
         "-c", "copy", str(out)],
        check=True,
    )  # fmt: skip
    return out


DEFAULT_PARALLEL_EFFICIENCY = 0.75  # used when the machine was too busy to measure it


def measure(*, repeats: int = 2, log: Callable[[str], None] = print) -> tuple[Measured, dict[str, Any]]:
    """Measure on this machine; returns the model's inputs and the raw runs behind them.

    The machine is shared with other work, so single-core figures are the CPU time (user + sys)
    of the pinned ffmpeg, not its wall time, and every figure is the minimum of its repeats.
    """
    from functions.moderation.logic.frames import sample_frames
    from functions.pipeline.logic.ladder import choose_ladder
    from functions.pipeline.logic.probe import ProbeLimits, probe
    from functions.pipeline.logic.thumbnails import make_storyboard
    from functions.pipeline.logic.transcode import build_ladder_command
    from functions.shared.settings import get_settings
    from tests.bench.run import generate_source

    settings = get_settings()
    cpus = sorted(os.sched_getaffinity(0))
    one_core = {cpus[0]}
    started = time.monotonic()
    load_before = os.getloadavg()
    raw: dict[str, Any] = {"repeats": repeats, "cpus": len(cpus), "runs": {}}
    work = Path(tempfile.mkdtemp(prefix="vod-scale-model-"))
    short, long_ = 4, 8  # chunk lengths: two points separate the per-chunk fixed cost from the slope
    try:
        chunks = {n: generate_source(work / f"chunk-{n}s.mp4", seconds=n) for n in (short, long_)}
        limits = ProbeLimits(
            max_duration_seconds=settings.max_duration_seconds, max_size_bytes=settings.max_upload_bytes
        )
        probes = {n: probe(str(path), size_bytes=None, limits=limits) for n, path in chunks.items()}
        video = probes[long_].video
        assert video is not None
        ladder = choose_ladder(video.display_width, video.display_height)
        passes = {1: ladder[-1:], 2: ladder[:-1]}
        log(f"scale model: measuring on {len(cpus)} CPUs (load {load_before[0]:.1f}); pass 1 "
            f"{[r.name for r in passes[1]]}, pass 2 {[r.name for r in passes[2]]}")  # fmt: skip

        def encode(pass_no: int, length: int, out: Path) -> tuple[float, float]:
            argv = build_ladder_command(
                str(chunks[length]),
                out,
                passes[pass_no],
                probes[length],
                segment_seconds=settings.segment_seconds,
                x264_preset=settings.x264_preset,
                ffmpeg=settings.ffmpeg_path,
            )
            for rung in passes[pass_no]:
                (out / rung.name).mkdir(parents=True, exist_ok=True)
            return _timed(partial(subprocess.run, argv, check=True, stdout=subprocess.DEVNULL))

        cpu_s: dict[tuple[int, int], float] = {}
        for pass_no in (1, 2):
            for length in (short, long_):
                runs = []
                with _pinned(one_core):
                    for r in range(repeats):
                        out = work / f"p{pass_no}-{length}-{r}"
                        runs.append(encode(pass_no, length, out))
                        if not (pass_no == 1 and length == long_ and r == 0):
                            shutil.rmtree(out, ignore_errors=True)  # keep one lowest rung (storyboard)
                raw["runs"][f"pass{pass_no}_{length}s_one_core_wall_cpu"] = [
                    [round(w, 3), round(c, 3)] for w, c in runs
                ]
                cpu_s[(pass_no, length)] = min(c for _, c in runs)
                log(f"  pass {pass_no}, {length} s chunk, one core: {cpu_s[(pass_no, length)]:.2f} CPU s")

        # All cores, once: how much of a second vCPU ffmpeg turns into speed (a busy machine spoils it)
        wall_all, _ = encode(2, long_, work / "p2-all")
        shutil.rmtree(work / "p2-all", ignore_errors=True)
        measured_eff = (cpu_s[(2, long_)] / wall_all - 1.0) / max(1, len(cpus) - 1)
        usable = 0.3 <= measured_eff <= 1.0
        efficiency = measured_eff if usable else DEFAULT_PARALLEL_EFFICIENCY
        verdict = "" if usable else f" (unusable: the machine is busy; {efficiency} assumed)"
        log(
            f"  pass 2, {long_} s chunk, {len(cpus)} cores: wall {wall_all:.2f} s"
            f" -> efficiency {measured_eff:.2f}{verdict}"
        )

        def fit(pass_no: int) -> tuple[float, float]:
            a, b = cpu_s[(pass_no, short)], cpu_s[(pass_no, long_)]
            slope = (b - a) / (long_ - short)
            if slope <= 0:  # noise: no fixed part to separate
                return 0.0, b / long_
            return max(0.0, a - slope * short), slope

        (p1_fixed, p1_slope), (p2_fixed, p2_slope) = fit(1), fit(2)

        # Moderation's frame sampling decodes every frame of its range (one core)
        samples = []
        with _pinned(one_core):
            for r in range(repeats):
                out = work / f"frames-{r}"
                out.mkdir()
                sampling = partial(
                    sample_frames,
                    str(chunks[long_]),
                    out,
                    duration=float(long_),
                    fps=settings.frame_sample_fps,
                    scene_threshold=settings.frame_scene_threshold,
                    max_samples=settings.frame_max_samples,
                    ffmpeg=settings.ffmpeg_path,
                )
                samples.append(_timed(sampling)[1])
        sample_cpu = min(samples) / long_
        log(f"  moderation sampling: {sample_cpu:.3f} CPU s per source s")

        # Split: stream copy of a longer file into 4-second chunks at its keyframes
        long_source = _concat_copy([chunks[long_]] * 15, work / "long.mp4")
        size = long_source.stat().st_size
        split_runs = []
        for r in range(3):
            seg_dir = work / f"split-{r}"
            seg_dir.mkdir()
            argv = ["ffmpeg", "-y", "-v", "error", "-i", str(long_source), "-map", "0", "-c", "copy",
                    "-f", "segment", "-segment_time", "4", "-reset_timestamps", "1",
                    str(seg_dir / "chunk_%04d.mp4")]  # fmt: skip
            split_runs.append(_timed(partial(subprocess.run, argv, check=True)))
            shutil.rmtree(seg_dir, ignore_errors=True)
        split_mb_s = size / MB / max(1e-3, min(c for _, c in split_runs))
        log(f"  split (stream copy) of {size / MB:.0f} MB: {split_mb_s:.0f} MB per CPU second")

        # Storyboard from the lowest rung (a keyframe every segment), one core: 8 s and 120 s of it
        low = work / f"p1-{long_}-0" / ladder[-1].name
        low_ts = _concat_copy(sorted(low.glob("*.ts")), work / "low.ts")
        low_long = _concat_copy([low_ts] * 15, work / "low-long.ts")
        boards: dict[float, float] = {}
        with _pinned(one_core):
            for seconds, path in ((float(long_), low_ts), (15.0 * long_, low_long)):
                board_runs = []
                for r in range(repeats):
                    board = partial(
                        make_storyboard,
                        str(path),
                        work / f"board-{seconds:g}-{r}",
                        duration=seconds,
                        ffmpeg=settings.ffmpeg_path,
                        ffprobe=settings.ffprobe_path,
                    )
                    board_runs.append(_timed(board)[1])
                boards[seconds] = min(board_runs)
        board_slope = max(0.0, (boards[15.0 * long_] - boards[float(long_)]) / (14.0 * long_))
        board_fixed = max(0.0, boards[float(long_)] - long_ * board_slope)
        log(f"  storyboard: {board_fixed:.2f} CPU s + {board_slope * HOUR:.1f} CPU s per source hour")

        # Probe of a local file (two ffprobe runs), and the transcode handler's cold import
        probe_runs = [
            _timed(partial(probe, str(chunks[long_]), size_bytes=None, limits=limits)) for _ in range(3)
        ]
        handler = [sys.executable, "-c", "import functions.pipeline.handlers.handle_transcode"]
        imports = [_timed(partial(subprocess.run, handler, cwd=ROOT, check=True)) for _ in range(3)]
        bare = [_timed(partial(subprocess.run, [sys.executable, "-c", "pass"], check=True)) for _ in range(3)]
        import_s = max(0.0, min(c for _, c in imports) - min(c for _, c in bare))
        probe_s = min(c for _, c in probe_runs)
        log(f"  probe (local) {probe_s:.2f} CPU s; handler cold import {import_s:.2f} CPU s")

        measured = Measured(
            pass1_cpu_s_per_source_s=p1_slope,
            pass1_fixed_cpu_s=p1_fixed,
            pass2_cpu_s_per_source_s=p2_slope,
            pass2_fixed_cpu_s=p2_fixed,
            parallel_efficiency=efficiency,
            split_copy_mb_s=split_mb_s,
            import_s=import_s,
            probe_local_s=probe_s,
            sample_cpu_s_per_source_s=sample_cpu,
            storyboard_fixed_s=board_fixed,
            storyboard_s_per_source_s=board_slope,
        )

        def pairs(runs: list[tuple[float, float]]) -> list[list[float]]:
            return [[round(w, 3), round(c, 3)] for w, c in runs]

        raw.update(
            parallel_efficiency_measured=round(measured_eff, 3),
            parallel_efficiency_used=efficiency,
            pass2_all_cores_wall_s=round(wall_all, 3),
            speed_per_vcpu_8s_chunk={
                "pass1": round(long_ / cpu_s[(1, long_)], 3),
                "pass2": round(long_ / cpu_s[(2, long_)], 3),
            },
            split_bytes=size,
            split_runs_wall_cpu=pairs(split_runs),
            split_wall_mb_s=round(size / MB / min(w for w, _ in split_runs), 1),
            probe_runs_wall_cpu=pairs(probe_runs),
            import_runs_wall_cpu=pairs(imports),
            python_start_runs_wall_cpu=pairs(bare),
            storyboard_cpu_s={f"{k:g}": round(v, 3) for k, v in boards.items()},
            load_average_before=round(load_before[0], 2),
            load_average_after=round(os.getloadavg()[0], 2),
            wall_s=round(time.monotonic() - started, 1),
            note="the CPU was shared with other work while measuring: figures are the minimum of the "
            "repeats and, except the all-cores run, child CPU time (user + sys) rather than wall time",
        )
        log(f"  measured in {raw['wall_s']:.0f} s")
        return measured, raw
    finally:
        shutil.rmtree(work, ignore_errors=True)


def bench_section(*, repeats: int = 2, reuse: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``scale_model`` section of bench.json: measurements (or reused ones) and the model."""
    if reuse and "measured" in reuse:
        measured = Measured.from_dict(reuse["measured"])
        raw = reuse.get("measurement", {})
    else:
        measured, raw = measure(repeats=repeats)
    report = model_report(measured, Assumptions())
    report["measurement"] = raw
    report["when"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeats", type=int, default=2, help="repeats per measurement (the minimum counts)")
    parser.add_argument(
        "--reuse-measurements", action="store_true", help="model again from the measurements in bench.json"
    )
    args = parser.parse_args(argv)
    previous: dict[str, Any] = json.loads(RESULTS_FILE.read_text()) if RESULTS_FILE.exists() else {}
    reuse = previous.get(SECTION) if args.reuse_measurements else None
    if args.reuse_measurements and not reuse:
        print("no scale_model measurements in bench.json: measuring", file=sys.stderr)
    section = bench_section(repeats=args.repeats, reuse=reuse)
    print(format_report(section))
    RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    # Read again: other sections may have been written while this one was measuring.
    latest: dict[str, Any] = json.loads(RESULTS_FILE.read_text()) if RESULTS_FILE.exists() else {}
    latest[SECTION] = section
    RESULTS_FILE.write_text(json.dumps(latest, indent=2) + "\n")
    print(f"\nwritten to {RESULTS_FILE.relative_to(ROOT)} under '{SECTION}'")
    return 0


if __name__ == "__main__":
    sys.exit(main())
