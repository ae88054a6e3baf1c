"""The scale model's arithmetic (tests/bench/scale_model.py) on fixed inputs: no ffmpeg, no AWS.

Chunk rounding, vCPU share by memory, Lambda scaling waves and throttle retries, Map makespans,
the split by index and by copy, worker times (with the audio piece), the fanned-out moderation
and the bill, so that a change which breaks the model fails here.
"""

from __future__ import annotations

import dataclasses
import math
import struct
from pathlib import Path

import pytest

from tests.bench import scale_model as sm

A = sm.Assumptions()
M = sm.Measured(
    pass1_cpu_s_per_source_s=0.25,
    pass1_fixed_cpu_s=0.2,
    pass2_cpu_s_per_source_s=1.5,
    pass2_fixed_cpu_s=0.5,
    parallel_efficiency=0.8,
    split_copy_mb_s=1000.0,
    import_s=0.6,
    probe_local_s=0.1,
    sample_cpu_s_per_source_s=0.15,
    sample_fixed_cpu_s=0.1,
    storyboard_fixed_s=0.3,
    storyboard_s_per_source_s=0.01,
    audio_cpu_s_per_source_s=0.02,
    audio_fixed_cpu_s=0.1,
    ffprobe_cpu_s=0.08,
    index_parse_cpu_s_per_source_s=0.00001,
    seek_cpu_s=0.0001,
)
RATES = sm.ladder_rates(A.source_video_bps, A.source_audio_bps)
COPY = dataclasses.replace(A, split_mode="copy")
SOURCE_BYTES_S = 8_192_000 / 8  # bytes of the bench source per second (video + audio)
MOOV_1H = 3600 * 867  # the index of an hour of it
EFFECTIVE_10GB = 1 + (10240 / 1769 - 1) * 0.8  # what ffmpeg makes of a 10,240 MB worker
COLD = 0.4 + 0.6


# Chunks ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("duration", "fanout", "length", "count"),
    [
        (3600, 1000, 4, 900),  # 3.6 s each -> one 4 s segment; fewer chunks than the fan-out
        (14400, 1000, 16, 900),  # 14.4 s -> 16 s
        (600, 10, 60, 10),  # already whole segments
        (3600, 7, 516, 7),  # 514.3 s -> 129 segments
        (3601, 1000, 4, 901),  # a second more: one more chunk
        (10, 1000, 4, 3),  # never below one segment
        (3600, 1, 3600, 1),
    ],
)
def test_chunk_length_is_the_share_of_the_fanout_rounded_up_to_whole_segments(
    duration: float, fanout: int, length: int, count: int
) -> None:
    assert sm.chunk_length(duration, fanout, 4) == length
    assert sm.chunk_count(duration, length) == count


def test_chunk_length_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        sm.chunk_length(0, 10, 4)
    with pytest.raises(ValueError):
        sm.chunk_length(60, 0, 4)


# Lambda CPU -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("memory", "vcpus"),
    [(1769, 1.0), (3538, 2.0), (884.5, 0.5), (10240, 10240 / 1769), (128, 128 / 1769)],
)
def test_one_vcpu_per_1769_mb(memory: float, vcpus: float) -> None:
    assert sm.vcpus_for_memory(memory, A) == pytest.approx(vcpus)


def test_vcpus_never_exceed_six() -> None:
    assert sm.vcpus_for_memory(20_000, A) == 6.0


def test_the_first_vcpu_counts_fully_and_each_further_one_at_the_efficiency() -> None:
    assert sm.effective_vcpus(5.0, 0.75) == pytest.approx(4.0)
    assert sm.effective_vcpus(0.5, 0.75) == 0.5
    assert sm.effective_vcpus(1.0, 0.1) == 1.0


def test_cold_start_is_runtime_init_plus_our_import() -> None:
    assert sm.cold_start_s(M, A) == pytest.approx(0.4 + 0.6)
    slower = dataclasses.replace(A, lambda_cpu_relative=0.5)
    assert sm.cold_start_s(M, slower) == pytest.approx(0.4 + 1.2)


# Scaling waves and throttling -----------------------------------------------------------------


def test_scaling_waves_add_at_most_the_burst_every_interval() -> None:
    assert sm.scaling_waves(2500, 1000, 10.0) == [(0.0, 1000), (10.0, 1000), (20.0, 500)]
    assert sm.scaling_waves(900, 1000, 10.0) == [(0.0, 900)]
    assert sm.scaling_waves(1000, 1000, 10.0) == [(0.0, 1000)]


