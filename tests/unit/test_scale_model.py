"""The scale model's arithmetic (tests/bench/scale_model.py) on fixed inputs: no ffmpeg, no AWS.

Chunk rounding, vCPU share by memory, Lambda scaling waves and throttle retries, Map makespans,
worker times and the bill, so that a change which breaks the model fails here.
"""

from __future__ import annotations

import dataclasses

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
    storyboard_fixed_s=0.3,
    storyboard_s_per_source_s=0.01,
)
RATES = sm.ladder_rates(A.source_video_bps, A.source_audio_bps)


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
    # As built the split chooses the Map by chunk count (INLINE_MAP_MAX_CHUNKS), not by fan-out
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


# Workers --------------------------------------------------------------------------------------


def test_ladder_rates_of_a_1080p_source() -> None:
    assert RATES.source_bps == 8_192_000
    assert RATES.pass1_out_bps == 800_000 + 128_000  # 360p
    assert RATES.pass2_out_bps == (5_000_000 + 3_000_000 + 1_500_000) + 3 * 128_000
    assert RATES.pass2_rungs == 3


def test_pass2_worker_time_on_a_warm_10_gb_function() -> None:
    # 10,240 MB: 5.789 vCPUs, 1 + 4.789 * 0.8 = 4.831 effective
    effective = 1 + (10240 / 1769 - 1) * 0.8
    fetch = 4 * 8_192_000 / 8 / 90e6 + 0.03  # 4 s of source, one GET
    encode = 0.5 + 1.5 * 4 / effective  # the fixed part does not parallelise
    upload = 4 * 9_884_000 / 8 / 90e6 + 0.03  # 3 rungs x (1 segment + playlist) = 6 PUTs, 16 at a time
    expected = A.task_overhead_s + fetch + encode + upload
    assert sm.encode_worker_s(2, 4, M, A, RATES, cold=False) == pytest.approx(expected)
    cold = sm.encode_worker_s(2, 4, M, A, RATES, cold=True)
    assert cold - expected == pytest.approx(sm.cold_start_s(M, A))


def test_below_one_vcpu_even_the_fixed_part_slows_down() -> None:
    small = dataclasses.replace(A, worker_memory_mb=884)  # ~0.5 vCPU
    fast = sm.encode_worker_s(1, 8, M, A, RATES, cold=False)
    slow = sm.encode_worker_s(1, 8, M, small, RATES, cold=False)
    vcpus = 884 / 1769
    assert slow - fast == pytest.approx(
        (0.2 + 0.25 * 8) / vcpus - (0.2 + 0.25 * 8 / (1 + (10240 / 1769 - 1) * 0.8))
    )


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


# The bill -------------------------------------------------------------------------------------


def test_lambda_cost_is_gb_seconds_requests_and_extra_ephemeral_storage() -> None:
    calls = [sm.Invocation("a", 1024, 10.0, 3), sm.Invocation("b", 2048, 1.0, 1, ephemeral_mb=1536)]
    requests = {"puts": 1000, "gets": 10_000, "frames": 100}
    cost = sm.cost_breakdown(calls, requests, map_kind="inline", map_children=[(10, 5.0)], a=A)
    gb_s = 1.0 * 10.0 * 3 + 2.0 * 1.0
    assert cost["lambda"] == pytest.approx(gb_s * 0.0000166667 + 4 * 0.2e-6 + 1.0 * 1.0 * 0.0000000309)
    assert cost["step_functions"] == pytest.approx((16 + 10 * 2) * 0.025 / 1000)
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
        16 * 0.025e-3 + 900 * (1e-6 + 0.0625 * 2.4 * 0.00001667)
    )
    standard = sm.cost_breakdown(
        [],
        {"puts": 0, "gets": 0, "frames": 0},
        map_kind="distributed",
        map_children=children,
        a=A,
    )
    assert standard["step_functions"] == pytest.approx((16 + 900 * 3) * 0.025e-3)


def test_request_counts_of_one_hour_at_1000_way() -> None:
    counts = sm.request_counts(3600, 900, 4, 300, 900, RATES, A)
    # split 900 + pass 1 900 x 2 + pass 2 900 x 3 x 2 + 2 + 3 + 1 + 3
    assert counts["puts"] == 900 + 1800 + 5400 + 9
    # probe 3 + moderation 1 (one Lambda streams the source) + chunks 1800 + split 1
    # + stitches 900 + 2700 + thumbnails 900 + 2
    assert counts["gets"] == 3 + 1 + 1800 + 1 + 900 + 2700 + 900 + 2
    assert counts["frames"] == 300
    fanned = sm.request_counts(
        3600, 900, 4, 300, 900, RATES, dataclasses.replace(A, moderation_mode="fanned")
    )
    assert fanned["gets"] - counts["gets"] == 2 * 900 - 1  # every range worker: header + its range


# End to end -----------------------------------------------------------------------------------


def test_one_hour_at_1000_way_adds_up() -> None:
    p = sm.predict(3600, 1000, M, A)
    assert (p.chunk_s, p.chunks, p.map_kind) == (4, 900, "distributed")
    before_viewable = ("ingest", "acquire_slot", "probe", "moderate", "split", "pass1", "stitch_viewable")
    assert p.viewable_s == pytest.approx(sum(p.steps_s[k] for k in before_viewable))
    # As built Thumbnails runs after the final stitch: the tail is a sum, not a max
    tail = p.steps_s["pass2_and_stitch"] + p.steps_s["thumbnails"] + p.steps_s["publish"]
    assert p.ready_s == pytest.approx(p.viewable_s + tail)
    assert p.cost_per_source_hour["pipeline_total"] == pytest.approx(p.cost["pipeline_total"])


