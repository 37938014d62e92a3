# Regenerates the font subsets from Debian fonts-noto-cjk (apt-get install fonts-noto-cjk); run from the repo root.
from fontTools.ttLib import TTCollection
from fontTools import subset
latin = set(range(0x20, 0x7F)) | set(range(0xA0, 0x250)) | set(range(0x370, 0x400)) | set(range(0x2070, 0x20A0)) | {0x2713, 0x2714, 0x2717, 0x2718} | set(range(0x2000, 0x2070)) | set(range(0x2100, 0x2300)) | set(range(0x25a0, 0x2600)) | {0x2022, 0x2026, 0x2030, 0x20ac}
cjk = set(range(0x3000, 0x3100)) | set(range(0xFF00, 0xFFF0))
for hi in range(0x88, 0x99):
    for lo in list(range(0x40, 0x7F)) + list(range(0x80, 0xFD)):
        try: ch = bytes([hi, lo]).decode("shift_jis")
        except UnicodeDecodeError: continue
        cjk.update(ord(c) for c in ch if ord(c) >= 0x3000)
for style in ("Regular", "Bold"):
    for name, chars in (("DossierSans-Latin", latin), ("NotoSansJP", cjk)):
        ttc = TTCollection(f"/usr/share/fonts/opentype/noto/NotoSansCJK-{style}.ttc")
        font = ttc.fonts[0]
        opts = subset.Options(); opts.name_IDs = ["*"]; opts.name_languages = ["*"]; opts.layout_features = ["*"]; opts.notdef_outline = True
        s = subset.Subsetter(opts); s.populate(unicodes=sorted(chars)); s.subset(font)
        font.save(f"templates/assets/fonts/{name}-{style}-subset.otf")
