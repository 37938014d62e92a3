"""Regenerate the font subsets in dossier/templates/assets/fonts from Debian's fonts-noto-cjk
(``apt-get install fonts-noto-cjk``). Run from the repository root: ``python tools/make_font_subsets.py``."""

from fontTools import subset
from fontTools.ttLib import TTCollection

LATIN = (set(range(0x20, 0x7F)) | set(range(0xA0, 0x250)) | set(range(0x370, 0x400)) | set(range(0x2070, 0x20A0))
         | {0x2713, 0x2714, 0x2717, 0x2718} | set(range(0x2000, 0x2070)) | set(range(0x2100, 0x2300))
         | set(range(0x25A0, 0x2600)) | {0x2022, 0x2026, 0x2030, 0x20AC} | set(range(0x2610, 0x2613)))


def shipped_text_chars() -> set[int]:
    """Every CJK character of the shipped text (agency profiles and templates), so that no heading or term the
    package writes can fall outside the Japanese subset."""
    from pathlib import Path

    chars: set[int] = set()
    for pattern in ("dossier/jurisdictions/*.yaml", "dossier/templates/**/*.j2"):
        for path in Path(".").glob(pattern):
            chars.update(ord(c) for c in path.read_text(encoding="utf-8") if ord(c) >= 0x3000)
    return chars


def jis_level1() -> set[int]:
    """CJK punctuation, full-width forms and the JIS X 0208 level-1 kanji (Shift_JIS lead bytes 0x88-0x98), with
    the ASCII space and punctuation: a space between Japanese words is drawn with the Japanese font, and
    without its glyph it showed as a missing-glyph box in the PDF."""
    chars = set(range(0x20, 0x7F)) | {0xA0} | set(range(0x3000, 0x3100)) | set(range(0xFF00, 0xFFF0))
    for hi in range(0x88, 0x99):
        for lo in list(range(0x40, 0x7F)) + list(range(0x80, 0xFD)):
            try:
                text = bytes([hi, lo]).decode("shift_jis")
            except UnicodeDecodeError:
                continue
            chars.update(ord(c) for c in text if ord(c) >= 0x3000)
    return chars


def main() -> None:
    for style in ("Regular", "Bold"):
        for name, chars in (("DossierSans-Latin", LATIN), ("NotoSansJP", jis_level1() | shipped_text_chars())):
            font = TTCollection(f"/usr/share/fonts/opentype/noto/NotoSansCJK-{style}.ttc").fonts[0]
            opts = subset.Options()
            opts.name_IDs = ["*"]
            opts.name_languages = ["*"]
            opts.layout_features = ["*"]
            opts.notdef_outline = True
            subsetter = subset.Subsetter(opts)
            subsetter.populate(unicodes=sorted(chars))
            subsetter.subset(font)
            font.save(f"dossier/templates/assets/fonts/{name}-{style}-subset.otf")


if __name__ == "__main__":
    main()
