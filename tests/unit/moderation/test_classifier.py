from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pytest
from botocore.stub import Stubber

from functions.moderation.logic import classifier as classifier_module
from functions.moderation.logic.classifier import (
    NUDENET_CLASSES,
    FrameScore,
    NudeNetClassifier,
    RekognitionClassifier,
    classifier_from_settings,
    decide,
)
from functions.moderation.logic.frames import SampledFrame, sample_frames
from functions.shared.errors import MediaFailed, TransientError
from functions.shared.settings import Settings

# --- decide -----------------------------------------------------------------------------------


def _scores(*frames: dict[str, float]) -> list[FrameScore]:
    return [FrameScore(t=float(i), labels=labels) for i, labels in enumerate(frames)]


def test_nothing_flagged_passes() -> None:
    result = decide(_scores({}, {"explicit_nudity": 0.2}, {"suggestive": 0.59}))
    assert (result.check, result.verdict, result.findings) == ("frames", "pass", [])


def test_exactly_at_the_threshold_rejects() -> None:
    result = decide(_scores({"explicit_nudity": 0.1}, {"explicit_nudity": 0.82}), threshold=0.82)
    assert result.verdict == "reject"
    assert [f.to_dict() for f in result.findings] == [
        {
            "check": "frames",
            "code": "unsafe_frames",
            "evidence": {"frames": [{"t": 1.0, "labels": {"explicit_nudity": 0.82}}], "flagged_frames": 1},
        }
    ]


def test_between_the_thresholds_asks_for_review() -> None:
    result = decide(
        _scores({"explicit_nudity": 0.81999}, {"Violence": 0.6}), threshold=0.82, review_threshold=0.6
    )
    assert result.verdict == "review"
    [finding] = result.findings
    assert finding.code == "needs_review"
    assert finding.evidence["frames"] == [
        {"t": 0.0, "labels": {"explicit_nudity": 0.82}},
        {"t": 1.0, "labels": {"Violence": 0.6}},
    ]


def test_just_below_the_review_threshold_passes() -> None:
    assert decide(_scores({"explicit_nudity": 0.5999}), review_threshold=0.6).verdict == "pass"


def test_a_reject_only_reports_the_frames_and_labels_over_the_threshold() -> None:
    result = decide(
        _scores({"a": 0.7}, {"a": 0.9, "b": 0.65, "c": 0.1}, {"b": 0.95}),
        threshold=0.82,
        review_threshold=0.6,
    )
    assert result.verdict == "reject"
    [finding] = result.findings
    assert finding.evidence == {
        "frames": [{"t": 1.0, "labels": {"a": 0.9}}, {"t": 2.0, "labels": {"b": 0.95}}],
        "flagged_frames": 2,
    }


def test_evidence_is_capped_to_the_worst_frames_in_time_order() -> None:
    scores = [FrameScore(t=float(i), labels={"x": 0.83 + i / 1000}) for i in range(50)]
    result = decide(scores, max_evidence_frames=3)
    [finding] = result.findings
    assert [frame["t"] for frame in finding.evidence["frames"]] == [47.0, 48.0, 49.0]
    assert finding.evidence["flagged_frames"] == 50


def test_a_review_threshold_above_the_threshold_means_no_grey_band() -> None:
    assert decide(_scores({"x": 0.7}), threshold=0.65, review_threshold=0.9).verdict == "reject"
    assert decide(_scores({"x": 0.6}), threshold=0.65, review_threshold=0.9).verdict == "pass"


# --- Rekognition ------------------------------------------------------------------------------


@pytest.fixture
def jpeg_frames(tmp_path: Path) -> list[SampledFrame]:
    frames = []
    for i in range(2):
        path = tmp_path / f"frame_{i:05d}.jpg"
        path.write_bytes(b"\xff\xd8 fake jpeg %d" % i)
        frames.append(SampledFrame(t=i * 1.5, path=path))
    return frames


def _label(name: str, confidence: float, parent: str = "", level: int = 1) -> dict[str, Any]:
    return {"Name": name, "Confidence": confidence, "ParentName": parent, "TaxonomyLevel": level}


