"""Language tags as subtitle files and playlists write them, reduced to one comparable code.

A catalog says ``ko``, an HLS packager ``ko-KR`` or ``KO``, a Matroska-minded one ``kor``, an old
European one ``ger`` (ISO 639-2/B) where others write ``deu`` (639-2/T). BCP 47 compares languages by
their primary subtag, case-insensitively, and prefers the ISO 639-1 code where one exists; this
module does exactly that and nothing more (no names, no scripts, no regions).
"""

from __future__ import annotations

import re

# ISO 639-1 code, 639-2/T code, then the 639-2/B code where it differs: the 184 languages that have a
# two-letter code, from Debian's iso-codes 4.15 (iso_639-2.json). Languages with only a three-letter
# code keep it, so "yue" still matches "yue".
_ISO_639 = """
aaaar ababk afafr akaka amamh arara anarg asasm avava aeave ayaym azaze babak bmbam bebel bnben
bhbih bibis bobodtib bsbos brbre bgbul cacat cscescze chcha ceche cuchu cvchv kwcor cocos crcre
cycymwel dadan dedeuger dvdiv dzdzo elellgre eneng eoepo etest eueusbaq eeewe fofao fafasper fjfij
fifin frfrafre fyfry ffful gdgla gagle glglg gvglv gngrn guguj hthat hahau heheb hzher hihin hohmo
hrhrv huhun hyhyearm igibo ioido iiiii iuiku ieile iaina idind ikipk isislice itita jvjav jajpn
klkal knkan kskas kakatgeo krkau kkkaz kmkhm kikik rwkin kykir kvkom kgkon kokor kjkua kukur lolao
lalat lvlav lilim lnlin ltlit lbltz lulub lglug mhmah mlmal mrmar mkmkdmac mgmlg mtmlt mnmon
mimrimao msmsamay mymyabur nanau nvnav nrnbl ndnde ngndo nenep nlnlddut nnnno nbnob nonor nynya
ococi ojoji orori omorm ososs papan pipli plpol ptpor pspus quque rmroh roronrum rnrun rurus sgsag
sasan sisin skslkslo slslv sesme smsmo snsna sdsnd sosom stsot esspa sqsqialb scsrd srsrp ssssw
susun swswa svswe tytah tatam tttat tetel tgtgk tltgl ththa titir toton tntsn tstso tktuk trtur
twtwi uguig ukukr ururd uzuzb veven vivie vovol wawln wowol xhxho yiyid yoyor zazha zhzhochi zuzul
"""
_TO_639_1: dict[str, str] = {}
for _entry in _ISO_639.split():
    _TO_639_1[_entry[:2]] = _entry[:2]
    _TO_639_1[_entry[2:5]] = _entry[:2]
    if len(_entry) == 8:
        _TO_639_1[_entry[5:]] = _entry[:2]
# Two-letter codes ISO withdrew that old files still carry.
_TO_639_1.update(iw="he", ji="yi", jw="jv", mo="ro")
# Tags that say "no particular language": undetermined, multiple, not linguistic, uncoded.
_NO_LANGUAGE = frozenset({"und", "mul", "zxx", "mis", ""})
_PRIMARY = re.compile(r"[A-Za-z]{2,8}")


def primary_language(tag: str | None) -> str:
    """The tag's language as one lower-case code (``"ko-KR"``, ``"KOR"``, ``"kor"`` all give ``"ko"``),
    or ``""`` for no tag, an undetermined one (``und``) or text that is not a language tag."""
    first = (tag or "").strip().replace("_", "-").split("-", 1)[0].lower()
    if not _PRIMARY.fullmatch(first) or first in _NO_LANGUAGE:
        return ""
    return _TO_639_1.get(first, first)


def same_language(a: str | None, b: str | None) -> bool:
    """True when both tags name the same language; an unknown language matches nothing."""
    first = primary_language(a)
    return bool(first) and first == primary_language(b)


def same_tag(a: str | None, b: str | None) -> bool:
    """True when the whole tags agree (``ko-KR`` and ``kor-kr``), not just their language."""
    if not same_language(a, b):
        return False
    rest = lambda tag: (tag or "").strip().replace("_", "-").lower().split("-")[1:]  # noqa: E731
    return rest(a) == rest(b)
