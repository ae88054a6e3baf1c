"""The platform table's key schema is declared once (PlatformItem); every domain model inherits it."""

from __future__ import annotations

import pytest
from pynamodb.models import Model

from functions.identity.dal.profiles import ProfileModel
from functions.moderation.dal.fingerprints import FingerprintModel, ProtectedModel
from functions.pipeline.dal.slots import SlotsModel
from functions.shared.platform_tables import PlatformItem, PlatformKeys
from functions.webhooks.dal.webhooks import DeliveryModel, SubscriberModel, SubscriptionModel
from infra.tables import table_schema

PLATFORM_MODELS: tuple[type[Model], ...] = (
    ProfileModel,
    SubscriptionModel,
    SubscriberModel,
    DeliveryModel,
    FingerprintModel,
    ProtectedModel,
    SlotsModel,
)
KEY_ATTRIBUTES = ("pk", "sk", "gsi1pk", "gsi1sk")


@pytest.mark.parametrize("model", PLATFORM_MODELS, ids=lambda m: m.__name__)
def test_each_model_inherits_the_keys_and_declares_none_itself(model: type[Model]) -> None:
    assert issubclass(model, PlatformItem)
    assert (model._hash_keyname, model._range_keyname) == ("pk", "sk")
    assert not set(KEY_ATTRIBUTES) & set(vars(model)), f"{model.__name__} re-declares a key attribute"
    attributes = model.get_attributes()
    assert attributes["gsi1pk"].null and attributes["gsi1sk"].null  # the sparse index: decided once
    # A Meta of its own: the table binding sets the table name per model, never on the base's.
    assert "Meta" in vars(model)


@pytest.mark.parametrize("model", [ProfileModel, SubscriptionModel], ids=lambda m: m.__name__)
def test_a_model_that_lists_through_gsi1_gets_its_own_items_back(model: type[Model]) -> None:
    index = model.owner_index  # type: ignore[attr-defined]
    assert index.Meta.index_name == "gsi1"
    assert index._model is model


def test_infra_builds_the_table_the_models_share() -> None:
    assert table_schema(PlatformKeys) == {
        "stream": None,
        "ttl": None,
        "hash_key": ("pk", "S"),
        "range_key": ("sk", "S"),
        "indexes": [{"name": "gsi1", "hash_key": ("gsi1pk", "S"), "range_key": ("gsi1sk", "S")}],
    }
