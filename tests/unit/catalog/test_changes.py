"""Stream records of the catalog table -> title.* events."""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.types import TypeSerializer

from functions.catalog.logic.changes import event_for

_SER = TypeSerializer()


def image(**fields: Any) -> dict[str, Any]:
    item = {"pk": "TITLE#t1", "sk": "TITLE", "title_id": "t1", "title": "X", "state": "draft", "version": 1}
    item.update(fields)
    return {k: _SER.serialize(v) for k, v in item.items()}


def record(
    name: str, old: dict[str, Any] | None, new: dict[str, Any] | None, sk: str = "TITLE"
) -> dict[str, Any]:
    data: dict[str, Any] = {"Keys": {"pk": {"S": "TITLE#t1"}, "sk": {"S": sk}}, "SequenceNumber": "1"}
    if old:
        data["OldImage"] = old
    if new:
        data["NewImage"] = new
    return {"eventID": "e1", "eventName": name, "dynamodb": data}


def test_insert_is_created() -> None:
    kind, detail = event_for(record("INSERT", None, image())) or ("", {})
    assert kind == "title.created"
    assert detail["version"] == 1 and detail["title"]["title"] == "X" and detail["event_id"] == "e1"


def test_state_changes_are_published_and_unpublished() -> None:
    draft, published = image(state="draft", version=1), image(state="published", version=2)
    unpublished = image(state="unpublished", version=3)
    assert (event_for(record("MODIFY", draft, published)) or ("",))[0] == "title.published"
    assert (event_for(record("MODIFY", published, unpublished)) or ("",))[0] == "title.unpublished"
    assert (event_for(record("MODIFY", unpublished, image(state="published", version=4))) or ("",))[
        0
    ] == "title.published"


def test_other_changes_are_updated() -> None:
    old, new = image(state="published", version=2), image(state="published", version=3, title="Y")
    kind, detail = event_for(record("MODIFY", old, new)) or ("", {})
    assert kind == "title.updated" and detail["title"]["title"] == "Y" and detail["version"] == 3


def test_delete_supersedes_the_last_version() -> None:
    kind, detail = event_for(record("REMOVE", image(state="published", version=7), None)) or ("", {})
    assert kind == "title.deleted"
    assert detail["version"] == 8 and detail["state"] is None


def test_seasons_and_episodes_make_no_event_of_their_own() -> None:
    assert event_for(record("INSERT", None, image(), sk="SEASON#0001")) is None
