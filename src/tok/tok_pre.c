/* tok/tok_pre.c — byte-level BPE pre-tokenizers: split text into words the way llama.cpp's
 * unicode_regex_split does for each tokenizer.ggml.pre family, without a regex engine.
 *
 * Model: a pre-tokenizer is a fixed list of passes. Text is decoded to code points (invalid
 * UTF-8 -> U+FFFD, as llama.cpp does); the first pass sees one segment, the whole text; each
 * pass re-splits every segment on its own, turning each match AND each gap between matches
 * into a segment (llama.cpp's "isolated" behaviour). Two passes are llama.cpp's hand-written
 * matchers (GPT-2's and Llama 3's patterns, ported as a state machine); the others are the
 * small fixed regexes that llama.cpp runs through std::regex, written here as "does a match
 * start at pos, and where does it end" functions with ECMAScript leftmost-first semantics;
 * the three whose greedy quantifiers must backtrack (DeepSeek V3, GPT-4o, tekken) are item
 * tables run by a tiny backtracking matcher.
 * Character classes follow llama.cpp's conventions: \s is the White_Space property (std::regex
 * sees non-ASCII spaces as \v), \p{L}/\p{N}/\p{P} are the general-category classes of
 * tok/unicode.h.
 *
 * Cost: every pass is linear in the segment (each match attempt that fails costs O(1), `\s+$`
 * is found from the end), so a split is O(n) after the O(n log m) table lookups.
 * Memory: three arrays of n entries (code points, their flags, segment lengths), freed
 * before returning; the caller owns the two outputs.
 */
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "tok/tok_int.h"
#include "tok/unicode.h"

typedef enum pass {
    P_GPT2,         /* 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S) */
    P_LLAMA3,       /* (?i:'s|...)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|
                       \s*[\r\n]+|\s+(?!\S)|\s+ */
    P_QWEN2,        /* the same with \p{N} (one digit) */
    P_SEED,         /* the same with \p{N}{1} and no [\r\n]* after punctuation */
    P_PUNCT_DEF,    /* [\p{P}\$\+<=>\^~\|]+ */
    P_PUNCT_FALCON, /* [\p{P}\$\+<=>\^~\|`]+ */
    P_NUM_RUN,      /* \p{N}+ */
    P_NUM_ONE,      /* \p{N} */
    P_DIGIT3,       /* [0-9][0-9][0-9] */
    P_CRLF,         /* [\r\n] */
    P_DS_LETTERS,   /* \s?[A-Za-zµÀ-ÖØ-öø-ƺ...]+  (DeepSeek LLM's letter class) */
    P_DS_PUNCT,     /* \s?[!-/:-~！-／：-～‘-‟　-。]+ */
    P_TRAIL_WS,     /* \s+$ */
    P_CJK,          /* [一-龥ࠀ-一가-퟿]+ */
    P_WS_LETTERS,   /* \s?\p{L}+ */
    P_WS_PUNCT,     /* \s?\p{P}+ */
    P_BLOOM,        /*  ?[^(\s|.,!?…。，、।۔،)]+ */
    P_NUM3,         /* \p{N}{1,3} */
    P_CJK_KANA,     /* [一-龥぀-ゟ゠-ヿ]+ */
    P_DSV3,         /* DeepSeek V3's main pattern (table below) */
    P_GPT4O,        /* GPT-4o / Llama 4 (table below) */
    P_TEKKEN,       /* Mistral's tekken (table below) */
} pass;

typedef struct pre_def {
    int n;
    pass p[6];
} pre_def;

