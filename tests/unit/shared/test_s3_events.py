"""S3 notifications in SQS message bodies: the one unwrapping both upload queues use."""

from __future__ import annotations

import json

from functions.shared.s3_events import CreatedObject, created_objects


def _body(*records: dict[str, object]) -> str:
    return json.dumps({"Records": list(records)})


def _created(key: str, **obj: object) -> dict[str, object]:
    return {
        "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": "uploads"}, "object": {"key": key, **obj}},
    }


def test_the_test_event_s3_sends_on_configuration_is_skipped() -> None:
    # Given the message S3 sends when a notification configuration is saved
    body = json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "uploads"})
    # Then it names no object
    assert list(created_objects(body)) == []


def test_object_created_records_are_decoded_and_others_skipped() -> None:
    # Given a created object with an URL-encoded key, and a removal in the same message
    body = _body(
        _created("covers/t1/cover/a+b%2Bc", size=12, sequencer="0055", eTag="e1", versionId="v1"),
        {"eventName": "ObjectRemoved:Delete", "s3": {"bucket": {"name": "uploads"}, "object": {"key": "x"}}},
    )
    # When unwrapped
    objects = list(created_objects(body))
    # Then only the creation comes out, its key decoded ("+" is a space, %2B a plus)
    assert objects == [
        CreatedObject(
            bucket="uploads",
            key="covers/t1/cover/a b+c",
            size=12,
            sequencer="0055",
            etag="e1",
            version_id="v1",
        )
    ]


def test_missing_fields_are_none() -> None:
    (created,) = created_objects(_body(_created("uploads/abc/source")))
    assert (created.size, created.sequencer, created.etag, created.version_id) == (None, None, None, None)


def test_a_message_without_records_yields_nothing() -> None:
    assert list(created_objects("{}")) == []
