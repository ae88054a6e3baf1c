"""PynamoDB models of the catalog: the write model (``catalog`` table) and the read model (``catalog_views``).

Write model, one partition per title (an aggregate), items told apart by ``item_type``:

=====================  ==============================  =====================================
pk                     sk                              item
=====================  ==============================  =====================================
``TITLE#<id>``         ``TITLE``                       the title (aggregate root, ``version``)
``TITLE#<id>``         ``SEASON#0001``                 a season of a series
``TITLE#<id>``         ``SEASON#0001#EPISODE#0001``    an episode, bound to ``video_id``
=====================  ==============================  =====================================

Index ``by-video`` (``video_id`` / ``pk``) is sparse: only a movie bound to a video and episodes
carry ``video_id``, so "which title is this video part of" is one Query. The table has a stream
(new and old images) that ``handle_publish_changes`` turns into ``vod.catalog`` events.

Read model (projections, written only by the projector), ``pk`` / ``sk``:

``L#<band>#<facet>`` / ``<first_published_at>#<id>``
    A published title in one listing: the audience band (see ``ratings.AUDIENCE_BANDS``) and a
    facet (``all``, ``g:<genre>``, ``t:<tag>``, ``r:<rating>``, ``y:<year>``, ``w:<search token>``).
``T#<id>`` / ``MANIFEST``
    What the projector wrote for a title (the keys) and the title version it projected.
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    DiscriminatorAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

TITLE_SK = "TITLE"
MANIFEST_SK = "MANIFEST"


def title_pk(title_id: str) -> str:
    return f"TITLE#{title_id}"


def season_sk(season: int) -> str:
    return f"SEASON#{season:04d}"


def episode_sk(season: int, episode: int) -> str:
    return f"{season_sk(season)}#EPISODE#{episode:04d}"


class VideoIndex(GlobalSecondaryIndex["CatalogItem"]):
    class Meta:
        index_name = "by-video"
        projection = AllProjection()

    video_id = UnicodeAttribute(hash_key=True)
    pk = UnicodeAttribute(range_key=True)


class CatalogItem(Model):
    """Any item of a title's partition; queries on the base class return the right subclass."""

    class Meta:
        table_name = "vod-catalog"  # replaced from settings at first use (dal.titles)
        billing_mode = "PAY_PER_REQUEST"
        stream_view_type = "NEW_AND_OLD_IMAGES"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    item_type = DiscriminatorAttribute()
    title_id = UnicodeAttribute()
    video_id = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()

    video_index = VideoIndex()


class TitleItem(CatalogItem, discriminator="title"):
    kind = UnicodeAttribute()  # TitleKind
    title = UnicodeAttribute()
    synopsis = UnicodeAttribute(default="")
    genres = ListAttribute(of=UnicodeAttribute, default=list)
    tags = ListAttribute(of=UnicodeAttribute, default=list)
    release_year = NumberAttribute(null=True)
    content_rating = UnicodeAttribute(null=True)  # ratings.ContentRating; unrated counts as adult-only
    languages = ListAttribute(of=UnicodeAttribute, default=list)
    cast = ListAttribute(of=MapAttribute, default=list)  # [{"name", "role"?}]
    # {"cover": {...}, "backdrop": {...}}: written by the covers work (dal.titles.set_image).
    images = MapAttribute[str, Any](default=dict)
    state = UnicodeAttribute()  # PublicationState
    owner = UnicodeAttribute()  # sub of the creator
    version = NumberAttribute()  # bumped by every change to the aggregate (title, seasons, episodes)
    published_at = UnicodeAttribute(null=True)
    first_published_at = UnicodeAttribute(null=True)  # the listing order: stable across republishing


class SeasonItem(CatalogItem, discriminator="season"):
    season_number = NumberAttribute()
    title = UnicodeAttribute(null=True)
    synopsis = UnicodeAttribute(default="")
    release_year = NumberAttribute(null=True)


class EpisodeItem(CatalogItem, discriminator="episode"):
    season_number = NumberAttribute()
    episode_number = NumberAttribute()
    title = UnicodeAttribute()
    synopsis = UnicodeAttribute(default="")
    duration_seconds = NumberAttribute(null=True)


class ViewItem(Model):
    """A read-model item: one published title in one listing (see the module docstring).

    Lean on purpose (a card in a list; the details come from GET /v1/titles/{id}): a title is
    written once per listing it appears in.
    """

    class Meta:
        table_name = "vod-catalog-views"  # replaced from settings at first use (dal.views)
        billing_mode = "PAY_PER_REQUEST"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    title_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    title = UnicodeAttribute()
    genres = ListAttribute(of=UnicodeAttribute, default=list)
    release_year = NumberAttribute(null=True)
    content_rating = UnicodeAttribute(null=True)
    images = MapAttribute[str, Any](default=dict)
    # The title's facets ("g:drama", "t:...", "r:PG", "y:1999"): a second filter is a FilterExpression.
    facets = ListAttribute(of=UnicodeAttribute, default=list)
    tokens = ListAttribute(of=UnicodeAttribute, null=True)  # search items only: every token of the title
    version = NumberAttribute()
    published_at = UnicodeAttribute(null=True)


class ManifestItem(Model):
    """Per title: the read-model keys the projector wrote, and the version they show."""

    class Meta:
        table_name = "vod-catalog-views"
        billing_mode = "PAY_PER_REQUEST"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    version = NumberAttribute()
    deleted = NumberAttribute(default=0)
    keys = ListAttribute(of=UnicodeAttribute, default=list)  # "<pk>|<sk>"
