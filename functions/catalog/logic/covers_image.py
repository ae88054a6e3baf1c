"""Cover and backdrop images: untrusted bytes in, metadata-free WebP renditions out (Pillow).

The upload is hostile until proven otherwise. In order:

1. Size: more than ``max_bytes`` is refused before Pillow sees a byte (``too_large``).
2. Identify: only the decoders we accept may look at it (JPEG, PNG, WebP, GIF), so the
   formats Pillow hands to external programs (EPS runs Ghostscript) or that are rarely
   exercised never parse hostile input. Anything else is ``not_an_image``.
3. Dimensions: ``Image.open`` reads the header only. A header declaring more than
   ``MAX_PIXELS`` pixels is a decompression bomb (a few KB of PNG can declare 30000x30000):
   Pillow raises ``DecompressionBombError`` above twice ``Image.MAX_IMAGE_PIXELS`` and warns
   above it; the warning is turned into an error, and the size is checked here as well, so
   nothing is decoded and no pixel buffer is allocated (``decompression_bomb``).
4. ``verify()`` (checksums of PNG chunks, structure), then a fresh open and a full decode:
   truncated or corrupt data ends as ``corrupt_image``.
5. EXIF orientation is applied to the pixels, then every piece of metadata is dropped: the
   renditions are built from pixels only and saved without EXIF (GPS), XMP or ICC. An
   embedded ICC profile is first converted to sRGB (which a WebP without a profile means),
   so colours survive the stripping.
6. WebP renditions at ``WIDTHS`` below the source width, plus the source width itself when it is
   smaller than the widest: never upscaled.

Reasons (``ImageRejected.reason``): ``covers_contract.REJECTION_REASONS``.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from functions.catalog.logic.covers_contract import MAX_COVER_BYTES
from functions.shared.errors import MediaRejected

WIDTHS: tuple[int, ...] = (320, 640, 1280)
MAX_BYTES = MAX_COVER_BYTES
# 40 megapixels: an 8000x5000 photo. Decoding it as RGBA takes 160 MB.
MAX_PIXELS = 40_000_000
# Renditions are sized by width; a strip thinner than this ratio would make absurd heights.
MAX_ASPECT_RATIO = 8.0
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
WEBP_QUALITY = 80
WEBP_METHOD = 4  # 0 (fast) .. 6 (small); 4 is libwebp's default trade-off
CONTENT_TYPE = "image/webp"

# Pillow's own guard, consulted by Image.open on every header it reads in this process.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

_SRGB = ImageCms.createProfile("sRGB")


class ImageRejected(MediaRejected):
    """The upload is not an acceptable image; ``reason`` is one of the module's reasons."""


@dataclass(frozen=True)
class Rendition:
    width: int
    height: int
    data: bytes
    content_type: str = CONTENT_TYPE


@dataclass(frozen=True)
class RenderedImage:
    source_format: str
    # As decoded, after EXIF orientation: a big JPEG is decoded at 1/2, 1/4 or 1/8 of its size
    # (DCT scaling), never below the widest rendition.
    source_width: int
    source_height: int
    renditions: tuple[Rendition, ...]


def rendition_widths(source_width: int, widths: Sequence[int] = WIDTHS) -> list[int]:
    """The widths to render, ascending: each configured width below the source's, topped by the
    source width capped at the widest configured one. Never wider than the source."""
    if source_width < 1 or not widths:
        raise ValueError("need a positive source width and at least one target width")
    top = min(source_width, max(widths))
    return sorted({w for w in widths if w < top} | {top})


def render_image(
    data: bytes,
    *,
    widths: Sequence[int] = WIDTHS,
    max_bytes: int = MAX_BYTES,
    max_pixels: int = MAX_PIXELS,
) -> RenderedImage:
    """Check ``data`` and make its WebP renditions; raise ``ImageRejected`` with the reason."""
    if len(data) > max_bytes:
        raise ImageRejected("too_large", f"the image is {len(data)} bytes; the limit is {max_bytes}")
    if not data:
        raise ImageRejected("not_an_image", "the upload is empty")
    with warnings.catch_warnings():
        # DecompressionBombWarning (pixels above MAX_IMAGE_PIXELS) is a refusal, not a note.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        source_format = _identify(data, max_pixels)
        image = _decode(data, max(widths))
    try:
        upright = ImageOps.exif_transpose(image) or image
    except Exception:  # a malformed EXIF block: keep the pixels as stored
        upright = image
    del image  # each step lets go of the previous copy of the pixels
    pixels = _pixels_in_srgb(upright)
    del upright
    renditions = _renditions(pixels, rendition_widths(pixels.width, widths))
    return RenderedImage(
        source_format=source_format,
        source_width=pixels.width,
        source_height=pixels.height,
        renditions=renditions,
    )


