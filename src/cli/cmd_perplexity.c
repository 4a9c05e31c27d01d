/* cli/cmd_perplexity.c — `edgellm perplexity -m FILE -f TEXT [-c CTX] [-b BATCH]`.
 *
 * Computed the way llama-perplexity computes it, so the two runtimes compare number for
 * number on the same file: the file is read whole (one trailing '\n' dropped), tokenized
 * with the model's special tokens added (BOS) and without parsing special text; it is cut
 * into chunks of n_ctx tokens (the remainder is dropped); the first token of every chunk is
 * replaced by BOS when the model adds one; only the second half of each chunk is scored
 * (positions first = n_ctx/2 .. n_ctx-2 predict the next token); when n_batch > n_ctx,
 * n_batch/n_ctx chunks go through one batch as separate sequences. Output: "[i]ppl," after
 * each chunk, then "Final estimate: PPL = X +/- Y" with llama-perplexity's error estimate.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/util.h"
#include "core/core.h"
#include "edgellm.h"

static void usage(FILE *f) {
    fprintf(f, "usage: edgellm perplexity -m FILE -f TEXT [-c CTX] [-b BATCH] [-t N] [--chunks N]\n"
               "  -c N        tokens per chunk (default 512)\n"
               "  -b N        tokens per batch (default 512; > CTX runs CTX-sized chunks side by side)\n"
               "  --chunks N  score at most N chunks (default: all)\n"
               "  -ctk, -ctv  KV cache type f16 (default) or f32\n");
}

/* -log softmax(logits)[tok], as llama-perplexity: float max, double sum of expf. */
static double nll_of(const float *logits, int n_vocab, el_token tok) {
    float mx = logits[0];
    for (int i = 1; i < n_vocab; i++) mx = logits[i] > mx ? logits[i] : mx;
    double sum = 0;
    for (int i = 0; i < n_vocab; i++) sum += expf(logits[i] - mx);
    return -((double)(logits[tok] - mx) - log(sum));
}

