"""Scale model of the chunked pipeline on AWS: upload-to-viewable, upload-to-READY and cost.

From per-chunk encode speeds measured on this machine (with the pipeline's own ffmpeg arguments)
and a documented model of Lambda, S3 and Step Functions, predict how long a 1080p source of a
given length takes to become playable (lowest rung) and READY (every rung), at several fan-outs,
and what one hour of source costs. The model follows the long-source path of the state machine
(infra/statemachines/media_pipeline.asl.json) step by step:

    upload complete -> S3 event -> SQS -> starter Lambda -> Step Functions execution
    -> AcquireSlot -> Probe -> ChoosePath
    -> Split by index (ffprobe seeks find the keyframe at or before every chunk boundary: nothing
       is copied, a manifest is written)
    -> ModerateRanges (Map: every chunk's range sampled on one global frame grid and classified)
    -> ModerateVerdict (reads the ranges' results, decides)
    -> EncodePreview (Map: lowest rung + the chunk's audio piece, read straight from the source)
    -> StitchPreview (lowest rung, audio and master playlists) -> VIEWABLE
    -> EncodeRest (Map: the other rungs, one decode) -> StitchFinal (master rewritten)
    -> Thumbnails (from the lowest rung) -> ReviewGate -> Publish -> READY

That is the pipeline as built (Distributed Map children are STANDARD workflows). The split by
copy (the fallback for containers without an index), a single Moderate over the whole source
(the short-source path's), Express children and thumbnails beside pass 2 are variants of
:class:`Assumptions`, each marked built or not.

Fan-out F is a deployment setting: the deployer sets CHUNK_TARGET_SECONDS (default 60 s) to the
chunk length below, so that a source of the target length yields about F chunks, and
MAP_MAX_CONCURRENCY (default 1000) to at least F.

Every number the model does not measure is a field of :class:`Assumptions` with its source in
``ASSUMPTION_SOURCES``; docs/scale-model.md discusses them and the results.

    python -m tests.bench.scale_model                        # measure (~2 CPU-minutes), model, print
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
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from infra.spec import FUNCTIONS_BY_NAME as _FUNCTIONS

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
# The bench's 600 s source (tests/bench/chunked_bench.py caches it): its MP4 index was measured
BENCH_SOURCE_CACHE = Path(tempfile.gettempdir()) / "vod-bench-cache" / "source-1080p-600s.mp4"


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
    sample_fixed_cpu_s: float  # per sampling run (process start, decoder init)
    storyboard_fixed_s: float  # storyboard from the lowest rung, one vCPU
    storyboard_s_per_source_s: float
    audio_cpu_s_per_source_s: float  # an audio piece (audio_pieces.encode_piece: AAC), one core
    audio_fixed_cpu_s: float  # per piece: its two ffmpeg runs (encode, then remux into segments)
    ffprobe_cpu_s: float  # one ffprobe process opening a short MP4
    index_parse_cpu_s_per_source_s: float  # every process opening the source parses its whole index
    seek_cpu_s: float  # one ffprobe -read_intervals seek and packet read

    @property
    def pass1_speed_per_vcpu(self) -> float:
        """Seconds of source encoded per vCPU-second (marginal), lowest rung."""
        return 1.0 / self.pass1_cpu_s_per_source_s

    @property
    def pass2_speed_per_vcpu(self) -> float:
        return 1.0 / self.pass2_cpu_s_per_source_s

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {k: round(v, 7) for k, v in dataclasses.asdict(self).items()}
        out["pass1_speed_per_vcpu"] = round(self.pass1_speed_per_vcpu, 3)
        out["pass2_speed_per_vcpu"] = round(self.pass2_speed_per_vcpu, 3)
        return out

    @classmethod
    def missing_fields(cls, data: dict[str, Any]) -> list[str]:
        return [f.name for f in dataclasses.fields(cls) if f.name not in data]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Measured:
        missing = cls.missing_fields(data)
        if missing:
            raise ValueError(f"measurements lack {', '.join(missing)}: measure again")
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: float(v) for k, v in data.items() if k in names})


@dataclass(frozen=True)
class Rates:
    """Bit rates (bits per second) of the source and of what the passes write."""

    source_bps: float  # video + audio: what reading a span of the source costs
    source_video_bps: float  # the copy split's chunk files (video only)
    pass1_out_bps: float  # lowest rung, video
    audio_out_bps: float  # the audio rendition (one, shared by every rung)
    pass2_out_bps: float  # the other rungs' video, together
    pass2_rungs: int


def ladder_rates(source_video_bps: float, source_audio_bps: float) -> Rates:
    """The 1080p ladder the pipeline chooses for a 1920x1080 source, as bit rates."""
    from functions.pipeline.logic.ladder import choose_ladder

    ladder = choose_ladder(1920, 1080)
    lowest, rest = ladder[-1], ladder[:-1]
    return Rates(
        source_bps=source_video_bps + source_audio_bps,
        source_video_bps=source_video_bps,
        pass1_out_bps=float(lowest.video_bitrate),
        audio_out_bps=float(lowest.audio_bitrate),
        pass2_out_bps=float(sum(r.video_bitrate for r in rest)),
        pass2_rungs=len(rest),
    )


SPLIT_MODES = ("index", "copy")
MODERATION_MODES = ("fanned", "single")


@dataclass(frozen=True)
class Assumptions:
    """Everything the model does not measure. Sources: ASSUMPTION_SOURCES (and the docs).

    The defaults are the pipeline as built for a long MP4 source.
    """

    # Lambda compute
    mb_per_vcpu: float = 1769.0
    max_vcpus: float = 6.0
    max_memory_mb: int = 10240
    lambda_cpu_relative: float = 1.0  # a Lambda vCPU against one vCPU of the measuring machine
    parallel_efficiency: float | None = None  # None: the measured value
    architecture: str = "x86_64"
    # Each function's settings as deployed (infra/spec); the chunk workers' memory is the knob
    worker_memory_mb: int = _FUNCTIONS["pipeline-encode-chunk"].memory_mb
    worker_ephemeral_mb: int = _FUNCTIONS["pipeline-encode-chunk"].ephemeral_storage_mb
    split_memory_mb: int = _FUNCTIONS["pipeline-split"].memory_mb
    split_ephemeral_mb: int = _FUNCTIONS["pipeline-split"].ephemeral_storage_mb
    moderate_range_memory_mb: int = _FUNCTIONS["pipeline-moderate-range"].memory_mb
    moderate_range_ephemeral_mb: int = _FUNCTIONS["pipeline-moderate-range"].ephemeral_storage_mb
    moderate_range_timeout_s: float = float(_FUNCTIONS["pipeline-moderate-range"].timeout_s)
    moderate_range_sampling_budget_s: float = 290.0  # sample_range's timeout: (timeout - 20 s) / 2
    moderate_verdict_memory_mb: int = _FUNCTIONS["pipeline-moderate-verdict"].memory_mb
    moderate_memory_mb: int = _FUNCTIONS["pipeline-moderate"].memory_mb  # the single Moderate (a variant)
    moderate_ephemeral_mb: int = _FUNCTIONS["pipeline-moderate"].ephemeral_storage_mb
    moderate_timeout_s: float = float(_FUNCTIONS["pipeline-moderate"].timeout_s)
    moderate_sampling_budget_s: float = 290.0  # sample_frames' timeout: (timeout - 20 s) / 2
    slot_memory_mb: int = _FUNCTIONS["pipeline-acquire-slot"].memory_mb
    probe_memory_mb: int = _FUNCTIONS["pipeline-probe"].memory_mb
    starter_memory_mb: int = _FUNCTIONS["ingest-starter"].memory_mb
    stitch_memory_mb: int = _FUNCTIONS["pipeline-stitch"].memory_mb
    thumbnails_memory_mb: int = _FUNCTIONS["pipeline-thumbnails"].memory_mb
    thumbnails_ephemeral_mb: int = _FUNCTIONS["pipeline-thumbnails"].ephemeral_storage_mb
    publish_memory_mb: int = _FUNCTIONS["pipeline-publish"].memory_mb
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
    s3_parallel_requests: int = 16  # storage.upload_directory workers
    stitch_parallel_requests: int = 32  # storage.get_json_many workers
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
    parent_transitions: int = 18  # the parent's own states, end to end, with the fanned-out Moderate
    straggler_factor: float = 1.2  # the slowest of n parallel workers against the typical one
    # Source and media
    source_video_bps: float = 8_000_000.0  # the bench's source: H.264 8 Mb/s 1080p30
    source_audio_bps: float = 192_000.0
    segment_s: int = 4
    index_bytes_per_source_s: float = 867.0  # the MP4 index (moov): measured on the bench's source
    # Split
    split_mode: str = "index"  # "index": ffprobe seeks, nothing copied; "copy": the fallback
    index_split_processes: int = 16  # split.PROBE_PROCESSES: ffprobe runs at once
    index_seek_bytes: float = 70_000.0  # one seek reads about one keyframe
    # Audio: pass-1 workers encode their chunk's audio piece (split by index)
    audio_roll_s: float = 6 * 1024 / 48_000  # pre-roll (4 AAC frames) + post-roll (2) per piece
    audio_read_factor: float = 109.0 / 102.4  # an audio-only read pulls the span's interleaved bytes
    # Moderation
    moderation_mode: str = "fanned"  # "fanned": Map over the chunks (built); "single": one Lambda
    pass2_same_function: bool = True  # pass 2 reuses pass 1's warm environments
    frame_sample_fps: float = 1.0
    frame_max_samples: int = 300
    sample_cap: str = "global_grid"  # how fanned-out Moderate samples: global_grid | per_chunk | per_video
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

    def __post_init__(self) -> None:
        if self.split_mode not in SPLIT_MODES:
            raise ValueError(f"split_mode must be one of {SPLIT_MODES}")
        if self.moderation_mode not in MODERATION_MODES:
            raise ValueError(f"moderation_mode must be one of {MODERATION_MODES}")

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
_SPEC = "infra/spec"
ASSUMPTION_SOURCES: dict[str, str] = {
    "mb_per_vcpu": _LAMBDA_MEMORY,
    "max_vcpus": _LAMBDA_MEMORY,
    "max_memory_mb": _LAMBDA_MEMORY,
    "lambda_cpu_relative": "assumption: a Lambda vCPU as fast as one vCPU (hyperthread) of this AMD EPYC VM",
    "parallel_efficiency": "measured here (2 cores against 1) unless set",
    "architecture": "infra/stack.py default",
    "worker_memory_mb": _SPEC + " (pipeline-encode-chunk; the memory sweep varies it)",
    "worker_ephemeral_mb": _SPEC + " (pipeline-encode-chunk ephemeral_storage_mb, billed above 512 MB)",
    "split_memory_mb": _SPEC + " (pipeline-split)",
    "split_ephemeral_mb": _SPEC + " (pipeline-split ephemeral_storage_mb: the copy fallback cuts into /tmp)",
    "moderate_range_memory_mb": _SPEC + " (pipeline-moderate-range)",
    "moderate_range_ephemeral_mb": _SPEC + " (pipeline-moderate-range)",
    "moderate_range_timeout_s": _SPEC + " (pipeline-moderate-range timeout_s)",
    "moderate_range_sampling_budget_s": "functions/moderation/logic/saga_step.py moderate_range_step: "
    + "sample_range(timeout=time_budget(remaining_ms) / 2), time_budget = remaining - 20 s",
    "moderate_verdict_memory_mb": _SPEC + " (pipeline-moderate-verdict)",
    "moderate_memory_mb": _SPEC + " (pipeline-moderate: the short-source path's single Moderate)",
    "moderate_ephemeral_mb": _SPEC + " (pipeline-moderate)",
    "moderate_timeout_s": _SPEC + " (pipeline-moderate timeout_s)",
    "moderate_sampling_budget_s": "functions/moderation/logic/saga_step.py: sample_frames(timeout="
    + "time_budget(remaining_ms) / 2), time_budget = remaining - 20 s "
    + "(functions/media/workdir.py SAFETY_MARGIN_S)",
    "slot_memory_mb": _SPEC + " (pipeline-acquire-slot)",
    "probe_memory_mb": _SPEC,
    "starter_memory_mb": _SPEC,
    "stitch_memory_mb": _SPEC + " (pipeline-stitch)",
    "thumbnails_memory_mb": _SPEC,
    "thumbnails_ephemeral_mb": _SPEC,
    "publish_memory_mb": _SPEC,
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
    "s3_parallel_requests": "functions/media/storage.py upload_directory (16 workers)",
    "stitch_parallel_requests": "functions/media/storage.py get_json_many (32 workers)",
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
    "parent_transitions": "count of the long path's states in media_pipeline.asl.json (AcquireSlot ... "
    + "Published: 17, and the start); 2 fewer with a single Moderate",
    "straggler_factor": "assumption; ExCamera and Sprocket both report stragglers at high fan-out",
    "source_video_bps": "tests/bench/run.py generate_source (-b:v 8M)",
    "source_audio_bps": "tests/bench/run.py generate_source (-b:a 192k)",
    "segment_s": "functions/shared/settings.py SEGMENT_SECONDS",
    "index_bytes_per_source_s": "measured: the moov box of the bench's 600 s source (generate_source, "
    + "+faststart) is 520,062 bytes, 867 per source second (18,000 video and about 28,100 audio samples)",
    "split_mode": "as built: index for MP4/MOV/Matroska/WebM (split.INDEXED_CONTAINERS, split_by_index); "
    + "copy (split_source: stream copy into /tmp, audio encoded whole) for other containers",
    "index_split_processes": "functions/pipeline/logic/split.py PROBE_PROCESSES",
    "index_seek_bytes": "measured: the bench source's keyframes average 70,302 bytes",
    "audio_roll_s": "functions/pipeline/logic/audio_pieces.py: MIN_PRE_ROLL_FRAMES 4 + POST_ROLL_FRAMES 2 "
    + "of 1,024 samples at 48 kHz",
    "audio_read_factor": "measured (spot check): an audio-only read of 100 s of the 8 Mb/s bench source "
    + "pulled 109 MB (the span holds 102.4 MB: the video is interleaved)",
    "moderation_mode": "as built for long sources: fanned (ModerateRanges Map + ModerateVerdict); single "
    + "(one Lambda over the whole source) is the short-source path's",
    "pass2_same_function": "as built: both passes are pipeline-encode-chunk",
    "frame_sample_fps": "functions/shared/settings.py FRAME_SAMPLE_FPS",
    "frame_max_samples": "functions/shared/settings.py FRAME_MAX_SAMPLES",
    "sample_cap": "as built: global_grid (frames.sample_range: one grid of sample times over the video); "
    + "per_chunk and per_video are designs that were not built",
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
    split_mode: str = "index"
    moderation_mode: str = "fanned"
    steps_s: dict[str, float] = field(default_factory=dict)  # durations on the way
    viewable_s: float = 0.0
    ready_s: float = 0.0
    workers_s: dict[str, float] = field(default_factory=dict)  # one worker of each Map, and Moderate
    invocations: list[Invocation] = field(default_factory=list)
    requests: dict[str, int] = field(default_factory=dict)  # S3 PUTs and GETs, Rekognition frames
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
            "split_mode": self.split_mode,
            "moderation_mode": self.moderation_mode,
            "viewable_s": round(self.viewable_s, 1),
            "ready_s": round(self.ready_s, 1),
            "steps_s": {k: round(v, 2) for k, v in self.steps_s.items()},
            "workers_s": {k: round(v, 2) for k, v in self.workers_s.items()},
            "requests": self.requests,
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


def _one_vcpu(memory_mb: int, a: Assumptions) -> float:
    """What one thread gets: a whole vCPU, or the function's share when it has less."""
    return min(1.0, vcpus_for_memory(memory_mb, a)) * a.lambda_cpu_relative


