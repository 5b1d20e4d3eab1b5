import json
from pathlib import Path

import pytest

from piclient.catalog.model import MAX_URL_LENGTH, CatalogError, parse_catalog, pick

BASE = "https://media.example/library/catalog.json"

GOOD_FILM = {
    "id": "spring-day",
    "kind": "film",
    "title": {"ko": "봄날", "en": "Spring Day"},
    "year": 2001,
    "poster": "posters/spring-day.jpg",
    "stream": "films/spring-day/index.m3u8",
    "subtitles": [{"url": "films/spring-day/ko.vtt", "language": "ko", "label": "한국어"}],
    "duration": 6120,
    "added_at": "2024-05-01T12:00:00Z",
}

GOOD_SERIES = {
    "id": "winter-sonata",
    "kind": "series",
    "title": "Winter Sonata",
    "seasons": [
        {
            "number": 1,
            "episodes": [
                {"id": "ws-1-2", "number": 2, "stream": "ws/1/2.m3u8"},
                {"id": "ws-1-1", "number": 1, "stream": "ws/1/1.m3u8", "title": {"ko": "첫 만남"}},
            ],
        }
    ],
}


def catalog_of(*entries) -> str:
    return json.dumps({"version": 1, "titles": [GOOD_FILM, *entries, GOOD_SERIES]})


def film(**fields) -> dict:
    return {"id": "odd-one", "kind": "film", "title": "Odd one", "stream": "odd.m3u8", **fields}


def assert_good_titles_still_shown(catalog) -> None:
    assert [t.id for t in catalog.titles] == ["spring-day", "winter-sonata"]


def test_a_good_json_catalog_parses_with_all_fields():
    catalog = parse_catalog(catalog_of(), BASE)

    assert len(catalog) == 2
    assert catalog.skipped == ()
    spring = catalog.by_id["spring-day"]
    assert spring.name("ko") == "봄날"
    assert spring.name("en") == "Spring Day"
    assert spring.year == 2001
    assert spring.duration == 6120
    assert spring.added_at.year == 2024
    assert spring.subtitles[0].language == "ko"


def test_a_good_yaml_catalog_parses_the_same_as_json():
    yaml_text = """
version: 1
titles:
  - id: spring-day
    kind: film
    title: {ko: 봄날, en: Spring Day}
    stream: films/spring-day/index.m3u8
    poster: posters/spring-day.jpg
  - id: winter-sonata
    kind: series
    title: Winter Sonata
    seasons:
      - number: 1
        episodes:
          - {id: ws-1-1, number: 1, stream: ws/1/1.m3u8}
"""
    catalog = parse_catalog(yaml_text.encode(), BASE)

    assert [t.id for t in catalog.titles] == ["spring-day", "winter-sonata"]
    assert catalog.by_id["spring-day"].stream == "https://media.example/library/films/spring-day/index.m3u8"
    assert catalog.skipped == ()


def test_relative_urls_resolve_against_the_catalog_url():
    catalog = parse_catalog(catalog_of(), BASE)
    spring = catalog.by_id["spring-day"]

    assert spring.poster == "https://media.example/library/posters/spring-day.jpg"
    assert spring.stream == "https://media.example/library/films/spring-day/index.m3u8"
    assert spring.subtitles[0].url == "https://media.example/library/films/spring-day/ko.vtt"
    assert catalog.by_id["winter-sonata"].episodes[0].stream == "https://media.example/library/ws/1/1.m3u8"


def test_absolute_and_root_relative_urls_are_kept_or_resolved_like_a_browser():
    catalog = parse_catalog(
        catalog_of(film(stream="https://cdn.example/a.m3u8", poster="/img/a.jpg")), BASE
    )

    odd = catalog.by_id["odd-one"]
    assert odd.stream == "https://cdn.example/a.m3u8"
    assert odd.poster == "https://media.example/img/a.jpg"


def test_episodes_are_ordered_by_number_and_playable_ids_cover_them():
    catalog = parse_catalog(catalog_of(), BASE)
    series = catalog.by_id["winter-sonata"]

    assert [ep.id for ep in series.episodes] == ["ws-1-1", "ws-1-2"]
    assert series.playable_ids == ("ws-1-1", "ws-1-2")
    assert catalog.find_playable("ws-1-2") == (series, series.episodes[1])
    assert catalog.find_playable("spring-day") == (catalog.by_id["spring-day"], None)


