"""Covers: the API contract and the limits both sides share (no Pillow here: the API imports it).

A title has two image slots (``models.ImageSlot``): ``cover`` (a poster) and ``backdrop``. Each
is a map in the title's ``images`` attribute, describing the latest upload processed for it:

``{"status": "ready", "upload_id", "updated_at", "url", "width", "height", "renditions": [...]}``
    The upload was accepted; ``renditions`` are WebP files ``{"width", "height", "url", "key"}``
    (ascending width), ``url``/``width``/``height`` are the widest.
``{"status": "rejected", "upload_id", "updated_at", "reason", "message", ...}``
    The upload was refused (``REJECTION_REASONS``). The image shown before, if any, stays:
    its ``url``, ``width``, ``height`` and ``renditions`` are carried over.

An upload's id orders uploads in time (the moment it was requested); the renderer never records
an upload over a newer one. A client that uploaded polls the title until
``images.<kind>.upload_id`` is its own upload id, then reads ``status``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from functions.catalog.models import ImageSlot
from functions.shared.schema import ApiModel

MAX_COVER_BYTES = 20 * 1024 * 1024
ACCEPTED_CONTENT_TYPES = ("image/jpeg", "image/png", "image/webp", "image/gif")
REJECTION_REASONS = (
    "too_large",  # more bytes than MAX_COVER_BYTES
    "not_an_image",  # not a JPEG, PNG, WebP or GIF (or empty)
    "decompression_bomb",  # declares more pixels than the renderer decodes
    "corrupt_image",  # looks like an image, but its data is damaged or truncated
    "unsupported_dimensions",  # thinner than 1:8 either way
)

ContentType = Literal["image/jpeg", "image/png", "image/webp", "image/gif"]


class CoverUploadRequest(ApiModel):
    model_config = ConfigDict(extra="forbid")

    kind: ImageSlot = Field(description="Which image of the title: cover (poster) or backdrop")
    content_type: ContentType = Field(description="The file's media type; the upload must send the same")
    size: int = Field(gt=0, description="The file's size in bytes; the upload may not exceed it")


class CoverUploadTarget(ApiModel):
    """An HTML-form-style POST to S3: send ``fields`` first, then the file as the ``file`` field."""

    method: Literal["POST"] = "POST"
    url: str
    fields: dict[str, str]
    max_bytes: int = Field(description="S3 refuses a larger file (the declared size)")
    expires_at: str


class CoverUploadResponse(ApiModel):
    title_id: str
    kind: ImageSlot
    upload_id: str = Field(description="Shows up as images.<kind>.upload_id once the upload is processed")
    upload: CoverUploadTarget
