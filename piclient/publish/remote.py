"""``piclient publish --server URL``: upload the film and its subtitles with tus, then follow the job.

The upload resumes where it stopped: tuspy keeps each file's upload URL (by a fingerprint of the file)
in ``~/.cache/piclient/uploads.json``, so running the same command again after a dropped link or a
closed laptop asks the server how much it has and sends only the rest. Subtitles go first and name
the film's upload; the film's last byte queues the packaging job, which is then followed to its end.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from piclient.publish.errors import PublishError

CHUNK = 8 * 1024 * 1024
POLL_S = 2.0
STORE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "piclient" / "uploads.json"
Progress = Callable[[str, float], None]


def upload_and_wait(args: argparse.Namespace, bar: Progress, *, store: Path = STORE,
                    sleep: Callable[[float], None] = time.sleep) -> int:
    token = args.token or os.environ.get("PICLIENT_TOKEN", "")
    if not token:
        raise PublishError("--server needs a maintainer token: --token or PICLIENT_TOKEN "
                           "(piclient server add-maintainer-token NAME --data DIR makes one)")
    for path in (args.film, *args.subs):
        if not Path(path).is_file():
            raise PublishError(f"{path} does not exist or is not a file")
    base = args.server.rstrip("/")
    headers = {"Authorization": f"Bearer {token}"}
    meta = {"filename": args.film.name, "title_ko": args.title_ko, "title_en": args.title_en,
            "year": args.year, "series": args.series, "season": args.season if args.series else None,
            "episode": args.episode, "subtitle_offset": args.subtitle_offset or None}
    film = uploader(base, headers, args.film, {k: str(v) for k, v in meta.items() if v not in (None, "")}, store)
    if not film.url:
        film.set_url(film.create_url())
        film.offset = 0
    film_id = film.url.rstrip("/").rsplit("/", 1)[-1]
    for sub in args.subs:
        uploader(base, headers, sub, {"filename": sub.name, "film": film_id}, store).upload()
    size = film.get_file_size()
    while film.offset < size:
        film.upload_chunk()
        bar("upload", film.offset / size * 0.5)
    job = follow(f"{base}/api/v1/uploads/{film_id}/job", headers, bar, sleep)
    if job["state"] == "failed":
        raise PublishError(job.get("error") or "the server could not package the film", detail=job.get("detail") or "")
    result = job.get("result") or {}
    print(f"published {result.get('id')}: {', '.join(result.get('rungs', []))}"
          + (f"; subtitles {', '.join(result['subtitles'])}" if result.get("subtitles") else ""))
    for warning in result.get("warnings", []):
        print(f"  warning: {warning}")
    return 0


def uploader(base: str, headers: dict[str, str], path: Path, metadata: dict[str, str], store: Path) -> Any:
    try:
        from tusclient import client
        from tusclient.exceptions import TusCommunicationError
        from tusclient.storage.filestorage import FileStorage
    except ImportError:
        raise PublishError("--server needs the tuspy package: pip install 'piclient[publish]'") from None
    store.parent.mkdir(parents=True, exist_ok=True)
    tus = client.TusClient(f"{base}/api/v1/uploads/", headers=headers)
    try:
        return tus.uploader(str(path), chunk_size=CHUNK, metadata=metadata, retries=30, retry_delay=5,
                            store_url=True, url_storage=FileStorage(str(store)))
    except TusCommunicationError as exc:
        raise PublishError(f"the server refused the upload of {path.name}", detail=str(exc)) from None


def follow(url: str, headers: dict[str, str], bar: Progress, sleep: Callable[[float], None]) -> dict[str, Any]:
    """Poll the packaging job until it is done or failed; the bar's second half is the server's work."""
    while True:
        try:
            response = requests.get(url, headers=headers, timeout=30)
        except requests.RequestException:
            sleep(POLL_S)  # the server restarting: the job is in its database, ask again
            continue
        if response.status_code == 200:
            job = response.json()
            if job["state"] in ("done", "failed"):
                return job
            bar(job.get("stage") or "server", 0.5 + 0.5 * float(job.get("progress") or 0))
        elif response.status_code != 404:  # 404: the job row is written a moment after the last byte
            raise PublishError(f"the server answered {response.status_code} about the job", detail=response.text[:500])
        sleep(POLL_S)
