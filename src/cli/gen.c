/* cli/gen.c — the shared generation loop of `run` and `chat` (see gen.h).
 * Memory: the token history and scratch are allocated once at open for n_ctx tokens; the
 * only growth is the text of the last completion (kept for the chat history). */
#include "cli/gen.h"

#include <stdlib.h>
#include <string.h>

#include "cli/util.h"
#include "core/core.h"

volatile sig_atomic_t gen_interrupted;

void gen_opts_default(gen_opts *o) {
    memset(o, 0, sizeof *o);
    o->n_predict = -1;
    o->type_k = EL_KV_F16;
    o->type_v = EL_KV_F16;
    el_sampling_default(&o->sampling);
}

void gen_usage(FILE *f) {
    fprintf(f,
            "  -n, --n-predict N       tokens to generate (-1: until end of text; default -1)\n"
            "  -c, --ctx-size N        context size (default: model's, at most 4096)\n"
            "  -b, --batch-size N      prompt tokens per forward pass (default 512)\n"
            "  -t, --threads N         threads (default: all cores)\n"
            "  -s, --seed N            sampling seed (default: random)\n"
            "      --temp T            temperature; 0 = greedy (default 0.8)\n"
            "      --top-k N           (default 40, 0 = off)\n"
            "      --top-p P           (default 0.95, 1 = off)\n"
            "      --min-p P           (default 0.05, 0 = off)\n"
            "      --repeat-penalty F  (default 1.0 = off)\n"
            "      --repeat-last-n N   penalty window (default 64, -1 = all)\n"
            "      --presence-penalty F, --frequency-penalty F   (default 0)\n"
            "  -r, --stop TEXT         stop when TEXT is generated (repeatable)\n"
            "      --ignore-eos        keep generating past end-of-text\n"
            "      --special           print special tokens\n"
            "  -ctk, -ctv TYPE         KV cache type for keys / values: f16 (default), f32\n");
}

int gen_parse_flag(gen_opts *o, int argc, char **argv, int *i) {
    const char *a = argv[*i], *v;
    el_sampling *sp = &o->sampling;
#define VAL()                                                                                  \
    do {                                                                                       \
        if (!(v = cli_next(argc, argv, i))) return -1;                                         \
    } while (0)
    if (!strcmp(a, "-n") || !strcmp(a, "--n-predict")) {
        VAL();
        return cli_i32(a, v, -1, 1 << 24, &o->n_predict) ? -1 : 1;
    } else if (!strcmp(a, "-c") || !strcmp(a, "--ctx-size")) {
        VAL();
        return cli_i32(a, v, 0, 1 << 24, &o->n_ctx) ? -1 : 1;
    } else if (!strcmp(a, "-b") || !strcmp(a, "--batch-size")) {
        VAL();
        return cli_i32(a, v, 1, 1 << 16, &o->n_batch) ? -1 : 1;
    } else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) {
        VAL();
        return cli_i32(a, v, 1, 256, &o->n_threads) ? -1 : 1;
    } else if (!strcmp(a, "-s") || !strcmp(a, "--seed")) {
        VAL();
        long long s;
        if (cli_int(a, v, -1, INT64_MAX, &s)) return -1;
        sp->seed = s < 0 ? EL_SEED_RANDOM : (uint64_t)s;
        return 1;
    } else if (!strcmp(a, "--temp")) {
        VAL();
        return cli_float(a, v, 0, 100, &sp->temp) ? -1 : 1;
    } else if (!strcmp(a, "--top-k")) {
        VAL();
        return cli_i32(a, v, 0, 1 << 30, &sp->top_k) ? -1 : 1;
    } else if (!strcmp(a, "--top-p")) {
        VAL();
        return cli_float(a, v, 0, 1, &sp->top_p) ? -1 : 1;
    } else if (!strcmp(a, "--min-p")) {
        VAL();
        return cli_float(a, v, 0, 1, &sp->min_p) ? -1 : 1;
    } else if (!strcmp(a, "--repeat-penalty")) {
        VAL();
        return cli_float(a, v, 0, 100, &sp->repeat_penalty) ? -1 : 1;
    } else if (!strcmp(a, "--repeat-last-n")) {
        VAL();
        return cli_i32(a, v, -1, 1 << 24, &sp->penalty_last_n) ? -1 : 1;
    } else if (!strcmp(a, "--presence-penalty")) {
        VAL();
        return cli_float(a, v, -2, 2, &sp->presence_penalty) ? -1 : 1;
    } else if (!strcmp(a, "--frequency-penalty")) {
        VAL();
        return cli_float(a, v, -2, 2, &sp->frequency_penalty) ? -1 : 1;
    } else if (!strcmp(a, "-r") || !strcmp(a, "--stop") || !strcmp(a, "--reverse-prompt")) {
        VAL();
        if (o->n_stops == GEN_MAX_STOPS) {
            fprintf(stderr, "edgellm: at most %d stop strings\n", GEN_MAX_STOPS);
            return -1;
        }
        if (!*v) {
            fprintf(stderr, "edgellm: %s: empty stop string\n", a);
            return -1;
        }
        o->stops[o->n_stops++] = v;
        return 1;
    } else if (!strcmp(a, "--ignore-eos")) {
        o->ignore_eos = true;
        return 1;
    } else if (!strcmp(a, "--special")) {
        o->special = true;
        return 1;
    } else if (!strcmp(a, "--verbose-prompt")) {
        o->verbose_prompt = true;
        return 1;
    } else if (!strcmp(a, "-ctk") || !strcmp(a, "--cache-type-k")) {
        VAL();
        return cli_kv_type(a, v, &o->type_k) ? -1 : 1;
    } else if (!strcmp(a, "-ctv") || !strcmp(a, "--cache-type-v")) {
        VAL();
        return cli_kv_type(a, v, &o->type_v) ? -1 : 1;
    }