def test_a_plain_string_title_stands_for_every_language():
    series = parse_catalog(catalog_of(), BASE).by_id["winter-sonata"]

    assert series.name("ko") == "Winter Sonata"
    assert series.name("en") == "Winter Sonata"
    assert pick({"en": "Hello"}, "ko") == "Hello"


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        pytest.param(["not", "a", "mapping"], "mapping", id="entry-not-a-mapping"),
        pytest.param("just text", "mapping", id="entry-is-a-string"),
        pytest.param({"kind": "film", "title": "x", "stream": "a.m3u8"}, "id: Field required", id="missing-id"),
        pytest.param(film(id="../../etc"), "ids are 1-128 letters", id="bad-id-characters"),
        pytest.param(film(id="has space"), "ids are", id="id-with-space"),
        pytest.param(film(kind="music"), "kind: Input should be 'film' or 'series'", id="unknown-kind"),
        pytest.param(
            {"id": "nostream", "kind": "film", "title": "x"}, "a film needs a stream", id="film-without-stream"
        ),
        pytest.param(film(stream="file:///etc/passwd"), "must be http:// or https://", id="stream-file-url"),
        pytest.param(film(stream="javascript:alert(1)"), "must be http:// or https://", id="stream-javascript"),
        pytest.param(film(stream="https://cdn.example/a b.m3u8"), "spaces", id="stream-with-space"),
        pytest.param(film(stream="https://cdn.example/a.m3u8\n--vo=x"), "control", id="stream-with-newline"),
        pytest.param(film(stream="https://cdn.example/" + "a" * MAX_URL_LENGTH), "longer than 2048", id="overlong-url"),
        pytest.param(film(year=1200), "year: Input should be greater than or equal to 1850", id="year-too-early"),
        pytest.param(film(year="soon"), "year: Input should be a valid integer", id="year-not-a-number"),
        pytest.param(film(title=""), "at least 1 character", id="empty-title"),
        pytest.param(film(duration=-5), "duration: Input should be greater", id="negative-duration"),
    ],
)
def test_a_bad_entry_is_skipped_with_a_reason_and_the_good_titles_still_show(entry, reason):
    catalog = parse_catalog(catalog_of(entry), BASE)

    assert_good_titles_still_shown(catalog)
    assert len(catalog.skipped) == 1
    skipped = catalog.skipped[0]
    assert skipped.where.startswith("titles[1]")
    assert reason in skipped.reason
    assert len(skipped.reason) < 300


def test_an_option_like_stream_never_reaches_the_player_as_an_option():
    # "--vo=..." has no scheme: it is a relative URL and resolves under the catalog's folder.
    catalog = parse_catalog(catalog_of(film(stream="--vo=gpu")), BASE)

    assert catalog.by_id["odd-one"].stream == "https://media.example/library/--vo=gpu"


def test_an_option_like_stream_without_a_base_url_is_skipped():
    catalog = parse_catalog(catalog_of(film(stream="--vo=gpu")), "")

    assert "odd-one" not in catalog.by_id
    assert "http" in catalog.skipped[0].reason


def test_a_scheme_relative_stream_cannot_borrow_the_file_scheme_of_a_local_catalog():
    catalog = parse_catalog(catalog_of(film(stream="//evil.example/x.m3u8")), "file:///srv/media/catalog.json")

    assert "odd-one" not in catalog.by_id


def test_a_relative_stream_of_a_local_catalog_is_refused_because_streams_must_be_http():
    catalog = parse_catalog(catalog_of(film(stream="x.m3u8")), "file:///srv/media/catalog.json")

    assert "odd-one" not in catalog.by_id
    assert "http" in catalog.skipped[0].reason


def test_a_relative_poster_of_a_local_catalog_becomes_a_file_url_next_to_it():
    catalog = parse_catalog(
        catalog_of(film(stream="https://cdn.example/a.m3u8", poster="p.jpg")), "file:///srv/media/catalog.json"
    )

    assert catalog.by_id["odd-one"].poster == "file:///srv/media/p.jpg"