def test_a_throttled_invocation_starts_at_the_first_retry_after_capacity_arrives() -> None:
    waits = (1.0, 3.0, 9.0)  # retries at 1, 4 and 13 s
    assert sm.throttled_start(0.0, waits) == 0.0
    assert sm.throttled_start(4.0, waits) == 4.0
    assert sm.throttled_start(10.0, waits) == 13.0
    assert sm.throttled_start(20.0, waits) is None  # retries ran out before the third wave


def test_beyond_two_bursts_the_default_retries_run_out_and_the_map_fails() -> None:
    roomy = dataclasses.replace(A, account_concurrency=10_000)
    phase = sm.map_phase(2500, 10.0, fanout=2500, warm=False, a=roomy)
    assert phase.waves == 3
    assert phase.throttle_failures == 500
    assert phase.blockers


def test_longer_retries_let_every_wave_start() -> None:
    roomy = dataclasses.replace(A, account_concurrency=10_000, throttle_retry_waits_s=(1.0, 3.0, 9.0, 27.0))
    phase = sm.map_phase(2500, 10.0, fanout=2500, warm=False, a=roomy)
    assert phase.throttle_failures == 0
    assert not phase.blockers
    assert phase.last_start_s == pytest.approx(40.0)  # the third wave waits for the retry at 40 s
    assert phase.seconds == pytest.approx(40.0 + 10.0 * 1.2 + A.dmap_result_s)


def test_warm_environments_need_no_new_wave() -> None:
    roomy = dataclasses.replace(A, account_concurrency=10_000)
    phase = sm.map_phase(2500, 10.0, fanout=2500, warm=True, a=roomy)
    assert phase.waves == 1
    assert phase.throttle_failures == 0


def test_fanout_above_the_account_limit_queues_workers() -> None:
    phase = sm.map_phase(2000, 10.0, fanout=2000, warm=True, a=A)
    assert any("account" in note for note in phase.notes)
    assert phase.seconds > 2 * 10.0


# Map makespans --------------------------------------------------------------------------------


def test_distributed_map_makespan_is_child_starts_plus_the_slowest_worker_plus_results() -> None:
    phase = sm.map_phase(900, 10.0, fanout=1000, warm=False, a=A)
    last_child = A.dmap_run_start_s + 899 / A.dmap_child_start_rate_per_s
    assert phase.last_start_s == pytest.approx(last_child)
    assert phase.seconds == pytest.approx(last_child + 10.0 * A.straggler_factor + A.dmap_result_s)


def test_inline_map_starts_everything_at_once_and_a_single_worker_does_not_straggle() -> None:
    # The split chooses the Map by chunk count (INLINE_MAP_MAX_CHUNKS), not by fan-out
    assert sm.map_kind(40, A) == "inline"
    assert sm.map_kind(41, A) == "distributed"
    assert sm.map_phase(41, 10.0, fanout=10, warm=True, a=A).last_start_s >= A.dmap_run_start_s
    assert sm.map_phase(1, 10.0, fanout=1, warm=False, a=A).seconds == pytest.approx(10.0)
    assert sm.map_phase(10, 10.0, fanout=10, warm=False, a=A).seconds == pytest.approx(12.0)


def test_standard_children_beyond_the_transition_burst_are_throttled() -> None:
    assert not A.express_children  # as built: ExecutionType STANDARD
    express = sm.map_phase(
        2000,
        10.0,
        fanout=2000,
        warm=True,
        a=dataclasses.replace(A, express_children=True, account_concurrency=9999),
    )
    slow = sm.map_phase(
        2000, 10.0, fanout=2000, warm=True, a=dataclasses.replace(A, account_concurrency=9999)
    )
    excess = 2000 * A.child_transitions - A.standard_transition_bucket
    assert slow.last_start_s - express.last_start_s == pytest.approx(
        excess / A.standard_transition_refill_per_s
    )


def test_workers_longer_than_lambda_or_express_allow_are_blockers() -> None:
    assert sm.map_phase(1, 1000.0, fanout=1, warm=True, a=A).blockers
    express = dataclasses.replace(A, express_children=True)
    assert sm.map_phase(100, 400.0, fanout=100, warm=True, a=express).blockers  # Express: 5 minutes
    assert not sm.map_phase(100, 400.0, fanout=100, warm=True, a=A).blockers  # Standard (as built)