#undef VAL
    return 0;
}

int gen_open(gen_ctx *g, const char *model_path, const gen_opts *o) {
    memset(g, 0, sizeof *g);
    g->o = *o;
    char err[512];
    double t0 = el_now();
    g->m = el_model_open(model_path, err, sizeof err);
    if (!g->m) {
        fprintf(stderr, "edgellm: %s\n", err);
        return -1;
    }
    el_session_params sp;
    el_session_params_default(&sp);
    sp.n_ctx = o->n_ctx;
    sp.n_batch = o->n_batch;
    sp.n_threads = o->n_threads;
    sp.type_k = o->type_k;
    sp.type_v = o->type_v;
    g->s = el_session_open(g->m, &sp, err, sizeof err);
    if (!g->s) {
        fprintf(stderr, "edgellm: %s\n", err);
        return -1;
    }
    g->smp = el_sampler_open(g->m, &o->sampling, err, sizeof err);
    if (!g->smp) {
        fprintf(stderr, "edgellm: sampler: %s\n", err);
        return -1;
    }
    g->dt = el_detok_new(g->m, o->special);
    int32_t n_ctx = el_session_n_ctx(g->s);
    g->hist = malloc((size_t)n_ctx * sizeof *g->hist);
    g->scratch = malloc((size_t)n_ctx * sizeof *g->scratch);
    g->pos = malloc((size_t)(o->n_batch ? o->n_batch : 512) * sizeof *g->pos);
    if (!g->dt || !g->hist || !g->scratch || !g->pos) {
        fprintf(stderr, "edgellm: out of memory\n");
        return -1;
    }
    g->t_load = el_now() - t0;
    return 0;
}

void gen_close(gen_ctx *g) {
    el_detok_free(g->dt);
    el_sampler_close(g->smp);
    el_session_close(g->s);
    el_model_close(g->m);
    free(g->hist);
    free(g->scratch);
    free(g->pos);
    free(g->last_text);
    memset(g, 0, sizeof *g);
}

