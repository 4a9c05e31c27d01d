/* tok/tok.h — tokenizers: SentencePiece-style BPE ("llama"), byte-level BPE with llama.cpp's
 * pre-tokenizers ("gpt2"), WordPiece ("bert"); built from a GGUF's tokenizer.ggml.* keys, or
 * imported from a Hugging Face tokenizer.json (el_tok_hf_import).
 *
 * Behaviour follows llama.cpp (commit 1eeb523c, 2025-09-21) token for token: same defaults
 * per model type, same special-token partition, same pre-tokenizer splits, same merge order,
 * same detokenizer rules. Where llama.cpp would abort or throw on bad metadata, we return a
 * one-line error instead; where it throws on input (4-byte sequences above U+10FFFF in
 * byte-level BPE), the code point is read as U+FFFD. Quirks kept on purpose: a "gpt2"
 * vocabulary without bos/eos ids gets llama.cpp's default 11 for both (Qwen: BOS 11, never
 * added since add_bos_token is false).
 *
 * Supported: tokenizer.ggml.model "llama" (SPM), "gpt2" (byte-level BPE), "bert"
 * (WordPiece). Pre-tokenizers: default, llama3 family (llama-bpe, llama-v3, falcon3, pixtral,
 * lfm2, dbrx, smaug-bpe, glm4...), qwen2 family (deepseek-r1-qwen, stablelm2, megrez,
 * hunyuan, grok-2, bailingmoe), gpt-2 family (mpt, olmo, phi-2, jais, trillion, exaone4...),
 * starcoder family (refact, command-r, smollm, codeshell, exaone, minerva-7b), falcon,
 * deepseek-llm, deepseek-coder, deepseek-v3 / hunyuan-dense, gpt-4o / llama4, tekken,
 * seed-coder, bloom / poro-chat / gpt3-finnish, viking. Not yet: t5 (UGM), rwkv, plamo2
 * models; kimi-k2, chameleon, superbpe pre-tokenizers (rejected with a message).
 *
 * Ownership: el_tok_from_gguf copies everything it needs, so the el_gguf may be closed right
 * after. An el_tok is immutable once built: any number of threads may encode/decode with one
 * handle at the same time (each call allocates its own scratch and frees it before returning).
 *
 * Error convention: functions that can fail return a negative value (or NULL) and, where they
 * take `char *err, size_t errlen`, write one line there.
 */
#ifndef EL_TOK_H
#define EL_TOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gguf/gguf.h"

typedef struct el_tok el_tok;

/* GGUF token types (tokenizer.ggml.token_type), as llama.cpp numbers them. */
enum {
    EL_TOK_TYPE_UNDEFINED = 0,
    EL_TOK_TYPE_NORMAL = 1,
    EL_TOK_TYPE_UNKNOWN = 2,
    EL_TOK_TYPE_CONTROL = 3,
    EL_TOK_TYPE_USER_DEFINED = 4,
    EL_TOK_TYPE_UNUSED = 5,
    EL_TOK_TYPE_BYTE = 6,
};

/* Builds a tokenizer from tokenizer.ggml.* (model, pre, tokens, scores, token_type, merges,
 * *_token_id, add_bos_token, add_eos_token, add_sep_token, add_space_prefix). NULL with one
 * line in err on missing/corrupt metadata or an unsupported model / pre-tokenizer. */
el_tok *el_tok_from_gguf(const el_gguf *g, char *err, size_t errlen);
void el_tok_free(el_tok *t);

int32_t el_tok_n_vocab(const el_tok *t);
int el_tok_max_piece(const el_tok *t);          /* longest piece (special = true) in bytes */
const char *el_tok_model_name(const el_tok *t); /* "llama", "gpt2", "bert" */
const char *el_tok_pre_name(const el_tok *t);   /* tokenizer.ggml.pre as read ("" if none) */

/* Encodes len bytes of text (any bytes; invalid UTF-8 is handled as llama.cpp does).
 * add_special: BOS/EOS/SEP as the model's add_* flags say. parse_special: text equal to a
 * control token's text becomes that token (user-defined tokens are always matched).
 * Returns the token count n and writes the first min(n, cap) ids to out (out may be NULL
 * when cap is 0). Negative on error (out of memory, n above INT_MAX). */
int el_tok_encode(const el_tok *t, const char *text, size_t len, bool add_special,
                  bool parse_special, int32_t *out, int cap);

/* Text of one token: SPM/WPM "▁" -> " ", <0xXX> byte tokens -> that byte, byte-level BPE
 * characters -> their bytes; control/unknown tokens -> "" unless special is true (then
 * their text). Returns the piece's byte count and writes its first min(count, cap) bytes
 * (no NUL). Negative for an id outside [0, n_vocab). */
