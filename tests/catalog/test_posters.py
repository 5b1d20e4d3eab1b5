import io
import random
import struct
import zlib

import pytest
from PIL import Image, ImageFile

from piclient.catalog.posters import GRID_SIZE, PAGE_SIZE, PosterError, prepare_poster

RED = (220, 20, 20)
BLUE = (20, 20, 220)


def encode(image: Image.Image, fmt: str, **params) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def decoded(prepared: dict[str, bytes], size: str) -> Image.Image:
    image = Image.open(io.BytesIO(prepared[size]))
    assert image.format == "JPEG"
    return image.convert("RGB")


def close_to(pixel, colour, tolerance=40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour, strict=True))


def noisy_image(size=(600, 900)) -> Image.Image:
    rng = random.Random(7)
    return Image.frombytes("RGB", size, bytes(rng.getrandbits(8) for _ in range(size[0] * size[1] * 3)))


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_declaring(width: int, height: int, rows: int) -> bytes:
    """A greyscale PNG whose header claims width x height; only ``rows`` rows of zeros are present."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    compressor = zlib.compressobj(9)
    row = bytes(width + 1)  # filter byte + pixels, all zero
    data = b"".join(compressor.compress(row) for _ in range(rows)) + compressor.flush()
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", data)
        + png_chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_a_normal_image_scales_to_exactly_the_grid_and_page_sizes(fmt):
    prepared = prepare_poster(encode(Image.new("RGB", (1000, 1500), RED), fmt))

    assert set(prepared) == {"grid", "page"}
    assert decoded(prepared, "grid").size == GRID_SIZE
    assert decoded(prepared, "page").size == PAGE_SIZE
    assert close_to(decoded(prepared, "page").getpixel((200, 300)), RED)


def test_a_wide_image_is_cropped_from_both_sides_to_fill_the_frame():
    # Left third blue, middle red, right third blue: cover-scaling to 2:3 keeps only the middle.
    image = Image.new("RGB", (900, 300), BLUE)
    image.paste(RED, (300, 0, 600, 300))

    page = decoded(prepare_poster(encode(image, "PNG")), "page")

    assert page.size == PAGE_SIZE
    assert close_to(page.getpixel((10, 300)), RED)
    assert close_to(page.getpixel((390, 300)), RED)


def test_a_tall_image_is_cropped_top_and_bottom_around_its_centre():
    # 200 x 500 crops to rows 100-400; the red band sits in the middle of that.
    image = Image.new("RGB", (200, 500), BLUE)
    image.paste(RED, (0, 200, 200, 300))

    page = decoded(prepare_poster(encode(image, "PNG")), "page")

    assert close_to(page.getpixel((200, 300)), RED)
    assert close_to(page.getpixel((200, 5)), BLUE)


def test_a_one_pixel_image_still_becomes_a_full_size_poster():
    prepared = prepare_poster(encode(Image.new("RGB", (1, 1), RED), "PNG"))

    assert decoded(prepared, "grid").size == GRID_SIZE
    assert close_to(decoded(prepared, "grid").getpixel((120, 180)), RED)


def test_bytes_that_are_not_an_image_are_refused_with_a_reason():
    with pytest.raises(PosterError, match="not an image"):
        prepare_poster(b"<!doctype html><html><body>Not Found</body></html>")


def test_an_empty_body_is_refused():
    with pytest.raises(PosterError, match="empty"):
        prepare_poster(b"")


def test_a_truncated_jpeg_is_refused_rather_than_shown_half_grey():
    data = encode(noisy_image(), "JPEG", quality=90)

    with pytest.raises(PosterError, match="does not decode completely and cleanly: Premature end"):
        prepare_poster(data[: len(data) // 2])
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


@pytest.mark.parametrize("end", [b"\xff\xd9", b"\xff\xd9\xff\xd9"])
def test_a_jpeg_cut_short_with_an_end_marker_added_is_refused(end):
    # libjpeg fills the missing half with grey and only warns; Pillow drops the warning and takes it.
    data = encode(noisy_image(), "JPEG", quality=90)
    cut = data[: len(data) // 2] + end
    Image.open(io.BytesIO(cut)).load()  # the fault this guards against: Pillow alone accepts it

    with pytest.raises(PosterError, match="does not decode completely and cleanly: .*premature end of data"):
        prepare_poster(cut)


def test_a_jpeg_with_corrupt_data_inside_is_refused():
    damaged = bytearray(encode(noisy_image(), "JPEG", quality=90))
    middle = len(damaged) // 2
    damaged[middle : middle + 64] = bytes(b ^ 0x55 for b in damaged[middle : middle + 64])

    with pytest.raises(PosterError, match="does not decode completely and cleanly: Corrupt JPEG data"):
        prepare_poster(bytes(damaged))


def test_a_large_jpeg_decoded_at_a_reduced_scale_still_fills_the_page_the_right_way_up():
    image = Image.new("RGB", (2400, 3600), RED)
    image.paste(BLUE, (0, 1800, 2400, 3600))

    prepared = prepare_poster(encode(image, "JPEG"))

    page = decoded(prepared, "page")
    assert page.size == PAGE_SIZE
    assert close_to(page.getpixel((200, 100)), RED) and close_to(page.getpixel((200, 500)), BLUE)


def test_a_truncated_png_is_refused():
    data = encode(noisy_image((300, 450)), "PNG")

    with pytest.raises(PosterError):
        prepare_poster(data[: len(data) // 2])


def idat_of(png: bytes) -> tuple[bytes, bytes]:
    """The IHDR chunk's body and all the image data of a PNG written by Pillow."""
    pos, header, data = 8, b"", b""
    while pos < len(png):
        length, kind = struct.unpack_from(">I4s", png, pos)
        body = png[pos + 8 : pos + 8 + length]
        header = body if kind == b"IHDR" else header
        data += body if kind == b"IDAT" else b""
        pos += 12 + length
    return header, data