static int decode_tokens(gen_ctx *g, const el_token *toks, int32_t n) {
    int32_t n_batch = g->o.n_batch ? g->o.n_batch : 512;
    char err[256];
    for (int32_t i = 0; i < n; i += n_batch) {
        int32_t k = EL_MIN(n_batch, n - i);
        for (int32_t j = 0; j < k; j++) g->pos[j] = g->n_hist + j;
        el_batch b = {.n = k, .tokens = toks + i, .pos = g->pos};
        if (el_session_decode(g->s, &b, err, sizeof err)) {
            fprintf(stderr, "edgellm: %s\n", err);
            g->have_logits = false;
            return -1;
        }
        memcpy(g->hist + g->n_hist, toks + i, (size_t)k * sizeof *toks);
        g->n_hist += k;
    }
    g->have_logits = true;
    return 0;
}

int gen_prompt(gen_ctx *g, const char *text, size_t len, bool add_special) {
    int32_t n_ctx = el_session_n_ctx(g->s);
    int n = el_tokenize(g->m, text, len, add_special, true, g->scratch, n_ctx);
    if (n < 0) {
        fprintf(stderr, "edgellm: cannot tokenize the prompt\n");
        return -1;
    }
    if (n == 0) {
        fprintf(stderr, "edgellm: empty prompt (and the model adds no BOS token)\n");
        return -1;
    }
    if (n >= n_ctx) {
        fprintf(stderr, "edgellm: prompt of %d tokens does not fit the context of %d (-c)\n", n,
                n_ctx);
        return -1;
    }
    if (g->o.verbose_prompt) {
        fprintf(stderr, "prompt tokens (%d):", n);
        for (int i = 0; i < n; i++) fprintf(stderr, " %d", g->scratch[i]);
        fprintf(stderr, "\n");
    }
    int32_t common = 0;
    while (common < n && common < g->n_hist && g->scratch[common] == g->hist[common]) common++;
    if (common == n) common = n - 1; /* re-decode the last token for its logits */
    el_session_seq_truncate(g->s, 0, common);
    g->n_hist = common;
    g->n_reused += common;
    double t0 = el_now();
    if (decode_tokens(g, g->scratch + common, n - common)) return -1;
    g->t_prompt += el_now() - t0;
    g->n_prompt += n - common;
    for (int32_t i = common; i < n; i++) el_sampler_add_history(g->smp, g->scratch[i]);
    return 0;
}

static void keep_text(gen_ctx *g, const char *s, size_t n) {
    if (g->last_len + n + 1 > g->last_cap) {
        size_t cap = (g->last_len + n + 1) * 2;
        char *p = realloc(g->last_text, cap);
        if (!p) return;
        g->last_text = p;
        g->last_cap = cap;
    }
    memcpy(g->last_text + g->last_len, s, n);
    g->last_len += n;
    g->last_text[g->last_len] = 0;
}

static void emit_text(gen_ctx *g, el_stop *stop, const char *s, int n, FILE *out, gen_out mode,
                      int *hit) {
    const char *e;
    int k = stop ? el_stop_push(stop, s, (size_t)n, &e, hit) : (e = s, n);
    if (k > 0) {
        keep_text(g, e, (size_t)k);
        if (mode == GEN_OUT_TEXT) {
            fwrite(e, 1, (size_t)k, out);
            fflush(out);
        }
    }
}