@pytest.mark.parametrize("poster", ["ftp://files.example/p.jpg", "posters/a b.jpg", "javascript:alert(1)"])
def test_a_bad_poster_url_costs_only_the_picture(poster):
    catalog = parse_catalog(catalog_of(film(poster=poster)), BASE)

    assert catalog.by_id["odd-one"].poster is None
    assert [s.where for s in catalog.skipped] == ["titles[1] (id 'odd-one').poster"]
    assert "placeholder" in catalog.skipped[0].reason


def test_a_rejected_stream_url_names_the_stream_field():
    catalog = parse_catalog(catalog_of(film(stream="file:///etc/passwd")), BASE)

    assert catalog.skipped[0].reason.startswith("stream: ")


def test_an_empty_poster_means_no_poster_rather_than_the_catalog_itself():
    catalog = parse_catalog(catalog_of(film(poster="")), BASE)

    assert catalog.by_id["odd-one"].poster is None


def test_a_duplicate_id_keeps_the_first_title():
    duplicate = {**GOOD_FILM, "title": "Impostor"}
    catalog = parse_catalog(catalog_of(duplicate), BASE)

    assert_good_titles_still_shown(catalog)
    assert catalog.by_id["spring-day"].name("en") == "Spring Day"
    assert "used twice" in catalog.skipped[0].reason


def test_an_episode_id_that_repeats_a_film_id_is_a_duplicate():
    series = {
        "id": "copycat",
        "kind": "series",
        "title": "Copycat",
        "seasons": [{"number": 1, "episodes": [{"id": "spring-day", "number": 1, "stream": "c.m3u8"}]}],
    }
    catalog = parse_catalog(catalog_of(series), BASE)

    assert_good_titles_still_shown(catalog)
    assert "used twice" in catalog.skipped[0].reason


def test_a_series_with_one_bad_episode_keeps_the_good_episodes():
    series = {
        "id": "mixed",
        "kind": "series",
        "title": "Mixed",
        "seasons": [
            {
                "number": 1,
                "episodes": [
                    {"id": "mixed-1", "number": 1, "stream": "m/1.m3u8"},
                    {"id": "mixed-2", "number": 2, "stream": "javascript:alert(1)"},
                ],
            }
        ],
    }
    catalog = parse_catalog(catalog_of(series), BASE)

    assert [ep.id for ep in catalog.by_id["mixed"].episodes] == ["mixed-1"]
    assert len(catalog.skipped) == 1
    assert catalog.skipped[0].where == "titles[1] (id 'mixed').seasons[0].episodes[1]"
    assert "http" in catalog.skipped[0].reason


def test_a_series_without_any_good_episode_is_skipped():
    series = {
        "id": "empty",
        "kind": "series",
        "title": "Empty",
        "seasons": [{"number": 1, "episodes": [{"id": "e-1", "number": 1}]}, {"number": 2}],
    }
    catalog = parse_catalog(catalog_of(series), BASE)

    assert_good_titles_still_shown(catalog)
    reasons = {s.where: s.reason for s in catalog.skipped}
    assert "stream" in reasons["titles[1] (id 'empty').seasons[0].episodes[0]"]
    assert "episodes" in reasons["titles[1] (id 'empty').seasons[1]"]
    assert "at least one playable episode" in reasons["titles[1] (id 'empty')"]


def test_a_series_without_seasons_is_skipped():
    catalog = parse_catalog(catalog_of({"id": "noseasons", "kind": "series", "title": "x"}), BASE)

    assert_good_titles_still_shown(catalog)
    assert "seasons" in catalog.skipped[0].reason


def test_a_bad_subtitle_url_drops_only_the_subtitle():
    subtitles = [
        {"url": "javascript:alert(1)", "language": "ko"},
        {"url": "en.vtt", "language": "en"},
    ]
    catalog = parse_catalog(catalog_of(film(subtitles=subtitles)), BASE)

    odd = catalog.by_id["odd-one"]
    assert [s.url for s in odd.subtitles] == ["https://media.example/library/en.vtt"]
    assert catalog.skipped[0].where == "titles[1] (id 'odd-one').subtitles[0]"
    assert "http" in catalog.skipped[0].reason


