"""``piclient publish``: a film and its subtitle files become an HLS ladder, WebVTT subtitles, a poster,
seek thumbnails and a catalog entry, checked by playing it before the catalog names it.

One module per step, run in order by ``pipeline.publish``: ``probe`` (what is this file?), ``ladder``
(which rungs), ``transcode`` (ffmpeg), ``subtitles``, ``artwork`` (poster and seek thumbnails),
``verify`` (a real decode through libmpv, every URL resolves) and ``catalog_file`` (the atomic write).
The server's job queue and the CLI call the same ``publish``.
"""

from piclient.publish.errors import PublishError

# The pipeline (requests, Pillow, the player) is imported from piclient.publish.pipeline where it is
# used, so building the `piclient` command line stays quick.
__all__ = ["PublishError"]