int gen_complete(gen_ctx *g, gen_out mode, int top_logprobs, FILE *out) {
    char err[256];
    int32_t n_ctx = el_session_n_ctx(g->s);
    el_stop *stop = NULL;
    if (g->o.n_stops) {
        stop = el_stop_new(g->o.stops, g->o.n_stops, err, sizeof err);
        if (!stop) {
            fprintf(stderr, "edgellm: %s\n", err);
            return -1;
        }
    }
    g->last_len = 0;
    g->stop_reason = "length";
    el_detok_reset(g->dt);
    int hit = 0, rc = 0;
    double t0 = el_now();
    for (int32_t produced = 0; g->o.n_predict < 0 || produced < g->o.n_predict; produced++) {
        if (gen_interrupted) {
            g->stop_reason = "interrupted";
            break;
        }
        if (!g->have_logits) {
            rc = -1;
            break;
        }
        const float *logits = el_session_logits(g->s, 0);
        el_token t = el_sampler_pick(g->smp, logits);
        if (t < 0) {
            fprintf(stderr, "edgellm: sampling failed\n");
            rc = -1;
            break;
        }
        bool eog = el_token_is_eog(g->m, t);
        if (mode == GEN_OUT_JSON) {
            char piece[256];
            int n = el_token_text(g->m, t, true, piece, (int)sizeof piece);
            n = EL_MAX(0, EL_MIN(n, (int)sizeof piece));
            fprintf(out, "{\"id\":%d,\"text\":", t);
            cli_json_str(out, piece, (size_t)n);
            fprintf(out, ",\"logprob\":%.6f", el_token_logprob(g->m, logits, t));
            if (top_logprobs > 0) {
                el_token ids[20];
                float lps[20];
                int k = el_token_top_logprobs(g->m, logits, top_logprobs, ids, lps);
                fprintf(out, ",\"top_logprobs\":[");
                for (int j = 0; j < k && j < top_logprobs; j++) {
                    n = el_token_text(g->m, ids[j], true, piece, (int)sizeof piece);
                    n = EL_MAX(0, EL_MIN(n, (int)sizeof piece));
                    fprintf(out, "%s{\"id\":%d,\"text\":", j ? "," : "", ids[j]);
                    cli_json_str(out, piece, (size_t)n);
                    fprintf(out, ",\"logprob\":%.6f}", lps[j]);
                }
                fprintf(out, "]");
            }
            fprintf(out, "%s}\n", eog ? ",\"eog\":true" : "");
            fflush(out);
        }
        if (eog && !g->o.ignore_eos) {
            g->stop_reason = "eos";
            g->n_gen++;
            break;
        }
        const char *s;
        int n = el_detok_push(g->dt, t, &s);
        emit_text(g, stop, s, n, out, mode, &hit);
        g->n_gen++;
        if (hit) {
            g->stop_reason = "stop";
            break;
        }
        if (g->n_hist >= n_ctx) {
            g->stop_reason = "context full";
            break;
        }
        if (decode_tokens(g, &t, 1)) {
            rc = -1;
            break;
        }
    }
    if (!hit) {
        const char *s;
        int n = el_detok_flush(g->dt, &s);
        emit_text(g, stop, s, n, out, mode, &hit);
        if (stop) {
            n = el_stop_flush(stop, &s);
            if (n > 0) {
                keep_text(g, s, (size_t)n);
                if (mode == GEN_OUT_TEXT) fwrite(s, 1, (size_t)n, out);
            }
        }
    }
    if (mode == GEN_OUT_TEXT) fflush(out);
    g->t_gen += el_now() - t0;
    el_stop_free(stop);
    return rc;
}

void gen_report(const gen_ctx *g, FILE *f) {
    if (!g->m) return;
    fprintf(f, "\n\nload: %.0f ms | prompt: %lld tokens in %.0f ms (%.1f t/s)", g->t_load * 1e3,
            (long long)g->n_prompt, g->t_prompt * 1e3,
            g->t_prompt > 0 ? (double)g->n_prompt / g->t_prompt : 0.0);
    if (g->n_reused) fprintf(f, ", %lld reused", (long long)g->n_reused);
    fprintf(f, " | generation: %lld tokens in %.0f ms (%.1f t/s) | stop: %s\n", (long long)g->n_gen,
            g->t_gen * 1e3, g->t_gen > 0 ? (double)g->n_gen / g->t_gen : 0.0,
            g->stop_reason ? g->stop_reason : "-");
}
