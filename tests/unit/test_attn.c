/* tests/unit/test_attn.c — the attention kernels (kernels/attn.h): the scalar reference
 * against a two-pass double-precision softmax, and every SIMD level this machine can run
 * (AVX2 here; NEON under qemu-aarch64) against the reference, for each K/V type pair, head
 * dims with and without a SIMD tail, query groups of 1..EL_ATTN_MAX_Q heads, and lengths
 * across the online-softmax block edges.
 * Bound: both compute the same sums in another float order, so outputs agree to ~1e-6 of
 * the values' magnitude; 2e-5 leaves room for expf's last-bit differences. */
#include "test.h"

#include "core/core.h"
#include "kernels/attn.h"
#include "kernels/cpu.h"
#include "kernels/types.h"

static uint64_t rng = 88172645463325252ull;
static float frand(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((rng >> 11) * (1.0 / 9007199254740992.0)) * 2.0f - 1.0f;
}

static void fill(int type, uint8_t *dst, int n, float amp) {
    for (int i = 0; i < n; i++) {
        float f = frand() * amp;
        if (type == EL_TYPE_F32)
            memcpy(dst + (size_t)i * 4, &f, 4);
        else {
            el_fp16 h = el_fp32_to_fp16(f);
            memcpy(dst + (size_t)i * 2, &h, 2);
        }
    }
}

static double getf(int type, const uint8_t *row, int i) {
    if (type == EL_TYPE_F32) {
        float f;
        memcpy(&f, row + (size_t)i * 4, 4);
        return f;
    }
    el_fp16 h;
    memcpy(&h, row + (size_t)i * 2, 2);
    return el_fp16_to_fp32(h);
}

static void naive(int tk, int tv, int hd, int hdv, int n, const float *q, const uint8_t *k,
                  size_t ks, const uint8_t *v, size_t vs, float scale, double *out) {
    double *s = malloc((size_t)n * sizeof *s), mx = -1e300, sum = 0;
    for (int j = 0; j < n; j++) {
        double d = 0;
        for (int i = 0; i < hd; i++) d += q[i] * getf(tk, k + (size_t)j * ks, i);
        s[j] = d * scale;
        mx = s[j] > mx ? s[j] : mx;
    }
    for (int j = 0; j < n; j++) sum += (s[j] = exp(s[j] - mx));
    for (int i = 0; i < hdv; i++) {
        double a = 0;
        for (int j = 0; j < n; j++) a += s[j] * getf(tv, v + (size_t)j * vs, i);
        out[i] = a / sum;
    }
    free(s);
}

static void test_levels(void) {
    int types[2] = {EL_TYPE_F32, EL_TYPE_F16};
    int dims[][2] = {{64, 64}, {128, 128}, {8, 8}, {80, 80}, {6, 10}, {256, 128}, {64, 40}, {40, 64}};
    int lens[] = {1, 2, 3, 5, 36, 63, 64, 65, 200, 1000};
    int levels[] = {EL_CPU_SCALAR, EL_CPU_AVX2, EL_CPU_AVX512, EL_CPU_NEON, EL_CPU_DOTPROD,
                    EL_CPU_I8MM};
    const el_cpu_info *cpu = el_cpu_get();
    int tested_simd = 0;
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++)
            for (size_t d = 0; d < EL_ARRAY_LEN(dims); d++)
                for (size_t c = 0; c < EL_ARRAY_LEN(lens) * EL_ATTN_MAX_Q; c++) {
                    /* every length with every group size 1..EL_ATTN_MAX_Q */
                    int tk = types[a], tv = types[b], hd = dims[d][0], hdv = dims[d][1],
                        n = lens[c / EL_ATTN_MAX_Q], nq = (int)(c % EL_ATTN_MAX_Q) + 1;
                    size_t ks = (size_t)hd * (tk == EL_TYPE_F32 ? 4 : 2) + 6 * 2;
                    size_t vs = (size_t)hdv * (tv == EL_TYPE_F32 ? 4 : 2) + 10 * 2;
                    uint8_t *k = malloc(ks * (size_t)n), *v = malloc(vs * (size_t)n);
                    float q[EL_ATTN_MAX_Q * 256], out[EL_ATTN_MAX_Q * 256], ref[EL_ATTN_MAX_Q * 256];
                    double nv[EL_ATTN_MAX_Q * 256];
                    for (int i = 0; i < nq * hd; i++) q[i] = frand() * 2.0f;
                    for (int j = 0; j < n; j++) {
                        fill(tk, k + (size_t)j * ks, hd, 1.5f);
                        fill(tv, v + (size_t)j * vs, hdv, 1.0f);
                    }
                    float scale = 1.0f / sqrtf((float)hd);
                    for (int g = 0; g < nq; g++)
                        naive(tk, tv, hd, hdv, n, q + g * hd, k, ks, v, vs, scale, nv + g * hdv);
                    el_attn_fn r = el_attn_get_level(EL_CPU_SCALAR, tk, tv);
                    REQUIRE(r);
                    r(hd, hdv, nq, n, q, k, ks, v, vs, scale, ref);
                    double e = 0;
                    for (int i = 0; i < nq * hdv; i++) e = fmax(e, fabs(ref[i] - nv[i]));
                    CHECK(e < 2e-5, "reference vs naive: %g (hd %d n %d)", e, hd, n);
                    for (size_t li = 1; li < EL_ARRAY_LEN(levels); li++) {
                        int lv = levels[li];
                        el_attn_fn f = el_attn_get_level(lv, tk, tv);
                        if (!f || lv > (int)cpu->detected) continue;
                        bool x86 = lv == EL_CPU_AVX2 || lv == EL_CPU_AVX512;
                        if (x86 != (strcmp(cpu->arch, "x86_64") == 0)) continue;
                        f(hd, hdv, nq, n, q, k, ks, v, vs, scale, out);
                        e = 0;
                        for (int i = 0; i < nq * hdv; i++) e = fmax(e, fabs(out[i] - ref[i]));
                        CHECK(e < 2e-5, "level %d vs reference: %g (tk %d tv %d hd %d n %d)", lv, e,
                              tk, tv, hd, n);
                        tested_simd++;
                    }
                    free(k);
                    free(v);
                }
    if (strcmp(cpu->arch, "other") != 0)
        CHECK(tested_simd > 0, "no SIMD attention kernel was tested on %s", cpu->arch);
    /* the active kernel exists for every supported pair */
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++) CHECK(el_attn_get(types[a], types[b]) != NULL);
    CHECK(el_attn_get(EL_TYPE_Q8_0, EL_TYPE_F16) == NULL);
}

int main(int argc, char **argv) {
    (void)argc;
    RUN(test_levels);
    return test_summary(argv[0]);
}