int cmd_perplexity(int argc, char **argv) {
    const char *model = NULL, *file = NULL, *v;
    int32_t n_ctx = 512, n_batch = 512, n_threads = 0, max_chunks = -1;
    el_kv_type tk = EL_KV_F16, tv = EL_KV_F16;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            if (!(model = cli_next(argc, argv, &i))) return 2;
        } else if (!strcmp(a, "-f") || !strcmp(a, "--file")) {
            if (!(file = cli_next(argc, argv, &i))) return 2;
        } else if (!strcmp(a, "-c") || !strcmp(a, "--ctx-size")) {
            if (!(v = cli_next(argc, argv, &i)) || cli_i32(a, v, 8, 1 << 20, &n_ctx)) return 2;
        } else if (!strcmp(a, "-b") || !strcmp(a, "--batch-size")) {
            if (!(v = cli_next(argc, argv, &i)) || cli_i32(a, v, 1, 1 << 16, &n_batch)) return 2;
        } else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) {
            if (!(v = cli_next(argc, argv, &i)) || cli_i32(a, v, 1, 256, &n_threads)) return 2;
        } else if (!strcmp(a, "--chunks")) {
            if (!(v = cli_next(argc, argv, &i)) || cli_i32(a, v, 1, 1 << 30, &max_chunks)) return 2;
        } else if (!strcmp(a, "-ctk") || !strcmp(a, "-ctv")) {
            if (!(v = cli_next(argc, argv, &i)) || cli_kv_type(a, v, a[3] == 'k' ? &tk : &tv))
                return 2;
        } else {
            fprintf(stderr, "edgellm perplexity: unknown option '%s'\n", a);
            return 2;
        }
    }
    if (!model) model = cli_default_model();
    if (!model || !file) {
        usage(stderr);
        return 2;
    }
    if (n_batch > n_ctx && n_batch % n_ctx) {
        fprintf(stderr, "edgellm perplexity: -b %d must be below -c %d or a multiple of it\n",
                n_batch, n_ctx);
        return 2;
    }
    size_t len;
    char *text = cli_read_file(file, &len);
    if (!text) return 1;
    if (len && text[len - 1] == '\n') text[--len] = 0;

    int rc = 1;
    char err[512];
    el_model *m = NULL;
    el_session *s = NULL;
    el_token *toks = NULL, *bt = NULL;
    int32_t *bpos = NULL, *bseq = NULL;
    bool *bout = NULL;
    float *saved = NULL;
    m = el_model_open(model, err, sizeof err);
    if (!m) {
        fprintf(stderr, "edgellm: %s\n", err);
        goto done;
    }
    el_model_desc d;
    el_model_describe(m, &d);
    int n_tok = el_tokenize(m, text, len, true, false, NULL, 0);
    if (n_tok < 0 || !(toks = malloc(((size_t)n_tok + 1) * sizeof *toks))) {
        fprintf(stderr, "edgellm: cannot tokenize %s\n", file);
        goto done;
    }
    el_tokenize(m, text, len, true, false, toks, n_tok);
    fprintf(stderr, "perplexity: %d tokens\n", n_tok);
    if (n_tok < 2 * n_ctx) {
        fprintf(stderr, "edgellm: you need at least %d tokens for a context of %d; %s has %d\n",
                2 * n_ctx, n_ctx, file, n_tok);
        goto done;
    }
    const int n_seq = EL_MAX(1, n_batch / n_ctx);
    const int n_chunk_max = n_tok / n_ctx;
    const int n_chunk = max_chunks < 0 ? n_chunk_max : EL_MIN(max_chunks, n_chunk_max);
    const int first = n_ctx / 2;
    const int per_batch = EL_MIN(n_batch, n_ctx * n_seq);
    const int num_batches = (n_ctx + n_batch - 1) / n_batch;
    const el_token bos = el_token_bos(m);
    const bool add_bos = bos >= 0 && n_tok > 0 && toks[0] == bos;

    el_session_params sp;
    el_session_params_default(&sp);
    sp.n_ctx = n_ctx;
    sp.n_seq = n_seq;
    sp.n_batch = per_batch;
    sp.n_outputs = EL_MIN(per_batch, n_seq * (n_ctx - first));
    sp.n_threads = n_threads;
    sp.type_k = tk;
    sp.type_v = tv;
    s = el_session_open(m, &sp, err, sizeof err);
    bt = malloc((size_t)per_batch * sizeof *bt);
    bpos = malloc((size_t)per_batch * sizeof *bpos);
    bseq = malloc((size_t)per_batch * sizeof *bseq);
    bout = malloc((size_t)per_batch * sizeof *bout);
    /* logits of one chunk's scored half, gathered across batches: (n_seq, n_ctx-first, n_vocab) */
    saved = malloc((size_t)n_seq * (size_t)(n_ctx - first) * (size_t)d.n_vocab * sizeof *saved);
    if (!s || !bt || !bpos || !bseq || !bout || !saved) {
        fprintf(stderr, "edgellm: %s\n", s ? "out of memory" : err);
        goto done;
    }
    fprintf(stderr, "perplexity: %d chunks, n_ctx=%d, batch_size=%d, n_seq=%d\n", n_chunk, n_ctx,
            n_batch, n_seq);
    double nll = 0, nll2 = 0, t0 = el_now();
    int64_t count = 0;
    for (int i = 0; i < n_chunk; i += n_seq) {
        const int start = i * n_ctx;
        const int n_seq_batch = EL_MIN(n_seq, n_chunk - i);
        for (int q = 0; q < n_seq_batch; q++) el_session_seq_truncate(s, q, 0);
        for (int j = 0; j < num_batches; j++) {
            const int batch_start = start + j * n_batch;
            const int batch_size = EL_MIN(start + n_ctx - batch_start, n_batch);
            int n = 0;
            for (int q = 0; q < n_seq_batch; q++) {
                int seq_start = batch_start + q * n_ctx;
                for (int k = 0; k < batch_size; k++, n++) {
                    bt[n] = (add_bos && j == 0 && k == 0) ? bos : toks[seq_start + k];
                    bpos[n] = j * n_batch + k;
                    bseq[n] = q;
                    bout[n] = bpos[n] >= first;
                }
            }
            el_batch b = {.n = n, .tokens = bt, .pos = bpos, .seq = bseq, .logits = bout};
            if (el_session_decode(s, &b, err, sizeof err)) {
                fprintf(stderr, "edgellm: %s\n", err);
                goto done;
            }
            int o = 0;
            for (int k = 0; k < n; k++) {
                if (!bout[k]) continue;
                size_t row = (size_t)bseq[k] * (size_t)(n_ctx - first) + (size_t)(bpos[k] - first);
                memcpy(saved + row * (size_t)d.n_vocab, el_session_logits(s, o++),
                       (size_t)d.n_vocab * sizeof *saved);
            }
        }
        for (int q = 0; q < n_seq_batch; q++) {
            const el_token *tt = toks + start + q * n_ctx + first;
            for (int k = 0; k < n_ctx - 1 - first; k++) {
                const float *lg =
                    saved + ((size_t)q * (size_t)(n_ctx - first) + (size_t)k) * (size_t)d.n_vocab;
                double lp = nll_of(lg, d.n_vocab, tt[k + 1]);
                nll += lp;
                nll2 += lp * lp;
            }
            count += n_ctx - first - 1;
            printf("[%d]%.4f,", i + q + 1, exp(nll / (double)count));
            fflush(stdout);
        }
    }
    printf("\n");
    double secs = el_now() - t0;
    nll2 /= (double)count;
    nll /= (double)count;
    double ppl = exp(nll);
    nll2 -= nll * nll;
    if (nll2 > 0) {
        nll2 = sqrt(nll2 / (double)(count - 1));
        printf("Final estimate: PPL = %.4f +/- %.5f\n", ppl, nll2 * ppl);
    } else {
        printf("Final estimate: PPL = %.4f (standard deviation of log(prob) unavailable)\n", ppl);
    }
    fprintf(stderr, "perplexity: %lld scored tokens, %.2f s (%.1f tokens/s through the model)\n",
            (long long)count, secs, (double)n_chunk * n_ctx / secs);
    rc = 0;
done:
    free(saved);
    free(bout);
    free(bseq);
    free(bpos);
    free(bt);
    free(toks);
    el_session_close(s);
    el_model_close(m);
    free(text);
    return rc;
}
