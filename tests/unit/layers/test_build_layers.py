"""Offline tests of layers/build_layers.py (no network: downloads are made to fail)."""

import dataclasses
import hashlib
import importlib.util
import io
import json
import os
import re
import stat
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "layers" / "build_layers.py"
HEX64 = re.compile(r"^[0-9a-f]{64}$")
EM_X86_64 = 62
EM_AARCH64 = 183


def _load_script() -> ModuleType:
    # Loaded by path, the way the CDK app loads it: layers/ is not a package.
    spec = importlib.util.spec_from_file_location("build_layers_under_test", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bl = _load_script()


def fake_elf(machine: int, payload: bytes) -> bytes:
    """A 64-bit little-endian ELF header with e_machine = machine, then payload."""
    ident = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9)
    return ident + (2).to_bytes(2, "little") + machine.to_bytes(2, "little") + bytes(44) + payload


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_wheel(path: Path, member: str, content: bytes) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("imageio_ffmpeg/__init__.py", "")
        zf.writestr(member, content)
    return path


def make_tgz(path: Path, member: str, content: bytes) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for name, data in (("package/package.json", b"{}"), (member, content)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tf.addfile(info, io.BytesIO(data))
    return path


@dataclasses.dataclass
class FakeSources:
    lock_path: Path
    cache_dir: Path
    binaries: dict[tuple[str, str], bytes]  # (arch, tool) -> content
    archives: dict[tuple[str, str], Path]

    def entry(self, arch: str, tool: str) -> Any:
        return bl.load_lock(self.lock_path)[arch][tool]


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeSources:
    """A lock for both arches whose archives are tiny fakes already in the cache; downloads fail."""

    def no_network(*args: object, **kwargs: object) -> Path:
        raise AssertionError("the test tried to download")

    monkeypatch.setattr(bl, "pip_download", no_network)
    monkeypatch.setattr(bl, "npm_pack", no_network)

    cache_dir = tmp_path / "cache"
    arches: dict[str, Any] = {}
    binaries: dict[tuple[str, str], bytes] = {}
    archives: dict[tuple[str, str], Path] = {}
    for arch, machine, wheel_machine, npm_cpu in (
        ("x86_64", EM_X86_64, "x86_64", "x64"),
        ("arm64", EM_AARCH64, "aarch64", "arm64"),
    ):
        arch_cache = cache_dir / "media" / arch
        arch_cache.mkdir(parents=True)
        ffmpeg = fake_elf(machine, f"fake ffmpeg {arch}".encode() * 1000)
        ffprobe = fake_elf(machine, f"fake ffprobe {arch}".encode() * 500)
        ffmpeg_member = f"imageio_ffmpeg/binaries/ffmpeg-linux-{wheel_machine}-v0.0"
        wheel = make_wheel(
            arch_cache / f"imageio_ffmpeg-0.0.1-py3-none-manylinux_2_28_{wheel_machine}.whl",
            ffmpeg_member,
            ffmpeg,
        )
        tgz = make_tgz(
            arch_cache / f"ffprobe-installer-linux-{npm_cpu}-0.0.1.tgz", "package/ffprobe", ffprobe
        )
        binaries[arch, "ffmpeg"], binaries[arch, "ffprobe"] = ffmpeg, ffprobe
        archives[arch, "ffmpeg"], archives[arch, "ffprobe"] = wheel, tgz
        arches[arch] = {
            "ffmpeg": {
                "source": {
                    "registry": "pypi",
                    "package": "imageio-ffmpeg",
                    "version": "0.0.1",
                    "archive": wheel.name,
                    "member": ffmpeg_member,
                },
                "archive_sha256": sha256(wheel.read_bytes()),
                "binary_sha256": sha256(ffmpeg),
                "binary_size": len(ffmpeg),
            },
            "ffprobe": {
                "source": {
                    "registry": "npm",
                    "package": f"@ffprobe-installer/linux-{npm_cpu}",
                    "version": "0.0.1",
                    "archive": tgz.name,
                    "member": "package/ffprobe",
                },
                "archive_sha256": sha256(tgz.read_bytes()),
                "binary_sha256": sha256(ffprobe),
                "binary_size": len(ffprobe),
            },
        }
    lock_path = tmp_path / "media.lock.json"
    lock_path.write_text(json.dumps({"lock_version": 1, "arches": arches}))
    return FakeSources(lock_path, cache_dir, binaries, archives)


def build(fake: FakeSources, arch: str, out: Path, **kwargs: Any) -> Path:
    return bl.build_media_layer(arch, out, lock_path=fake.lock_path, cache_dir=fake.cache_dir, **kwargs)


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


# ---------------------------------------------------------------------------------------------
# Checksum verification
# ---------------------------------------------------------------------------------------------


def test_verify_sha256_accepts_the_pinned_file_and_rejects_a_tampered_one(tmp_path: Path) -> None:
    f = tmp_path / "archive.whl"
    f.write_bytes(b"original bytes")
    pinned = sha256(b"original bytes")
    bl.verify_sha256(f, pinned, "test archive")

    f.write_bytes(b"original byteS")
    with pytest.raises(bl.ChecksumMismatchError) as exc:
        bl.verify_sha256(f, pinned, "test archive")
    assert pinned in str(exc.value)
    assert sha256(b"original byteS") in str(exc.value)


def test_install_binary_rejects_a_tampered_archive_and_writes_nothing(
    fake: FakeSources, tmp_path: Path
) -> None:
    entry = fake.entry("x86_64", "ffmpeg")
    wheel = fake.archives["x86_64", "ffmpeg"]
    # Same member name, one byte changed in the binary: a different archive.
    tampered = bytearray(fake.binaries["x86_64", "ffmpeg"])
    tampered[-1] ^= 0xFF
    make_wheel(wheel, entry.member, bytes(tampered))
    bin_dir = tmp_path / "layer" / "bin"

    with pytest.raises(bl.ChecksumMismatchError, match=r"x86_64 ffmpeg archive imageio_ffmpeg-0\.0\.1"):
        bl.install_binary(wheel, entry, bin_dir / "ffmpeg")
    assert leftovers(bin_dir) == []


def test_install_binary_rejects_a_binary_that_differs_from_the_pin(fake: FakeSources, tmp_path: Path) -> None:
    # The archive matches its pin but the binary pin does not: the extracted file is rejected.
    entry = dataclasses.replace(fake.entry("x86_64", "ffprobe"), binary_sha256="0" * 64)
    bin_dir = tmp_path / "layer" / "bin"

    with pytest.raises(bl.ChecksumMismatchError, match="x86_64 ffprobe binary 'package/ffprobe'"):
        bl.install_binary(fake.archives["x86_64", "ffprobe"], entry, bin_dir / "ffprobe")
    assert leftovers(bin_dir) == []  # no temporary file left behind either


def test_install_binary_rejects_a_binary_for_the_other_architecture(
    fake: FakeSources, tmp_path: Path
) -> None:
    # Consistent checksums, but the x86_64 binary is pinned under arm64.
    entry = dataclasses.replace(fake.entry("x86_64", "ffmpeg"), arch="arm64")
    target = tmp_path / "bin" / "ffmpeg"

    with pytest.raises(bl.BuildError, match="ELF machine 62"):
        bl.install_binary(fake.archives["x86_64", "ffmpeg"], entry, target)
    assert not target.exists()


def test_a_tarball_member_that_is_a_symlink_is_refused(tmp_path: Path) -> None:
    tgz = tmp_path / "evil.tgz"
    with tarfile.open(tgz, "w:gz") as tf:
        link = tarfile.TarInfo("package/ffprobe")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        tf.addfile(link)
    with pytest.raises(bl.BuildError, match="not a regular file"), bl.open_member(tgz, "package/ffprobe"):
        pass


def test_a_missing_member_is_reported(fake: FakeSources) -> None:
    with (
        pytest.raises(bl.BuildError, match="not found"),
        bl.open_member(fake.archives["arm64", "ffmpeg"], "nope"),
    ):
        pass


# ---------------------------------------------------------------------------------------------
# Building the media layer (offline, from the cache)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("arch", ["x86_64", "arm64"])
def test_build_media_layer_writes_executable_bin_ffmpeg_and_ffprobe(
    fake: FakeSources, tmp_path: Path, arch: str
) -> None:
    out = tmp_path / "out"
    assert build(fake, arch, out) == out

    for tool in ("ffmpeg", "ffprobe"):
        path = out / "bin" / tool
        assert path.read_bytes() == fake.binaries[arch, tool]
        assert stat.S_IMODE(path.stat().st_mode) == 0o755
        assert os.access(path, os.X_OK)
    assert leftovers(out / "bin") == ["ffmpeg", "ffprobe"]
    notice = (out / "licenses" / "ffmpeg" / "NOTICE.txt").read_text()
    assert "imageio-ffmpeg 0.0.1" in notice
    assert "@ffprobe-installer/linux-" in notice
    assert "GNU GENERAL PUBLIC LICENSE" in (out / "licenses" / "ffmpeg" / "GPL-3.0.txt").read_text()


def test_build_media_layer_accepts_cdk_architecture_aliases(fake: FakeSources, tmp_path: Path) -> None:
    build(fake, "aarch64", tmp_path / "out")
    assert (tmp_path / "out" / "bin" / "ffmpeg").read_bytes() == fake.binaries["arm64", "ffmpeg"]


def test_build_media_layer_can_build_one_tool(fake: FakeSources, tmp_path: Path) -> None:
    build(fake, "x86_64", tmp_path / "out", tools=("ffprobe",))
    assert leftovers(tmp_path / "out" / "bin") == ["ffprobe"]


def test_build_media_layer_is_idempotent(fake: FakeSources, tmp_path: Path) -> None:
    out = tmp_path / "out"
    build(fake, "x86_64", out)
    before = {t: (out / "bin" / t).stat() for t in ("ffmpeg", "ffprobe")}
    # Up-to-date outputs need neither the cache nor the network.
    for archive in fake.archives.values():
        archive.unlink()

    build(fake, "x86_64", out)
    for tool, st in before.items():
        after = (out / "bin" / tool).stat()
        assert (after.st_ino, after.st_mtime_ns) == (st.st_ino, st.st_mtime_ns)


def test_build_media_layer_replaces_a_modified_output(fake: FakeSources, tmp_path: Path) -> None:
    out = tmp_path / "out"
    build(fake, "x86_64", out)
    (out / "bin" / "ffmpeg").write_bytes(b"not ffmpeg")
    (out / "bin" / "ffprobe").chmod(0o644)

    build(fake, "x86_64", out)
    assert (out / "bin" / "ffmpeg").read_bytes() == fake.binaries["x86_64", "ffmpeg"]
    assert stat.S_IMODE((out / "bin" / "ffprobe").stat().st_mode) == 0o755


def test_a_tampered_download_fails_loudly_and_is_not_cached(
    fake: FakeSources, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cached = fake.archives["arm64", "ffprobe"]
    cached.write_bytes(cached.read_bytes() + b"junk")  # the cache no longer matches: download again
    served: list[str] = []

    def registry_serves_tampered(entry: Any, dest_dir: Path) -> Path:
        served.append(entry.package)
        path = dest_dir / entry.archive
        make_tgz(path, entry.member, b"\x7fELF something else")
        return path

    monkeypatch.setattr(bl, "download_archive", registry_serves_tampered)
    with pytest.raises(bl.ChecksumMismatchError):
        build(fake, "arm64", tmp_path / "out")
    assert served == ["@ffprobe-installer/linux-arm64"]
    assert not cached.exists()
    assert not (tmp_path / "out" / "bin" / "ffprobe").exists()


def test_cli_exits_non_zero_with_the_reason_on_mismatch(
    fake: FakeSources, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["media", "--arch", "all", "--out", str(tmp_path / "out"), "--lock", str(fake.lock_path)]
    args += ["--cache-dir", str(fake.cache_dir)]
    assert bl.main(args) == 0
    assert (tmp_path / "out" / "x86_64" / "bin" / "ffmpeg").is_file()
    assert (tmp_path / "out" / "arm64" / "bin" / "ffprobe").is_file()

    lock = json.loads(fake.lock_path.read_text())
    lock["arches"]["x86_64"]["ffmpeg"]["binary_sha256"] = "f" * 64
    fake.lock_path.write_text(json.dumps(lock))
    assert bl.main([*args[:2], "x86_64", *args[3:]]) == 1
    err = capsys.readouterr().err
    assert "ERROR: SHA-256 mismatch" in err
    assert "f" * 64 in err


# ---------------------------------------------------------------------------------------------
# The repository's lock file
# ---------------------------------------------------------------------------------------------


def test_repository_lock_file_is_well_formed() -> None:
    raw = json.loads(bl.LOCK_PATH.read_text())
    assert set(raw["arches"]) == {"x86_64", "arm64"}
    lock = bl.load_lock()
    for arch, machine in (("x86_64", "x86_64"), ("arm64", "aarch64")):
        assert set(lock[arch]) == {"ffmpeg", "ffprobe"}
        for tool, entry in lock[arch].items():
            assert HEX64.fullmatch(entry.archive_sha256), (arch, tool)
            assert HEX64.fullmatch(entry.binary_sha256), (arch, tool)
            assert entry.archive_sha256 != entry.binary_sha256
            assert entry.binary_size > 1_000_000
        ffmpeg, ffprobe = lock[arch]["ffmpeg"], lock[arch]["ffprobe"]
        assert (ffmpeg.registry, ffmpeg.package) == ("pypi", "imageio-ffmpeg")
        assert ffmpeg.archive.startswith(f"imageio_ffmpeg-{ffmpeg.version}-")
        assert ffmpeg.archive.endswith(f"_{machine}.whl")
        assert bl.FFMPEG_MEMBER_RE.fullmatch(ffmpeg.member)
        assert machine in ffmpeg.member
        npm_cpu = "x64" if arch == "x86_64" else "arm64"
        assert (ffprobe.registry, ffprobe.package) == ("npm", f"@ffprobe-installer/linux-{npm_cpu}")
        assert ffprobe.archive == f"ffprobe-installer-linux-{npm_cpu}-{ffprobe.version}.tgz"
        assert ffprobe.member == "package/ffprobe"
    # Every pin is distinct: no copy-paste between architectures.
    pins = [e.archive_sha256 for a in lock.values() for e in a.values()]
    pins += [e.binary_sha256 for a in lock.values() for e in a.values()]
    assert len(set(pins)) == 8


def _mutate(data: dict[str, Any], change: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    copy = json.loads(json.dumps(data))
    change(copy)
    return copy


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["arches"].pop("arm64"), "arches"),
        (lambda d: d["arches"]["x86_64"].pop("ffprobe"), "x86_64"),
        (lambda d: d["arches"]["arm64"]["ffmpeg"].update(archive_sha256="ABC"), "archive_sha256"),
        (lambda d: d["arches"]["arm64"]["ffmpeg"].update(binary_sha256="A" * 64), "binary_sha256"),
        (lambda d: d["arches"]["x86_64"]["ffmpeg"]["source"].update(archive="../x.whl"), "plain file name"),
        (lambda d: d["arches"]["x86_64"]["ffprobe"]["source"].update(registry="http"), "registry"),
        (lambda d: d["arches"]["x86_64"]["ffprobe"].update(binary_size=0), "binary_size"),
        (lambda d: d.update(lock_version=2), "lock_version"),
    ],
)
def test_malformed_locks_are_rejected(change: Callable[[dict[str, Any]], object], message: str) -> None:
    good = json.loads(bl.LOCK_PATH.read_text())
    bl.parse_lock(good)
    with pytest.raises(bl.LockFileError, match=message):
        bl.parse_lock(_mutate(good, change))


# ---------------------------------------------------------------------------------------------
# Deps layer helpers
# ---------------------------------------------------------------------------------------------


def _item(
    name: str, version: str, requires: list[str], *, requested: bool = False, **kw: Any
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "metadata": {"name": name, "version": version, "requires_dist": requires},
        "requested": requested,
        "download_info": {"archive_info": {"hashes": {"sha256": sha256(name.encode())}}},
    }
    item.update(kw)
    return item


def test_select_layer_packages_leaves_out_the_aws_sdk_and_what_only_it_needs() -> None:
    report = {
        "install": [
            _item(
                "aws_lambda_powertools",
                "3.37.0",
                [
                    "jmespath<2,>=1.0.1",
                    "typing-extensions>=4.11",
                    "aws-xray-sdk>=2.8; extra == 'tracer'",
                    "urllib3<3,>=2.7; extra == 'jwt'",
                    "boto3<2,>=1.34; extra == 'aws-sdk'",
                ],
                requested=True,
                requested_extras=["tracer"],
            ),
            _item("pynamodb", "6.1.0", ["botocore>=1.12.54"], requested=True),
            _item("boto3", "1.44.5", ["botocore<1.45", "s3transfer<0.20"], requested=True),
            _item("aws-xray-sdk", "2.15.0", ["wrapt", "botocore>=1.11.3"]),
            _item("botocore", "1.44.5", ["jmespath<2", "python-dateutil<3", "urllib3!=2.2.0,<3"]),
            _item("s3transfer", "0.19.3", ["botocore<2"]),
            _item("python-dateutil", "2.9.0", ["six>=1.5"]),
            _item("six", "1.17.0", []),
            _item("urllib3", "2.8.0", []),
            _item("jmespath", "1.1.0", []),
            _item("typing_extensions", "4.16.0", []),
            _item("wrapt", "2.5.2", []),
        ]
    }
    pins, dropped = bl.select_layer_packages(report, bl.AWS_SDK_DISTRIBUTIONS)

    assert sorted(p.name for p in pins) == sorted(
        ["aws_lambda_powertools", "pynamodb", "aws-xray-sdk", "jmespath", "typing_extensions", "wrapt"]
    )
    assert dropped == [
        "boto3==1.44.5",
        "botocore==1.44.5",
        "python-dateutil==2.9.0",
        "s3transfer==0.19.3",
        "six==1.17.0",
        "urllib3==2.8.0",
    ]
    assert all(HEX64.fullmatch(p.sha256 or "") for p in pins)

    pins, dropped = bl.select_layer_packages(report, ())
    assert dropped == []  # --keep-aws-sdk keeps the whole resolution
    assert len(pins) == len(report["install"])


def test_render_pins_uses_hashes_only_when_every_pin_has_one() -> None:
    text, hashed = bl.render_pins([bl.Pin("a", "1", "0" * 64), bl.Pin("b", "2", "1" * 64)])
    assert hashed
    assert text.splitlines() == [f"a==1 --hash=sha256:{'0' * 64}", f"b==2 --hash=sha256:{'1' * 64}"]
    text, hashed = bl.render_pins([bl.Pin("a", "1", "0" * 64), bl.Pin("b", "2", None)])
    assert not hashed
    assert text.splitlines() == ["a==1", "b==2"]


def test_strip_tree_removes_caches_tests_and_scripts_but_keeps_metadata(tmp_path: Path) -> None:
    root = tmp_path / "python"
    files = {
        "bin/dotenv": "#!/build/venv/bin/python",
        "pkg/__init__.py": "",
        "pkg/__pycache__/__init__.cpython-312.pyc": "",
        "pkg/tests/test_pkg.py": "",
        "pkg/sub/tests/conftest.py": "",
        "pkg/sub/module.py": "",
        "pkg/stale.pyc": "",
        "pkg/testing.py": "",
        "pkg-1.0.dist-info/METADATA": "Name: pkg",
        "pkg-1.0.dist-info/RECORD": "",
        "pkg-1.0.dist-info/tests/keep": "",
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)

    removed = bl.strip_tree(root)

    remaining = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    assert remaining == [
        "pkg-1.0.dist-info/METADATA",
        "pkg-1.0.dist-info/RECORD",
        "pkg-1.0.dist-info/tests/keep",
        "pkg/__init__.py",
        "pkg/sub/module.py",
        "pkg/testing.py",
    ]
    assert root / "bin" in removed


def test_manylinux_platforms_cover_lambda_glibc_and_nothing_newer() -> None:
    tags = bl.manylinux_platforms("arm64")
    assert tags[0] == "manylinux_2_34_aarch64"
    assert {"manylinux_2_28_aarch64", "manylinux2014_aarch64", "manylinux_2_17_aarch64"} <= set(tags)
    assert not any("x86_64" in t or "2_35" in t for t in tags)
    assert "manylinux1_x86_64" in bl.manylinux_platforms("amd64")
    assert bl.wheel_platform_tags("imageio_ffmpeg-0.8.1-py3-none-manylinux_2_28_x86_64.whl") == [
        "manylinux_2_28_x86_64"
    ]
    with pytest.raises(bl.BuildError, match="unknown architecture"):
        bl.manylinux_platforms("riscv64")


def test_pyproject_dependencies_are_read(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "x"\ndependencies = ["pynamodb==6.1.0", "boto3>=1.34"]\n')
    assert bl.pyproject_dependencies(pyproject) == ["pynamodb==6.1.0", "boto3>=1.34"]