def _all_vcpus(memory_mb: int, a: Assumptions) -> float:
    """What separate processes get together (each process uses at most one vCPU here)."""
    return vcpus_for_memory(memory_mb, a) * a.lambda_cpu_relative


def _compute_s(
    fixed_cpu_s: float, cpu_per_s: float, seconds: float, memory_mb: int, m: Measured, a: Assumptions
) -> float:
    """Wall time of CPU work on a function of this size: the fixed part does not parallelise."""
    vcpus = vcpus_for_memory(memory_mb, a)
    parallel = effective_vcpus(vcpus, _efficiency(m, a)) * a.lambda_cpu_relative
    return fixed_cpu_s / _one_vcpu(memory_mb, a) + cpu_per_s * seconds / parallel


def _transfer_s(
    nbytes: float, rate_mb_s: float, requests: int, a: Assumptions, parallel: int | None = None
) -> float:
    in_flight = parallel or a.s3_parallel_requests
    rounds = math.ceil(requests / in_flight) if requests else 0
    return nbytes / (rate_mb_s * MB) + rounds * a.s3_first_byte_s


def index_bytes(duration_s: float, a: Assumptions) -> float:
    """The source's MP4 index (moov): every process that opens the source reads all of it."""
    return duration_s * a.index_bytes_per_source_s