static const pre_def PRE_DEFS[] = {
    [PRE_DEFAULT] = {4, {P_PUNCT_DEF, P_GPT2, P_NUM_RUN, P_DIGIT3}},
    [PRE_LLAMA3] = {1, {P_LLAMA3}},
    [PRE_DEEPSEEK_LLM] = {6, {P_CRLF, P_DS_LETTERS, P_DS_PUNCT, P_TRAIL_WS, P_CJK, P_NUM_RUN}},
    [PRE_DEEPSEEK_CODER] = {5, {P_CRLF, P_WS_LETTERS, P_WS_PUNCT, P_CJK, P_NUM_ONE}},
    [PRE_FALCON] = {3, {P_PUNCT_FALCON, P_GPT2, P_DIGIT3}},
    [PRE_STARCODER] = {2, {P_NUM_ONE, P_GPT2}},
    [PRE_GPT2] = {1, {P_GPT2}},
    [PRE_QWEN2] = {1, {P_QWEN2}},
    [PRE_SEED_CODER] = {1, {P_SEED}},
    [PRE_BLOOM] = {1, {P_BLOOM}},
    [PRE_VIKING] = {2, {P_BLOOM, P_NUM_ONE}},
    [PRE_DEEPSEEK3] = {3, {P_NUM3, P_CJK_KANA, P_DSV3}},
    [PRE_GPT4O] = {1, {P_GPT4O}},
    [PRE_TEKKEN] = {1, {P_TEKKEN}},
};

/* DeepSeek LLM's letter class, from its tokenizer.json Split regex (inclusive ranges). */
static const uint32_t DS_LETTERS[][2] = {
    {0x41, 0x5A},       {0x61, 0x7A},       {0xB5, 0xB5},       {0xC0, 0xD6},
    {0xD8, 0xF6},       {0xF8, 0x1BA},      {0x1BC, 0x1BF},     {0x1C4, 0x293},
    {0x295, 0x2AF},     {0x370, 0x373},     {0x376, 0x377},     {0x37B, 0x37D},
    {0x37F, 0x37F},     {0x386, 0x386},     {0x388, 0x38A},     {0x38C, 0x38C},
    {0x38E, 0x3A1},     {0x3A3, 0x3F5},     {0x3F7, 0x481},     {0x48A, 0x52F},
    {0x531, 0x556},     {0x10A0, 0x10C5},   {0x13A0, 0x13F5},   {0x13F8, 0x13FD},
    {0x1C90, 0x1CBA},   {0x1CBD, 0x1CBF},   {0x1D00, 0x1D2B},   {0x1D6B, 0x1D77},
    {0x1D79, 0x1D9A},   {0x1E00, 0x1F15},   {0x1F18, 0x1F1D},   {0x1F20, 0x1F45},
    {0x1F48, 0x1F4D},   {0x1F50, 0x1F57},   {0x1F59, 0x1F59},   {0x1F5B, 0x1F5B},
    {0x1F5D, 0x1F5D},   {0x1F5F, 0x1F7D},   {0x1F80, 0x1FB4},   {0x1FB6, 0x1FBC},
    {0x1FBE, 0x1FBE},   {0x1FC2, 0x1FC4},   {0x1FC6, 0x1FCC},   {0x1FD0, 0x1FD3},
    {0x1FD6, 0x1FDB},   {0x1FE0, 0x1FEC},   {0x1FF2, 0x1FF4},   {0x1FF6, 0x1FFC},
    {0x2102, 0x2102},   {0x2107, 0x2107},   {0x210A, 0x2113},   {0x2115, 0x2115},
    {0x2119, 0x211D},   {0x2124, 0x2124},   {0x2126, 0x2126},   {0x2128, 0x2128},
    {0x212A, 0x212D},   {0x212F, 0x2134},   {0x2139, 0x2139},   {0x213C, 0x213F},
    {0x2145, 0x2149},   {0x214E, 0x214E},   {0x2183, 0x2184},   {0x2C00, 0x2C7B},
    {0x2C7E, 0x2CE4},   {0x2CEB, 0x2CEE},   {0x2CF2, 0x2CF3},   {0xA640, 0xA66D},
    {0xA680, 0xA69B},   {0xA722, 0xA76F},   {0xA771, 0xA787},   {0xA78B, 0xA78E},
    {0xAB70, 0xABBF},   {0xFB00, 0xFB06},   {0xFB13, 0xFB17},   {0xFF21, 0xFF3A},
    {0xFF41, 0xFF5A},   {0x10400, 0x1044F}, {0x104B0, 0x104D3}, {0x104D8, 0x104FB},
    {0x10C80, 0x10CB2}, {0x10CC0, 0x10CF2}, {0x118A0, 0x118DF}, {0x1E900, 0x1E943},
};