# The as-built defaults --------------------------------------------------------------------------


def test_the_defaults_are_the_pipeline_as_built() -> None:
    assert A.split_mode == "index"
    assert A.moderation_mode == "fanned"
    assert A.sample_cap == "global_grid"
    assert A.split_memory_mb == 2048
    assert (A.moderate_range_memory_mb, A.moderate_verdict_memory_mb) == (3008, 1024)
    assert A.index_split_processes == 16
    assert A.index_bytes_per_source_s == 867.0  # the bench source's moov: 520,062 bytes for 600 s
    assert not A.express_children and not A.thumbnails_beside_pass2


def test_unknown_modes_are_refused() -> None:
    with pytest.raises(ValueError):
        dataclasses.replace(A, split_mode="stream")
    with pytest.raises(ValueError):
        dataclasses.replace(A, moderation_mode="twice")


def test_ladder_rates_of_a_1080p_source() -> None:
    assert RATES.source_bps == 8_192_000
    assert RATES.source_video_bps == 8_000_000
    assert RATES.pass1_out_bps == 800_000  # 360p video
    assert RATES.audio_out_bps == 128_000  # the one audio rendition
    assert RATES.pass2_out_bps == 5_000_000 + 3_000_000 + 1_500_000  # video only: no audio in pass 2
    assert RATES.pass2_rungs == 3


# The split ------------------------------------------------------------------------------------


def test_index_split_reads_the_index_then_seeks_every_boundary_over_16_ffprobe_runs() -> None:
    work = sm.index_split_work_s(3600, 900, M, A)
    together = 2048 / 1769  # 16 processes share the function's 1.16 vCPUs; one gets at most one
    one_run = 0.08 + 0.00001 * 3600  # ffprobe start + the hour's index parsed
    source_times = 0.03 + MOOV_1H / 90e6 + one_run
    runs = 0.03 + 16 * MOOV_1H / 90e6 + max(16 * one_run / together, one_run)
    seeks = 57 * 0.03 + 899 * 70_000 / 90e6 + max(57 * 0.0001, 899 * 0.0001 / together)  # 899 / 16 -> 57
    assert work == pytest.approx(source_times + runs + seeks + 0.03)  # + the manifest PUT


def test_index_split_time_grows_by_a_first_byte_per_boundary_over_16() -> None:
    slow = dataclasses.replace(A, s3_first_byte_s=0.13)
    # each step of 0.1 s of first-byte latency costs: start times, the runs' index reads, the
    # ceil(boundaries / 16) seeks of one run, the manifest
    for chunks, per_run in ((900, 57), (450, 29), (17, 1)):
        extra = sm.index_split_work_s(3600, chunks, M, slow) - sm.index_split_work_s(3600, chunks, M, A)
        assert extra == pytest.approx(0.1 * (1 + 1 + per_run + 1))
    # one chunk: no boundary, no seek run, only the start times and the manifest
    one = sm.index_split_work_s(3600, 1, M, A)
    assert one == pytest.approx(0.03 + MOOV_1H / 90e6 + 0.08 + 0.036 + 0.03)


def test_as_built_split_copies_nothing_and_has_no_tmp_limit() -> None:
    p = sm.predict(3600, 1000, M, A)
    assert p.workers_s["split"] == pytest.approx(
        COLD + sm.index_split_work_s(3600, 900, M, A) + A.db_update_s
    )
    assert p.steps_s["split"] == pytest.approx(
        A.transition_s + A.transition_s + A.task_overhead_s + p.workers_s["split"]
    )
    split = next(i for i in p.invocations if i.name == "split")
    assert (split.memory_mb, split.ephemeral_mb) == (2048, 10240)
    four = sm.predict(4 * 3600, 1000, M, A)
    assert not any("/tmp" in b for b in four.blockers)


def test_copy_split_fallback_cuts_into_tmp_then_uploads_in_parallel() -> None:
    work = sm.copy_split_work_s(3600, 900, M, COPY, RATES)
    source = 3600 * SOURCE_BYTES_S
    cut = source / 1000e6 + 0.02 * 3600  # stream copy + the audio, whole, one thread
    chunks = 3600 * 1_000_000 / 90e6 + math.ceil(900 / 16) * 0.03  # video chunks, 16 at a time
    audio = 3600 * 16_000 / 90e6 + math.ceil(901 / 16) * 0.03  # 900 segments + playlist
    assert work == pytest.approx(0.03 + max(source / 90e6, cut) + chunks + audio + 0.03)
    p = sm.predict(3600, 1000, M, COPY)
    assert p.workers_s["split"] == pytest.approx(COLD + work + A.db_update_s)