def test_rekognition_scores_each_frame_and_keeps_parents(jpeg_frames: list[SampledFrame]) -> None:
    client = boto3.client("rekognition", region_name="us-east-1")
    stub = Stubber(client)
    stub.add_response(
        "detect_moderation_labels",
        {"ModerationLabels": [], "ModerationModelVersion": "7.0"},
        {"Image": {"Bytes": jpeg_frames[0].path.read_bytes()}, "MinConfidence": 50.0},
    )
    stub.add_response(
        "detect_moderation_labels",
        {
            "ModerationLabels": [
                _label("Explicit Nudity", 91.5),
                _label("Graphic Male Nudity", 91.5, "Explicit Nudity", 2),
                _label("Suggestive", 97.0),
                _label("Female Swimwear Or Underwear", 97.0, "Suggestive", 2),
                _label("Alcohol", 88.0),
            ],
            "ModerationModelVersion": "6.1",
        },
        {"Image": {"Bytes": jpeg_frames[1].path.read_bytes()}, "MinConfidence": 50.0},
    )
    with stub:
        scores = RekognitionClassifier(client, max_workers=1).classify(jpeg_frames)
    stub.assert_no_pending_responses()

    assert scores[0] == FrameScore(t=0.0, labels={}, parents={})
    # Suggestive (and what is under it) and Alcohol are ignored by default.
    assert scores[1].labels == {"Explicit Nudity": 0.915, "Graphic Male Nudity": 0.915}
    assert scores[1].parents == {"Graphic Male Nudity": "Explicit Nudity"}
    result = decide(scores, threshold=0.82)
    assert result.verdict == "reject"
    [finding] = result.findings
    assert finding.code == "unsafe_frames"
    assert finding.evidence == {
        "frames": [
            {
                "t": 1.5,
                "labels": {"Explicit Nudity": 0.915, "Graphic Male Nudity": 0.915},
                "parents": {"Graphic Male Nudity": "Explicit Nudity"},
            }
        ],
        "flagged_frames": 1,
    }


def test_rekognition_can_count_every_category(jpeg_frames: list[SampledFrame]) -> None:
    client = boto3.client("rekognition", region_name="us-east-1")
    stub = Stubber(client)
    stub.add_response(
        "detect_moderation_labels",
        {"ModerationLabels": [_label("Suggestive", 70.0), _label("Alcohol", 65.0)]},
        {"Image": {"Bytes": jpeg_frames[0].path.read_bytes()}, "MinConfidence": 60.0},
    )
    with stub:
        [score] = RekognitionClassifier(client, min_confidence=60.0, ignored_categories=()).classify(
            jpeg_frames[:1]
        )
    assert score.labels == {"Suggestive": 0.7, "Alcohol": 0.65}
    assert decide([score]).verdict == "review"


def test_rekognition_throttling_is_transient_and_bad_images_fail(jpeg_frames: list[SampledFrame]) -> None:
    client = boto3.client("rekognition", region_name="us-east-1")
    stub = Stubber(client)
    stub.add_client_error("detect_moderation_labels", service_error_code="ThrottlingException")
    stub.add_client_error("detect_moderation_labels", service_error_code="InvalidImageFormatException")
    with stub:
        classifier = RekognitionClassifier(client, max_workers=1)
        with pytest.raises(TransientError):
            classifier.classify(jpeg_frames[:1])
        with pytest.raises(MediaFailed, match="frame_classification_failed"):
            classifier.classify(jpeg_frames[:1])


class _FakeRekognition:
    def __init__(self) -> None:
        self.seen: list[bytes] = []

    def detect_moderation_labels(self, *, Image: dict[str, bytes], MinConfidence: float) -> dict[str, Any]:
        self.seen.append(Image["Bytes"])
        return {"ModerationLabels": [_label("Violence", float(len(self.seen)))]}


def test_rekognition_in_parallel_keeps_the_frame_order(tmp_path: Path) -> None:
    frames = []
    for i in range(12):
        path = tmp_path / f"f{i}.jpg"
        path.write_bytes(bytes([i]))
        frames.append(SampledFrame(t=float(i), path=path))
    fake = _FakeRekognition()
    scores = RekognitionClassifier(fake, max_workers=4).classify(frames)
    assert [s.t for s in scores] == [float(i) for i in range(12)]
    assert sorted(fake.seen) == [bytes([i]) for i in range(12)]


