#!/usr/bin/env python3
"""tools/gen_unicode.py — generates src/tok/unicode_tables.c from the Unicode Character Database.

    python3 tools/gen_unicode.py [UCD_DIR] > src/tok/unicode_tables.c

UCD_DIR defaults to /usr/share/unicode (Debian package `unicode-data`). Reads UnicodeData.txt
and PropList.txt only; uses no Python `unicodedata` module, so the tables follow the files'
Unicode version exactly.

What the tables hold (the tokenizers' view of Unicode, the same one llama.cpp uses):
  * general-category ranges, reduced to 8 classes (undefined, number, letter, separator, mark,
    punctuation, symbol, control), packed as (start << 8) | flag, sorted; a range ends where
    the next one starts (a final sentinel starts at 0x110000);
  * White_Space code points (PropList.txt);
  * simple lowercase mapping (UnicodeData field 13) as sorted (cpt, lower) pairs;
  * "first code point of the canonical decomposition" (NFD, with canonical ordering) as
    sorted (first, last, nfd) ranges, Hangul syllables included. BERT's WordPiece uses it as
    NFD + accent stripping in one step.
"""
import os
import sys

MAX_CPT = 0x110000

F_UNDEF, F_NUMBER, F_LETTER, F_SEP, F_MARK, F_PUNCT, F_SYMBOL, F_CONTROL = (
    0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80)

CAT = {
    "Cn": F_UNDEF, "Cc": F_CONTROL, "Cf": F_CONTROL, "Co": F_CONTROL, "Cs": F_CONTROL,
    "Ll": F_LETTER, "Lm": F_LETTER, "Lo": F_LETTER, "Lt": F_LETTER, "Lu": F_LETTER,
    "Mc": F_MARK, "Me": F_MARK, "Mn": F_MARK,
    "Nd": F_NUMBER, "Nl": F_NUMBER, "No": F_NUMBER,
    "Pc": F_PUNCT, "Pd": F_PUNCT, "Pe": F_PUNCT, "Pf": F_PUNCT, "Pi": F_PUNCT, "Po": F_PUNCT,
    "Ps": F_PUNCT,
    "Sc": F_SYMBOL, "Sk": F_SYMBOL, "Sm": F_SYMBOL, "So": F_SYMBOL,
    "Zl": F_SEP, "Zp": F_SEP, "Zs": F_SEP,
}

# Hangul syllable decomposition constants (Unicode ch. 3.12)
S_BASE, L_BASE, V_BASE, T_BASE = 0xAC00, 0x1100, 0x1161, 0x11A7
L_COUNT, V_COUNT, T_COUNT = 19, 21, 28
N_COUNT = V_COUNT * T_COUNT
S_COUNT = L_COUNT * N_COUNT


def read_unicode_data(path):
    """Yields (cpt, category, ccc, decomposition-or-None, lower) for every assigned cpt."""
    first = None
    with open(path, encoding="utf-8") as f:
        for line in f:
            fields = line.rstrip("\n").split(";")
            if len(fields) < 15:
                continue
            cpt = int(fields[0], 16)
            name, cat, ccc = fields[1], fields[2], int(fields[3])
            decomp = fields[5].strip()
            lower = int(fields[13], 16) if fields[13] else 0
            canon = None
            if decomp and not decomp.startswith("<"):
                canon = [int(x, 16) for x in decomp.split()]
            if name.endswith(", First>"):
                first = (cpt, cat, ccc)
                continue
            if name.endswith(", Last>"):
                assert first is not None and first[1] == cat
                for c in range(first[0], cpt):
                    yield c, cat, ccc, None, 0
                first = None
            yield cpt, cat, ccc, canon, lower


def read_white_space(path):
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.split("#")[0].strip()
            if not line:
                continue
            rng, prop = [s.strip() for s in line.split(";")]
            if prop != "White_Space":
                continue
            if ".." in rng:
                a, b = [int(x, 16) for x in rng.split("..")]
            else:
                a = b = int(rng, 16)
            out.extend(range(a, b + 1))
    return sorted(out)