def test_copy_split_still_cannot_hold_four_hours_in_tmp() -> None:
    four = sm.predict(4 * 3600, 1000, M, COPY)
    assert not four.feasible
    assert any("/tmp" in b for b in four.blockers)  # 14.6 GB of chunks and audio > 10,240 MB
    assert not any("/tmp" in b for b in sm.predict(3600, 1000, M, COPY).blockers)


# Workers --------------------------------------------------------------------------------------


def test_pass2_worker_reads_its_span_straight_from_the_source() -> None:
    encode = 0.5 + 0.00001 * 3600 + 1.5 * 4 / EFFECTIVE_10GB  # the fixed part (and index) on one vCPU
    index_read = 0.03 + MOOV_1H / 90e6
    span = 4 * SOURCE_BYTES_S / 90e6  # streams in while ffmpeg encodes
    upload = 4 * 9_500_000 / 8 / 90e6 + 3 * 0.03  # one upload_directory per rung
    result = 0.03 + A.db_update_s  # the result JSON, the chunk counter
    expected = A.task_overhead_s + index_read + 0.03 + max(span, encode) + upload + result
    assert sm.encode_worker_s(2, 4, 3600, M, A, RATES, cold=False) == pytest.approx(expected)
    cold = sm.encode_worker_s(2, 4, 3600, M, A, RATES, cold=True)
    assert cold - expected == pytest.approx(COLD)


def test_pass1_worker_encodes_the_audio_piece_beside_the_video() -> None:
    video = 0.2 + 0.036 + 0.25 * 4 / EFFECTIVE_10GB
    audio_cpu = 0.1 + 0.036 + 0.02 * (4 + A.audio_roll_s)  # its own ffmpeg, one thread
    compute = max(video + audio_cpu / (10240 / 1769), audio_cpu)  # it takes CPU from the video
    index_read = 0.03 + 2 * MOOV_1H / 90e6  # both processes read the index
    # the audio-only read pulls the span's interleaved bytes again, with its pre- and post-roll
    span = (4 + (4 + A.audio_roll_s) * A.audio_read_factor) * SOURCE_BYTES_S / 90e6
    upload = 4 * (800_000 + 128_000) / 8 / 90e6 + 2 * 0.03  # video and audio segments
    expected = A.task_overhead_s + index_read + 0.03 + max(span, compute) + upload + 0.03 + A.db_update_s
    assert sm.encode_worker_s(1, 4, 3600, M, A, RATES, cold=False) == pytest.approx(expected)
    assert A.audio_roll_s == pytest.approx(6 * 1024 / 48_000)
    mute = dataclasses.replace(A, source_audio_bps=0.0)
    mute_rates = sm.ladder_rates(8_000_000, 0.0)
    assert sm.encode_worker_s(1, 4, 3600, M, mute, mute_rates, cold=False) < expected


def test_audio_cpu_beside_a_long_chunk_adds_to_the_video_encode() -> None:
    # On a long chunk the audio's CPU shows: the video encode loses the vCPU share it takes
    with_audio = sm.encode_worker_s(1, 600, 600, M, A, RATES, cold=False)
    mute = dataclasses.replace(A, source_audio_bps=0.0)
    without = sm.encode_worker_s(1, 600, 600, M, mute, sm.ladder_rates(8_000_000, 0.0), cold=False)
    audio_cpu = 0.1 + 0.006 + 0.02 * (600 + A.audio_roll_s)
    upload_extra = 600 * 128_000 / 8 / 90e6 + math.ceil(150 / 16) * 0.03
    index_extra = 600 * 867 / 90e6
    assert with_audio - without == pytest.approx(audio_cpu / (10240 / 1769) + upload_extra + index_extra)


def test_copy_split_workers_download_their_chunk_and_do_no_audio() -> None:
    encode = 0.2 + 0.25 * 4 / EFFECTIVE_10GB
    fetch = 4 * 1_000_000 / 90e6 + 0.03  # the video-only chunk file, then the encode
    upload = 4 * 800_000 / 8 / 90e6 + 0.03
    expected = A.task_overhead_s + fetch + encode + upload + 0.03 + A.db_update_s
    assert sm.encode_worker_s(1, 4, 3600, M, COPY, RATES, cold=False) == pytest.approx(expected)