# --- NudeNet ----------------------------------------------------------------------------------


def test_nudenet_class_order_is_the_installed_one() -> None:
    import nudenet.nudenet as nn

    assert tuple(vars(nn)["__labels"]) == NUDENET_CLASSES


def _raw(*boxes: dict[str, float]) -> np.ndarray:
    """A fabricated model output: 4 box rows + one row per class, one column per box."""
    raw = np.zeros((4 + len(NUDENET_CLASSES), len(boxes)), dtype=np.float32)
    for column, scores in enumerate(boxes):
        raw[0:4, column] = (20 + 40 * column, 20, 10, 10)  # small boxes apart: no NMS overlap
        for name, value in scores.items():
            raw[4 + NUDENET_CLASSES.index(name), column] = value
    return raw


def test_nudenet_mapping_of_classes_to_labels() -> None:
    labels = NudeNetClassifier(detector=object()).labels_from_output(
        _raw(
            {"FEMALE_BREAST_EXPOSED": 0.7},
            {"BUTTOCKS_EXPOSED": 0.9},
            {"FACE_FEMALE": 0.95, "ANUS_EXPOSED": 0.94},  # the box is a face: its best class wins
            {"BUTTOCKS_COVERED": 0.8},
            {"FEET_EXPOSED": 0.99},
            {"MALE_GENITALIA_EXPOSED": 0.19},  # under NudeNet's own 0.2 floor
        )
    )
    assert labels == pytest.approx({"explicit_nudity": 0.9, "suggestive": 0.4})


def test_nudenet_scores_match_its_own_post_processing() -> None:
    import nudenet.nudenet as nn

    raw = _raw({"FEMALE_GENITALIA_EXPOSED": 0.88}, {"FACE_MALE": 0.6}, {"BELLY_COVERED": 0.3})
    detections = vars(nn)["_postprocess"]([raw[None, ...]], 0, 0, 1, 1, 320, 320, 320, 320)
    assert {d["class"]: round(d["score"], 4) for d in detections} == {
        "FEMALE_GENITALIA_EXPOSED": 0.88,
        "FACE_MALE": 0.6,
        "BELLY_COVERED": 0.3,
    }
    assert NudeNetClassifier(detector=object()).labels_from_output(raw) == pytest.approx(
        {"explicit_nudity": 0.88}
    )


def test_nudenet_passes_a_test_pattern(pattern_clip: Path, tmp_path: Path) -> None:
    frames = sample_frames(
        str(pattern_clip), tmp_path, duration=3, fps=1, scene_threshold=0.4, max_samples=10, timeout=60
    )
    scores = NudeNetClassifier().classify(frames)
    assert [s.t for s in scores] == [f.t for f in frames]
    assert decide(scores).verdict == "pass"
    assert all(value < 0.6 for s in scores for value in s.labels.values())


def test_nudenet_detector_is_loaded_once() -> None:
    assert classifier_module.nudenet_detector() is classifier_module.nudenet_detector()


def test_nudenet_missing_frame_is_a_media_failure(tmp_path: Path) -> None:
    with pytest.raises(MediaFailed, match="frame_classification_failed"):
        NudeNetClassifier(detector=object()).classify([SampledFrame(t=0.0, path=tmp_path / "gone.jpg")])


# --- wiring -----------------------------------------------------------------------------------


def test_classifier_from_settings() -> None:
    made: list[str] = []

    def factory(service: str) -> object:
        made.append(service)
        return object()

    rekognition = classifier_from_settings(Settings(FRAME_CLASSIFIER="rekognition"), factory)
    assert isinstance(rekognition, RekognitionClassifier)
    assert made == ["rekognition"]
    local = classifier_from_settings(Settings(FRAME_CLASSIFIER="nudenet"), factory)
    assert isinstance(local, NudeNetClassifier)
    assert made == ["rekognition"]  # no AWS client for the local model
    with pytest.raises(ValueError, match="unknown frame classifier"):
        classifier_from_settings(Settings(FRAME_CLASSIFIER="magic"), factory)