static const uint32_t DS_PUNCT[][2] = {
    {0x21, 0x2F},     {0x3A, 0x7E},     {0x2018, 0x201F},
    {0x3000, 0x3002}, {0xFF01, 0xFF0F}, {0xFF1A, 0xFF5E},
};

static const uint32_t CJK[][2] = {{0x0800, 0x4E00}, {0x4E00, 0x9FA5}, {0xAC00, 0xD7FF}};
static const uint32_t CJK_KANA[][2] = {{0x3040, 0x309F}, {0x30A0, 0x30FF}, {0x4E00, 0x9FA5}};

static bool in_ranges(uint32_t c, const uint32_t (*r)[2], size_t n) {
    size_t lo = 0, hi = n; /* first range whose end >= c */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r[mid][1] < c)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && r[lo][0] <= c;
}

/* One split job: the code points of the text and their flags. */
typedef struct splitter {
    const uint32_t *cp;
    const uint16_t *fl;
    size_t *out; /* segment lengths of the pass being written */
    size_t n_out;
    size_t prev; /* end of the last segment written by a custom matcher */
} splitter;

/* flags at pos inside [ini, end), 0 outside (llama.cpp's "out of range") */
static inline unsigned flg(const splitter *s, size_t pos, size_t end) {
    return pos < end ? s->fl[pos] : 0;
}

static inline void emit_len(splitter *s, size_t len) {
    if (len) s->out[s->n_out++] = len;
}

static inline void emit_to(splitter *s, size_t end) {
    if (end > s->prev) emit_len(s, end - s->prev);
    s->prev = end;
}

static inline bool is_rn(uint32_t c) {
    return c == '\r' || c == '\n';
}

/* Contractions 's 't 're 've 'm 'll 'd at pos (cp[pos] == '\''): returns the match length
 * or 0. fold: case-insensitive (Llama 3 family). */
static size_t contraction(const splitter *s, size_t pos, size_t end, bool fold) {
    if (pos + 1 >= end) return 0;
    uint32_t a = s->cp[pos + 1];
    if (fold) a = el_unicode_tolower(a);
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
    if (pos + 2 >= end) return 0;
    uint32_t b = s->cp[pos + 2];
    if (fold) b = el_unicode_tolower(b);
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
    return 0;
}

/* whitespace run from pos: its length, and one past its last \r or \n (0 if none) */
static size_t ws_run(const splitter *s, size_t pos, size_t end, size_t *last_rn) {
    size_t n = 0;
    if (last_rn) *last_rn = 0;
    while (flg(s, pos + n, end) & EL_UF_SPACE) {
        if (last_rn && is_rn(s->cp[pos + n])) *last_rn = pos + n + 1;
        n++;
    }
    return n;
}

static void split_gpt2(splitter *s, size_t ini, size_t end) {
    const unsigned LN = EL_UF_LETTER | EL_UF_NUMBER;
    s->prev = ini;
    size_t pos = ini;
    while (pos < end) {
        uint32_t c = s->cp[pos];
        unsigned f = s->fl[pos];
        if (c == '\'') {
            size_t k = contraction(s, pos, end, false);
            if (k) {
                pos += k;
                emit_to(s, pos);
                continue;
            }
        }
        unsigned f2 = c == ' ' ? flg(s, pos + 1, end) : f;
        if (f2 & EL_UF_LETTER) { /* ' ?\p{L}+' */
            pos += c == ' ';
            while (flg(s, pos, end) & EL_UF_LETTER)
                pos++;
            emit_to(s, pos);
            continue;
        }
        if (f2 & EL_UF_NUMBER) { /* ' ?\p{N}+' */
            pos += c == ' ';
            while (flg(s, pos, end) & EL_UF_NUMBER)
                pos++;
            emit_to(s, pos);
            continue;
        }
        if (f2 && !(f2 & (EL_UF_SPACE | LN))) { /* ' ?[^\s\p{L}\p{N}]+' */
            pos += c == ' ';
            for (;;) {
                unsigned g = flg(s, pos, end);
                if (!g || (g & (EL_UF_SPACE | LN))) break;
                pos++;
            }
            emit_to(s, pos);
            continue;
        }
        size_t nws = ws_run(s, pos, end, NULL);
        if (nws > 1 && pos + nws < end) { /* '\s+(?!\S)': leave the last space to the word */
            pos += nws - 1;
            emit_to(s, pos);
            continue;
        }
        if (nws > 0) {
            pos += nws;
            emit_to(s, pos);
            continue;
        }
        emit_to(s, ++pos); /* nothing matched: the character stands alone */
    }
}