def test_as_built_moderate_decodes_the_whole_source_in_one_lambda() -> None:
    p = sm.predict(3600, 1000, M, A)
    # 3,008 MB: 1.70 vCPUs, 1 + 0.70 * 0.8 effective; every frame of the hour decoded
    effective = 1 + (3008 / 1769 - 1) * 0.8
    sampling = 0.15 * 3600 / effective
    classify = 300 / 4 * A.rekognition_latency_s  # 300 frames (the cap), 4 threads
    expected = sm.cold_start_s(M, A) + sampling + classify + A.moderation_verdict_s
    assert p.workers_s["moderate"] == pytest.approx(expected)
    assert [i.count for i in p.invocations if i.name.startswith("moderate")] == [1]
    # sample_frames gets half of what is left of the 600 s timeout: more than that fails the video
    assert sampling > A.moderate_sampling_budget_s
    assert not p.feasible
    assert any("frame sampling" in b for b in p.blockers)
    short = sm.predict(600, 10, M, A)
    assert short.feasible


def test_as_built_split_cuts_into_tmp_then_uploads_chunk_after_chunk() -> None:
    p = sm.predict(3600, 1000, M, A)
    source = 3600 * 8_192_000 / 8
    cpu = source / (1000.0 * 1e6) + A.split_audio_cpu_s_per_source_s * 3600  # copy + the audio
    read = source / 90e6
    expected = sm.cold_start_s(M, A) + A.s3_first_byte_s + max(read, cpu) + source / 90e6 + 900 * 0.03
    assert p.steps_s["split"] == pytest.approx(A.transition_s + A.task_overhead_s + expected)
    streaming = sm.predict(3600, 1000, M, dataclasses.replace(A, split_io_overlap=True))
    assert p.steps_s["split"] - streaming.steps_s["split"] > 30
    # Four hours of chunks (14.4 GB) do not fit in the 10 GB /tmp the split cuts them into
    four = sm.predict(4 * 3600, 1000, M, A)
    assert any("/tmp" in b for b in four.blockers)
    assert not any(
        "/tmp" in b
        for b in sm.predict(4 * 3600, 1000, M, dataclasses.replace(A, split_mode="index")).blockers
    )


def test_thumbnails_beside_pass2_take_the_shorter_of_the_two_off_ready() -> None:
    serial = sm.predict(3600, 1000, M, A)
    beside = sm.predict(3600, 1000, M, dataclasses.replace(A, thumbnails_beside_pass2=True))
    assert serial.viewable_s == pytest.approx(beside.viewable_s)
    shorter = min(serial.steps_s["pass2_and_stitch"], serial.steps_s["thumbnails"])
    assert serial.ready_s - beside.ready_s == pytest.approx(shorter)


def test_fanned_out_moderation_is_a_map_over_ranges() -> None:
    fanned = dataclasses.replace(A, moderation_mode="fanned", sample_cap="global_grid")
    p = sm.predict(3600, 1000, M, fanned)
    names = {i.name: i.count for i in p.invocations}
    assert names["moderate-range"] == 900
    assert names["moderate-verdict"] == 1
    assert p.steps_s["moderate"] < sm.predict(3600, 1000, M, A).steps_s["moderate"] / 5


def test_cost_per_source_hour_scales_by_the_source_length() -> None:
    p = sm.predict(600, 10, M, A)
    assert p.cost_per_source_hour["lambda"] == pytest.approx(p.cost["lambda"] * 6)


def test_one_chunk_of_an_hour_does_not_fit_in_a_lambda() -> None:
    p = sm.predict(3600, 1, M, A)
    assert not p.feasible
    assert any("900 s" in b for b in p.blockers)


def test_indexing_instead_of_copying_removes_the_split_from_the_critical_path() -> None:
    copy = sm.predict(3600, 1000, M, A)
    index = sm.predict(3600, 1000, M, dataclasses.replace(A, split_mode="index"))
    assert copy.viewable_s - index.viewable_s > 30


def test_the_report_covers_the_grid_the_target_and_the_variants() -> None:
    report = sm.model_report(M, A)
    assert len(report["predictions"]) == len(sm.DURATIONS_S) * len(sm.FANOUTS)
    assert report["target"]["fanout"] == 1000
    assert not report["target"]["viewable_met"] and not report["target"]["ready_met"]
    variants = {v["variant"]: v for v in report["variants_1h_1000"]}
    assert variants["as built"]["built"]
    assert variants["as built"]["viewable_s"] == report["target"]["viewable_s"]
    unbuilt = [name for name, v in variants.items() if not v["built"]]
    assert "Express children instead of Standard" in unbuilt
    assert "Moderate fanned out per range, 1 fps per range" in unbuilt
    combined = variants["split by index + global frame grid + Express"]
    assert not combined["built"] and combined["feasible"]
    assert combined["viewable_s"] < sm.TARGET_VIEWABLE_S and combined["ready_s"] < sm.TARGET_READY_S
    # the settings' defaults: 60 s chunks, at most 1000 at a time
    defaults = report["defaults_60s_chunks"]
    assert [(d["chunk_s"], d["chunks"]) for d in defaults] == [(60, 10), (60, 60), (60, 240)]
    assert report["assumptions"]["mb_per_vcpu"]["source"]
    assert all(entry["source"] for entry in report["assumptions"].values())
    text = sm.format_report(report)
    assert "Target (1 h at 1000-way)" in text
    assert sm.Measured.from_dict(report["measured"]) == M
