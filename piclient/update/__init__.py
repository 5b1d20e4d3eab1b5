"""Updates that roll themselves back (docs/updates.md).

The box keeps each installed version as a venv under the data partition and a ``current`` link to
the one the units start. Everything that switches versions or decides a version is broken runs from
the image's own read-only install (``piclient-update.service``), never from a version an update put
there, so a broken new agent cannot stop its own rollback.
"""