/* Llama 3's pattern and its relatives: max_digits is the \p{N}{1,k} bound, punct_nl whether
 * ' ?[^\s\p{L}\p{N}]+' takes trailing [\r\n]*. */
static void split_llama3(splitter *s, size_t ini, size_t end, size_t max_digits, bool punct_nl) {
    const unsigned LN = EL_UF_LETTER | EL_UF_NUMBER;
    s->prev = ini;
    size_t pos = ini;
    while (pos < end) {
        uint32_t c = s->cp[pos];
        unsigned f = s->fl[pos];
        if (c == '\'') {
            size_t k = contraction(s, pos, end, true);
            if (k) {
                pos += k;
                emit_to(s, pos);
                continue;
            }
        }
        /* '[^\r\n\p{L}\p{N}]?\p{L}+' */
        if (!is_rn(c) && !(f & EL_UF_NUMBER)) {
            if ((f & EL_UF_LETTER) || (flg(s, pos + 1, end) & EL_UF_LETTER)) {
                pos++;
                while (flg(s, pos, end) & EL_UF_LETTER)
                    pos++;
                emit_to(s, pos);
                continue;
            }
        }
        if (f & EL_UF_NUMBER) { /* '\p{N}{1,k}' repeatedly */
            size_t start = pos;
            while (flg(s, pos, end) & EL_UF_NUMBER) {
                pos++;
                if (pos - start >= max_digits) {
                    emit_to(s, pos);
                    start = pos;
                }
            }
            emit_to(s, pos);
            continue;
        }
        /* ' ?[^\s\p{L}\p{N}]+[\r\n]*' */
        unsigned f2 = c == ' ' ? flg(s, pos + 1, end) : f;
        if (!(f2 & (EL_UF_SPACE | LN))) {
            pos += c == ' ';
            for (;;) {
                unsigned g = flg(s, pos, end);
                if (!g || (g & (EL_UF_SPACE | LN))) break;
                pos++;
            }
            if (punct_nl)
                while (pos < end && is_rn(s->cp[pos]))
                    pos++;
            emit_to(s, pos);
            continue;
        }
        size_t last_rn;
        size_t nws = ws_run(s, pos, end, &last_rn);
        if (last_rn) { /* '\s*[\r\n]+' */
            pos = last_rn;
            emit_to(s, pos);
            continue;
        }
        if (nws > 1 && pos + nws < end) { /* '\s+(?!\S)' */
            pos += nws - 1;
            emit_to(s, pos);
            continue;
        }
        if (nws > 0) { /* '\s+' */
            pos += nws;
            emit_to(s, pos);
            continue;
        }
        emit_to(s, ++pos);
    }
}

/* ---- the std::regex passes ---- */

static bool is_sp(const splitter *s, size_t i) {
    return s->fl[i] & EL_UF_SPACE;
}

/* class membership for the explicit-range classes; llama.cpp hands std::wregex the text with
 * every non-ASCII space replaced by \v, so a space never matches a range */
