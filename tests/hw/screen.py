"""The TV's side of the VM, from outside the guest: what the screen really shows (the QEMU monitor's
screendump of the virtio-gpu scanout) and keys on the VM's keyboard, asked for over a virtio serial
port that tests/hw/run_vm.py answers on the host."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageChops, ImageStat

from tests.hw.conftest import RESULTS

PORT_NAME = "piclient.hw"


def _port() -> Path:
    for entry in Path("/sys/class/virtio-ports").iterdir():
        if (entry / "name").read_text().strip() == PORT_NAME:
            return Path("/dev") / entry.name
    raise FileNotFoundError(f"no virtio serial port named {PORT_NAME}")


def _ask_host(request: str) -> None:
    with _port().open("r+b", buffering=0) as port:
        port.write(f"{request}\n".encode())
        answer = b""
        while not answer.endswith(b"\n"):
            chunk = port.read(256)
            if not chunk:
                break
            answer += chunk
    if answer.strip() != b"ok":
        raise RuntimeError(f"{request} failed: {answer.decode(errors='replace').strip()}")


def tv_picture(name: str) -> Image.Image:
    """The screendump, saved as RESULTS/<name>.ppm on the host, as an RGB image."""
    _ask_host(f"screendump {name}.ppm")
    return Image.open(RESULTS / f"{name}.ppm").convert("RGB")


def type_key(qemu_name: str) -> None:
    """A key pressed and released on the VM's (virtio) keyboard, by QEMU's sendkey (names: up, ret, esc, ...)."""
    _ask_host(f"sendkey {qemu_name}")


def from_png(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data)).convert("RGB")


def difference(a: Image.Image, b: Image.Image, size: tuple[int, int] = (320, 180)) -> float:
    """Mean absolute difference per channel (0-255) of two pictures scaled to one small size."""
    small_a = a.convert("RGB").resize(size, Image.Resampling.BILINEAR)
    small_b = b.convert("RGB").resize(size, Image.Resampling.BILINEAR)
    return sum(ImageStat.Stat(ImageChops.difference(small_a, small_b)).mean) / 3


def region_difference(a: Image.Image, b: Image.Image, box: tuple[float, float, float, float]) -> float:
    """``difference`` of one part of both pictures, ``box`` in fractions of the picture (left, top, right, bottom)."""
    def crop(image: Image.Image) -> Image.Image:
        w, h = image.size
        return image.crop((round(box[0] * w), round(box[1] * h), round(box[2] * w), round(box[3] * h)))

    return difference(crop(a), crop(b), (160, 90))