def test_below_one_vcpu_even_the_fixed_part_slows_down() -> None:
    small = dataclasses.replace(COPY, worker_memory_mb=884)  # ~0.5 vCPU
    fast = sm.encode_worker_s(1, 8, 3600, M, COPY, RATES, cold=False)
    slow = sm.encode_worker_s(1, 8, 3600, M, small, RATES, cold=False)
    vcpus = 884 / 1769
    assert slow - fast == pytest.approx((0.2 + 0.25 * 8) / vcpus - (0.2 + 0.25 * 8 / EFFECTIVE_10GB))


@pytest.mark.parametrize(
    ("cap", "per", "total"),
    [("per_chunk", 4, 3600), ("per_video", 1, 900), ("global_grid", 1, 300)],
)
def test_moderation_frames_fanned_out(cap: str, per: int, total: int) -> None:
    a = dataclasses.replace(A, sample_cap=cap)
    assert sm.moderation_frames(3600, 900, 4, a) == (per, total)


def test_moderation_frames_of_one_sampler_respect_the_cap() -> None:
    assert sm.moderation_frames(3600, 1, 3600, A) == (300, 300)
    assert sm.moderation_frames(120, 1, 120, A) == (120, 120)
    with pytest.raises(ValueError):
        sm.moderation_frames(3600, 2, 1800, dataclasses.replace(A, sample_cap="nonsense"))


def test_moderate_range_worker_seeks_decodes_its_range_and_waits_for_the_shared_tps() -> None:
    worker, sampling = sm.moderate_range_worker_s(4, 3600, (1, 300), M, A, RATES)
    effective = 1 + (3008 / 1769 - 1) * 0.8
    decode = 0.1 + 0.036 + 0.15 * 4 / effective
    expected_sampling = 0.03 + MOOV_1H / 90e6 + 0.03 + max(4 * SOURCE_BYTES_S / 90e6, decode)
    assert sampling == pytest.approx(expected_sampling)
    classify = max(0.2, 300 / 50)  # one frame, but 300 across the video share 50 TPS
    assert worker == pytest.approx(A.task_overhead_s + COLD + expected_sampling + classify + 0.03)
    _, none = sm.moderate_range_worker_s(4, 3600, (0, 300), M, A, RATES)
    assert none == pytest.approx(sampling)  # a range with no grid point classifies nothing...
    assert sm.moderate_range_worker_s(4, 3600, (0, 300), M, A, RATES)[0] < worker  # ...and is quicker


# The bill -------------------------------------------------------------------------------------


def test_lambda_cost_is_gb_seconds_requests_and_extra_ephemeral_storage() -> None:
    calls = [sm.Invocation("a", 1024, 10.0, 3), sm.Invocation("b", 2048, 1.0, 1, ephemeral_mb=1536)]
    requests = {"puts": 1000, "gets": 10_000, "frames": 100}
    cost = sm.cost_breakdown(calls, requests, map_kind="inline", map_children=[(10, 5.0)], a=A)
    gb_s = 1.0 * 10.0 * 3 + 2.0 * 1.0
    assert cost["lambda"] == pytest.approx(gb_s * 0.0000166667 + 4 * 0.2e-6 + 1.0 * 1.0 * 0.0000000309)
    assert cost["step_functions"] == pytest.approx((18 + 10 * 2) * 0.025 / 1000)
    assert cost["s3_requests"] == pytest.approx(1000 * 0.005 / 1000 + 10_000 * 0.0004 / 1000)
    assert cost["rekognition"] == pytest.approx(0.1)
    assert cost["pipeline_total"] == pytest.approx(
        cost["lambda"] + cost["step_functions"] + cost["s3_requests"]
    )
    assert cost["total_with_rekognition"] == pytest.approx(cost["pipeline_total"] + 0.1)
    arm = sm.cost_breakdown(
        calls, requests, map_kind="inline", map_children=[], a=dataclasses.replace(A, architecture="arm64")
    )
    assert arm["lambda"] == pytest.approx(gb_s * 0.0000133334 + 4 * 0.2e-6 + 0.0000000309)