@pytest.mark.parametrize(("damage", "detail"), [
    ("stream without its checksum", "cut short"),
    ("no end chunk", "ends before its end chunk"),
    ("bytes after the stream", "bytes after the end"),
])
def test_a_png_pillow_would_take_but_that_is_not_whole_is_refused(damage, detail):
    header, data = idat_of(encode(noisy_image((300, 450)), "PNG"))
    chunks = {
        "stream without its checksum": [(b"IDAT", data[:-4]), (b"IEND", b"")],
        "no end chunk": [(b"IDAT", data)],
        "bytes after the stream": [(b"IDAT", data + b"more"), (b"IEND", b"")],
    }[damage]
    png = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + b"".join(png_chunk(k, b) for k, b in chunks)

    with pytest.raises(PosterError, match=f"does not decode completely and cleanly: .*{detail}"):
        prepare_poster(png)


def test_a_png_declaring_thirty_thousand_pixels_a_side_is_refused_before_decoding():
    bomb = png_declaring(30000, 30000, rows=4)
    assert len(bomb) < 10_000

    with pytest.raises(PosterError, match="pixels"):
        prepare_poster(bomb)


def test_a_png_over_pillows_own_bomb_limit_is_refused():
    # 15000 x 15000 = 225 megapixels: Pillow itself raises DecompressionBombError while opening.
    with pytest.raises(PosterError, match="decompression bomb"):
        prepare_poster(png_declaring(15000, 15000, rows=4))


def test_a_png_between_pillows_warning_and_error_limits_is_refused():
    # 10000 x 10000 = 100 megapixels: Pillow only warns; the warning must count as a refusal.
    with pytest.raises(PosterError, match="decompression bomb"):
        prepare_poster(png_declaring(10000, 10000, rows=4))


def test_a_complete_compressed_bomb_over_forty_megapixels_is_refused():
    # A real, fully valid 8000 x 8000 PNG of zeros: a few tens of KB that would decode to 64 MB.
    bomb = png_declaring(8000, 8000, rows=8000)
    assert len(bomb) < 200_000

    with pytest.raises(PosterError, match="megapixels"):
        prepare_poster(bomb)


def test_a_blob_over_fifteen_megabytes_is_refused_without_decoding():
    with pytest.raises(PosterError, match="15 MB"):
        prepare_poster(b"\xff\xd8\xff" + bytes(16 * 1024 * 1024))


def test_a_cmyk_jpeg_comes_out_as_rgb_with_its_colour():
    cmyk = Image.new("CMYK", (300, 450), (0, 255, 255, 0))  # pure red in print colours

    page = decoded(prepare_poster(encode(cmyk, "JPEG")), "page")

    assert close_to(page.getpixel((200, 300)), (255, 0, 0), tolerance=50)


def test_a_palette_png_with_transparency_is_flattened_onto_a_dark_background():
    image = Image.new("P", (200, 300), 0)
    image.putpalette([*RED, *BLUE] + [0] * 762)
    image.paste(1, (0, 0, 200, 150))
    data = encode(image, "PNG", transparency=1)  # the blue top half is see-through

    page = decoded(prepare_poster(data), "page")

    assert close_to(page.getpixel((200, 500)), RED)
    assert max(page.getpixel((200, 100))) < 60


def test_a_sixteen_bit_grey_png_keeps_its_brightness():
    image = Image.new("I;16", (200, 300), 32768)  # mid grey

    page = decoded(prepare_poster(encode(image, "PNG")), "page")

    assert close_to(page.getpixel((200, 300)), (128, 128, 128), tolerance=10)


def test_an_animated_gif_uses_its_first_frame():
    frames = [Image.new("RGB", (200, 300), RED), Image.new("RGB", (200, 300), BLUE)]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)

    page = decoded(prepare_poster(data), "page")

    assert close_to(page.getpixel((200, 300)), RED, tolerance=50)


def test_exif_orientation_is_applied_so_the_poster_stands_upright():
    # Stored sideways: red on the left, blue on the right. Orientation 6 means "rotate 90 degrees
    # clockwise to display", which puts red on top.
    image = Image.new("RGB", (600, 400), BLUE)
    image.paste(RED, (0, 0, 300, 400))
    exif = Image.Exif()
    exif[0x0112] = 6
    data = encode(image, "JPEG", exif=exif.tobytes())

    page = decoded(prepare_poster(data), "page")

    assert close_to(page.getpixel((200, 60)), RED)
    assert close_to(page.getpixel((200, 540)), BLUE)
    # The output carries no orientation tag that would rotate it a second time.
    assert Image.open(io.BytesIO(prepare_poster(data)["page"])).getexif().get(0x0112) is None


def test_a_format_outside_the_web_set_is_refused():
    with pytest.raises(PosterError, match="not an image"):
        prepare_poster(encode(Image.new("RGB", (20, 30), RED), "TIFF"))
