"""The catalog API contract: request and response models (pydantic), shared by routes and logic."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import ConfigDict, Field, StringConstraints

from functions.catalog.models import PublicationState, TitleKind
from functions.shared.ratings import ContentRating
from functions.shared.schema import ApiModel
from functions.shared.text import PlainLine, PlainText

# Caps that keep a whole title (seasons and episodes) under DynamoDB's 1 MB per Query page, so
# "a title with its episodes" stays one Query (see docs/catalog.md).
MAX_SEASONS = 100
MAX_EPISODES = 500

VideoIdField = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
Label = Annotated[PlainLine, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
Language = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")]
TitleText = Annotated[PlainLine, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]


class _Request(ApiModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CastMember(_Request):
    name: PlainLine = Field(min_length=1, max_length=200)
    role: PlainLine | None = Field(default=None, max_length=200, description="Character played, or the job")


class CreateTitleRequest(_Request):
    kind: TitleKind
    title: TitleText
    synopsis: PlainText = Field(default="", max_length=5000)
    genres: list[Label] = Field(default_factory=list, max_length=10)
    tags: list[Label] = Field(default_factory=list, max_length=30)
    release_year: int | None = Field(default=None, ge=1870, le=2100)
    content_rating: ContentRating | None = Field(
        default=None, description="Unrated titles are shown to unrestricted audiences only"
    )
    languages: list[Language] = Field(default_factory=list, max_length=20, description="BCP 47 tags")
    cast: list[CastMember] = Field(default_factory=list, max_length=200)
    video_id: VideoIdField | None = Field(default=None, description="Movies only: the video to play")


class UpdateTitleRequest(_Request):
    """Only the fields present change; ``null`` clears an optional field."""

    title: TitleText | None = None
    synopsis: PlainText | None = Field(default=None, max_length=5000)
    genres: list[Label] | None = Field(default=None, max_length=10)
    tags: list[Label] | None = Field(default=None, max_length=30)
    release_year: int | None = Field(default=None, ge=1870, le=2100)
    content_rating: ContentRating | None = None
    languages: list[Language] | None = Field(default=None, max_length=20)
    cast: list[CastMember] | None = Field(default=None, max_length=200)
    video_id: VideoIdField | None = None


class CreateSeasonRequest(_Request):
    number: int = Field(ge=1, le=9999)
    title: TitleText | None = None
    synopsis: PlainText = Field(default="", max_length=2000)
    release_year: int | None = Field(default=None, ge=1870, le=2100)


class UpdateSeasonRequest(_Request):
    title: TitleText | None = None
    synopsis: PlainText | None = Field(default=None, max_length=2000)
    release_year: int | None = Field(default=None, ge=1870, le=2100)


class CreateEpisodeRequest(_Request):
    number: int = Field(ge=1, le=9999)
    title: TitleText
    synopsis: PlainText = Field(default="", max_length=1000)
    video_id: VideoIdField
    duration_seconds: int | None = Field(default=None, ge=1, le=24 * 3600)


class UpdateEpisodeRequest(_Request):
    title: TitleText | None = None
    synopsis: PlainText | None = Field(default=None, max_length=1000)
    video_id: VideoIdField | None = None
    duration_seconds: int | None = Field(default=None, ge=1, le=24 * 3600)


class EpisodeView(ApiModel):
    season: int
    number: int
    title: str
    synopsis: str = ""
    video_id: str
    duration_seconds: int | None = None
    updated_at: str


class SeasonView(ApiModel):
    number: int
    title: str | None = None
    synopsis: str = ""
    release_year: int | None = None
    episodes: list[EpisodeView] = Field(default_factory=list)


class TitleView(ApiModel):
    """A title with its seasons and episodes (read from the write model: read-your-writes)."""

    id: str
    kind: TitleKind
    title: str
    synopsis: str
    genres: list[str]
    tags: list[str]
    release_year: int | None = None
    content_rating: ContentRating | None = None
    languages: list[str]
    cast: list[CastMember]
    images: dict[str, Any] = Field(description='{"cover": {...}, "backdrop": {...}} when uploaded')
    video_id: str | None = None
    state: PublicationState
    owner: str
    version: int = Field(description="Also the ETag; send it back in If-Match to change the title")
    created_at: str
    updated_at: str
    published_at: str | None = None
    seasons: list[SeasonView] = Field(default_factory=list)


class TitleSummary(ApiModel):
    """A title in a listing or in search results (read model: eventually consistent)."""

    id: str
    kind: TitleKind
    title: str
    genres: list[str]
    release_year: int | None = None
    content_rating: ContentRating | None = None
    images: dict[str, Any]
    published_at: str | None = None


class TitlePage(ApiModel):
    items: list[TitleSummary]
    next_cursor: str | None = Field(
        default=None, description="Opaque; pass as ?cursor= for the next page. null on the last page."
    )