def main():
    ucd = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/unicode"
    flags = bytearray([F_UNDEF]) * MAX_CPT
    ccc = {}
    canon = {}
    lower = []
    for cpt, cat, c, dec, low in read_unicode_data(os.path.join(ucd, "UnicodeData.txt")):
        flags[cpt] = CAT[cat]
        if c:
            ccc[cpt] = c
        if dec:
            canon[cpt] = dec
        if low:
            lower.append((cpt, low))
    space = read_white_space(os.path.join(ucd, "PropList.txt"))
    # Unicode 15.1 (Sept 2023) assigned these; Debian bookworm ships UCD 15.0. Current
    # tokenizers (HF's Rust regex, llama.cpp's tables) know them, so add them when absent:
    # U+2FFC..2FFF and U+31EF (So), CJK Unified Ideographs Extension I U+2EBF0..2EE5D (Lo).
    for lo, hi, cat in ((0x2FFC, 0x2FFF, "So"), (0x31EF, 0x31EF, "So"), (0x2EBF0, 0x2EE5D, "Lo")):
        for cpt in range(lo, hi + 1):
            if flags[cpt] == F_UNDEF:
                flags[cpt] = CAT[cat]

    def full_decomp(cpt):
        if S_BASE <= cpt < S_BASE + S_COUNT:
            s = cpt - S_BASE
            out = [L_BASE + s // N_COUNT, V_BASE + (s % N_COUNT) // T_COUNT]
            if s % T_COUNT:
                out.append(T_BASE + s % T_COUNT)
            return out
        if cpt in canon:
            out = []
            for d in canon[cpt]:
                out.extend(full_decomp(d))
            return out
        return [cpt]

    def nfd_first(cpt):
        seq = full_decomp(cpt)
        # canonical ordering: stable sort each run of non-starters by combining class
        i = 0
        while i < len(seq):
            if ccc.get(seq[i], 0) == 0:
                i += 1
                continue
            j = i
            while j < len(seq) and ccc.get(seq[j], 0) != 0:
                j += 1
            seq[i:j] = sorted(seq[i:j], key=lambda x: ccc.get(x, 0))
            i = j
        return seq[0]

    nfd = []
    for cpt in range(MAX_CPT):
        if cpt in canon or S_BASE <= cpt < S_BASE + S_COUNT:
            first = nfd_first(cpt)
            if first != cpt:
                nfd.append((cpt, first))

    ranges = [(0, flags[0])]
    for cpt in range(1, MAX_CPT):
        if flags[cpt] != ranges[-1][1]:
            ranges.append((cpt, flags[cpt]))
    ranges.append((MAX_CPT, 0))

    nfd_ranges = []  # (first, last, nfd)
    for cpt, n in nfd:
        if nfd_ranges and nfd_ranges[-1][1] == cpt - 1 and nfd_ranges[-1][2] == n:
            nfd_ranges[-1] = (nfd_ranges[-1][0], cpt, n)
        else:
            nfd_ranges.append((cpt, cpt, n))

    lower.sort()
    w = sys.stdout.write
    w("/* tok/unicode_tables.c — GENERATED by tools/gen_unicode.py from the Unicode Character\n")
    w(" * Database (UnicodeData.txt, PropList.txt). Do not edit; regenerate with\n")
    w(" *   python3 tools/gen_unicode.py > src/tok/unicode_tables.c\n")
    w(" * Layouts are documented in tok/unicode.h. */\n")
    w('#include "tok/unicode.h"\n\n')
    w("// clang-format off\n")

    def emit(decl, items, per_line):
        w(decl + " = {\n")
        for i in range(0, len(items), per_line):
            w("    " + " ".join(items[i:i + per_line]) + "\n")
        w("};\n")

    emit("const uint32_t el_unicode_cat_ranges[%d]" % len(ranges),
         ["0x%08X," % ((s << 8) | f) for s, f in ranges], 8)
    w("const size_t el_unicode_cat_ranges_n = %d;\n\n" % len(ranges))
    emit("const uint32_t el_unicode_space[%d]" % len(space), ["0x%04X," % c for c in space], 10)
    w("const size_t el_unicode_space_n = %d;\n\n" % len(space))
    emit("const uint32_t el_unicode_lower[%d][2]" % len(lower),
         ["{0x%05X, 0x%05X}," % p for p in lower], 5)
    w("const size_t el_unicode_lower_n = %d;\n\n" % len(lower))
    emit("const uint32_t el_unicode_nfd[%d][3]" % len(nfd_ranges),
         ["{0x%05X, 0x%05X, 0x%05X}," % t for t in nfd_ranges], 4)
    w("const size_t el_unicode_nfd_n = %d;\n" % len(nfd_ranges))


if __name__ == "__main__":
    main()