def open_cpu_s(duration_s: float, m: Measured) -> float:
    """CPU of parsing the source's whole index, paid by every process that opens the source."""
    return m.index_parse_cpu_s_per_source_s * duration_s


def index_split_work_s(duration_s: float, chunks: int, m: Measured, a: Assumptions) -> float:
    """pipeline-split by index, once started (split.split_by_index, then the manifest).

    One ffprobe reads the start times (the index once); then a seek per boundary (every chunk
    but the first starts at one), shared among ``index_split_processes`` ffprobe runs at once.
    Each run reads the whole index first (they share the function's bandwidth) and parses it
    (they share its vCPUs), then seeks its targets one after another: a ranged read each, about
    one keyframe. Then the manifest: one PUT.
    """
    rate = a.s3_down_mb_s * MB
    moov = index_bytes(duration_s, a)
    one_run = m.ffprobe_cpu_s + open_cpu_s(duration_s, m)
    single = _one_vcpu(a.split_memory_mb, a)
    together = _all_vcpus(a.split_memory_mb, a)
    work = a.s3_first_byte_s + moov / rate + one_run / single  # source_times
    targets = chunks - 1
    runs = min(a.index_split_processes, targets)
    if runs:
        work += a.s3_first_byte_s + runs * moov / rate + max(runs * one_run / together, one_run / single)
        per_run = math.ceil(targets / runs)
        work += per_run * a.s3_first_byte_s + targets * a.index_seek_bytes / rate
        work += max(per_run * m.seek_cpu_s / single, targets * m.seek_cpu_s / together)
    return work + a.s3_first_byte_s  # the manifest


def copy_split_work_s(duration_s: float, chunks: int, m: Measured, a: Assumptions, rates: Rates) -> float:
    """pipeline-split by copy (the fallback for containers without an index), once started.

    One ffmpeg over the presigned URL stream-copies the video into chunk files in /tmp and
    encodes the audio rendition whole (one thread; reading overlaps the cut); then the chunks
    and the audio segments are uploaded (upload_directory: 16 at a time), then the manifest.
    """
    source_bytes = duration_s * rates.source_bps / 8
    read = source_bytes / (a.s3_down_mb_s * MB)
    cpu = source_bytes / (m.split_copy_mb_s * MB) + m.audio_cpu_s_per_source_s * duration_s
    cut = cpu / _one_vcpu(a.split_memory_mb, a)
    chunk_upload = _transfer_s(duration_s * rates.source_video_bps / 8, a.s3_up_mb_s, chunks, a)
    audio_objects = math.ceil(duration_s / a.segment_s) + 1  # segments + playlist
    audio_upload = _transfer_s(duration_s * rates.audio_out_bps / 8, a.s3_up_mb_s, audio_objects, a)
    return a.s3_first_byte_s + max(read, cut) + chunk_upload + audio_upload + a.s3_first_byte_s


def copy_split_tmp_bytes(duration_s: float, rates: Rates) -> float:
    """What the copy split holds in /tmp before uploading: every chunk (video) and the audio."""
    return duration_s * (rates.source_video_bps + rates.audio_out_bps) / 8


def audio_segments(chunk_s: float, a: Assumptions) -> int:
    """audio_pieces.segment_time: a piece is cut into round(length / segment) near-equal segments."""
    return max(1, round(chunk_s / a.segment_s))


