"""The Scan guard (tests/scan_guard.py) fires on a Scan the platform's code issues, through PynamoDB
or boto3, and only then: Queries pass, a test's own Scan passes, ``allow_scan()`` opts out."""

from __future__ import annotations

import types
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import boto3
import pytest
from moto import mock_aws
from pynamodb.attributes import UnicodeAttribute
from pynamodb.models import Model

from tests import scan_guard
from tests.scan_guard import ScanInRequestPath, allow_scan, scans_forbidden

F = TypeVar("F", bound=Callable[..., Any])
REGION = "us-east-1"


class ThingModel(Model):
    class Meta:
        table_name = "things"
        region = REGION

    pk = UnicodeAttribute(hash_key=True)


def as_platform_code(fn: F, module: str = "functions.catalog.dal.things") -> F:
    """``fn`` as if defined in a module of the platform (the guard looks at the calling modules)."""
    clone = types.FunctionType(fn.__code__, {**fn.__globals__, "__name__": module}, fn.__name__)
    return clone  # type: ignore[return-value]


@pytest.fixture
def things() -> Iterator[type[ThingModel]]:
    with mock_aws():
        ThingModel._connection = None  # a fresh PynamoDB connection: a new botocore session and client
        ThingModel.create_table(read_capacity_units=1, write_capacity_units=1, wait=True)
        ThingModel(pk="a").save()
        yield ThingModel
        ThingModel._connection = None


def list_all(model: type[ThingModel]) -> list[str]:
    return [t.pk for t in model.scan()]


def get_one(model: type[ThingModel]) -> list[str]:
    return [t.pk for t in model.query("a")]


def list_all_and_swallow_the_error(model: type[ThingModel]) -> str:
    try:
        return ",".join(t.pk for t in model.scan())
    except Exception:  # what the API resolver does: the client would see a 500
        return "internal_error"


def test_a_pynamodb_scan_from_platform_code_is_refused(things: type[ThingModel]) -> None:
    # Given a DAL function of the platform that lists with a Scan
    # When it runs during a guarded test, Then the call is refused and the test fails
    refused = pytest.raises(ScanInRequestPath, match=r"Scan of things from functions\.catalog\.dal\.things")
    with refused, scans_forbidden():
        as_platform_code(list_all)(things)


def test_a_swallowed_refusal_still_fails_the_test(things: type[ThingModel]) -> None:
    with pytest.raises(ScanInRequestPath, match="1 Scan"), scans_forbidden():
        assert as_platform_code(list_all_and_swallow_the_error)(things) == "internal_error"


def test_a_boto3_scan_from_platform_code_is_refused(things: type[ThingModel]) -> None:
    def scan_with_boto3() -> Any:
        return boto3.client("dynamodb", region_name=REGION).scan(TableName="things")

    with pytest.raises(ScanInRequestPath), scans_forbidden():
        as_platform_code(scan_with_boto3)()


def test_queries_and_the_tests_own_scans_pass(things: type[ThingModel]) -> None:
    with scans_forbidden():
        assert as_platform_code(get_one)(things) == ["a"]
        assert list_all(things) == ["a"]  # test code counting rows: not a request path
        assert boto3.client("dynamodb", region_name=REGION).scan(TableName="things")["Count"] == 1


def test_allow_scan_lets_a_maintenance_command_read_the_table_whole(things: type[ThingModel]) -> None:
    rebuild = as_platform_code(list_all, module="functions.catalog.logic.rebuild_projection")
    with scans_forbidden():
        with allow_scan():
            assert rebuild(things) == ["a"]
        with pytest.raises(ScanInRequestPath):
            rebuild(things)  # the opt-out ends with the block
        scan_guard.STATE.violations.clear()  # the refusal above was the point: do not fail this test