def test_a_subtitle_without_a_language_drops_only_the_subtitle():
    subtitles = [{"url": "ko.vtt"}, {"url": "", "language": "ko"}, {"url": "en.vtt", "language": "en"}]
    catalog = parse_catalog(catalog_of(film(subtitles=subtitles)), BASE)

    assert [s.language for s in catalog.by_id["odd-one"].subtitles] == ["en"]
    reasons = [s.reason for s in catalog.skipped]
    assert "language" in reasons[0]
    assert "empty" in reasons[1]


def test_subtitles_that_are_not_a_list_are_left_out_with_a_reason():
    catalog = parse_catalog(catalog_of(film(subtitles="ko.vtt")), BASE)

    assert catalog.by_id["odd-one"].subtitles == ()
    assert "must be a list" in catalog.skipped[0].reason


def test_a_naive_added_at_is_taken_as_utc():
    catalog = parse_catalog(catalog_of(film(added_at="2024-05-01T08:00:00")), BASE)

    assert catalog.by_id["odd-one"].added_at.utcoffset().total_seconds() == 0


def test_unknown_fields_are_ignored_so_newer_servers_can_add_them():
    catalog = parse_catalog(catalog_of(film(rating="PG", cast=["someone"])), BASE)

    assert "odd-one" in catalog.by_id
    assert catalog.skipped == ()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        pytest.param('{"version": 2, "titles": []}', "version", id="unknown-version"),
        pytest.param('{"titles": []}', "version", id="missing-version"),
        pytest.param('{"version": 1}', "titles", id="missing-titles"),
        pytest.param('{"version": 1, "titles": {"a": 1}}', "titles", id="titles-not-a-list"),
        pytest.param("[1, 2, 3]", "mapping", id="top-level-list"),
        pytest.param("just a sentence", "mapping", id="plain-text"),
        pytest.param("{version: 1, titles: [", "neither JSON nor YAML", id="not-json-or-yaml"),
        pytest.param(b"\xff\xfe\x00\x81garbage", "UTF-8", id="binary-garbage"),
        pytest.param("[" * 100_000, "nested too deeply", id="deeply-nested"),
        pytest.param("", "mapping", id="empty"),
    ],
)
def test_an_unusable_document_raises_catalog_error(raw, message):
    with pytest.raises(CatalogError, match=message):
        parse_catalog(raw, BASE)


def test_yaml_cannot_build_python_objects():
    with pytest.raises(CatalogError):
        parse_catalog("!!python/object/apply:os.system ['true']\n", BASE)


def test_an_episode_id_repeated_within_a_series_keeps_the_first_episode():
    series = {
        "id": "twice",
        "kind": "series",
        "title": "Twice",
        "seasons": [
            {"number": 1, "episodes": [{"id": "tw-1", "number": 1, "stream": "a.m3u8"}]},
            {"number": 2, "episodes": [{"id": "tw-1", "number": 1, "stream": "b.m3u8"}]},
        ],
    }
    catalog = parse_catalog(catalog_of(series), BASE)

    assert [ep.stream for ep in catalog.by_id["twice"].episodes] == ["https://media.example/library/a.m3u8"]
    assert catalog.skipped[0].where == "titles[1] (id 'twice').seasons[1].episodes[0]"
    assert "used twice" in catalog.skipped[0].reason


def test_the_example_in_the_format_documentation_parses_cleanly():
    doc = (Path(__file__).parents[2] / "docs" / "catalog.md").read_text(encoding="utf-8")
    example = doc.split("## A complete small example", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]

    catalog = parse_catalog(example, BASE)

    assert catalog.skipped == ()
    assert [t.id for t in catalog.titles] == ["spring-day", "winter-sonata"]
    assert catalog.by_id["winter-sonata"].playable_ids == ("winter-sonata-s1e1", "winter-sonata-s1e2")
    assert catalog.by_id["spring-day"].name("ko") == "봄날"


def test_a_seek_thumbnail_index_resolves_and_a_bad_one_costs_only_itself():
    catalog = parse_catalog(catalog_of(film(thumbnails="thumbs/odd.vtt")), BASE)
    assert catalog.by_id["odd-one"].thumbnails == "https://media.example/library/thumbs/odd.vtt"

    bad = parse_catalog(catalog_of(film(thumbnails="file:///etc/passwd")), BASE)
    assert bad.by_id["odd-one"].thumbnails is None
    assert [s.where for s in bad.skipped] == ["titles[1] (id 'odd-one').thumbnails"]
