#!/usr/bin/env bash
# Regenerates the bundled font subsets in this folder from Debian's Noto packages.
#
# Why subsets of Debian packages rather than a crate: no crate on crates.io ships Noto CJK, Hebrew
# and Arabic together at a size we want in the repository; the full Noto Sans CJK collection is
# about 20 MB a face. These subsets keep the characters people write every day (about 2.5 MB in all)
# and are committed, so neither building nor running the client needs any font package.
#
#   Hebrew  NotoSansHebrew-Regular: U+0590-05FF, U+FB1D-FB4F, with its layout tables (marks)
#   Arabic  NotoSansArabic-Regular: U+0600-06FF, U+0750-077F, U+08A0-08FF, presentation forms,
#           with its layout tables (egui shapes text with harfrust, so letters join)
#   CJK     NotoSansCJK-Regular.ttc face 2 (SC): the 3,755 level-1 hanzi of GB 2312, the 2,965
#           level-1 kanji of JIS X 0208 and the 5,401 level-1 characters of Big5 (7,174 distinct
#           ideographs), the 2,350 Hangul syllables of KS X 1001, kana, Hangul jamo, CJK
#           punctuation and full-width forms; no layout tables (nothing to shape)
#   Greek, Cyrillic (and Latin): NotoSans-Regular, U+0000-052F and U+1E00-1FFF (extended Latin
#           and polytonic Greek), as a fallback behind egui's Ubuntu-Light
#   Emoji   egui ships Noto Emoji (monochrome) and emoji-icon-font, which lack many common emoji
#           (e.g. U+1F642 🙂); behind them, Symbola (Debian fonts-symbola, "free for any use";
#           monochrome outlines, Unicode 9) for U+2600-27BF, U+2B00-2BFF and the emoji planes
#           U+1F300-1F6FF, U+1F900-1F9FF (about 800 KB, 1,758 characters)
#
# The glyph coverage is checked by egui-client/tests/glyphs.rs. Run from anywhere; needs the
# Debian packages fonts-noto-core, fonts-noto-cjk and python3-fonttools (installed when missing).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
py=/usr/bin/python3
pkgs=()
[ -e /usr/share/fonts/truetype/noto/NotoSansHebrew-Regular.ttf ] || pkgs+=(fonts-noto-core)
[ -e /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ] || pkgs+=(fonts-noto-cjk)
[ -e /usr/share/fonts/truetype/ancient-scripts/Symbola_hint.ttf ] || pkgs+=(fonts-symbola)
$py -c 'import fontTools' 2>/dev/null || pkgs+=(python3-fonttools)
if [ ${#pkgs[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${pkgs[@]}"
fi
noto=/usr/share/fonts/truetype/noto
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The CJK character list, from the legacy national encodings' most common levels.
$py - "$work/cjk.txt" <<'PY'
import sys
def block(enc, hi_from, hi_to, lo_from, lo_to):
    out = set()
    for hi in range(hi_from, hi_to + 1):
        for lo in range(lo_from, lo_to + 1):
            try:
                out.add(bytes([hi, lo]).decode(enc))
            except UnicodeDecodeError:
                pass
    return out
ideograph = lambda s: {c for c in s if 0x4E00 <= ord(c) <= 0x9FFF}
chars = ideograph(block("gb2312", 0xB0, 0xD7, 0xA1, 0xFE))      # GB 2312 level 1
chars |= ideograph(block("euc_jp", 0xB0, 0xCF, 0xA1, 0xFE))     # JIS X 0208 level 1
chars |= ideograph(block("big5", 0xA4, 0xC6, 0x40, 0xFE))       # Big5 level 1
chars |= {c for c in block("euc_kr", 0xB0, 0xC8, 0xA1, 0xFE) if 0xAC00 <= ord(c) <= 0xD7A3}
open(sys.argv[1], "w", encoding="utf-8").write("".join(sorted(chars)))
PY

subset() { $py -m fontTools.subset "$@" --no-hinting --name-IDs=0,1,2,3,4,5,6,13,14 --notdef-outline; }
subset "$noto/NotoSansHebrew-Regular.ttf" --unicodes="U+0590-05FF,U+FB1D-FB4F" \
  --layout-features='*' --output-file="$here/NotoSansHebrew-subset.ttf"
subset "$noto/NotoSansArabic-Regular.ttf" \
  --unicodes="U+0600-06FF,U+0750-077F,U+08A0-08FF,U+FB50-FDFF,U+FE70-FEFF" \
  --layout-features='*' --output-file="$here/NotoSansArabic-subset.ttf"
subset "$noto/NotoSans-Regular.ttf" --unicodes="U+0000-052F,U+1E00-1FFF,U+2000-206F,U+20A0-20BF" \
  --layout-features='kern,mark,mkmk,ccmp' --output-file="$here/NotoSans-subset.ttf"
subset /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc --font-number=2 \
  --text-file="$work/cjk.txt" \
  --unicodes="U+3000-303F,U+3040-309F,U+30A0-30FF,U+3131-318E,U+FF00-FFEF" \
  --layout-features='' --output-file="$here/NotoSansCJK-subset.otf"
subset /usr/share/fonts/truetype/ancient-scripts/Symbola_hint.ttf \
  --unicodes="U+2600-27BF,U+2B00-2BFF,U+1F300-1F5FF,U+1F600-1F64F,U+1F680-1F6FF,U+1F900-1F9FF" \
  --layout-features='' --output-file="$here/Symbola-emoji-subset.ttf"
cp /usr/share/doc/fonts-noto-core/copyright "$here/LICENSE-noto.txt"
cp /usr/share/doc/fonts-symbola/copyright "$here/LICENSE-symbola.txt"
ls -l "$here"
