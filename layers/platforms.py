"""The Lambda platforms a layer is built for: the two architectures and their names in wheel
tags, npm packages and ELF headers, and the manylinux wheels the python3.12 runtime can load."""

import platform
from dataclasses import dataclass

from layers.errors import BuildError

ARCHES = ("x86_64", "arm64")

#: Lambda python3.12+ runs on Amazon Linux 2023, whose glibc is 2.34: any manylinux wheel up to
#: manylinux_2_34 runs there.
LAMBDA_GLIBC_MINOR = 34
DEFAULT_PYTHON_VERSION = "3.12"


@dataclass(frozen=True)
class ArchSpec:
    """One Lambda architecture under the names each source of binaries uses for it."""

    name: str  # Lambda / CDK architecture name
    wheel_machine: str  # machine suffix of manylinux platform tags
    npm_cpu: str  # npm "cpu" name used by @ffprobe-installer
    elf_machine: int  # e_machine of the ELF header


ARCH_SPECS = {
    "x86_64": ArchSpec("x86_64", "x86_64", "x64", 62),  # EM_X86_64
    "arm64": ArchSpec("arm64", "aarch64", "arm64", 183),  # EM_AARCH64
}
_ARCH_ALIASES = {"x86_64": "x86_64", "amd64": "x86_64", "x64": "x86_64", "arm64": "arm64", "aarch64": "arm64"}


def normalize_arch(arch: str) -> str:
    """Map an architecture name (``x86_64``/``amd64``, ``arm64``/``aarch64``) to ``x86_64``/``arm64``."""
    try:
        return _ARCH_ALIASES[arch.strip().lower()]
    except KeyError:
        raise BuildError(f"unknown architecture {arch!r}; expected one of {', '.join(ARCHES)}") from None


def manylinux_platforms(arch: str, glibc_minor: int = LAMBDA_GLIBC_MINOR) -> list[str]:
    """pip ``--platform`` tags of every manylinux wheel that runs on glibc 2.<glibc_minor>, newest first.

    pip does not widen an explicit ``--platform`` to older manylinux tags, so all are listed.
    """
    machine = ARCH_SPECS[normalize_arch(arch)].wheel_machine
    tags = [f"manylinux_2_{minor}_{machine}" for minor in range(glibc_minor, 16, -1)]
    tags.append(f"manylinux2014_{machine}")
    if machine == "x86_64":
        tags += ["manylinux_2_12_x86_64", "manylinux2010_x86_64", "manylinux_2_5_x86_64", "manylinux1_x86_64"]
    return tags


def wheel_platform_tags(wheel_name: str) -> list[str]:
    """Platform tags of a wheel file name (``name-ver[-build]-py-abi-plat.whl``)."""
    if not wheel_name.endswith(".whl") or wheel_name.count("-") < 4:
        raise BuildError(f"not a wheel file name: {wheel_name!r}")
    return wheel_name[: -len(".whl")].split("-")[-1].split(".")


def host_arch() -> str | None:
    """The architecture of this machine, or None when Lambda has no such architecture."""
    try:
        return normalize_arch(platform.machine())
    except BuildError:
        return None