int el_tok_piece(const el_tok *t, int32_t id, bool special, char *buf, int cap);

/* Detokenizes a whole sequence like llama_detokenize: remove_special drops a leading BOS /
 * trailing EOS the model adds; unparse_special renders control tokens' text; SPM's leading
 * space (add_space_prefix) is removed from the first piece; byte-level BPE models with
 * clean_up_tokenization_spaces get llama.cpp's space cleanup. Returns the byte count and
 * writes the first min(count, cap) bytes (no NUL); negative on a bad id or out of memory. */
int el_tok_decode(const el_tok *t, const int32_t *ids, int n, bool remove_special,
                  bool unparse_special, char *out, int cap);

/* Streaming detokenizer: holds the bytes of an incomplete UTF-8 sequence across tokens and
 * emits only complete sequences; bytes that cannot start or continue a valid sequence come
 * out as U+FFFD (one per maximal invalid subpart, as the Unicode standard recommends).
 * Plain struct, no allocation; init again to reset. No leading space is stripped: streams
 * are continuations of a prompt. */
typedef struct el_tok_stream {
    const el_tok *tok;
    unsigned char pend[4]; /* bytes of an unfinished UTF-8 sequence */
    int n_pend;
} el_tok_stream;

void el_tok_stream_init(el_tok_stream *s, const el_tok *t);
/* Appends token id's piece (control tokens' text only when special). Returns the number of
 * bytes ready and writes them to out. If they do not fit in cap, nothing is written, the
 * state is unchanged and the needed size (> cap) is returned: push again with a larger
 * buffer. A buffer of 3 * (el_tok_max_piece(t) + 3) bytes always suffices (held bytes plus
 * a piece, every byte possibly becoming a 3-byte U+FFFD). Negative for a bad id. */
int el_tok_stream_push(el_tok_stream *s, int32_t id, bool special, char *out, int cap);
/* Releases held bytes (each incomplete sequence becomes U+FFFD). Same return rules. */
int el_tok_stream_flush(el_tok_stream *s, char *out, int cap);

/* Special ids, -1 when the model has none. */
int32_t el_tok_bos(const el_tok *t);
int32_t el_tok_eos(const el_tok *t);
int32_t el_tok_eot(const el_tok *t);
int32_t el_tok_unk(const el_tok *t);
int32_t el_tok_sep(const el_tok *t);
int32_t el_tok_pad(const el_tok *t);
bool el_tok_add_bos(const el_tok *t); /* whether add_special prepends BOS */
bool el_tok_add_eos(const el_tok *t);
/* End of generation: EOS, EOT, EOM and the tokens llama.cpp recognises by text
 * (<|eot_id|>, <|im_end|>, <|end|>, <|endoftext|>, <end_of_turn>, ...), FIM pad/rep/sep. */
bool el_tok_is_eog(const el_tok *t, int32_t id);
int el_tok_type(const el_tok *t, int32_t id); /* EL_TOK_TYPE_*, -1 for a bad id */
/* Raw vocabulary text of a token (as stored: "▁Hello", "Ġworld", "<|im_end|>"); NULL for a
 * bad id. *len receives its length (the text is also NUL-terminated). */
const char *el_tok_text(const el_tok *t, int32_t id, size_t *len);
/* Exact vocabulary text -> id, or -1. */
int32_t el_tok_find(const el_tok *t, const char *text, size_t len);

/* ---- Hugging Face import (tok/hf_import.c) ---- */
/* Reads a tokenizer.json (byte-level BPE: GPT-2, Llama 3, Qwen 2/2.5/3 families) and
 * optionally its tokenizer_config.json (paths), and sets on w the tokenizer.* keys that
 * llama.cpp's convert_hf_to_gguf.py writes for such a model: tokenizer.ggml.model "gpt2",
 * tokenizer.ggml.pre (detected from the pre-tokenizer regex), tokens, token_type (added
 * special tokens CONTROL, other added tokens USER_DEFINED, ids missing from the vocab
 * "[PAD<i>]" UNUSED), merges, bos/eos/unk/sep/padding/mask ids and add_bos/add_eos from the
 * config, tokenizer.chat_template. Returns 0, or -1 with one line in err. */
int el_tok_hf_import(const char *tokenizer_json, const char *tokenizer_config_json_or_NULL,
                     el_gguf_writer *w, char *err, size_t errlen);
/* The same with the model's embedding row count (config.json "vocab_size"): the token list
 * is padded with "[PAD<i>]" UNUSED entries up to n_vocab (0: just past the largest id). */
int el_tok_hf_import_ex(const char *tokenizer_json, const char *tokenizer_config_json_or_NULL,
                        int64_t n_vocab, el_gguf_writer *w, char *err, size_t errlen);

#endif