def test_distributed_children_bill_as_express_or_as_standard_transitions() -> None:
    children = [(900, 2.34)]
    express = sm.cost_breakdown(
        [],
        {"puts": 0, "gets": 0, "frames": 0},
        map_kind="distributed",
        map_children=children,
        a=dataclasses.replace(A, express_children=True),
    )
    # Express: a request each, and 64 MB for 2.4 s (rounded up to 100 ms)
    assert express["step_functions"] == pytest.approx(
        18 * 0.025e-3 + 900 * (1e-6 + 0.0625 * 2.4 * 0.00001667)
    )
    standard = sm.cost_breakdown(
        [],
        {"puts": 0, "gets": 0, "frames": 0},
        map_kind="distributed",
        map_children=children,
        a=A,
    )
    assert standard["step_functions"] == pytest.approx((18 + 900 * 3) * 0.025e-3)


def test_request_counts_of_one_hour_at_1000_way_as_built() -> None:
    counts = sm.request_counts(3600, 900, 4, 300, RATES, A)
    # manifest 1 + range results 900 + pass 1 900 x (video + audio segment + result)
    # + pass 2 900 x (3 segments + result) + StitchPreview 3 + StitchFinal 4 + thumbnails 3
    assert counts["puts"] == 1 + 900 + 900 * 3 + 900 * 4 + 3 + 4 + 3
    # probe 3 + split (start times 1 + 16 index reads + 899 seeks) + ranges 900 x (index, range)
    # + verdict 900 + pass 1 900 x 4 (two processes: index, span) + pass 2 900 x 2
    # + StitchPreview 900 + StitchFinal 1800 + thumbnails 900 segments + 2
    assert counts["gets"] == 3 + (1 + 16 + 899) + 1800 + 900 + 3600 + 1800 + 900 + 1800 + 900 + 2
    assert counts["frames"] == 300


def test_request_counts_of_the_copy_split_and_a_single_moderate() -> None:
    counts = sm.request_counts(3600, 900, 4, 300, RATES, dataclasses.replace(COPY, moderation_mode="single"))
    # split: 900 chunks + 900 audio segments + playlist + manifest; pass 1 without audio
    assert counts["puts"] == (900 + 901 + 1) + 900 * 2 + 900 * 4 + 2 + 4 + 3
    # split 1 stream + Moderate 1 stream + one chunk file per worker and pass
    assert counts["gets"] == 3 + 1 + 1 + 900 + 900 + 900 + 1800 + 900 + 2


def test_on_the_global_grid_only_as_many_ranges_as_frames_hold_one() -> None:
    assert sm.ranges_with_frames(900, 300, A) == 300  # 4 s ranges, a sample every 12 s
    assert sm.ranges_with_frames(10, 300, A) == 10  # 360 s ranges: every one holds 30
    assert sm.ranges_with_frames(900, 3600, dataclasses.replace(A, sample_cap="per_chunk")) == 900


def test_moderation_costs_count_both_functions_their_results_and_their_children() -> None:
    p = sm.predict(3600, 1000, M, A)
    calls = {i.name: i for i in p.invocations}
    ranges, idle, verdict = calls["moderate-range"], calls["moderate-range-idle"], calls["moderate-verdict"]
    assert (ranges.count, ranges.memory_mb, ranges.ephemeral_mb) == (300, 3008, 2048)
    assert ranges.billed_s == pytest.approx(p.workers_s["moderate_range"] - A.task_overhead_s)
    # the 600 ranges without a sample time classify nothing: they do not wait for Rekognition
    assert (idle.count, idle.memory_mb) == (600, 3008)
    assert idle.billed_s == pytest.approx(ranges.billed_s - max(0.2, 300 / 50))
    assert (verdict.count, verdict.memory_mb) == (1, 1024)
    assert verdict.billed_s == pytest.approx(COLD + math.ceil(900 / 32) * 0.03 + A.moderation_verdict_s)
    without = dataclasses.replace(A, moderation_mode="single")
    q = sm.predict(3600, 1000, M, without)
    # three Distributed Maps of Standard children (ranges, pass 1, pass 2) against two
    assert p.cost["step_functions"] - q.cost["step_functions"] == pytest.approx((900 * 3 + 2) * 0.025e-3)
    assert p.requests["puts"] - q.requests["puts"] == 900  # the range results
    assert p.requests["gets"] - q.requests["gets"] == 3 * 900 - 1  # index + range each, the verdict's reads
    assert p.requests["frames"] == 300
    gb_s = sum(c.memory_mb / 1024 * c.billed_s * c.count for c in p.invocations)
    assert p.lambda_gb_s == pytest.approx(gb_s)
    moderation = 3008 / 1024 * (ranges.billed_s * 300 + idle.billed_s * 600) + verdict.billed_s
    others = sum(c.memory_mb / 1024 * c.billed_s * c.count for c in p.invocations if "moderate" not in c.name)
    assert gb_s - others == pytest.approx(moderation)


