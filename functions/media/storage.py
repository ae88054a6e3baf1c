"""S3 access for the media steps: presigned reads for ffmpeg, parallel uploads, prefix deletes."""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError, ConnectionError, EndpointConnectionError

from functions.shared.aws import client
from functions.shared.errors import TransientError
from functions.shared.threads import ContextThreadPoolExecutor

CONTENT_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".ts": "video/mp2t",
    ".m4s": "video/iso.segment",
    ".vtt": "text/vtt",
    ".jpg": "image/jpeg",
    ".json": "application/json",
}
_TRANSIENT_CODES = {"SlowDown", "Throttling", "ThrottlingException", "RequestTimeout", "InternalError", "503"}


@contextmanager
def transient_aws_errors() -> Iterator[None]:
    """Turn throttling and connection drops into TransientError, which the state machine retries."""
    try:
        yield
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _TRANSIENT_CODES:
            raise TransientError(str(exc)) from exc
        raise
    except (EndpointConnectionError, ConnectionError) as exc:
        raise TransientError(str(exc)) from exc


def _version(version_id: str | None) -> dict[str, str]:
    return {"VersionId": version_id} if version_id else {}


def object_size(bucket: str, key: str, version_id: str | None = None) -> int:
    return int(client("s3").head_object(Bucket=bucket, Key=key, **_version(version_id))["ContentLength"])


def presigned_get(bucket: str, key: str, expires: int = 3600, *, version_id: str | None = None) -> str:
    """ffmpeg and ffprobe stream the source over HTTPS: no copy to local disk first. With
    ``version_id`` the URL reads that version of the key only (the video's fixed source)."""
    return str(
        client("s3").generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": key, **_version(version_id)}, ExpiresIn=expires
        )
    )


def upload_directory(local_dir: Path, bucket: str, prefix: str, *, workers: int = 16) -> list[str]:
    s3 = client("s3")
    files = sorted(p for p in local_dir.rglob("*") if p.is_file())

    def put(path: Path) -> str:
        key = prefix + path.relative_to(local_dir).as_posix()
        ctype = (
            CONTENT_TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        )
        with path.open("rb") as body:
            s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=ctype)
        return key

    with ContextThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(put, files))


def download_hls_as_ts(bucket: str, playlist_key: str, dest: Path, *, workers: int = 16) -> Path:
    """Fetch an HLS MPEG-TS rendition and join its segments into one file (TS concatenates)."""
    s3 = client("s3")
    playlist = s3.get_object(Bucket=bucket, Key=playlist_key)["Body"].read().decode()
    base = playlist_key.rsplit("/", 1)[0] + "/"
    segment_keys = [
        base + line.strip() for line in playlist.splitlines() if line.strip() and not line.startswith("#")
    ]

    def fetch(segment_key: str) -> bytes:
        data: bytes = s3.get_object(Bucket=bucket, Key=segment_key)["Body"].read()
        return data

    with ContextThreadPoolExecutor(max_workers=workers) as pool, dest.open("wb") as out:
        for data in pool.map(fetch, segment_keys):  # map keeps the playlist order
            out.write(data)
    return dest


def delete_prefix(bucket: str, prefix: str) -> int:
    """Delete every object under ``prefix``; safe to repeat. Returns how many were deleted."""
    s3 = client("s3")
    deleted = 0
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        keys = [{"Key": obj["Key"]} for obj in page.get("Contents", [])]
        for start in range(0, len(keys), 1000):
            batch = keys[start : start + 1000]
            result = s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
            if result.get("Errors"):
                raise TransientError(f"could not delete {len(result['Errors'])} objects under {prefix}")
            deleted += len(batch)
    return deleted


def purge_prefix(bucket: str, prefix: str) -> int:
    """Delete every version and delete marker under ``prefix`` and abort its open multipart uploads:
    in a versioned bucket a plain delete only hides an object behind a marker. Safe to repeat (and
    on an unversioned bucket, whose objects list as version ``null``). Returns how many went."""
    s3 = client("s3")
    deleted = 0
    with transient_aws_errors():
        uploads = s3.get_paginator("list_multipart_uploads")
        for page in uploads.paginate(Bucket=bucket, Prefix=prefix):
            for upload in page.get("Uploads", []):
                with _tolerating("NoSuchUpload"):  # completed or aborted meanwhile
                    s3.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
        versions = s3.get_paginator("list_object_versions")
        for page in versions.paginate(Bucket=bucket, Prefix=prefix):
            entries = [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
            batch = [{"Key": e["Key"], "VersionId": e["VersionId"]} for e in entries]
            for start in range(0, len(batch), 1000):
                chunk = batch[start : start + 1000]
                result = s3.delete_objects(Bucket=bucket, Delete={"Objects": chunk, "Quiet": True})
                if result.get("Errors"):
                    raise TransientError(f"could not delete {len(result['Errors'])} versions under {prefix}")
                deleted += len(chunk)
    return deleted


def count_versions(bucket: str, prefix: str) -> int:
    """Object versions and delete markers under ``prefix`` (what ``purge_prefix`` leaves: none)."""
    paginator = client("s3").get_paginator("list_object_versions")
    return sum(
        len(page.get("Versions", [])) + len(page.get("DeleteMarkers", []))
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix)
    )


@contextmanager
def _tolerating(code: str) -> Iterator[None]:
    try:
        yield
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != code:
            raise


def count_prefix(bucket: str, prefix: str) -> int:
    paginator = client("s3").get_paginator("list_objects_v2")
    return sum(page.get("KeyCount", 0) for page in paginator.paginate(Bucket=bucket, Prefix=prefix))


def put_bytes(
    bucket: str, key: str, body: bytes, *, content_type: str, cache_control: str | None = None
) -> None:
    extra = {"CacheControl": cache_control} if cache_control else {}
    client("s3").put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type, **extra)


def put_json(bucket: str, key: str, value: Any) -> None:
    put_bytes(bucket, key, json.dumps(value, separators=(",", ":")).encode(), content_type="application/json")


def get_json(bucket: str, key: str) -> Any:
    return json.loads(client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())


def get_json_many(bucket: str, keys: list[str], *, workers: int = 32) -> list[Any]:
    """Read many small JSON objects in parallel, in the order given."""
    with ContextThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda key: get_json(bucket, key), keys))


def download_file(bucket: str, key: str, dest: Path) -> Path:
    client("s3").download_file(bucket, key, str(dest))
    return dest