def encode_worker_s(
    pass_no: int,
    chunk_s: float,
    duration_s: float,
    m: Measured,
    a: Assumptions,
    rates: Rates,
    *,
    cold: bool,
) -> float:
    """One chunk worker: invoke, (cold start), read its span, encode, upload, write its result.

    Split by index (as built) the worker reads its span straight from the source over a presigned
    URL: one request for the index (read and parsed whole), one after the seek for the span's
    bytes, which stream in while ffmpeg encodes. Pass 1 also encodes the chunk's audio piece in a
    second ffmpeg beside the video: it reads the index and the span (plus its pre/post-roll)
    again, and takes CPU from the video encode. Split by copy the worker downloads its chunk
    file, then encodes (the split made the audio).
    """
    if pass_no == 1:
        fixed, per_s, out_bps, rungs = m.pass1_fixed_cpu_s, m.pass1_cpu_s_per_source_s, rates.pass1_out_bps, 1
    else:
        fixed, per_s, out_bps, rungs = (
            m.pass2_fixed_cpu_s,
            m.pass2_cpu_s_per_source_s,
            rates.pass2_out_bps,
            rates.pass2_rungs,
        )
    memory = a.worker_memory_mb
    rate = a.s3_down_mb_s * MB
    segments = math.ceil(chunk_s / a.segment_s)
    rounds = rungs * math.ceil(segments / a.s3_parallel_requests)  # one upload_directory per rung
    out_bytes = chunk_s * out_bps / 8
    if a.split_mode == "index":
        with_audio = pass_no == 1 and a.source_audio_bps > 0
        parse = open_cpu_s(duration_s, m)
        video = _compute_s(fixed + parse, per_s, chunk_s, memory, m, a)
        span_bytes = chunk_s * rates.source_bps / 8
        processes = 1
        compute = video
        if with_audio:
            processes = 2
            audio_cpu = m.audio_fixed_cpu_s + parse + m.audio_cpu_s_per_source_s * (chunk_s + a.audio_roll_s)
            compute = max(video + audio_cpu / _all_vcpus(memory, a), audio_cpu / _one_vcpu(memory, a))
            span_bytes += (chunk_s + a.audio_roll_s) * rates.source_bps / 8 * a.audio_read_factor
            out_bytes += chunk_s * rates.audio_out_bps / 8
            rounds += math.ceil(audio_segments(chunk_s, a) / a.s3_parallel_requests)
        # The index first (each process reads it, side by side), then the span streams in while
        # ffmpeg decodes and encodes
        index_read = a.s3_first_byte_s + processes * index_bytes(duration_s, a) / rate
        work = index_read + a.s3_first_byte_s + max(span_bytes / rate, compute)
    else:
        chunk_file = chunk_s * rates.source_video_bps / 8
        work = _transfer_s(chunk_file, a.s3_down_mb_s, 1, a)
        work += _compute_s(fixed, per_s, chunk_s, memory, m, a)
    upload = out_bytes / (a.s3_up_mb_s * MB) + rounds * a.s3_first_byte_s
    result = a.s3_first_byte_s + a.db_update_s  # the result JSON, then the chunk counter
    return a.task_overhead_s + (cold_start_s(m, a) if cold else 0.0) + work + upload + result


def _classify_s(frames_per_worker: int, frames_total: int, a: Assumptions) -> float:
    """A worker's frames, ``classifier_threads`` at a time; every worker shares the account's TPS."""
    if frames_per_worker <= 0:
        return 0.0
    per_worker = math.ceil(frames_per_worker / a.classifier_threads) * a.rekognition_latency_s
    return max(per_worker, frames_total / a.rekognition_tps)


