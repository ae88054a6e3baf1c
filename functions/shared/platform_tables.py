"""Key schemas of the tables beside the videos table (the domains' models share them).

``platform``: a single table for moderation fingerprints, the protected-content registry,
webhook subscriptions and deliveries, viewer profiles and the pipeline's slots, keyed
``pk``/``sk`` with one generic GSI. Each domain declares its own PynamoDB models on it
(``functions/<domain>/dal``), each a subclass of ``PlatformItem``, so the key schema is declared
once; ``PlatformKeys`` is what infra reads. ``idempotency``: Powertools' idempotency persistence
layer (``id`` + TTL).
"""

from __future__ import annotations

from typing import Generic, TypeVar

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

_Item = TypeVar("_Item", bound=Model)


class Gsi1(GlobalSecondaryIndex[_Item], Generic[_Item]):
    """The platform table's one generic index. A model that queries it declares it under a name of
    its own, typed with itself (``owner_index: Gsi1[ProfileModel] = Gsi1()``), so a Query returns
    that model's items."""

    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class PlatformItem(Model):
    """The platform table's key schema, declared once: every domain's model on that table
    subclasses this and adds its own attributes (and its own ``class Meta``, which the table
    binding points at the configured table).

    ``gsi1pk``/``gsi1sk`` are nullable for every model: ``gsi1`` is a sparse index, and only the
    items a domain lists through it (a user's profiles, their webhooks) carry them; the others
    (fingerprints, slots, deliveries, fan-out entries) stay out of the index by leaving them unset.
    The models that do list through it always set both when they write (their DAL's ``create``).
    """

    class Meta:
        table_name = "vod-platform"
        billing_mode = "PAY_PER_REQUEST"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)


class PlatformKeys(PlatformItem):
    """The table as infra builds it (infra/tables.py): the keys and the ``gsi1`` index."""

    class Meta:
        table_name = "vod-platform"
        billing_mode = "PAY_PER_REQUEST"

    gsi1: Gsi1[PlatformKeys] = Gsi1()


class IdempotencyKeys(Model):
    """Powertools DynamoDBPersistenceLayer's default layout: ``id`` partition key, ``expiration`` TTL."""

    class Meta:
        table_name = "vod-idempotency"
        billing_mode = "PAY_PER_REQUEST"

    id = UnicodeAttribute(hash_key=True)
    expiration = NumberAttribute(null=True)
