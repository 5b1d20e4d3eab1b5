"""Playback: the Player interface; libmpv is behind it in ``_mpv`` and imported only when used.

Also here: HLS playlists (``hls``), subtitle conversion (``subtitles``) and the adaptive-bitrate
decision (``abr``) the player screen uses.
"""

from piclient.player.api import Media, Player, PlayerEvent, Snapshot, Track

__all__ = ["Media", "Player", "PlayerEvent", "Snapshot", "Track"]
