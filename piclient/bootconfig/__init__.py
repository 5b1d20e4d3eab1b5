"""The SD image's boot-time config: piclient.yaml on the FAT partition, applied at every boot.

``salvage`` keeps what is valid of a file with mistakes, ``system_files`` turns the ``system:``
section into the files Debian reads (Wi-Fi, host name, locale, time zone, SSH keys), ``apply``
writes them, and ``notice`` puts the mistakes on the TV in plain words.
"""

from piclient.bootconfig.apply import apply
from piclient.bootconfig.salvage import Salvaged, salvage
from piclient.bootconfig.system import system_files

__all__ = ["Salvaged", "apply", "salvage", "system_files"]
