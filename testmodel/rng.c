/* rng.c — the generator's random numbers: counter-based, so element i of a tensor depends only on
 * the file seed, the tensor's name and i. That makes output identical for the same --seed
 * whatever the number of worker threads or the order tensors are written in.
 *
 * The core is SplitMix64's output function applied to seed + i * golden-gamma (a bijective mixer
 * that passes BigCrush as a counter generator). A normal deviate is approximated by the
 * Irwin-Hall sum of the four 16-bit quarters of one 64-bit output, rescaled to unit variance:
 * one mix per value, no log/sqrt/trig, which keeps a 0.5B-parameter model to a few seconds.
 * Values are bounded by ±2·sqrt(3)·std — fine for random test weights. */
#include "genmodel.h"

#define GM_GOLDEN_GAMMA 0x9E3779B97F4A7C15ull

static uint64_t gm_mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

uint64_t gm_rng_stream(uint64_t seed, const char *name) {
    uint64_t h = 0xCBF29CE484222325ull; /* FNV-1a over the name */
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        h = (h ^ *p) * 0x100000001B3ull;
    }
    return gm_mix64(seed ^ gm_mix64(h));
}

void gm_rng_normal(float *dst, int64_t n, uint64_t stream, uint64_t first, float std) {
    /* sum of 4 uniforms on [0, 65535]: mean 4 * 32767.5, variance 4 * (65536^2 - 1) / 12 */
    const float mean = 4.0f * 32767.5f;
    const float scale = std / 37837.23f; /* sqrt(4 * (65536^2 - 1) / 12) */
    uint64_t ctr = stream + (first + 1) * GM_GOLDEN_GAMMA;
    for (int64_t k = 0; k < n; k++, ctr += GM_GOLDEN_GAMMA) {
        const uint64_t z = gm_mix64(ctr);
        const uint32_t s = (uint32_t)(z & 0xFFFF) + (uint32_t)((z >> 16) & 0xFFFF) +
                           (uint32_t)((z >> 32) & 0xFFFF) + (uint32_t)(z >> 48);
        dst[k] = ((float)s - mean) * scale;
    }
}