static bool cls_ds_letter(const splitter *s, size_t i) {
    return !is_sp(s, i) && in_ranges(s->cp[i], DS_LETTERS, EL_ARRAY_LEN(DS_LETTERS));
}
static bool cls_ds_punct(const splitter *s, size_t i) {
    return !is_sp(s, i) && in_ranges(s->cp[i], DS_PUNCT, EL_ARRAY_LEN(DS_PUNCT));
}
static bool cls_cjk(const splitter *s, size_t i) {
    return !is_sp(s, i) && in_ranges(s->cp[i], CJK, EL_ARRAY_LEN(CJK));
}
static bool cls_letter(const splitter *s, size_t i) {
    return s->fl[i] & EL_UF_LETTER;
}
static bool cls_punct(const splitter *s, size_t i) {
    return s->fl[i] & EL_UF_PUNCT;
}
static bool cls_punct_def(const splitter *s, size_t i) {
    uint32_t c = s->cp[i];
    return (s->fl[i] & EL_UF_PUNCT) || c == '$' || c == '+' || c == '<' || c == '=' || c == '>' ||
           c == '^' || c == '~' || c == '|';
}
static bool cls_punct_falcon(const splitter *s, size_t i) {
    return cls_punct_def(s, i) || s->cp[i] == '`';
}
static bool cls_bloom(const splitter *s, size_t i) {
    switch (s->cp[i]) {
    case '(':
    case ')':
    case '|':
    case '.':
    case ',':
    case '!':
    case '?':
    case 0x2026:
    case 0x3002:
    case 0xFF0C:
    case 0x3001:
    case 0x0964:
    case 0x06D4:
    case 0x060C:
        return false;
    default:
        return !is_sp(s, i);
    }
}

typedef bool (*cls_fn)(const splitter *, size_t);

/* 'X+' at pos: end of the run or 0 */
static size_t run_of(const splitter *s, cls_fn cls, size_t pos, size_t end) {
    if (!cls(s, pos)) return 0;
    while (pos < end && cls(s, pos))
        pos++;
    return pos;
}

/* '<lead>?X+' at pos where lead is \s (or a literal space when space_only) */
static size_t lead_run(const splitter *s, cls_fn cls, size_t pos, size_t end, bool space_only) {
    bool lead = space_only ? s->cp[pos] == ' ' : is_sp(s, pos);
    if (lead && pos + 1 < end && cls(s, pos + 1)) return run_of(s, cls, pos + 1, end);
    return run_of(s, cls, pos, end);
}

/* ---- a small backtracking matcher for the newer patterns ---- */

/* DeepSeek V3, GPT-4o and tekken are alternations of a few quantified classes where greedy
 * quantifiers must give back characters (U*L+ over letters that are in both classes), so
 * they run through this matcher: ECMAScript semantics (alternatives in order, greedy
 * quantifiers backtracking from longest), one item list per alternative. Classes follow
 * llama.cpp's collapsed text: ASCII keeps its own characters, \p{S} on ASCII is only
 * "$+<=>^`|" (its table leaves out '~'), \p{M} has no ASCII member. */

static bool is_ascii_punct_s(uint32_t c) { /* \p{S} as llama.cpp's ASCII table has it */
    return c == '$' || c == '+' || c == '<' || c == '=' || c == '>' || c == '^' || c == '`' ||
           c == '|';
}
static bool c_P(const splitter *s, size_t i) {
    return s->fl[i] & EL_UF_PUNCT;
}
static bool c_S(const splitter *s, size_t i) {
    return s->cp[i] < 0x80 ? is_ascii_punct_s(s->cp[i]) : (s->fl[i] & EL_UF_SYMBOL) != 0;
}
static bool c_PS(const splitter *s, size_t i) {
    return c_P(s, i) || c_S(s, i);
}
static bool c_LM(const splitter *s, size_t i) {
    return (s->fl[i] & (EL_UF_LETTER | EL_UF_MARK)) != 0;
}
static bool c_not_rn_LPS(const splitter *s, size_t i) {
    return !is_rn(s->cp[i]) && !(s->fl[i] & EL_UF_LETTER) && !c_PS(s, i);
}
static bool c_ascii_sym(const splitter *s, size_t i) { /* [!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~] */
    uint32_t c = s->cp[i];
    return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60) ||
           (c >= 0x7B && c <= 0x7E);
}
static bool c_ascii_letter(const splitter *s, size_t i) {
    uint32_t c = s->cp[i];
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}
static bool c_not_rn_LN(const splitter *s, size_t i) {
    return !is_rn(s->cp[i]) && !(s->fl[i] & (EL_UF_LETTER | EL_UF_NUMBER));
}
static bool c_upper(const splitter *s, size_t i) { /* (?=\p{L})[^a-z] */
    return (s->fl[i] & EL_UF_LETTER) && !(s->cp[i] >= 'a' && s->cp[i] <= 'z');
}
static bool c_lower(const splitter *s, size_t i) { /* (?=\p{L})[^A-Z] */
    return (s->fl[i] & EL_UF_LETTER) && !(s->cp[i] >= 'A' && s->cp[i] <= 'Z');
}
static bool c_N(const splitter *s, size_t i) {
    return s->fl[i] & EL_UF_NUMBER;
}
static bool c_space_char(const splitter *s, size_t i) {
    return s->cp[i] == ' ';
}
static bool c_not_sLN(const splitter *s, size_t i) {
    return !(s->fl[i] & (EL_UF_SPACE | EL_UF_LETTER | EL_UF_NUMBER));
}
static bool c_rn(const splitter *s, size_t i) {
    return is_rn(s->cp[i]);
}
static bool c_rn_slash(const splitter *s, size_t i) {
    return is_rn(s->cp[i]) || s->cp[i] == '/';
}
static bool c_sp(const splitter *s, size_t i) {
    return is_sp(s, i);
}
static bool cls_cjk_kana(const splitter *s, size_t i) {
    return !is_sp(s, i) && in_ranges(s->cp[i], CJK_KANA, EL_ARRAY_LEN(CJK_KANA));
}