def _identify(data: bytes, max_pixels: int) -> str:
    """Header only: the format, once the declared size passed; nothing is decoded here."""
    try:
        with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as probe:
            fmt, (width, height) = str(probe.format), probe.size
            if width * height > max_pixels:
                raise ImageRejected(
                    "decompression_bomb",
                    f"the image declares {width}x{height} pixels; the limit is {max_pixels} pixels",
                )
            if max(width, height) > MAX_ASPECT_RATIO * max(1, min(width, height)):
                raise ImageRejected(
                    "unsupported_dimensions", f"{width}x{height} is narrower than 1:{MAX_ASPECT_RATIO:g}"
                )
            probe.verify()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected("decompression_bomb", str(exc)) from exc
    except UnidentifiedImageError as exc:
        raise ImageRejected(
            "not_an_image", f"not a {', '.join(ACCEPTED_FORMATS[:-1])} or {ACCEPTED_FORMATS[-1]} image"
        ) from exc
    except ImageRejected:
        raise
    except Exception as exc:  # verify(): bad checksums, broken structure
        raise ImageRejected("corrupt_image", f"the image is damaged: {exc}") from exc
    return fmt


def _decode(data: bytes, widest: int) -> Image.Image:
    """A fresh open (``verify`` leaves its image unusable) and the full decode of frame 0.

    A JPEG's decoder can scale by 1/2, 1/4 or 1/8 as it decodes: ``draft`` picks the smallest
    scale that keeps both sides at least ``widest`` (so any orientation still covers the widest
    rendition). A 40 Mpx photo then takes a quarter of the memory and time.
    """
    try:
        image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
        if image.format == "JPEG":
            image.draft(image.mode, (widest, widest))
        image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected("decompression_bomb", str(exc)) from exc
    except Exception as exc:  # truncated data, a decoder error
        raise ImageRejected("corrupt_image", f"the image data cannot be decoded: {exc}") from exc
    return image


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info


def _pixels_in_srgb(image: Image.Image) -> Image.Image:
    """RGB or RGBA pixels in sRGB, and nothing else: no EXIF, XMP, ICC or comments."""
    target = "RGBA" if _has_alpha(image) else "RGB"
    icc = image.info.get("icc_profile")
    converted: Image.Image | None = None
    if icc and image.mode in ("RGB", "RGBA", "CMYK", "L"):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            out_mode = "RGBA" if image.mode == "RGBA" else "RGB"
            converted = ImageCms.profileToProfile(image, source, _SRGB, outputMode=out_mode)
        except (ImageCms.PyCMSError, OSError, ValueError):
            converted = None  # an unusable profile: treat the pixels as sRGB
    # convert() always returns a new image; emptying its ``info`` leaves behind whatever the
    # decoder read (EXIF, XMP, ICC, comments). The WebP encoder writes only what save() is given.
    pixels = (converted or image).convert(target)
    pixels.info = {}
    return pixels


def _renditions(pixels: Image.Image, widths: Sequence[int]) -> tuple[Rendition, ...]:
    """Widest first, each smaller one scaled from the one before it (a fraction of the pixels to
    filter); ``reducing_gap`` lets a large source shrink by a fast integer box reduction first."""
    made: list[Rendition] = []
    source = pixels
    for width in sorted(widths, reverse=True):
        height = max(1, round(pixels.height * width / pixels.width))
        if (width, height) != source.size:
            source = source.resize((width, height), Image.Resampling.LANCZOS, reducing_gap=3.0)
        made.append(_webp(source))
    return tuple(reversed(made))


def _webp(image: Image.Image) -> Rendition:
    out = io.BytesIO()
    image.save(out, format="WEBP", quality=WEBP_QUALITY, method=WEBP_METHOD, exif=b"", xmp=b"")
    return Rendition(width=image.width, height=image.height, data=out.getvalue())
