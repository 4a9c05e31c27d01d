/* tok/tok_wpm.c — WordPiece ("bert" vocabularies as llama.cpp's converter stores them: word
 * starts carry a U+2581 prefix instead of continuations carrying "##").
 *
 * Algorithm (llama.cpp's llm_tokenizer_wpm): normalise each code point to the first code
 * point of its NFD (which strips accents from precomposed letters), drop NUL, U+FFFD and
 * control characters, lowercase, split on whitespace, and make every punctuation character,
 * ASCII symbol and CJK ideograph a word of its own. Then each word, prefixed with U+2581, is
 * cut greedily into the longest vocabulary pieces from the left; a word that cannot be cut
 * completely becomes the unknown token.
 *
 * Cost: O(n * L) table lookups for n bytes and a longest token of L bytes. Memory: the
 * normalised text and word bounds, freed before returning.
 */
#include <stdlib.h>
#include <string.h>

#include "tok/tok_int.h"
#include "tok/unicode.h"

static bool is_cjk(uint32_t c) {
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
           (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
           (c >= 0x2B740 && c <= 0x2B81F) ||
           (c >= 0x2B920 && c <= 0x2CEAF) || /* 0x2B920, not 0x2B820: HF's table */
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

/* cuts one word (already prefixed with U+2581) into tokens */
static void cut_word(const el_tok *t, const char *w, size_t n, tok_vec *out) {
    size_t start = out->n;
    for (size_t i = 0; i < n; i++) {
        bool match = false;
        size_t hi = i + (size_t)t->max_token_len + 1;
        if (hi > n) hi = n;
        for (size_t j = hi; j > i; j--) {
            int32_t id = tok_lookup(t, w + i, j - i);
            if (id >= 0) {
                tok_vec_push(out, id);
                match = true;
                i = j - 1;
                break;
            }
        }
        if (!match) {
            out->n = start; /* discard the partial cut */
            break;
        }
    }
    if (out->n == start && t->unk >= 0) tok_vec_push(out, t->unk);
}

int tok_wpm_encode(const el_tok *t, const char *text, size_t len, tok_vec *out) {
    if (len == 0) return 0;
    if (len > SIZE_MAX / 8) return -1;
    /* normalised words, each stored as U+2581 + text; a code point grows to 4 bytes at most
     * and every code point may start a word (3 more bytes) */
    char *buf = malloc(len * 7 + 3);
    size_t *bounds = malloc((len * 2 + 2) * sizeof *bounds); /* start, end pairs */
    if (!buf || !bounds) {
        free(buf);
        free(bounds);
        return -1;
    }
    size_t n = 0, nb = 0;
    bool open = false; /* a word is being built */
    for (size_t i = 0; i < len;) {
        size_t adv;
        uint32_t c = el_utf8_decode(text + i, len - i, &adv);
        i += adv;
        if (c > 0x10FFFF) c = 0xFFFD;
        c = el_unicode_nfd_first(c);
        unsigned f = el_unicode_flags(c);
        if (f & EL_UF_SPACE) {
            if (open) bounds[nb++] = n, open = false;
            continue;
        }
        if (c == 0 || c == 0xFFFD || (f & EL_UF_CONTROL)) continue;
        char u[4];
        int k = el_utf8_encode(el_unicode_tolower(c), u);
        bool alone = (f & EL_UF_PUNCT) || (c < 0x7F && (f & EL_UF_SYMBOL)) || is_cjk(c);
        if (alone && open) bounds[nb++] = n, open = false;
        if (!open) {
            bounds[nb++] = n;
            memcpy(buf + n, "\xe2\x96\x81", 3);
            n += 3;
            open = true;
        }
        memcpy(buf + n, u, (size_t)k);
        n += (size_t)k;
        if (alone) bounds[nb++] = n, open = false;
    }
    if (open) bounds[nb++] = n;
    for (size_t w = 0; w + 1 < nb; w += 2)
        cut_word(t, buf + bounds[w], bounds[w + 1] - bounds[w], out);
    free(buf);
    free(bounds);
    return 0;
}