typedef enum item_kind { K_CLS, K_NOT_NONSPACE, K_CONTRACTION } item_kind;

typedef struct item {
    item_kind kind;
    cls_fn cls;
    uint8_t min, max; /* max 0: unbounded */
} item;

typedef struct alt {
    int n;
    item it[5];
} alt;

typedef struct pattern {
    int n;
    alt a[7];
} pattern;

#define ONE(c)                                                                                     \
    { K_CLS, c, 1, 1 }
#define OPT(c)                                                                                     \
    { K_CLS, c, 0, 1 }
#define STAR(c)                                                                                    \
    { K_CLS, c, 0, 0 }
#define PLUS(c)                                                                                    \
    { K_CLS, c, 1, 0 }
#define NOT_NONSPACE                                                                               \
    { K_NOT_NONSPACE, NULL, 0, 0 }
#define CONTRACTION                                                                                \
    { K_CONTRACTION, NULL, 0, 0 }

/* \s*[\r\n]+ | \s+(?!\S) | \s+ */
#define WS_ALTS                                                                                    \
    {2, {STAR(c_sp), PLUS(c_rn)}}, {2, {PLUS(c_sp), NOT_NONSPACE}}, {                              \
        1, {                                                                                       \
            PLUS(c_sp)                                                                             \
        }                                                                                          \
    }

static const pattern PAT_DSV3 = {
    6,
    {
        {2, {ONE(c_ascii_sym), PLUS(c_ascii_letter)}},
        {2, {OPT(c_not_rn_LPS), PLUS(c_LM)}},
        {3, {OPT(c_space_char), PLUS(c_PS), STAR(c_rn)}},
        WS_ALTS,
    },
};

static const pattern PAT_GPT4O = {
    7,
    {
        {4, {OPT(c_not_rn_LN), STAR(c_upper), PLUS(c_lower), CONTRACTION}},
        {4, {OPT(c_not_rn_LN), PLUS(c_upper), STAR(c_lower), CONTRACTION}},
        {1, {{K_CLS, c_N, 1, 3}}},
        {3, {OPT(c_space_char), PLUS(c_not_sLN), STAR(c_rn_slash)}},
        WS_ALTS,
    },
};

static const pattern PAT_TEKKEN = {
    7,
    {
        {3, {OPT(c_not_rn_LN), STAR(c_upper), PLUS(c_lower)}},
        {3, {OPT(c_not_rn_LN), PLUS(c_upper), STAR(c_lower)}},
        {1, {ONE(c_N)}},
        {3, {OPT(c_space_char), PLUS(c_not_sLN), STAR(c_rn_slash)}},
        WS_ALTS,
    },
};

