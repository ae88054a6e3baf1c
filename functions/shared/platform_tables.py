"""Key schemas of the tables beside the videos table (the domains' models share them).

``platform``: a single table for moderation fingerprints, the protected-content registry,
webhook subscriptions and deliveries, keyed ``pk``/``sk`` with one generic GSI. Each domain
declares its own PynamoDB models on it (``functions/<domain>/dal``); this schema model is what
infra reads. ``idempotency``: Powertools' idempotency persistence layer (``id`` + TTL).
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model


class Gsi1(GlobalSecondaryIndex["PlatformKeys"]):
    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class PlatformKeys(Model):
    class Meta:
        table_name = "vod-platform"
        billing_mode = "PAY_PER_REQUEST"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    gsi1 = Gsi1()


class IdempotencyKeys(Model):
    """Powertools DynamoDBPersistenceLayer's default layout: ``id`` partition key, ``expiration`` TTL."""

    class Meta:
        table_name = "vod-idempotency"
        billing_mode = "PAY_PER_REQUEST"

    id = UnicodeAttribute(hash_key=True)
    expiration = NumberAttribute(null=True)
