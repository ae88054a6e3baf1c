"""Lambda's unzipped size limit and the folder measure it is checked with (layers.limits)."""

from pathlib import Path

from layers.limits import LAMBDA_UNZIPPED_LIMIT, TreeSize, tree_size


def test_tree_size_counts_regular_files_and_not_what_symlinks_point_to(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "ffmpeg").write_bytes(b"x" * 1000)
    (tmp_path / "NOTICE.txt").write_bytes(b"y" * 24)
    (tmp_path / "bin" / "alias").symlink_to(tmp_path / "bin" / "ffmpeg")
    (tmp_path / "linked-dir").symlink_to(tmp_path / "bin", target_is_directory=True)

    assert tree_size(tmp_path) == TreeSize(files=2, size_bytes=1024)


def test_the_limit_is_lambdas_250_mib() -> None:
    assert LAMBDA_UNZIPPED_LIMIT == 250 * 1024 * 1024
