from pathlib import Path

from PIL import Image, ImageChops

from piclient.demo.posters import draw_poster, font, save_jpeg, wrap


def _changed_pixels(a: Image.Image, b: Image.Image) -> int:
    diff = ImageChops.difference(a, b).convert("L").point(lambda v: 255 if v > 40 else 0)
    return sum(1 for v in diff.getdata() if v)


def test_poster_has_the_asked_size() -> None:
    assert draw_poster("봄날", "2001", seed=1).size == (600, 900)
    assert draw_poster("봄날", "2001", seed=1, size=(300, 450)).size == (300, 450)


def test_korean_title_draws_visible_text() -> None:
    blank = draw_poster("", "", seed=5)
    titled = draw_poster("우리 동네 이야기", "", seed=5)
    assert _changed_pixels(blank, titled) > 2000


def test_same_seed_draws_the_same_poster() -> None:
    assert _changed_pixels(draw_poster("Spring Day", "2001", 9), draw_poster("Spring Day", "2001", 9)) == 0


def test_long_titles_wrap_within_the_width() -> None:
    face = font(80)
    lines = wrap("할머니의부엌에서보낸아주긴여름날 and a very long English title", face, 500)
    assert len(lines) > 1
    assert all(face.getlength(line) <= 500 for line in lines)


def test_save_jpeg_replaces_the_file_and_leaves_no_temp_files(tmp_path: Path) -> None:
    path = tmp_path / "poster.jpg"
    path.write_bytes(b"old")
    save_jpeg(draw_poster("봄날", "2001", seed=2), path)
    with Image.open(path) as img:
        assert img.format == "JPEG" and img.size == (600, 900)
    assert [p.name for p in tmp_path.iterdir()] == ["poster.jpg"]