# End to end -----------------------------------------------------------------------------------


def test_one_hour_at_1000_way_adds_up() -> None:
    p = sm.predict(3600, 1000, M, A)
    assert (p.chunk_s, p.chunks, p.map_kind) == (4, 900, "distributed")
    before_viewable = ("ingest", "acquire_slot", "probe", "split", "moderate", "pass1", "stitch_viewable")
    assert p.viewable_s == pytest.approx(sum(p.steps_s[k] for k in before_viewable))
    # Thumbnails runs after the final stitch: the tail is a sum, not a max
    tail = p.steps_s["pass2_and_stitch"] + p.steps_s["thumbnails"] + p.steps_s["publish"]
    assert p.ready_s == pytest.approx(p.viewable_s + tail)
    assert p.cost_per_source_hour["pipeline_total"] == pytest.approx(p.cost["pipeline_total"])


def test_moderation_is_a_map_over_the_chunks_then_a_verdict() -> None:
    p = sm.predict(3600, 1000, M, A)
    worker = p.workers_s["moderate_range"]
    phase = sm.map_phase(900, worker, fanout=1000, warm=False, a=A)
    verdict = p.workers_s["moderate_verdict"]
    step = A.transition_s + A.task_overhead_s
    # ModerateFanOut (a Choice) and the Map state, then ModerateVerdict
    assert p.steps_s["moderate"] == pytest.approx(2 * A.transition_s + phase.seconds + step + verdict)
    single = sm.predict(3600, 1000, M, dataclasses.replace(A, moderation_mode="single"))
    assert p.steps_s["moderate"] < single.steps_s["moderate"] / 10


def test_the_target_is_met_at_one_hour_and_1000_way_as_built() -> None:
    p = sm.predict(sm.TARGET_DURATION_S, sm.TARGET_FANOUT, M, A)
    assert p.feasible, p.blockers
    assert p.viewable_s < sm.TARGET_VIEWABLE_S
    assert p.ready_s < sm.TARGET_READY_S


def test_a_single_moderate_over_an_hour_fails_its_sampling_budget() -> None:
    single = dataclasses.replace(A, moderation_mode="single")
    p = sm.predict(3600, 1000, M, single)
    # 3,008 MB: 1.70 vCPUs, 1 + 0.70 * 0.8 effective; every frame of the hour decoded
    effective = 1 + (3008 / 1769 - 1) * 0.8
    sampling = (0.1 + 0.036) / 1 + 0.15 * 3600 / effective
    classify = 300 / 4 * A.rekognition_latency_s  # 300 frames (the cap), 4 threads
    assert p.workers_s["moderate"] == pytest.approx(COLD + sampling + classify + A.moderation_verdict_s)
    assert [i.count for i in p.invocations if i.name.startswith("moderate")] == [1]
    assert sampling > A.moderate_sampling_budget_s
    assert any("frame sampling" in b for b in p.blockers)
    assert sm.predict(600, 10, M, single).feasible


def test_one_range_of_an_hour_fails_the_range_sampling_budget_too() -> None:
    p = sm.predict(3600, 1, M, A)  # fan-out 1: one range, the whole hour
    assert any("moderate range: frame sampling" in b for b in p.blockers)
    assert p.workers_s["moderate_range_sampling"] > A.moderate_range_sampling_budget_s


def test_thumbnails_beside_pass2_take_the_shorter_of_the_two_off_ready() -> None:
    serial = sm.predict(3600, 1000, M, A)
    beside = sm.predict(3600, 1000, M, dataclasses.replace(A, thumbnails_beside_pass2=True))
    assert serial.viewable_s == pytest.approx(beside.viewable_s)
    shorter = min(serial.steps_s["pass2_and_stitch"], serial.steps_s["thumbnails"])
    assert serial.ready_s - beside.ready_s == pytest.approx(shorter)


def test_cost_per_source_hour_scales_by_the_source_length() -> None:
    p = sm.predict(600, 10, M, A)
    assert p.cost_per_source_hour["lambda"] == pytest.approx(p.cost["lambda"] * 6)


