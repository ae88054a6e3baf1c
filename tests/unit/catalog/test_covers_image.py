"""Cover images: hostile bytes in, metadata-free WebP renditions out (catalog.logic.covers_image)."""

from __future__ import annotations

import io
import resource
import struct
import zlib
from typing import Any

import pytest
from PIL import ExifTags, Image, ImageCms, ImageFile

from functions.catalog.logic.covers_image import (
    MAX_PIXELS,
    ImageRejected,
    render_image,
    rendition_widths,
)


def photo_with_gps(size: tuple[int, int] = (1600, 900), *, orientation: int = 6) -> bytes:
    """A JPEG as a phone writes it: EXIF with the camera, an orientation tag and a GPS position."""
    image = Image.new("RGB", size, (200, 30, 30))
    image.paste((20, 40, 220), (0, 0, size[0] // 2, size[1]))  # left half blue: shows the rotation
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "TestCam"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (48.0, 51.0, 30.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (2.0, 17.0, 40.0)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, exif=exif, comment=b"taken at home")
    data = out.getvalue()
    with Image.open(io.BytesIO(data)) as check:  # the fixture really carries what the test strips
        assert check.getexif().get_ifd(ExifTags.IFD.GPSInfo)[ExifTags.GPS.GPSLatitude] == (48.0, 51.0, 30.0)
    return data


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_declaring(width: int, height: int) -> bytes:
    """A tiny, well-formed PNG whose header declares ``width`` x ``height`` 8-bit grey pixels; its
    data is a few zero rows (the rest would decompress from nothing: the bomb's trick)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (width + 1) * 4, 9)
    return (
        b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", rows) + png_chunk(b"IEND", b"")
    )


def pixel(image: Image.Image, xy: tuple[int, int]) -> tuple[int, ...]:
    value = image.getpixel(xy)
    assert isinstance(value, tuple)
    return value


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@pytest.fixture
def no_decoding(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Records every pixel buffer a decoder would allocate (ImageFile.load_prepare) and refuses it."""
    allocations: list[tuple[int, int]] = []

    def refuse(self: ImageFile.ImageFile) -> None:
        allocations.append(self.size)
        raise AssertionError(f"a {self.size} pixel buffer was about to be allocated")

    monkeypatch.setattr(ImageFile.ImageFile, "load_prepare", refuse)
    return allocations


def test_a_jpeg_with_exif_and_gps_becomes_webp_renditions_without_metadata() -> None:
    # Given a 1600x900 JPEG whose EXIF says "rotate 90 degrees clockwise" and holds a GPS position
    data = photo_with_gps()

    # When it is rendered
    rendered = render_image(data)

    # Then the orientation is applied (the picture is now 900 wide and 1600 high) ...
    assert (rendered.source_format, rendered.source_width, rendered.source_height) == ("JPEG", 900, 1600)
    # ... the renditions are WebP at 320 and 640 and at the source width (900: never upscaled to 1280)
    assert [r.width for r in rendered.renditions] == [320, 640, 900]
    for rendition in rendered.renditions:
        image = opened(rendition.data)
        assert image.format == "WEBP" and rendition.content_type == "image/webp"
        assert image.size == (rendition.width, rendition.height)
        assert rendition.height == round(rendition.width * 1600 / 900)
        # And they carry no metadata at all: no EXIF (so no GPS), no XMP, no ICC, no comment
        assert len(image.getexif()) == 0
        assert not {"exif", "xmp", "icc_profile", "comment"} & set(image.info)
        for chunk in (b"EXIF", b"XMP ", b"ICCP"):
            assert chunk not in rendition.data
        assert b"TestCam" not in rendition.data and b"taken at home" not in rendition.data
    # And the rotation moved the blue left half to the top (90 degrees clockwise)
    small = opened(rendered.renditions[0].data).convert("RGB")
    assert pixel(small, (160, 10))[2] > 150  # blue at the top
    bottom = pixel(small, (160, small.height - 10))
    assert bottom[0] > 150 and bottom[2] < 100  # red at the bottom


def test_a_wide_source_gets_every_configured_width_and_no_wider() -> None:
    # Given a 2000x1000 JPEG without orientation
    data = photo_with_gps((2000, 1000), orientation=1)

    # When it is rendered
    rendered = render_image(data)

    # Then it gets 320, 640 and 1280 (the widest configured), with the aspect ratio kept
    assert [(r.width, r.height) for r in rendered.renditions] == [(320, 160), (640, 320), (1280, 640)]


@pytest.mark.parametrize(
    ("source_width", "expected"),
    [
        (2000, [320, 640, 1280]),
        (1280, [320, 640, 1280]),
        (900, [320, 640, 900]),
        (640, [320, 640]),
        (321, [320, 321]),
        (200, [200]),
    ],
)
def test_rendition_widths_never_upscale(source_width: int, expected: list[int]) -> None:
    assert rendition_widths(source_width) == expected


def test_a_text_file_is_refused_as_not_an_image() -> None:
    with pytest.raises(ImageRejected) as refused:
        render_image(b"Hello, this is a plain text file, not a picture.\n" * 20)
    assert refused.value.reason == "not_an_image"


def test_an_empty_upload_is_refused_as_not_an_image() -> None:
    with pytest.raises(ImageRejected) as refused:
        render_image(b"")
    assert refused.value.reason == "not_an_image"


def test_an_image_in_a_format_outside_the_allow_list_is_refused(no_decoding: list[Any]) -> None:
    # Given a valid BMP (Pillow could read it, but BMP is not an accepted cover format)
    out = io.BytesIO()
    Image.new("RGB", (64, 64), "white").save(out, "BMP")

    # Then it is refused without any decoder reading its pixels
    with pytest.raises(ImageRejected) as refused:
        render_image(out.getvalue())
    assert refused.value.reason == "not_an_image"
    assert no_decoding == []


@pytest.mark.parametrize(
    ("width", "height"),
    [
        (30000, 30000),  # 900 Mpx: above twice MAX_IMAGE_PIXELS, Pillow's DecompressionBombError
        (7000, 7000),  # 49 Mpx: above MAX_PIXELS, where Pillow would only warn
    ],
)
def test_a_decompression_bomb_is_refused_without_allocating_its_pixels(
    width: int, height: int, no_decoding: list[Any]
) -> None:
    # Given a PNG of a few hundred bytes that declares more pixels than the limit
    bomb = png_declaring(width, height)
    assert len(bomb) < 2048 and width * height > MAX_PIXELS
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux

    # When it is rendered
    with pytest.raises(ImageRejected) as refused:
        render_image(bomb)

    # Then it is refused as a decompression bomb, and no pixel buffer was ever requested
    assert refused.value.reason == "decompression_bomb"
    assert no_decoding == []
    # (a decoded 30000x30000 would have taken 900 MB; the process did not grow by a fraction of it)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before < 50 * 1024


def test_a_file_larger_than_the_limit_is_refused_before_it_is_parsed(no_decoding: list[Any]) -> None:
    with pytest.raises(ImageRejected) as refused:
        render_image(photo_with_gps((64, 64)), max_bytes=100)
    assert refused.value.reason == "too_large"
    assert no_decoding == []


def test_a_truncated_jpeg_is_refused_as_corrupt() -> None:
    data = photo_with_gps((800, 600), orientation=1)
    with pytest.raises(ImageRejected) as refused:
        render_image(data[: len(data) // 2])
    assert refused.value.reason == "corrupt_image"


def test_a_png_with_a_bad_checksum_is_refused_as_corrupt() -> None:
    out = io.BytesIO()
    Image.new("RGB", (32, 32), "white").save(out, "PNG")
    data = bytearray(out.getvalue())
    idat = data.index(b"IDAT")
    data[idat + 6] ^= 0xFF  # flip bits inside the compressed pixel data: its CRC no longer matches
    with pytest.raises(ImageRejected) as refused:
        render_image(bytes(data))
    assert refused.value.reason == "corrupt_image"


def test_an_extreme_strip_is_refused() -> None:
    out = io.BytesIO()
    Image.new("RGB", (2000, 10), "white").save(out, "PNG")
    with pytest.raises(ImageRejected) as refused:
        render_image(out.getvalue())
    assert refused.value.reason == "unsupported_dimensions"


def test_transparency_survives_as_alpha() -> None:
    # Given a PNG with a transparent half
    image = Image.new("RGBA", (400, 200), (255, 0, 0, 255))
    image.paste((0, 0, 0, 0), (0, 0, 200, 200))
    out = io.BytesIO()
    image.save(out, "PNG")

    # Then its renditions keep an alpha channel
    rendered = render_image(out.getvalue())
    small = opened(rendered.renditions[0].data)
    assert small.mode == "RGBA"
    assert pixel(small, (10, 10))[3] == 0 and pixel(small, (small.width - 10, 10))[3] == 255


def swapped_primaries_profile() -> bytes:
    """An RGB ICC profile that is sRGB with its red and blue primaries exchanged: a colour-managed
    viewer shows stored (200, 30, 30) as blue. (ICC tag table: count at byte 128, then 12-byte
    entries signature/offset/size.)"""
    profile = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    (count,) = struct.unpack(">I", profile[128:132])
    entries = {bytes(profile[132 + 12 * i : 136 + 12 * i]): 132 + 12 * i for i in range(count)}
    red, blue = entries[b"rXYZ"], entries[b"bXYZ"]
    profile[red + 4 : red + 12], profile[blue + 4 : blue + 12] = (
        profile[blue + 4 : blue + 12],
        profile[red + 4 : red + 12],
    )
    return bytes(profile)


def test_an_embedded_colour_profile_is_converted_to_srgb_then_dropped() -> None:
    # Given a PNG whose red-looking pixels are, by its embedded profile, blue
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 30, 30)).save(out, "PNG", icc_profile=swapped_primaries_profile())

    # When it is rendered
    rendition = render_image(out.getvalue()).renditions[0]

    # Then the WebP has no profile, and its pixels are what the profile meant, in sRGB: blue
    image = opened(rendition.data).convert("RGB")
    assert "icc_profile" not in image.info and b"ICCP" not in rendition.data
    red, green, blue = pixel(image, (32, 32))
    assert blue > 180 and red < 50 and green < 50, (red, green, blue)


def test_an_unusable_colour_profile_is_dropped_and_the_pixels_kept() -> None:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 30, 30)).save(out, "PNG", icc_profile=b"not an ICC profile at all")
    rendition = render_image(out.getvalue()).renditions[0]
    red, _, blue = pixel(opened(rendition.data).convert("RGB"), (32, 32))
    assert red > 180 and blue < 50
