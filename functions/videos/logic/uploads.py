"""Upload targets: a presigned PUT for ordinary files, presigned multipart parts for large ones."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from functions.shared.aws import client
from functions.shared.errors import PayloadTooLarge
from functions.shared.settings import Settings
from functions.videos.models import UploadPart, UploadTarget

S3_MAX_PARTS = 10_000


def _expiry(settings: Settings) -> str:
    return (datetime.now(UTC) + timedelta(seconds=settings.upload_url_ttl_seconds)).isoformat(
        timespec="seconds"
    )


def _part_length(number: int, part_size: int, size_bytes: int) -> int:
    return min(part_size, size_bytes - (number - 1) * part_size)


def check_size(size_bytes: int | None, settings: Settings) -> None:
    if size_bytes is not None and size_bytes > settings.max_upload_bytes:
        raise PayloadTooLarge(
            f"the file is {size_bytes} bytes; the limit is {settings.max_upload_bytes} bytes",
            code="upload_too_large",
        )


def upload_target(*, key: str, size_bytes: int | None, content_type: str, settings: Settings) -> UploadTarget:
    check_size(size_bytes, settings)
    s3 = client("s3")
    ttl = settings.upload_url_ttl_seconds
    if size_bytes is None or size_bytes < settings.multipart_threshold_bytes:
        # The signature binds what S3 must hold to: the declared length (a body of any other
        # length is a 403) and If-None-Match: * (a second PUT to the key is a 412), so the file
        # that probe checks is the only one the key ever holds.
        params: dict[str, object] = {
            "Bucket": settings.upload_bucket,
            "Key": key,
            "ContentType": content_type,
            "IfNoneMatch": "*",
        }
        headers = {"Content-Type": content_type, "If-None-Match": "*"}
        if size_bytes is not None:
            params["ContentLength"] = size_bytes
            headers["Content-Length"] = str(size_bytes)
        url = s3.generate_presigned_url("put_object", Params=params, ExpiresIn=ttl)
        return UploadTarget(method="PUT", url=url, headers=headers, expires_at=_expiry(settings))

    part_size = max(settings.multipart_part_bytes, math.ceil(size_bytes / S3_MAX_PARTS))
    part_count = math.ceil(size_bytes / part_size)
    created = s3.create_multipart_upload(
        Bucket=settings.upload_bucket, Key=key, ContentType=content_type, ChecksumAlgorithm="SHA256"
    )
    upload_id = created["UploadId"]
    parts = [
        UploadPart(
            part_number=n,
            url=s3.generate_presigned_url(
                "upload_part",
                Params={
                    "Bucket": settings.upload_bucket,
                    "Key": key,
                    "UploadId": upload_id,
                    "PartNumber": n,
                    # Signed: each part must be exactly its share of the declared size.
                    "ContentLength": _part_length(n, part_size, size_bytes),
                },
                ExpiresIn=ttl,
            ),
            # The client computes each part's SHA-256 and sends it; S3 verifies it on receipt.
            headers={
                "x-amz-checksum-sha256": "<base64 SHA-256 of this part>",
                "Content-Length": str(_part_length(n, part_size, size_bytes)),
            },
        )
        for n in range(1, part_count + 1)
    ]
    complete_url = s3.generate_presigned_url(
        "complete_multipart_upload",
        # No If-None-Match needed: completing ends the upload id, so neither its part URLs nor
        # this one can write the key again (NoSuchUpload), and only the API can start another.
        Params={"Bucket": settings.upload_bucket, "Key": key, "UploadId": upload_id},
        ExpiresIn=ttl,
        HttpMethod="POST",
    )
    return UploadTarget(
        method="MULTIPART",
        expires_at=_expiry(settings),
        upload_id=upload_id,
        part_size=part_size,
        parts=parts,
        complete_url=complete_url,
        checksum_algorithm="SHA256",
    )
