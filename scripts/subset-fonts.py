#!/usr/bin/env python3
"""Regenerate templates/fonts/DejaVuSansCertificate*.ttf from the full DejaVu Sans fonts beside them.

Certificates from detailee/certificate/v2 on are set in these subsets, and fall back to the full
fonts for any text with a character the subset lacks. What is cut, and why:
- Only Latin text and the punctuation certificates use are kept: the names, places and media of a
  certificate are almost always in these ranges, and a font of a few hundred glyphs is quick to
  parse and to embed.
- No GSUB, GPOS, GDEF or kern table, so the PDF library places each glyph at its advance width
  instead of running OpenType shaping for every word (most of a cold PDF's time was spent there).
  Latin text set from precomposed characters needs no shaping to be correct.
- No hinting: a PDF viewer does not need it, and it only makes the embedded font larger.
- A format 3 post table (no glyph names), which the PDF library would otherwise decode in full.
- Renamed, as the Bitstream Vera and Arev licences require of a modified font: the new names
  contain neither "Bitstream", "Vera", "Arev" nor "Tavmjong Bah". The copyright and licence
  records are kept.

The output depends only on the input fonts and fontTools' subsetter; rerun this after replacing the
full fonts, and commit the result together with them. A certificate already issued in v2 must keep
rendering to the same bytes, so once one has been issued, changing these files needs a new
certificate version.

Usage: python3 scripts/subset-fonts.py   (needs fontTools: apt install python3-fonttools)
"""

from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

FONTS = Path(__file__).resolve().parent.parent / "templates" / "fonts"

# (full font, subset file, family, subfamily, full name, PostScript name)
FACES = [
    ("DejaVuSans.ttf", "DejaVuSansCertificate.ttf", "DejaVu Sans Certificate", "Book", "DejaVu Sans Certificate", "DejaVuSansCertificate"),
    ("DejaVuSans-Bold.ttf", "DejaVuSansCertificate-Bold.ttf", "DejaVu Sans Certificate", "Bold", "DejaVu Sans Certificate Bold", "DejaVuSansCertificate-Bold"),
]

# Keep in step with OUTSIDE_SUBSET in src/offboarding/pdf-fonts.ts (a test checks the two agree).
RANGES = [
    (0x0020, 0x007E),  # Basic Latin
    (0x00A0, 0x017F),  # Latin-1 Supplement, Latin Extended-A
    (0x0192, 0x0192),  # florin
    (0x0218, 0x021B),  # Romanian S and T with comma below
    (0x02C6, 0x02C7),  # circumflex, caron
    (0x02D8, 0x02DD),  # breve, dot, ring, ogonek, tilde, double acute
    (0x2000, 0x206F),  # General Punctuation: dashes, quotes, bullet, ellipsis, primes
    (0x20AC, 0x20AC),  # euro
    (0x2116, 0x2116),  # numero
    (0x2122, 0x2122),  # trade mark
    (0x2190, 0x2195),  # arrows
    (0x2212, 0x2212),  # minus
]

DROP = ["GSUB", "GPOS", "GDEF", "kern", "MATH", "FFTM"]
NAME_IDS = [0, 1, 2, 3, 4, 5, 6, 8, 11, 13, 14]


def unicodes() -> list[int]:
    return [cp for lo, hi in RANGES for cp in range(lo, hi + 1)]


def make(src: str, dst: str, family: str, style: str, full: str, postscript: str) -> None:
    options = subset.Options()
    options.layout_features = []
    options.drop_tables += DROP
    options.hinting = False
    options.glyph_names = False
    options.name_IDs = NAME_IDS
    options.name_languages = [0x0409]
    options.notdef_outline = True
    options.recalc_timestamp = False
    font = subset.load_font(str(FONTS / src), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=unicodes())
    subsetter.subset(font)

    font["post"].formatType = 3.0
    names = font["name"]
    for rec in list(names.names):
        if rec.nameID in (16, 17):
            names.removeNames(nameID=rec.nameID)
    for name_id, value in [(1, family), (2, style), (3, f"{postscript} (subset of {src})"), (4, full), (6, postscript)]:
        names.setName(value, name_id, 3, 1, 0x0409)
    for rec in names.names:
        if rec.nameID in (1, 3, 4, 6):
            text = rec.toUnicode()
            assert not any(w in text for w in ("Bitstream", "Vera", "Arev", "Tavmjong")), text
    subset.save_font(font, str(FONTS / dst), options)


if __name__ == "__main__":
    for face in FACES:
        make(*face)
        print(f"wrote {FONTS / face[1]}")