#define NO_MATCH SIZE_MAX

/* end of a match of items it[0..n) from pos, NO_MATCH when there is none */
static size_t match_items(const splitter *s, const item *it, int n, size_t pos, size_t end) {
    if (n == 0) return pos;
    switch (it->kind) {
    case K_NOT_NONSPACE: /* (?!\S) */
        return pos >= end || is_sp(s, pos) ? match_items(s, it + 1, n - 1, pos, end) : NO_MATCH;
    case K_CONTRACTION: { /* (?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])? */
        if (pos < end && s->cp[pos] == '\'' && pos + 1 < end) {
            uint32_t a = s->cp[pos + 1] | 0x20, b = pos + 2 < end ? s->cp[pos + 2] | 0x20 : 0;
            size_t k = 0;
            if (s->cp[pos + 1] < 0x80) {
                if (a == 's' || a == 't' || a == 'm' || a == 'd')
                    k = 2;
                else if (pos + 2 < end && s->cp[pos + 2] < 0x80 &&
                         ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') ||
                          (a == 'l' && b == 'l')))
                    k = 3;
            }
            if (k) {
                size_t r = match_items(s, it + 1, n - 1, pos + k, end);
                if (r != NO_MATCH) return r;
            }
        }
        return match_items(s, it + 1, n - 1, pos, end);
    }
    case K_CLS: {
        size_t m = 0;
        while (pos + m < end && (it->max == 0 || m < it->max) && it->cls(s, pos + m))
            m++;
        for (size_t j = m + 1; j-- > it->min;) { /* greedy: longest first */
            size_t r = match_items(s, it + 1, n - 1, pos + j, end);
            if (r != NO_MATCH) return r;
        }
        return NO_MATCH;
    }
    }
    return NO_MATCH;
}

static size_t match_pattern(const splitter *s, const pattern *p, size_t pos, size_t end) {
    for (int k = 0; k < p->n; k++) {
        size_t r = match_items(s, p->a[k].it, p->a[k].n, pos, end);
        if (r != NO_MATCH && r > pos) return r;
    }
    return 0;
}

/* end of the match starting at pos, 0 when none starts there */
static size_t match_at(const splitter *s, pass p, size_t pos, size_t end) {
    switch (p) {
    case P_PUNCT_DEF:
        return run_of(s, cls_punct_def, pos, end);
    case P_PUNCT_FALCON:
        return run_of(s, cls_punct_falcon, pos, end);
    case P_NUM_RUN: {
        size_t e = pos;
        while (e < end && (s->fl[e] & EL_UF_NUMBER))
            e++;
        return e > pos ? e : 0;
    }
    case P_NUM_ONE:
        return (s->fl[pos] & EL_UF_NUMBER) ? pos + 1 : 0;
    case P_DIGIT3:
        if (pos + 3 > end) return 0;
        for (size_t i = pos; i < pos + 3; i++)
            if (s->cp[i] < '0' || s->cp[i] > '9') return 0;
        return pos + 3;
    case P_CRLF:
        return is_rn(s->cp[pos]) ? pos + 1 : 0;
    case P_DS_LETTERS:
        return lead_run(s, cls_ds_letter, pos, end, false);
    case P_DS_PUNCT:
        return lead_run(s, cls_ds_punct, pos, end, false);
    case P_CJK:
        return run_of(s, cls_cjk, pos, end);
    case P_WS_LETTERS:
        return lead_run(s, cls_letter, pos, end, false);
    case P_WS_PUNCT:
        return lead_run(s, cls_punct, pos, end, false);
    case P_BLOOM:
        return lead_run(s, cls_bloom, pos, end, true);
    case P_NUM3: {
        size_t e = pos;
        while (e < end && e < pos + 3 && (s->fl[e] & EL_UF_NUMBER))
            e++;
        return e > pos ? e : 0;
    }
    case P_CJK_KANA:
        return run_of(s, cls_cjk_kana, pos, end);
    case P_DSV3:
        return match_pattern(s, &PAT_DSV3, pos, end);
    case P_GPT4O:
        return match_pattern(s, &PAT_GPT4O, pos, end);
    case P_TEKKEN:
        return match_pattern(s, &PAT_TEKKEN, pos, end);
    default:
        return 0;
    }
}

