"""Takedown (DELETE /v1/videos/{id}) against moto: every status, the repeat, who may, and what the
worker, the catalog, the starter, playback and the pipeline's guard make of a DELETED video."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from functions.shared.errors import Conflict
from functions.shared.keys import output_prefix, upload_key
from functions.videos.logic import lifecycle
from functions.videos.logic.takedown_guard import VideoTakenDown, discard_if_taken_down
from functions.videos.models import VideoStatus
from infra import spec
from infra.local.lambda_runtime import invoke
from tests.integration.conftest import Account, ApiCall, sqs_event
from tests.integration.test_ingest import s3_message
from tests.integration.test_profiles import put_video

OWNER = "owner-1"
WORKER = spec.FUNCTIONS_BY_NAME["video-takedown"]
CATALOG = spec.FUNCTIONS_BY_NAME["catalog-takedown"]
STARTER = spec.FUNCTIONS_BY_NAME["ingest-starter"]
MEDIA_KEYS = ("hls/master.m3u8", "hls/720p/seg_00001.ts", "thumbnails/poster.jpg", "work/chunks/c00001.mp4")


def _messages(account: Account, queue: str) -> list[str]:
    """Every message the queue holds now (deleted as read)."""
    sqs = account.client("sqs")
    url = account.queues[queue].url
    bodies: list[str] = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not got:
            return bodies
        for message in got:
            bodies.append(message["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def _with_media(account: Account, video_id: str) -> None:
    """Two versions of the upload, an open multipart upload of it, and outputs under every prefix."""
    s3 = account.client("s3")
    res = account.resources
    key = upload_key(video_id)
    s3.put_object(Bucket=res.upload_bucket, Key=key, Body=b"first")
    s3.put_object(Bucket=res.upload_bucket, Key=key, Body=b"second")
    s3.delete_object(Bucket=res.upload_bucket, Key=key)  # a delete marker on top
    s3.create_multipart_upload(Bucket=res.upload_bucket, Key=key)
    for name in MEDIA_KEYS:
        s3.put_object(Bucket=res.media_bucket, Key=output_prefix(video_id) + name, Body=b"x")


def _left(account: Account, video_id: str) -> dict[str, int]:
    s3 = account.client("s3")
    res = account.resources

    def versions(bucket: str, prefix: str) -> int:
        page = s3.list_object_versions(Bucket=bucket, Prefix=prefix)
        return len(page.get("Versions", [])) + len(page.get("DeleteMarkers", []))

    return {
        "upload_versions": versions(res.upload_bucket, f"uploads/{video_id}/"),
        "multipart_uploads": len(
            s3.list_multipart_uploads(Bucket=res.upload_bucket, Prefix=f"uploads/{video_id}/").get(
                "Uploads", []
            )
        ),
        "media_versions": versions(res.media_bucket, output_prefix(video_id)),
    }


def _record(account: Account, video_id: str) -> dict[str, Any]:
    item = account.client("dynamodb").get_item(
        TableName=account.resources.videos_table, Key={"video_id": {"S": video_id}}, ConsistentRead=True
    )["Item"]
    return {k: next(iter(v.values())) for k, v in item.items()}


def _run_worker(account: Account) -> None:
    bodies = _messages(account, "video-takedown")
    assert bodies, "no video.deleted reached the takedown queue"
    result, errored = invoke(WORKER, sqs_event(*bodies, queue="vod-video-takedown"))
    assert not errored and result == {"batchItemFailures": []}, result


# --- every status --------------------------------------------------------------------------------
@pytest.mark.parametrize("status", sorted(set(VideoStatus) - {VideoStatus.DELETED}))
def test_a_takedown_works_in_every_status_and_leaves_nothing(
    api: ApiCall, account: Account, status: VideoStatus
) -> None:
    # Given a video in `status` with an upload (versions, a delete marker, an open multipart
    # upload) and outputs under its media prefix
    video_id = uuid.uuid4().hex
    put_video(account, video_id, owner=OWNER, status=status.value)
    _with_media(account, video_id)
    assert _left(account, video_id) == {"upload_versions": 3, "multipart_uploads": 1, "media_versions": 4}

    # When its owner takes it down
    resp = api("DELETE", f"/v1/videos/{video_id}", sub=OWNER)

    # Then the record is DELETED, saying who, when and from which status
    assert resp.status == 200, resp.body
    assert resp.body["status"] == "DELETED"
    assert resp.body["deleted_by"] == OWNER
    assert resp.body["deleted_at"].endswith("Z")
    assert resp.body["previous_status"] == status.value
    # ... video.deleted went out with the contract's fields
    [body] = _messages(account, "catalog-video-deleted")
    event = json.loads(body)
    assert event["detail-type"] == "video.deleted"
    assert event["source"] == "vod.videos"
    assert event["detail"] == {
        "video_id": video_id,
        "owner": OWNER,
        "deleted_by": OWNER,
        "deleted_at": resp.body["deleted_at"],
        "previous_status": status.value,
    }
    # ... and once the worker has run, nothing is left under its prefixes, in any version
    _run_worker(account)
    assert _left(account, video_id) == {"upload_versions": 0, "multipart_uploads": 0, "media_versions": 0}
    assert _record(account, video_id)["purged_at"]
    # ... and its CDN paths were invalidated on the distribution
    cloudfront = account.client("cloudfront")
    listed = cloudfront.list_invalidations(DistributionId=account.resources.cdn_distribution_id)
    [item] = listed["InvalidationList"]["Items"]
    asked = cloudfront.get_invalidation(DistributionId=account.resources.cdn_distribution_id, Id=item["Id"])
    assert asked["Invalidation"]["InvalidationBatch"]["Paths"]["Items"] == [f"/videos/{video_id}/*"]


def test_repeating_the_delete_is_harmless_and_emits_no_second_event(api: ApiCall, account: Account) -> None:
    # Given a video taken down once
    video_id = uuid.uuid4().hex
    put_video(account, video_id, owner=OWNER, status="READY")
    first = api("DELETE", f"/v1/videos/{video_id}", sub=OWNER)
    assert first.status == 200
    assert len(_messages(account, "catalog-video-deleted")) == 1

    # When it is deleted again (by its owner, then by an admin)
    again = api("DELETE", f"/v1/videos/{video_id}", sub=OWNER)
    by_admin = api("DELETE", f"/v1/videos/{video_id}", sub="admin-1", role="admin")

    # Then both answer the same DELETED record, and no second event went out
    assert again.status == by_admin.status == 200
    assert again.body["status"] == by_admin.body["status"] == "DELETED"
    assert again.body["deleted_at"] == by_admin.body["deleted_at"] == first.body["deleted_at"]
    assert by_admin.body["deleted_by"] == OWNER  # the first takedown is the one recorded
    assert _messages(account, "catalog-video-deleted") == []
    # ... and the worker, run twice, is as harmless
    _run_worker(account)
    invoke(WORKER, sqs_event(json.dumps(_deleted_event(video_id)), queue="vod-video-takedown"))


def _deleted_event(video_id: str) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "source": "vod.videos",
        "detail-type": "video.deleted",
        "time": "2026-01-01T00:00:00Z",
        "detail": {
            "video_id": video_id,
            "owner": OWNER,
            "deleted_by": OWNER,
            "deleted_at": "2026-01-01T00:00:00.000Z",
            "previous_status": "READY",
        },
    }


# --- who may -------------------------------------------------------------------------------------
def test_only_the_owner_or_an_admin_may_take_a_video_down(api: ApiCall, account: Account) -> None:
    # Given someone's READY video
    video_id = uuid.uuid4().hex
    put_video(account, video_id, owner=OWNER, status="READY")

    # Then another uploader, and a viewer, are refused and change nothing
    other = api("DELETE", f"/v1/videos/{video_id}", sub="someone-else")
    viewer = api("DELETE", f"/v1/videos/{video_id}", sub="a-viewer", role="viewer")
    assert (other.status, other.body["error"]["code"]) == (403, "forbidden")
    assert (viewer.status, viewer.body["error"]["code"]) == (403, "forbidden")
    assert _record(account, video_id)["status"] == "READY"
    assert _messages(account, "catalog-video-deleted") == []
    # ... an unknown or malformed id is a 404
    assert api("DELETE", f"/v1/videos/{uuid.uuid4().hex}", sub=OWNER).status == 404
    assert api("DELETE", "/v1/videos/not-an-id", sub=OWNER).status == 404
    # ... and an admin may take it down, recorded as the one who did
    resp = api("DELETE", f"/v1/videos/{video_id}", sub="admin-1", role="admin")
    assert resp.status == 200
    assert (resp.body["status"], resp.body["deleted_by"]) == ("DELETED", "admin-1")


# --- after the takedown --------------------------------------------------------------------------
def test_the_owner_sees_deleted_and_playback_is_gone(api: ApiCall, account: Account) -> None:
    # Given a public READY video that plays, then is taken down
    video_id = uuid.uuid4().hex
    put_video(account, video_id, owner=OWNER, status="READY", visibility="public")
    assert (
        api("POST", f"/v1/videos/{video_id}/playback", body={}, sub="viewer-1", role="viewer").status == 200
    )
    api("DELETE", f"/v1/videos/{video_id}", sub=OWNER)

    # Then its owner reads the DELETED record (kept for audit); others may not
    shown = api("GET", f"/v1/videos/{video_id}", sub=OWNER)
    assert (shown.status, shown.body["status"]) == (200, "DELETED")
    assert api("GET", f"/v1/videos/{video_id}", sub="viewer-1", role="viewer").status == 403
    # ... and playback is 410 `deleted`, for everyone, its owner included
    for sub, role in ((OWNER, "uploader"), ("viewer-1", "viewer"), ("admin-1", "admin")):
        resp = api("POST", f"/v1/videos/{video_id}/playback", body={}, sub=sub, role=role)
        assert (resp.status, resp.body["error"]["code"]) == (410, "deleted"), (role, resp.body)


def test_a_running_execution_is_stopped(api: ApiCall, account: Account) -> None:
    # Given a PROCESSING video whose execution is running
    video_id = uuid.uuid4().hex
    put_video(account, video_id, owner=OWNER, status="PROCESSING")
    name = f"{video_id}-v-a1"
    sfn = account.client("stepfunctions")
    run = sfn.start_execution(
        stateMachineArn=account.state_machines["media-pipeline"], name=name, input=json.dumps({})
    )
    account.client("dynamodb").update_item(
        TableName=account.resources.videos_table,
        Key={"video_id": {"S": video_id}},
        UpdateExpression="SET execution_name = :n",
        ExpressionAttributeValues={":n": {"S": name}},
    )
    assert sfn.describe_execution(executionArn=run["executionArn"])["status"] == "RUNNING"

    # When it is taken down and the worker runs
    api("DELETE", f"/v1/videos/{video_id}", sub=OWNER)
    _run_worker(account)

    # Then the execution was stopped
    assert sfn.describe_execution(executionArn=run["executionArn"])["status"] == "ABORTED"


def test_the_pipeline_cannot_write_a_deleted_video_again(api: ApiCall, account: Account) -> None:
    # Given a video taken down while PROCESSING
    video_id = uuid.uuid4().hex
    put_video(account, video_id, owner=OWNER, status="PROCESSING")
    api("DELETE", f"/v1/videos/{video_id}", sub=OWNER)

    # Then no move of the pipeline takes it anywhere, and no fact is written onto it
    with pytest.raises(Conflict):
        lifecycle.start_processing(video_id)
    with pytest.raises(Conflict):
        lifecycle.mark_ready(video_id, renditions=[], poster_key="p", storyboard_key="s")
    with pytest.raises(Conflict):
        lifecycle.record_failure(video_id, reason="x", message="y")
    with pytest.raises(Conflict):
        lifecycle.record_probe(video_id, duration_seconds=1.0, width=1, height=1, source={})
    assert lifecycle.count_chunk_done(video_id, preview=True) is None
    assert _record(account, video_id)["status"] == "DELETED"
    # ... and a step that finishes now removes what it wrote and stops there
    s3 = account.client("s3")
    s3.put_object(
        Bucket=account.resources.media_bucket, Key=output_prefix(video_id) + "hls/late.ts", Body=b"x"
    )
    with pytest.raises(VideoTakenDown):
        discard_if_taken_down(video_id)
    assert _left(account, video_id)["media_versions"] == 0


def test_the_guard_lets_a_live_video_through(account: Account) -> None:
    video_id = uuid.uuid4().hex
    put_video(account, video_id, owner=OWNER, status="PROCESSING")
    key = output_prefix(video_id) + "hls/seg.ts"
    account.client("s3").put_object(Bucket=account.resources.media_bucket, Key=key, Body=b"x")
    discard_if_taken_down(video_id)
    assert _left(account, video_id)["media_versions"] == 1


def test_an_upload_arriving_for_a_deleted_video_is_ignored_and_deleted(
    api: ApiCall, account: Account
) -> None:
    # Given a video taken down before its upload arrived
    created = api("POST", "/v1/videos", body={"title": "t"}, sub=OWNER)
    video_id = created.body["id"]
    api("DELETE", f"/v1/videos/{video_id}", sub=OWNER)
    bucket, key = account.resources.upload_bucket, upload_key(video_id)
    put = account.client("s3").put_object(Bucket=bucket, Key=key, Body=b"late")

    # When the upload's event reaches the starter
    body = json.loads(s3_message(bucket, key))
    body["Records"][0]["s3"]["object"]["versionId"] = put["VersionId"]
    result, errored = invoke(STARTER, sqs_event(json.dumps(body)))

    # Then nothing started, the record stays DELETED, and the object is gone
    assert not errored and result == {"batchItemFailures": []}
    sfn = account.client("stepfunctions")
    assert sfn.list_executions(stateMachineArn=account.state_machines["media-pipeline"])["executions"] == []
    assert _record(account, video_id)["status"] == "DELETED"
    assert _left(account, video_id)["upload_versions"] == 0


# --- the catalog ---------------------------------------------------------------------------------
def _title(api: ApiCall, kind: str, **extra: Any) -> dict[str, Any]:
    resp = api(
        "POST",
        "/v1/titles",
        body={"kind": kind, "title": f"A {kind}", "content_rating": "G", **extra},
        sub=OWNER,
    )
    assert resp.status == 201, resp.body
    return dict(resp.body)


def test_the_catalog_unbinds_a_deleted_video_and_keeps_its_titles_consistent(
    api: ApiCall, account: Account
) -> None:
    # Given a published movie playing one video, and a series whose second episode plays another
    movie_video, episode_video, other_video = (uuid.uuid4().hex for _ in range(3))
    for video_id in (movie_video, episode_video, other_video):
        put_video(account, video_id, owner=OWNER, status="READY")
    movie = _title(api, "movie", video_id=movie_video)
    published = api(
        "POST", f"/v1/titles/{movie['id']}/publish", headers={"if-match": f'"{movie["version"]}"'}, sub=OWNER
    )
    assert published.status == 200, published.body
    series = _title(api, "series")
    version = series["version"]
    for path, body in (
        ("seasons", {"number": 1}),
        ("seasons/1/episodes", {"number": 1, "title": "Pilot", "video_id": other_video}),
        ("seasons/1/episodes", {"number": 2, "title": "Second", "video_id": episode_video}),
    ):
        resp = api(
            "POST",
            f"/v1/titles/{series['id']}/{path}",
            body=body,
            headers={"if-match": f'"{version}"'},
            sub=OWNER,
        )
        assert resp.status == 201, resp.body
        version = int(resp.headers["etag"].strip('"'))

    # When both videos are taken down and the catalog hears of it (twice: a redelivery)
    api("DELETE", f"/v1/videos/{movie_video}", sub=OWNER)
    api("DELETE", f"/v1/videos/{episode_video}", sub=OWNER)
    bodies = _messages(account, "catalog-video-deleted")
    assert len(bodies) == 2
    for _ in range(2):
        result, errored = invoke(CATALOG, sqs_event(*bodies, queue="vod-catalog-video-deleted"))
        assert not errored and result == {"batchItemFailures": []}, result

    # Then the movie plays nothing and is no longer published
    movie_now = api("GET", f"/v1/titles/{movie['id']}", sub=OWNER).body
    assert movie_now.get("video_id") is None
    assert movie_now["state"] == "unpublished"
    # ... the series lost that episode only
    shown = api("GET", f"/v1/titles/{series['id']}", sub=OWNER).body
    [season] = shown["seasons"]
    assert [(e["number"], e["video_id"]) for e in season["episodes"]] == [(1, other_video)]
    # ... and a taken-down video cannot be bound again
    again = api(
        "PATCH",
        f"/v1/titles/{movie['id']}",
        body={"video_id": movie_video},
        headers={"if-match": f'"{movie_now["version"]}"'},
        sub=OWNER,
    )
    assert (again.status, again.body["error"]["code"]) == (422, "validation_failed"), again.body
