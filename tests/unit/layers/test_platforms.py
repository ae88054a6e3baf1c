"""Lambda architectures and the manylinux wheel tags pip is asked for (layers.platforms)."""

import pytest

from layers.errors import BuildError
from layers.platforms import manylinux_platforms, wheel_platform_tags


def test_manylinux_platforms_cover_lambda_glibc_and_nothing_newer() -> None:
    tags = manylinux_platforms("arm64")
    assert tags[0] == "manylinux_2_34_aarch64"
    assert {"manylinux_2_28_aarch64", "manylinux2014_aarch64", "manylinux_2_17_aarch64"} <= set(tags)
    assert not any("x86_64" in t or "2_35" in t for t in tags)
    assert "manylinux1_x86_64" in manylinux_platforms("amd64")
    assert wheel_platform_tags("imageio_ffmpeg-0.8.1-py3-none-manylinux_2_28_x86_64.whl") == [
        "manylinux_2_28_x86_64"
    ]
    with pytest.raises(BuildError, match="unknown architecture"):
        manylinux_platforms("riscv64")