def test_one_chunk_of_an_hour_does_not_fit_in_a_lambda() -> None:
    p = sm.predict(3600, 1, M, A)
    assert not p.feasible
    assert any("900 s" in b for b in p.blockers)


def test_copying_instead_of_indexing_puts_the_split_back_on_the_critical_path() -> None:
    index = sm.predict(3600, 1000, M, A)
    copy = sm.predict(3600, 1000, M, COPY)
    assert copy.viewable_s - index.viewable_s > 30


def test_the_report_covers_the_grid_the_target_and_the_variants() -> None:
    report = sm.model_report(M, A)
    assert len(report["predictions"]) == len(sm.DURATIONS_S) * len(sm.FANOUTS)
    target = report["target"]
    assert target["fanout"] == 1000
    assert target["viewable_met"] and target["ready_met"] and target["feasible"]
    variants = {v["variant"]: v for v in report["variants_1h_1000"]}
    assert variants["as built"]["built"] and variants["as built"]["target_met"]
    assert variants["as built"]["viewable_s"] == target["viewable_s"]
    assert variants["copy split (fallback for unindexed containers)"]["built"]
    assert variants["1,769 MB chunk workers"]["built"]
    unbuilt = {name for name, v in variants.items() if not v["built"]}
    assert unbuilt == {
        "single Moderate over the whole source",
        "Express children instead of Standard",
        "thumbnails beside pass 2",
        "Express + thumbnails beside pass 2 + 1,769 MB workers",
    }
    # the viewable target rests on the Rekognition quota: 300 frames at 10 TPS take 30 s
    assert not variants["Rekognition quota 10 TPS instead of 50"]["target_met"]
    assert not variants["single Moderate over the whole source"]["feasible"]
    assert all(v["status"] for v in variants.values())
    copy_grid = report["copy_split_grid"]
    assert len(copy_grid) == len(report["predictions"])
    assert all(any("/tmp" in b for b in c["blockers"]) for c in copy_grid if c["duration_s"] == 4 * 3600)
    # the settings' defaults: 60 s chunks, at most 1000 at a time
    defaults = report["defaults_60s_chunks"]
    assert [(d["chunk_s"], d["chunks"]) for d in defaults] == [(60, 10), (60, 60), (60, 240)]
    assert all(entry["source"] for entry in report["assumptions"].values())
    text = sm.format_report(report)
    assert "Target (1 h at 1000-way)" in text and "met" in text
    assert sm.Measured.from_dict(report["measured"]) == M


# Measurement helpers --------------------------------------------------------------------------


def test_stored_measurements_without_the_new_inputs_are_refused() -> None:
    old = {k: v for k, v in M.to_dict().items() if k != "audio_cpu_s_per_source_s"}
    assert sm.Measured.missing_fields(old) == ["audio_cpu_s_per_source_s"]
    with pytest.raises(ValueError, match="audio_cpu_s_per_source_s"):
        sm.Measured.from_dict(old)


def test_a_fixed_cost_and_a_slope_through_two_runs() -> None:
    assert sm.fit_fixed_and_slope(1.0, 4, 1.8, 8) == pytest.approx((0.2, 0.2))
    assert sm.fit_fixed_and_slope(1.0, 4, 0.9, 8) == pytest.approx((0.0, 0.9 / 8))  # noise: all slope
    with pytest.raises(ValueError):
        sm.fit_fixed_and_slope(1.0, 8, 2.0, 4)


def test_mp4_box_sizes_reads_the_top_level_headers(tmp_path: Path) -> None:
    path = tmp_path / "x.mp4"
    ftyp = struct.pack(">I4s", 16, b"ftyp") + b"isom" + b"\0" * 4
    moov = struct.pack(">I4s", 1000, b"moov") + b"\0" * 992
    mdat = struct.pack(">I4sQ", 1, b"mdat", 40) + b"\0" * 24  # a 64-bit size
    free = struct.pack(">I4s", 0, b"free") + b"\0" * 12  # size 0: to the end of the file
    path.write_bytes(ftyp + moov + mdat + free)
    assert sm.mp4_box_sizes(path) == {"ftyp": 16, "moov": 1000, "mdat": 40, "free": 20}
    path.write_bytes(ftyp + struct.pack(">I4s", 4, b"moov"))
    with pytest.raises(ValueError):
        sm.mp4_box_sizes(path)