static void split_regex(splitter *s, pass p, size_t ini, size_t end) {
    if (p == P_TRAIL_WS) { /* '\s+$': the leftmost match is the trailing space run */
        size_t t = end;
        while (t > ini && is_sp(s, t - 1))
            t--;
        emit_len(s, t - ini);
        emit_len(s, end - t);
        return;
    }
    size_t cur = ini, pos = ini;
    while (pos < end) {
        size_t m = match_at(s, p, pos, end);
        if (!m) {
            pos++;
            continue;
        }
        emit_len(s, pos - cur); /* the gap before the match */
        emit_len(s, m - pos);
        cur = pos = m;
    }
    emit_len(s, end - cur);
}

int tok_pre_split(tok_pre pre, const char *text, size_t len, char **norm, size_t *norm_len,
                  size_t **words, size_t *n_words) {
    *norm = NULL;
    *words = NULL;
    *norm_len = *n_words = 0;
    if (len == 0) return 0;
    if (len > SIZE_MAX / 8) return -1; /* keeps every size below from overflowing */
    if ((unsigned)pre >= EL_ARRAY_LEN(PRE_DEFS)) pre = PRE_DEFAULT;
    const pre_def *def = &PRE_DEFS[pre];

    /* len code points at most; segments at most one per code point */
    uint32_t *cp = malloc(len * sizeof *cp);
    uint16_t *fl = malloc(len * sizeof *fl);
    size_t *seg_a = malloc(len * sizeof *seg_a);
    size_t *seg_b = malloc(len * sizeof *seg_b);
    char *out = malloc(len * 3 + 4); /* U+FFFD (3 bytes) for every invalid byte at most */
    if (!cp || !fl || !seg_a || !seg_b || !out) goto oom;

    size_t n = 0;
    for (size_t i = 0; i < len;) {
        size_t adv;
        uint32_t c = el_utf8_decode(text + i, len - i, &adv);
        if (c > 0x10FFFF) c = 0xFFFD; /* llama.cpp would throw while re-encoding these */
        cp[n] = c;
        fl[n] = (uint16_t)el_unicode_flags(c);
        n++;
        i += adv;
    }

    size_t *cur = seg_a, *nxt = seg_b;
    size_t n_cur = 1;
    cur[0] = n;
    splitter s = {cp, fl, NULL, 0, 0};
    for (int k = 0; k < def->n; k++) {
        s.out = nxt;
        s.n_out = 0;
        size_t ini = 0;
        for (size_t j = 0; j < n_cur; j++) {
            size_t end = ini + cur[j];
            switch (def->p[k]) {
            case P_GPT2:
                split_gpt2(&s, ini, end);
                break;
            case P_LLAMA3:
                split_llama3(&s, ini, end, 3, true);
                break;
            case P_QWEN2:
                split_llama3(&s, ini, end, 1, true);
                break;
            case P_SEED:
                split_llama3(&s, ini, end, 1, false);
                break;
            default:
                split_regex(&s, def->p[k], ini, end);
                break;
            }
            ini = end;
        }
        size_t *tmp = cur;
        cur = nxt;
        nxt = tmp;
        n_cur = s.n_out;
    }

    /* re-encode and turn code-point lengths into byte lengths */
    size_t ob = 0, ci = 0;
    for (size_t j = 0; j < n_cur; j++) {
        size_t bytes = 0;
        for (size_t e = ci + cur[j]; ci < e; ci++) {
            int k = el_utf8_encode(cp[ci], out + ob);
            ob += (size_t)k;
            bytes += (size_t)k;
        }
        cur[j] = bytes;
    }
    free(cp);
    free(fl);
    free(nxt);
    *norm = out;
    *norm_len = ob;
    *words = cur;
    *n_words = n_cur;
    return 0;
oom:
    free(cp);
    free(fl);
    free(seg_a);
    free(seg_b);
    free(out);
    return -1;
}