def moderation_frames(duration_s: float, workers: int, range_s: float, a: Assumptions) -> tuple[int, int]:
    """(frames per worker, frames in total) sampled for moderation, scene frames not counted.

    One sampler over the whole video keeps a frame every ``max(1/fps, duration/max_samples)``
    seconds. Fanned out, it depends on what each worker is told (``sample_cap``):
    ``global_grid`` (as built, frames.sample_range): sample times on one grid over the whole
    video, each range keeps the grid points it holds (the single sampler's frames, split up);
    ``per_chunk``: sample_frames on the range as if it were the video (FRAME_SAMPLE_FPS, the cap
    per range); ``per_video``: the whole video's interval, but every range keeps its first frame.
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


def ranges_with_frames(ranges: int, frames_total: int, a: Assumptions) -> int:
    """How many ranges of a fanned-out Moderate keep a frame (scene frames not counted).

    On the global grid, ranges shorter than the grid's interval hold a sample time only now and
    then: as many ranges as there are frames. Sampled per chunk or per video, every range does.
    """
    if a.sample_cap == "global_grid":
        return min(ranges, frames_total)
    return ranges


def moderate_range_worker_s(
    range_s: float,
    duration_s: float,
    frames: tuple[int, int],
    m: Measured,
    a: Assumptions,
    rates: Rates,
    *,
    cold: bool = True,
) -> tuple[float, float]:
    """(one pipeline-moderate-range worker, the sampling part of it).

    It seeks the source to its range (the index, read and parsed whole, then the range's bytes
    streaming in while it decodes every frame of the range), keeps the grid's frames in its
    range, classifies them (sharing the account's Rekognition TPS with every other worker) and
    writes one small result JSON.
    """
    rate = a.s3_down_mb_s * MB
    decode = _compute_s(
        m.sample_fixed_cpu_s + open_cpu_s(duration_s, m),
        m.sample_cpu_s_per_source_s,
        range_s,
        a.moderate_range_memory_mb,
        m,
        a,
    )
    index_read = a.s3_first_byte_s + index_bytes(duration_s, a) / rate
    sampling = index_read + a.s3_first_byte_s + max(range_s * rates.source_bps / 8 / rate, decode)
    classify = _classify_s(frames[0], frames[1], a)
    worker = a.task_overhead_s + (cold_start_s(m, a) if cold else 0.0) + sampling + classify
    return worker + a.s3_first_byte_s, sampling


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
        split_mode=a.split_mode,
        moderation_mode=a.moderation_mode,
    )
    cold = cold_start_s(m, a)
    step = a.transition_s + a.task_overhead_s
    source_bytes = duration_s * rates.source_bps / 8
    calls: list[Invocation] = []

    # Upload complete -> S3 event -> SQS -> starter -> StartExecution
    ingest = a.s3_event_to_sqs_s + a.sqs_to_lambda_s + cold + a.start_execution_s
    calls.append(Invocation("starter", a.starter_memory_mb, cold + a.start_execution_s + a.db_update_s, 1))

    # AcquireSlot: a DynamoDB semaphore (no waiting modelled: the slot is free)
    slot_work = cold + a.db_update_s
    calls.append(Invocation("acquire-slot", a.slot_memory_mb, slot_work, 1))
    slot = step + slot_work

    # Probe: two ffprobe runs over a presigned URL (the header and index, then the tail)
    probe_cpu = m.probe_local_s / _one_vcpu(a.probe_memory_mb, a)
    probe_work = cold + probe_cpu + 4 * a.s3_first_byte_s + index_bytes(duration_s, a) / (a.s3_down_mb_s * MB)
    calls.append(Invocation("probe", a.probe_memory_mb, probe_work + a.db_update_s, 1))
    probe = step + probe_work + a.db_update_s

    # ChoosePath (a Choice), then Split: by index (as built for MP4/Matroska) or by copy
    if a.split_mode == "index":
        split_work = cold + index_split_work_s(duration_s, n, m, a) + a.db_update_s
    else:
        split_work = cold + copy_split_work_s(duration_s, n, m, a, rates) + a.db_update_s
        tmp = copy_split_tmp_bytes(duration_s, rates)
        if tmp > a.split_ephemeral_mb * 1024 * 1024:
            p.blockers.append(
                f"split: the chunks ({tmp / 1e9:.1f} GB) do not fit in /tmp ({a.split_ephemeral_mb} MB):"
                " the copy split cuts them all before uploading"
            )
    if split_work > a.lambda_timeout_s:
        p.blockers.append(f"split: needs {split_work:.0f} s, above Lambda's {a.lambda_timeout_s:.0f} s")
    calls.append(Invocation("split", a.split_memory_mb, split_work, 1, ephemeral_mb=a.split_ephemeral_mb))
    split = a.transition_s + step + split_work
    p.workers_s["split"] = split_work

    # Moderate: fanned out over the chunks on one global frame grid (as built), or one Lambda
    frames_total: int
    map_children: list[tuple[int, float]] = []
    if a.moderation_mode == "fanned":
        frames = moderation_frames(duration_s, n, length, a)
        frames_total = frames[1]
        worker, sampling = moderate_range_worker_s(length, duration_s, frames, m, a, rates)
        phase = map_phase(n, worker, fanout=fanout, warm=False, a=a)
        p.add_phase("moderate ranges", phase)
        if sampling > a.moderate_range_sampling_budget_s:
            p.blockers.append(
                f"moderate range: frame sampling needs {sampling:.0f} s, above its"
                f" {a.moderate_range_sampling_budget_s:.0f} s budget (frame_sampling_failed)"
            )
        elif a.moderate_range_timeout_s < worker <= a.lambda_timeout_s:
            p.blockers.append(
                f"moderate range: a worker needs {worker:.0f} s, above its {a.moderate_range_timeout_s:.0f} s"
                " timeout"
            )
        # ModerateVerdict: reads every range's result (32 at a time), decides, writes the verdict
        verdict_work = (
            cold + _transfer_s(0, a.s3_down_mb_s, n, a, a.stitch_parallel_requests) + a.moderation_verdict_s
        )
        moderate = a.transition_s + a.transition_s + phase.seconds + step + verdict_work
        # On the global grid a range shorter than the grid's interval may hold no sample time:
        # such a worker classifies nothing (saga_step._look_at) and returns early
        holding = ranges_with_frames(n, frames_total, a)
        idle, _ = moderate_range_worker_s(length, duration_s, (0, frames_total), m, a, rates)
        for count, seconds, name in (
            (holding, worker, "moderate-range"),
            (n - holding, idle, "moderate-range-idle"),
        ):
            if count:
                calls.append(
                    Invocation(
                        name,
                        a.moderate_range_memory_mb,
                        seconds - a.task_overhead_s,
                        count,
                        ephemeral_mb=a.moderate_range_ephemeral_mb,
                    )
                )
                map_children.append((count, seconds))
        calls.append(Invocation("moderate-verdict", a.moderate_verdict_memory_mb, verdict_work, 1))
        p.workers_s.update(
            moderate_range=worker,
            moderate_range_without_frames=idle,
            moderate_range_sampling=sampling,
            moderate_verdict=verdict_work,
        )
    else:
        frames = moderation_frames(duration_s, 1, duration_s, a)
        frames_total = frames[1]
        decode = _compute_s(
            m.sample_fixed_cpu_s + open_cpu_s(duration_s, m),
            m.sample_cpu_s_per_source_s,
            duration_s,
            a.moderate_memory_mb,
            m,
            a,
        )
        fetch = _transfer_s(source_bytes, a.s3_down_mb_s, 1, a)
        sampling = max(decode, fetch)
        work = cold + sampling + _classify_s(frames[0], frames_total, a) + a.moderation_verdict_s
        moderate = step + work
        calls.append(
            Invocation("moderate", a.moderate_memory_mb, work, 1, ephemeral_mb=a.moderate_ephemeral_mb)
        )
        if sampling > a.moderate_sampling_budget_s:
            p.blockers.append(
                f"moderate: frame sampling needs {sampling:.0f} s, above its"
                f" {a.moderate_sampling_budget_s:.0f} s budget (frame_sampling_failed)"
            )
        elif work > a.moderate_timeout_s:
            p.blockers.append(f"moderate: needs {work:.0f} s, above its {a.moderate_timeout_s:.0f} s timeout")
        p.workers_s["moderate"] = work

    # Pass 1: lowest rung (and, split by index, the audio piece) per chunk
    w1 = encode_worker_s(1, length, duration_s, m, a, rates, cold=True)
    pass1 = map_phase(n, w1, fanout=fanout, warm=False, a=a)
    calls.append(
        Invocation(
            "encode-pass1", a.worker_memory_mb, w1 - a.task_overhead_s, n, ephemeral_mb=a.worker_ephemeral_mb
        )
    )
    map_children.append((n, w1))
    p.add_phase("pass 1", pass1)

    # StitchPreview: the lowest rung's playlist (and the audio's) from the chunks' results, the
    # master: VIEWABLE
    stitch1_puts = 3 if a.split_mode == "index" else 2
    stitch1_work = (
        cold
        + a.stitch_base_s
        + _transfer_s(0, a.s3_down_mb_s, n, a, a.stitch_parallel_requests)
        + stitch1_puts * a.s3_first_byte_s
    )
    calls.append(Invocation("stitch", a.stitch_memory_mb, stitch1_work + a.db_update_s, 1))
    stitch1 = step + stitch1_work + a.db_update_s

    p.steps_s.update(
        ingest=ingest,
        acquire_slot=slot,
        probe=probe,
        split=split,
        moderate=moderate,
        pass1=a.transition_s + a.transition_s + pass1.seconds,
        stitch_viewable=stitch1,
    )
    p.viewable_s = sum(p.steps_s.values())

    # Pass 2: the remaining rungs per chunk; warm if the same function served pass 1
    warm = a.pass2_same_function
    w2 = encode_worker_s(2, length, duration_s, m, a, rates, cold=not warm)
    pass2 = map_phase(n, w2, fanout=fanout, warm=warm, a=a)
    calls.append(
        Invocation(
            "encode-pass2", a.worker_memory_mb, w2 - a.task_overhead_s, n, ephemeral_mb=a.worker_ephemeral_mb
        )
    )
    map_children.append((n, w2))
    p.add_phase("pass 2", pass2)
    # StitchFinal reads both passes' results and writes every other rung's playlist, then the master
    stitch2_work = (
        a.stitch_base_s
        + _transfer_s(0, a.s3_down_mb_s, 2 * n, a, a.stitch_parallel_requests)
        + (rates.pass2_rungs + 1) * a.s3_first_byte_s
    )
    calls.append(Invocation("stitch", a.stitch_memory_mb, stitch2_work, 1))
    after_pass2 = a.transition_s + a.transition_s + pass2.seconds + step + stitch2_work

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
    calls.append(
        Invocation(
            "thumbnails", a.thumbnails_memory_mb, thumbs_work, 1, ephemeral_mb=a.thumbnails_ephemeral_mb
        )
    )
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
    p.requests = request_counts(duration_s, n, length, frames_total, rates, a)
    parent = a.parent_transitions - (2 if a.moderation_mode == "single" else 0)
    p.cost = cost_breakdown(
        calls, p.requests, map_kind=kind, map_children=map_children, a=a, parent_transitions=parent
    )
    p.lambda_gb_s = sum(c.memory_mb / 1024 * c.billed_s * c.count for c in calls)
    hours = duration_s / HOUR
    p.cost_per_source_hour = {k: v / hours for k, v in p.cost.items()}
    return p


def request_counts(
    duration_s: float, n: int, length: int, frames: int, rates: Rates, a: Assumptions
) -> dict[str, int]:
    """S3 requests of one video (and the Rekognition frames)."""
    segments = math.ceil(length / a.segment_s)
    index = a.split_mode == "index"
    fanned = a.moderation_mode == "fanned"
    targets = n - 1
    whole_audio = math.ceil(duration_s / a.segment_s) + 1  # the copy split's audio segments + playlist
    puts = (
        (1 if index else n + whole_audio + 1)  # split: the manifest (copy: chunks and audio first)
        + (n if fanned else 0)  # every range's moderation result
        + n * (segments + (audio_segments(length, a) if index else 0) + 1)  # pass 1 + result
        + n * (rates.pass2_rungs * segments + 1)  # pass 2 + result
        + (3 if index else 2)  # StitchPreview: lowest (and audio) playlist, master
        + rates.pass2_rungs
        + 1  # StitchFinal: the other playlists, master rewritten
        + 3  # thumbnails: poster, sprite, WebVTT
    )
    split_gets = 1 + min(a.index_split_processes, targets) + targets if index else 1
    gets = (
        3  # probe: header, index, tail
        + split_gets  # index: the index per ffprobe run and a read per seek; copy: one stream
        + (3 * n if fanned else 1)  # ranges: index + range each, then the verdict reads the results
        + (4 * n if index else n)  # pass 1: index + span, twice with the audio piece (copy: the chunk)
        + (2 * n if index else n)  # pass 2
        + n  # StitchPreview reads pass 1's results
        + 2 * n  # StitchFinal reads both passes' results
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
    parent_transitions: int | None = None,
) -> dict[str, float]:
    """Dollars per video. ``map_children``: (iterations, seconds each) of every Map state."""
    gb_s_price = a.lambda_gb_s_arm if a.architecture == "arm64" else a.lambda_gb_s_x86
    gb_s = sum(c.memory_mb / 1024 * c.billed_s * c.count for c in calls)
    ephemeral = sum(max(0, c.ephemeral_mb - 512) / 1024 * c.billed_s * c.count for c in calls)
    invocations = sum(c.count for c in calls)
    lambda_usd = gb_s * gb_s_price + invocations * a.lambda_request + ephemeral * a.lambda_ephemeral_gb_s

    transitions = a.parent_transitions if parent_transitions is None else parent_transitions
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


@dataclass(frozen=True)
class Variant:
    name: str
    built: bool  # does the pipeline run like this today (for a 1-hour MP4 source)?
    status: str  # what "built" means here, in words
    assumptions: Assumptions


def variants(a: Assumptions) -> list[Variant]:
    """The as-built pipeline and its variants, each changing it as its name says."""
    copy = dataclasses.replace(a, split_mode="copy")
    single = dataclasses.replace(a, moderation_mode="single")
    express = dataclasses.replace(a, express_children=True)
    beside = dataclasses.replace(a, thumbnails_beside_pass2=True)
    small = dataclasses.replace(a, worker_memory_mb=1769)
    combined = dataclasses.replace(express, thumbnails_beside_pass2=True, worker_memory_mb=1769)
    slow_s3 = dataclasses.replace(a, s3_down_mb_s=a.s3_down_mb_s / 2, s3_up_mb_s=a.s3_up_mb_s / 2)
    return [
        Variant("as built", True, "built (MP4/MOV/Matroska/WebM sources)", a),
        Variant(
            "copy split (fallback for unindexed containers)",
            True,
            "built: the split of MPEG-TS and other containers without an index",
            copy,
        ),
        Variant(
            "single Moderate over the whole source",
            False,
            "built for short sources only; not on the long path",
            single,
        ),
        Variant(
            "Express children instead of Standard", False, "not built (moto accepts only Standard)", express
        ),
        Variant("thumbnails beside pass 2", False, "not built", beside),
        Variant("1,769 MB chunk workers", True, "deployment setting (infra/spec memory_mb): built", small),
        Variant(
            "Express + thumbnails beside pass 2 + 1,769 MB workers",
            False,
            "not built (the first two)",
            combined,
        ),
        Variant("S3 at half the assumed rate", True, "sensitivity of the as built", slow_s3),
        Variant(
            "Lambda vCPU 30% slower than here",
            True,
            "sensitivity of the as built",
            dataclasses.replace(a, lambda_cpu_relative=0.7),
        ),
        Variant(
            "Lambda vCPU 50% faster than here",
            True,
            "sensitivity of the as built",
            dataclasses.replace(a, lambda_cpu_relative=1.5),
        ),
        Variant(
            "Rekognition quota 10 TPS instead of 50",
            True,
            "sensitivity of the as built (the quota varies by Region and account)",
            dataclasses.replace(a, rekognition_tps=10.0),
        ),
    ]


def _brief(p: Prediction) -> dict[str, Any]:
    return {
        "duration_s": p.duration_s,
        "fanout": p.fanout,
        "chunks": p.chunks,
        "viewable_s": round(p.viewable_s, 1),
        "ready_s": round(p.ready_s, 1),
        "cost_per_source_hour_usd": round(p.cost_per_source_hour["pipeline_total"], 4),
        "feasible": p.feasible,
        "blockers": p.blockers,
    }


def model_report(m: Measured, a: Assumptions) -> dict[str, Any]:
    """Every prediction the section reports: the grid, the target, variants, a memory sweep."""
    grid = [predict(d, f, m, a) for d in DURATIONS_S for f in FANOUTS]
    target = predict(TARGET_DURATION_S, TARGET_FANOUT, m, a)
    variant_rows = []
    for variant in variants(a):
        v = predict(TARGET_DURATION_S, TARGET_FANOUT, m, variant.assumptions)
        variant_rows.append(
            {
                "variant": variant.name,
                "built": variant.built,
                "status": variant.status,
                "viewable_s": round(v.viewable_s, 1),
                "ready_s": round(v.ready_s, 1),
                "cost_per_source_hour_usd": round(v.cost_per_source_hour["pipeline_total"], 4),
                "target_met": v.feasible and v.viewable_s < TARGET_VIEWABLE_S and v.ready_s < TARGET_READY_S,
                "feasible": v.feasible,
                "blockers": v.blockers,
            }
        )
    copy = dataclasses.replace(a, split_mode="copy")
    copy_grid = [_brief(predict(d, f, m, copy)) for d in DURATIONS_S for f in FANOUTS]
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
            "viewable_met": target.feasible and target.viewable_s < TARGET_VIEWABLE_S,
            "ready_s": round(target.ready_s, 1),
            "ready_target_s": TARGET_READY_S,
            "ready_met": target.feasible and target.ready_s < TARGET_READY_S,
            "steps_s": {k: round(v, 2) for k, v in target.steps_s.items()},
            "workers_s": {k: round(v, 2) for k, v in target.workers_s.items()},
            "cost_per_source_hour_usd": {k: round(v, 4) for k, v in target.cost_per_source_hour.items()},
            "feasible": target.feasible,
            "blockers": target.blockers,
        },
        "defaults_60s_chunks": [d.to_dict() for d in defaults],
        "variants_1h_1000": variant_rows,
        "copy_split_grid": copy_grid,
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
    assumptions = report["assumptions"]
    memory = assumptions["worker_memory_mb"]["value"]
    children = "Express" if assumptions["express_children"]["value"] else "Standard"
    lines = [
        f"Scale model, as built (1080p MP4 source; split by {assumptions['split_mode']['value']}, "
        f"Moderate {assumptions['moderation_mode']['value']} ({assumptions['sample_cap']['value']}), "
        f"workers {memory} MB, Distributed Map children {children}); "
        "fan-out F = CHUNK_TARGET_SECONDS set for F chunks",
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
        "  one worker: " + ", ".join(f"{k} {v:.2f}s" for k, v in t.get("workers_s", {}).items()),
        "",
        "Variants at 1 h, 1000-way:",
    ]
    for v in report["variants_1h_1000"]:
        built = "built" if v.get("built") else "NOT built"
        lines.append(
            f"  {v['variant']:<55} {built:<9} viewable {v['viewable_s']:>6.1f}s  READY {v['ready_s']:>6.1f}s"
            f"  ${v['cost_per_source_hour_usd']:.3f}/src-h{'' if v['feasible'] else '  (infeasible)'}"
            f"  [{v.get('status', '')}]"
        )
    lines.append("")
    lines.append("Copy split (the fallback for containers without an index):")
    for c in report.get("copy_split_grid", []):
        lines.append(
            f"  {_label(c['duration_s']):>6} x{c['fanout']:<5} viewable {c['viewable_s']:>7.1f}s"
            f"  READY {c['ready_s']:>7.1f}s  ${c['cost_per_source_hour_usd']:.3f}/src-h"
            + ("" if c["feasible"] else "  infeasible: " + "; ".join(c["blockers"]))
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
# Helpers of the measurement (pure)
# --------------------------------------------------------------------------------------------


def fit_fixed_and_slope(
    cpu_a: float, seconds_a: float, cpu_b: float, seconds_b: float
) -> tuple[float, float]:
    """(fixed CPU per run, CPU per source second) through two runs of different lengths.

    Noise that makes the longer run no dearer leaves no fixed part to separate: all slope then.
    """
    if seconds_b <= seconds_a:
        raise ValueError("the second run must be the longer one")
    slope = (cpu_b - cpu_a) / (seconds_b - seconds_a)
    if slope <= 0:
        return 0.0, cpu_b / seconds_b
    return max(0.0, cpu_a - slope * seconds_a), slope


_fit = fit_fixed_and_slope


def mp4_box_sizes(path: Path) -> dict[str, int]:
    """Sizes of an MP4's top-level boxes (ftyp, moov, mdat...), read from their headers."""
    sizes: dict[str, int] = {}
    end = path.stat().st_size
    with path.open("rb") as fh:
        offset = 0
        while offset + 8 <= end:
            fh.seek(offset)
            size, kind = struct.unpack(">I4s", fh.read(8))
            if size == 1:  # a 64-bit size follows the type
                (size,) = struct.unpack(">Q", fh.read(8))
            elif size == 0:  # the box runs to the end of the file
                size = end - offset
            if size < 8:
                raise ValueError(f"{path}: broken box header at byte {offset}")
            name = kind.decode("latin-1")
            sizes[name] = sizes.get(name, 0) + size
            offset += size
    return sizes


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


def generate_small_source(path: Path, seconds: int) -> Path:
    """The bench source's structure (30 fps H.264 + 48 kHz AAC, +faststart) at 160x90: an MP4
    whose index is as long as the real one's, but quick to make and to concatenate to an hour."""
    subprocess.run(
        ["ffmpeg", "-y", "-v", "error",
         "-f", "lavfi", "-i", f"testsrc2=size=160x90:rate=30:duration={seconds}",
         "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}",
         "-c:v", "libx264", "-preset", "veryfast", "-b:v", "100k", "-pix_fmt", "yuv420p",
         "-c:a", "aac", "-b:a", "192k", "-shortest", "-movflags", "+faststart", str(path)],
        check=True,
    )  # fmt: skip
    return path


def measure(*, repeats: int = 2, log: Callable[[str], None] = print) -> tuple[Measured, dict[str, Any]]:
    """Measure on this machine; returns the model's inputs and the raw runs behind them.

    The machine is shared with other work, so single-core figures are the CPU time (user + sys)
    of the pinned ffmpeg, not its wall time, and every figure is the minimum of its repeats.
    """
    from functions.media.probe import ProbeLimits, probe
    from functions.moderation.logic.frames import sample_frames
    from functions.pipeline.logic import audio_pieces, split
    from functions.pipeline.logic.ladder import choose_ladder
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
    # Chunk lengths: two points separate the per-chunk fixed cost from the slope (2 s and 8 s: far
    # enough apart that the noise of a shared machine does not swamp the fixed part)
    short, long_ = 2, 8
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

        # The lengths alternate, so that a busy spell of the shared machine slows both alike
        cpu_s: dict[tuple[int, int], float] = {}
        for pass_no in (1, 2):
            runs: dict[int, list[tuple[float, float]]] = {short: [], long_: []}
            with _pinned(one_core):
                for r in range(repeats):
                    for length in (short, long_):
                        out = work / f"p{pass_no}-{length}-{r}"
                        runs[length].append(encode(pass_no, length, out))
                        if not (pass_no == 1 and length == long_ and r == 0):
                            shutil.rmtree(out, ignore_errors=True)  # keep one lowest rung (storyboard)
            for length in (short, long_):
                raw["runs"][f"pass{pass_no}_{length}s_one_core_wall_cpu"] = [
                    [round(w, 3), round(c, 3)] for w, c in runs[length]
                ]
                cpu_s[(pass_no, length)] = min(c for _, c in runs[length])
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
            return _fit(cpu_s[(pass_no, short)], short, cpu_s[(pass_no, long_)], long_)

        (p1_fixed, p1_slope), (p2_fixed, p2_slope) = fit(1), fit(2)

        # Moderation's frame sampling decodes every frame of its range (one core): 2 s and 8 s
        sample_runs: dict[int, list[float]] = {short: [], long_: []}
        with _pinned(one_core):
            for r in range(repeats):
                for length in (short, long_):
                    out = work / f"frames-{length}-{r}"
                    out.mkdir()
                    sampling = partial(
                        sample_frames,
                        str(chunks[length]),
                        out,
                        duration=float(length),
                        fps=settings.frame_sample_fps,
                        scene_threshold=settings.frame_scene_threshold,
                        max_samples=settings.frame_max_samples,
                        ffmpeg=settings.ffmpeg_path,
                    )
                    sample_runs[length].append(_timed(sampling)[1])
        sample_cpu_s = {length: min(values) for length, values in sample_runs.items()}
        sample_fixed, sample_cpu = _fit(sample_cpu_s[short], short, sample_cpu_s[long_], long_)
        log(f"  moderation sampling: {sample_fixed:.2f} CPU s + {sample_cpu:.3f} CPU s per source s")

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

        # The audio piece of a chunk (audio_pieces.encode_piece: the pass-1 worker's second ffmpeg),
        # read from the 120 s source like a worker reads its span: 4 s and 100 s of it, one core
        long_probe = probe(str(long_source), size_bytes=None, limits=limits)
        assert long_probe.audio is not None
        audio_spans = {4.0: (64.0, 68.0), 100.0: (8.0, 108.0)}
        pieces = {
            seconds: audio_pieces.piece_for_span(
                start, end, first=False, last=False, origin=0.0, source_rate=long_probe.audio.sample_rate
            )
            for seconds, (start, end) in audio_spans.items()
        }
        audio_runs: dict[float, list[float]] = {seconds: [] for seconds in audio_spans}
        with _pinned(one_core):
            for r in range(repeats):
                for seconds, piece in pieces.items():
                    encode_audio = partial(
                        audio_pieces.encode_piece,
                        str(long_source),
                        piece,
                        work / f"audio-{seconds:g}-{r}",
                        long_probe,
                        segment_seconds=settings.segment_seconds,
                        ffmpeg=settings.ffmpeg_path,
                        timeout=600,
                    )
                    audio_runs[seconds].append(_timed(encode_audio)[1])
        audio_cpu_s = {seconds: min(values) for seconds, values in audio_runs.items()}
        audio_fixed, audio_slope = _fit(audio_cpu_s[4.0], 4.0, audio_cpu_s[100.0], 100.0)
        log(f"  audio piece: {audio_fixed:.2f} CPU s + {audio_slope:.4f} CPU s per source s")

        # The split by index: ffprobe runs on an 8 s and a 1-hour MP4 of the same structure (30 fps
        # H.264 + 48 kHz AAC, small frames so the hour is quick to make): opening the file (the
        # index parsed whole) and the seeks of split.keyframes_at_or_before for 4 s chunks
        small = generate_small_source(work / "small-8s.mp4", seconds=long_)
        hour = _concat_copy([small] * int(HOUR / long_), work / "small-hour.mp4")
        hour_probe = probe(str(hour), size_bytes=None, limits=limits)
        small_probe = probe(str(small), size_bytes=None, limits=limits)

        def open_once(path: Path, info: Any) -> Callable[[], object]:
            return partial(split.source_times, str(path), info, ffprobe=settings.ffprobe_path, timeout=120)

        opens = {
            "8s": [_timed(open_once(small, small_probe))[1] for _ in range(5)],
            "1h": [_timed(open_once(hour, hour_probe))[1] for _ in range(5)],
        }
        ffprobe_cpu = min(opens["8s"])
        parse_per_s = max(0.0, (min(opens["1h"]) - ffprobe_cpu) / (HOUR - long_))
        targets = [float(t) for t in range(4, int(HOUR) - 1, 4)]  # 899 boundaries of 4 s chunks
        processes = min(split.PROBE_PROCESSES, len(targets))
        seek_runs = []
        for _ in range(repeats):
            seeking = partial(
                split.keyframes_at_or_before,
                str(hour),
                targets,
                hour_probe,
                ffprobe=settings.ffprobe_path,
                timeout=300,
            )
            seek_runs.append(_timed(seeking))
        seeks_cpu = min(c for _, c in seek_runs)
        seek_cpu = max(0.0, (seeks_cpu - processes * min(opens["1h"])) / len(targets))
        log(
            f"  ffprobe: {ffprobe_cpu:.3f} CPU s to open, {parse_per_s * HOUR:.3f} CPU s per source hour"
            f" of index, {seek_cpu * 1000:.2f} ms per seek ({len(targets)} seeks in {processes} runs:"
            f" {seeks_cpu:.2f} CPU s)"
        )
        moov = {"small_1h_concat": mp4_box_sizes(hour).get("moov", 0)}
        if BENCH_SOURCE_CACHE.exists():
            moov["bench_600s_source"] = mp4_box_sizes(BENCH_SOURCE_CACHE).get("moov", 0)

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
            sample_fixed_cpu_s=sample_fixed,
            storyboard_fixed_s=board_fixed,
            storyboard_s_per_source_s=board_slope,
            audio_cpu_s_per_source_s=audio_slope,
            audio_fixed_cpu_s=audio_fixed,
            ffprobe_cpu_s=ffprobe_cpu,
            index_parse_cpu_s_per_source_s=parse_per_s,
            seek_cpu_s=seek_cpu,
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
            sampling_cpu_s={f"{k}s": round(v, 3) for k, v in sample_cpu_s.items()},
            audio_piece_cpu_s={f"{k:g}s": round(v, 3) for k, v in audio_cpu_s.items()},
            ffprobe_open_cpu_s={k: [round(c, 4) for c in v] for k, v in opens.items()},
            index_seeks_1h_4s_chunks={
                "targets": len(targets),
                "ffprobe_runs": processes,
                "runs_wall_cpu": pairs(seek_runs),
            },
            moov_bytes=moov,
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
    if reuse and "measured" in reuse and not Measured.missing_fields(reuse["measured"]):
        measured = Measured.from_dict(reuse["measured"])
        raw = reuse.get("measurement", {})
    else:
        if reuse:
            print("the stored measurements lack some inputs: measuring", file=sys.stderr)
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
