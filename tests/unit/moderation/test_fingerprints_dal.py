from __future__ import annotations

from typing import Any

import pytest

from functions.moderation.dal import fingerprints
from functions.shared.settings import get_settings

HASHES = [(0.0, "f8e4c6868ecac6e4"), (1.0, "f4e6c686af8dcae6"), (2.5, "E6C787A7278D8BC7")]


@pytest.fixture
def table(platform_table: Any) -> Any:
    return platform_table


def _vid(prefix: str, n: int = 0) -> str:
    return f"{prefix}{n:030x}"


def test_save_and_load_round_trip(table: Any) -> None:
    video_id = _vid("ab")
    assert fingerprints.load_fingerprints(video_id) is None
    fingerprints.save_fingerprints(video_id, HASHES, 1.0)
    stored = fingerprints.load_fingerprints(video_id)
    assert stored is not None
    assert stored.video_id == video_id
    assert stored.interval == 1.0
    assert stored.hashes == [(0.0, "f8e4c6868ecac6e4"), (1.0, "f4e6c686af8dcae6"), (2.5, "e6c787a7278d8bc7")]
    item = table.get_item(
        TableName=get_settings().platform_table,
        Key={"pk": {"S": f"VIDEO#{video_id}"}, "sk": {"S": "FINGERPRINT"}},
    )["Item"]
    assert item["hashes"]["S"] == "0.000:f8e4c6868ecac6e4,1.000:f4e6c686af8dcae6,2.500:e6c787a7278d8bc7"
    assert item["frames"]["N"] == "3"


def test_long_hash_lists_are_capped(table: Any) -> None:
    video_id = _vid("01")
    many = [(float(i), f"{i:016x}") for i in range(5000)]
    fingerprints.save_fingerprints(video_id, many, 0.5)
    stored = fingerprints.load_fingerprints(video_id)
    assert stored is not None
    assert len(stored.hashes) == fingerprints.MAX_FRAMES
    assert stored.interval == pytest.approx(1.25)
    assert stored.hashes[0] == (0.0, f"{0:016x}")
    assert stored.hashes[-1][0] > 4990


def test_bad_hashes_are_refused(table: Any) -> None:
    with pytest.raises(ValueError, match="hash"):
        fingerprints.save_fingerprints(_vid("02"), [(0.0, "xyz")], 1.0)
    with pytest.raises(ValueError, match="interval"):
        fingerprints.save_fingerprints(_vid("02"), HASHES, 0)


def test_protect_registry_unprotect(table: Any) -> None:
    ids = [_vid(f"{first:02x}", n) for n, first in enumerate((0x00, 0x07, 0x08, 0x3F, 0xFF))]
    for n, video_id in enumerate(ids):
        fingerprints.save_fingerprints(video_id, [(float(n), f"{n + 1:016x}")], 1.0)
    assert fingerprints.registry() == {}
    assert fingerprints.protect(ids[0], by="admin-1") == 1
    for video_id in ids[1:]:
        fingerprints.protect(video_id, by="admin-2")
    assert fingerprints.registry() == {
        video_id: [(float(n), f"{n + 1:016x}")] for n, video_id in enumerate(ids)
    }
    assert fingerprints.is_protected(ids[2])

    # the shard is the id's first byte modulo 8: 0x00, 0x08 share one, 0x07 / 0x3f / 0xff another
    item = table.get_item(
        TableName=get_settings().platform_table, Key={"pk": {"S": "PROTECTED#7"}, "sk": {"S": ids[1]}}
    )
    assert item["Item"]["protected_by"]["S"] == "admin-2"
    assert [fingerprints.shard_of(v) for v in ids] == [0, 7, 0, 7, 7]

    fingerprints.unprotect(ids[2])
    assert not fingerprints.is_protected(ids[2])
    assert set(fingerprints.registry()) == {ids[0], ids[1], ids[3], ids[4]}


def test_protect_without_fingerprints_registers_nothing(table: Any) -> None:
    assert fingerprints.protect(_vid("aa"), by="admin") == 0
    fingerprints.save_fingerprints(_vid("ab"), [], 1.0)
    assert fingerprints.protect(_vid("ab"), by="admin") == 0
    assert fingerprints.registry() == {}


def test_registry_queries_and_never_scans(table: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    fingerprints.save_fingerprints(_vid("10"), HASHES, 1.0)
    fingerprints.protect(_vid("10"), by="admin")
    model = fingerprints.ProtectedModel
    queried: list[str] = []
    real_query = model.query

    def spy_query(hash_key: str, *args: Any, **kwargs: Any) -> Any:
        queried.append(hash_key)
        return real_query(hash_key, *args, **kwargs)

    def no_scan(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the registry must not be scanned")

    monkeypatch.setattr(model, "query", spy_query)
    monkeypatch.setattr(model, "scan", no_scan)
    assert list(fingerprints.registry()) == [_vid("10")]
    assert queried == [f"PROTECTED#{shard}" for shard in range(8)]


def test_non_hex_ids_still_get_a_shard() -> None:
    assert 0 <= fingerprints.shard_of("zz-not-hex") < fingerprints.SHARDS
    assert fingerprints.shard_of("zz-not-hex") == fingerprints.shard_of("zz-not-hex")


def test_delete_fingerprints(table: Any) -> None:
    fingerprints.save_fingerprints(_vid("20"), HASHES, 1.0)
    fingerprints.delete_fingerprints(_vid("20"))
    assert fingerprints.load_fingerprints(_vid("20")) is None
