/* tok/unicode.c — lookups over the generated Unicode tables, llama.cpp-compatible UTF-8
 * decoding, and the GPT-2 byte-level alphabet.
 *
 * Invariants: every lookup is total (any uint32_t is a valid argument). ASCII takes a
 * precomputed path; other code points a binary search over a few thousand ranges
 * (O(log n), no allocation). Nothing here allocates or keeps state beyond const tables.
 */
#include "tok/unicode.h"

static bool is_bytelevel_self(unsigned b) {
    return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

static unsigned cat_lookup(uint32_t cpt) {
    if (cpt >= 0x110000) return EL_UF_UNDEF;
    /* last range whose start <= cpt */
    size_t lo = 0, hi = el_unicode_cat_ranges_n - 1; /* ranges[hi] is the 0x110000 sentinel */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if ((el_unicode_cat_ranges[mid] >> 8) <= cpt)
            lo = mid;
        else
            hi = mid;
    }
    return el_unicode_cat_ranges[lo] & 0xFF;
}

static bool space_lookup(uint32_t cpt) {
    size_t lo = 0, hi = el_unicode_space_n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (el_unicode_space[mid] < cpt)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < el_unicode_space_n && el_unicode_space[lo] == cpt;
}

unsigned el_unicode_flags(uint32_t cpt) {
    if (cpt < 0x80) {
        /* ASCII by hand: the same answer as the tables, without the search */
        unsigned f;
        if (cpt < 0x20 || cpt == 0x7F)
            f = EL_UF_CONTROL;
        else if (cpt == ' ')
            f = EL_UF_SEP;
        else if ((cpt >= 'a' && cpt <= 'z') || (cpt >= 'A' && cpt <= 'Z'))
            f = EL_UF_LETTER;
        else if (cpt >= '0' && cpt <= '9')
            f = EL_UF_NUMBER;
        else if (cpt == '$' || cpt == '+' || cpt == '<' || cpt == '=' || cpt == '>' || cpt == '^' ||
                 cpt == '`' || cpt == '|' || cpt == '~')
            f = EL_UF_SYMBOL;
        else
            f = EL_UF_PUNCT;
        if (cpt == ' ' || (cpt >= 0x09 && cpt <= 0x0D)) f |= EL_UF_SPACE;
        return f;
    }
    unsigned f = cat_lookup(cpt);
    if (space_lookup(cpt)) f |= EL_UF_SPACE;
    return f;
}

uint32_t el_unicode_tolower(uint32_t cpt) {
    if (cpt < 0x80) return (cpt >= 'A' && cpt <= 'Z') ? cpt + 32 : cpt;
    size_t lo = 0, hi = el_unicode_lower_n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (el_unicode_lower[mid][0] < cpt)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (lo < el_unicode_lower_n && el_unicode_lower[lo][0] == cpt) ? el_unicode_lower[lo][1]
                                                                       : cpt;
}

uint32_t el_unicode_nfd_first(uint32_t cpt) {
    if (cpt < 0xC0) return cpt;
    /* last range whose first <= cpt */
    size_t lo = 0, hi = el_unicode_nfd_n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (el_unicode_nfd[mid][0] <= cpt)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0) return cpt;
    const uint32_t *r = el_unicode_nfd[lo - 1];
    return cpt <= r[1] ? r[2] : cpt;
}

uint32_t el_utf8_decode(const char *s, size_t n, size_t *adv) {
    const unsigned char *u = (const unsigned char *)s;
    unsigned c = u[0];
    size_t len;
    uint32_t cpt;
    if (c < 0x80) {
        *adv = 1;
        return c;
    }
    if ((c & 0xE0) == 0xC0) {
        len = 2;
        cpt = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        len = 3;
        cpt = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        len = 4;
        cpt = c & 0x07;
    } else { /* continuation byte or 0xF8..0xFF */
        *adv = 1;
        return 0xFFFD;
    }
    if (n < len) {
        *adv = 1;
        return 0xFFFD;
    }
    for (size_t i = 1; i < len; i++) {
        if ((u[i] & 0xC0) != 0x80) {
            *adv = 1;
            return 0xFFFD;
        }
        cpt = (cpt << 6) | (u[i] & 0x3F);
    }
    *adv = len;
    return cpt;
}

int el_utf8_encode(uint32_t cpt, char out[4]) {
    if (cpt > 0x10FFFF) cpt = 0xFFFD;
    if (cpt < 0x80) {
        out[0] = (char)cpt;
        return 1;
    }
    if (cpt < 0x800) {
        out[0] = (char)(0xC0 | (cpt >> 6));
        out[1] = (char)(0x80 | (cpt & 0x3F));
        return 2;
    }
    if (cpt < 0x10000) {
        out[0] = (char)(0xE0 | (cpt >> 12));
        out[1] = (char)(0x80 | ((cpt >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cpt & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cpt >> 18));
    out[1] = (char)(0x80 | ((cpt >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cpt >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cpt & 0x3F));
    return 4;
}

uint32_t el_bytelevel_cpt(uint8_t b) {
    /* the 68 bytes outside the printable set map, in byte order, to 256, 257, ...:
     * 0x00..0x20 -> 256..288, 0x7F..0xA0 -> 289..322, 0xAD -> 323 */
    if (is_bytelevel_self(b)) return b;
    if (b <= 0x20) return 256u + b;
    if (b >= 0x7F && b <= 0xA0) return 289u + (b - 0x7Fu);
    return 323; /* 0xAD */
}

int el_bytelevel_byte(uint32_t cpt) {
    if (cpt < 256) return is_bytelevel_self(cpt) ? (int)cpt : -1;
    if (cpt <= 288) return (int)(cpt - 256);
    if (cpt <= 322) return (int)(cpt - 289 + 0x7F);
    if (cpt == 323) return 0xAD;
    return -1;
}
