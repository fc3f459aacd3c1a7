/* test_gguf.c: the GGUF reader and the bd3lm model loader on valid and hostile files: truncated,
 * bad magic and version, huge counts, strings past the end, tensors out of range, misaligned,
 * wrong shape or type, overflowing dimensions. Each gets a clear error naming the file; none crashes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <math.h>
#include <sys/stat.h>
#include <cmocka.h>
#include "bd3.h"
#include "gguf.h"
#include "gguf_build.h"

/* A small valid file: three metadata entries and two F32 tensors. */
static void small_file(gb_file *f)
{
    gb_init(f);
    gb_kv_u32(f, "a.count", 7);
    gb_kv_str(f, "a.name", "hello");
    gb_kv_f32(f, "a.eps", 0.5f);
    float v[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    uint64_t ne1[1] = {8}, ne2[2] = {4, 2};
    gb_tensor(f, "t.vec", 1, ne1, 0, v, sizeof v);
    gb_tensor(f, "t.mat", 2, ne2, 0, v, sizeof v);
}

/* Opens buf as a GGUF file named "test.gguf"; returns the status and leaves the message in err. */
static bd3_status try_open(const uint8_t *buf, size_t size, char *err, size_t err_size)
{
    gguf_file *g = NULL;
    bd3_status st = gguf_open_memory(buf, size, "test.gguf", &g, err, err_size);
    if (st == BD3_OK)
        assert_non_null(g);
    else
        assert_null(g);
    gguf_free(g);
    return st;
}

/* Expects a failure whose message names the file and contains want. */
static void expect_error(const uint8_t *buf, size_t size, bd3_status want_st, const char *want)
{
    char err[512] = "";
    bd3_status st = try_open(buf, size, err, sizeof err);
    if (st != want_st || strncmp(err, "test.gguf: ", 11) != 0 || !strstr(err, want))
        fail_msg("status %d, message '%s'; expected status %d with '%s'", st, err, want_st, want);
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void test_gguf_valid_file_reads_back(void **state)
{
    (void)state;
    gb_file f;
    small_file(&f);
    uint8_t *buf;
    size_t size;
    gb_finish(&f, &buf, &size);
    gguf_file *g = NULL;
    char err[256];
    assert_int_equal(gguf_open_memory(buf, size, "test.gguf", &g, err, sizeof err), BD3_OK);
    uint32_t u = 0;
    float x = 0;
    const char *s;
    size_t len;
    assert_int_equal(gguf_get_u32(g, "a.count", &u), GGUF_FOUND);
    assert_int_equal(u, 7);
    assert_int_equal(gguf_get_u32(g, "a.missing", &u), GGUF_MISSING);
    assert_int_equal(gguf_get_u32(g, "a.name", &u), GGUF_WRONG_TYPE);
    assert_int_equal(gguf_get_f32(g, "a.eps", &x), GGUF_FOUND);
    assert_true(x == 0.5f);
    assert_int_equal(gguf_get_str(g, "a.name", &s, &len), GGUF_FOUND);
    assert_int_equal(len, 5);
    assert_memory_equal(s, "hello", 5);
    assert_int_equal(gguf_n_tensors(g), 2);
    const gguf_tensor *t = gguf_find_tensor(g, "t.mat");
    assert_non_null(t);
    assert_int_equal(t->ne[0], 4);
    assert_int_equal(t->ne[1], 2);
    assert_int_equal(t->n_elements, 8);
    float out[8];
    gguf_tensor_to_f32(t, out);
    assert_true(out[7] == 8.0f);
    assert_null(gguf_find_tensor(g, "t.none"));
    gguf_free(g);
    free(buf);
    gb_release(&f);
}

static void test_gguf_every_truncation_fails_cleanly(void **state)
{
    (void)state;
    gb_file f;
    small_file(&f);
    uint8_t *buf;
    size_t size;
    gb_finish(&f, &buf, &size);
    for (size_t n = 0; n < size; n++) {
        uint8_t *cut = malloc(n ? n : 1); /* exact size, so ASan sees any read past the end */
        memcpy(cut, buf, n);
        char err[256] = "";
        bd3_status st = try_open(cut, n, err, sizeof err);
        if (st == BD3_OK) fail_msg("truncated to %zu of %zu bytes, still opened", n, size);
        assert_true(strncmp(err, "test.gguf: ", 11) == 0);
        free(cut);
    }
    free(buf);
    gb_release(&f);
}

static void test_gguf_rejects_bad_magic(void **state)
{
    (void)state;
    gb_file f;
    small_file(&f);
    uint8_t *buf;
    size_t size;
    gb_finish(&f, &buf, &size);
    buf[0] = 'X';
    expect_error(buf, size, BD3_E_FORMAT, "bad magic");
    expect_error(buf, 3, BD3_E_FORMAT, "too short");
    free(buf);
    gb_release(&f);
}

static void test_gguf_rejects_other_versions(void **state)
{
    (void)state;
    gb_file f;
    small_file(&f);
    uint8_t *buf;
    size_t size;
    gb_finish(&f, &buf, &size);
    buf[4] = 2;
    expect_error(buf, size, BD3_E_UNSUPPORTED, "version 2");
    buf[4] = 0x77;
    expect_error(buf, size, BD3_E_FORMAT, "version");
    free(buf);
    gb_release(&f);
}

static void test_gguf_rejects_huge_counts(void **state)
{
    (void)state;
    gb_file f;
    small_file(&f);
    uint8_t *buf;
    size_t size;
    gb_finish(&f, &buf, &size);
    put_u64(buf + 16, (uint64_t)1 << 60); /* n_kv */
    expect_error(buf, size, BD3_E_FORMAT, "metadata entries");
    put_u64(buf + 16, 3);
    put_u64(buf + 8, UINT64_MAX); /* n_tensors */
    expect_error(buf, size, BD3_E_FORMAT, "tensors, more than the file holds");
    free(buf);
    gb_release(&f);
    /* a file large enough to hold the claimed count, but more entries than a model file has */
    gb_init(&f);
    uint8_t *pad = calloc(1, 2 << 20);
    uint64_t ne[1] = {(2 << 20) / 4};
    gb_tensor(&f, "pad", 1, ne, 0, pad, 2 << 20);
    free(pad);
    gb_finish(&f, &buf, &size);
    put_u64(buf + 16, 100000); /* n_kv: fits in 2 MiB at 13 bytes each, above the limit */
    expect_error(buf, size, BD3_E_FORMAT, "at most 65536");
    free(buf);
    gb_release(&f);
}

static void test_gguf_rejects_string_past_end(void **state)
{
    (void)state;
    gb_file f;
    small_file(&f);
    uint8_t *buf;
    size_t size;
    gb_finish(&f, &buf, &size);
    put_u64(buf + 24, (uint64_t)size); /* length of the first key */
    expect_error(buf, size, BD3_E_FORMAT, "runs past the end");
    put_u64(buf + 24, UINT64_MAX - 3);
    expect_error(buf, size, BD3_E_FORMAT, "runs past the end");
    free(buf);
    gb_release(&f);
}

static void test_gguf_rejects_huge_array(void **state)
{
    (void)state;
    gb_file f;
    gb_init(&f);
    const char *strs[2] = {"x", "y"};
    gb_kv_arr_str(&f, "s", strs, 2);
    uint8_t *buf;
    size_t size;
    gb_finish(&f, &buf, &size);
    /* header 24, key "s" 9, type 4, elem type 4, count at 41 */
    put_u64(buf + 41, (uint64_t)1 << 62);
    expect_error(buf, size, BD3_E_FORMAT, "strings, more than the file holds");
    /* 29 zero bytes of padding follow "y": three more empty strings fit, a sixth does not */
    put_u64(buf + 41, 5);
    char err[256];
    assert_int_equal(try_open(buf, size, err, sizeof err), BD3_OK);
    put_u64(buf + 41, 6);
    expect_error(buf, size, BD3_E_FORMAT, "claims 6 strings");
    put_u64(buf + 41, 2);
    put_u64(buf + 58, 100); /* length of "y" */
    expect_error(buf, size, BD3_E_FORMAT, "string 1 of array 's' runs past the end");
    free(buf);
    gb_release(&f);
}

/* Builds a file with one tensor info given raw; data section of 64 bytes. */
static void one_tensor(int nd, const uint64_t *ne, uint32_t type, uint64_t offset, uint32_t align,
                       uint8_t **buf, size_t *size)
{
    gb_file f;
    gb_init(&f);
    if (align != 32) gb_kv_u32(&f, "general.alignment", align);
    f.align = align && !(align & (align - 1)) ? align : 32;
    gb_str(&f.ti, "w");
    gb_u32(&f.ti, (uint32_t)nd);
    for (int i = 0; i < nd; i++) gb_u64(&f.ti, ne[i]);
    gb_u32(&f.ti, type);
    gb_u64(&f.ti, offset);
    f.n_t = 1;
    uint8_t zero[64] = {0};
    gb_bytes(&f.data, zero, sizeof zero);
    gb_finish(&f, buf, size);
    gb_release(&f);
}

static void test_gguf_rejects_tensor_outside_data(void **state)
{
    (void)state;
    uint8_t *buf;
    size_t size;
    uint64_t ne[1] = {16};
    one_tensor(1, ne, 0, 0, 32, &buf, &size);
    char err[256];
    assert_int_equal(try_open(buf, size, err, sizeof err), BD3_OK); /* 64 bytes fit */
    free(buf);
    one_tensor(1, ne, 0, 32, 32, &buf, &size);
    expect_error(buf, size, BD3_E_FORMAT, "outside the data section");
    free(buf);
    one_tensor(1, ne, 0, (uint64_t)1 << 40, 32, &buf, &size);
    expect_error(buf, size, BD3_E_FORMAT, "outside the data section");
    free(buf);
    one_tensor(1, ne, 0, UINT64_MAX - 31, 32, &buf, &size);
    expect_error(buf, size, BD3_E_FORMAT, "outside the data section");
    free(buf);
}

static void test_gguf_rejects_misaligned_tensor(void **state)
{
    (void)state;
    uint8_t *buf;
    size_t size;
    uint64_t ne[1] = {4};
    one_tensor(1, ne, 0, 4, 32, &buf, &size);
    expect_error(buf, size, BD3_E_FORMAT, "not aligned to 32");
    free(buf);
    one_tensor(1, ne, 0, 8, 8, &buf, &size); /* fine with general.alignment 8 */
    char err[256];
    assert_int_equal(try_open(buf, size, err, sizeof err), BD3_OK);
    free(buf);
    one_tensor(1, ne, 0, 0, 3, &buf, &size);
    expect_error(buf, size, BD3_E_FORMAT, "general.alignment 3");
    free(buf);
}

static void test_gguf_rejects_overflowing_dimensions(void **state)
{
    (void)state;
    uint8_t *buf;
    size_t size;
    uint64_t ne[4] = {(uint64_t)1 << 32, (uint64_t)1 << 32, 16, 1};
    one_tensor(3, ne, 0, 0, 32, &buf, &size);
    expect_error(buf, size, BD3_E_FORMAT, "overflows");
    free(buf);
    uint64_t big[2] = {(uint64_t)1 << 40, 2}; /* no overflow, but far larger than the file */
    one_tensor(2, big, 0, 0, 32, &buf, &size);
    expect_error(buf, size, BD3_E_FORMAT, "larger than the file");
    free(buf);
    uint64_t zero[2] = {4, 0};
    one_tensor(2, zero, 0, 0, 32, &buf, &size);
    expect_error(buf, size, BD3_E_FORMAT, "empty dimension");
    free(buf);
    uint64_t five[5] = {2, 2, 2, 2, 2};
    one_tensor(5, five, 0, 0, 32, &buf, &size);
    expect_error(buf, size, BD3_E_FORMAT, "5 dimensions");
    free(buf);
}

static void test_gguf_rejects_unknown_tensor_type(void **state)
{
    (void)state;
    uint8_t *buf;
    size_t size;
    uint64_t ne[1] = {32};
    one_tensor(1, ne, 3 /* Q4_1 */, 0, 32, &buf, &size);
    expect_error(buf, size, BD3_E_UNSUPPORTED, "type 3");
    free(buf);
    uint64_t odd[1] = {48};
    one_tensor(1, odd, GGUF_TENSOR_Q8_0, 0, 32, &buf, &size);
    expect_error(buf, size, BD3_E_FORMAT, "not a multiple of 32");
    free(buf);
    one_tensor(1, odd, GGUF_TENSOR_Q4_0, 0, 32, &buf, &size);
    expect_error(buf, size, BD3_E_FORMAT, "Q4_0 tensor 'w' has ne[0] = 48, not a multiple of 32");
    free(buf);
    /* Q4_0: 18 bytes per 32 values; 96 values (54 bytes) fit the 64-byte data section, 128 do not */
    uint64_t n96[1] = {96}, n128[1] = {128};
    one_tensor(1, n96, GGUF_TENSOR_Q4_0, 0, 32, &buf, &size);
    char err[256];
    assert_int_equal(try_open(buf, size, err, sizeof err), BD3_OK);
    free(buf);
    one_tensor(1, n128, GGUF_TENSOR_Q4_0, 0, 32, &buf, &size);
    expect_error(buf, size, BD3_E_FORMAT, "outside the data section");
    free(buf);
    /* BF16: 2 bytes per value; 32 values fill the 64-byte data section, 48 do not fit */
    one_tensor(1, ne, GGUF_TENSOR_BF16, 0, 32, &buf, &size);
    assert_int_equal(try_open(buf, size, err, sizeof err), BD3_OK);
    free(buf);
    one_tensor(1, odd, GGUF_TENSOR_BF16, 0, 32, &buf, &size);
    expect_error(buf, size, BD3_E_FORMAT, "outside the data section");
    free(buf);
}

static void test_gguf_rejects_duplicates(void **state)
{
    (void)state;
    gb_file f;
    gb_init(&f);
    gb_kv_u32(&f, "k", 1);
    gb_kv_u32(&f, "k", 2);
    uint8_t *buf;
    size_t size;
    gb_finish(&f, &buf, &size);
    expect_error(buf, size, BD3_E_FORMAT, "'k' appears twice");
    free(buf);
    gb_release(&f);
    gb_init(&f);
    float v[4] = {0};
    uint64_t ne[1] = {4};
    gb_tensor(&f, "t", 1, ne, 0, v, sizeof v);
    gb_tensor(&f, "t", 1, ne, 0, v, sizeof v);
    gb_finish(&f, &buf, &size);
    expect_error(buf, size, BD3_E_FORMAT, "tensor 't' appears twice");
    free(buf);
    gb_release(&f);
}

static void test_gguf_f16_bf16_q8_0_and_q4_0_convert_exactly(void **state)
{
    (void)state;
    assert_true(gguf_f16_to_f32(0x3c00) == 1.0f);
    assert_true(gguf_f16_to_f32(0xc000) == -2.0f);
    assert_true(gguf_f16_to_f32(0x0001) == 0x1p-24f); /* smallest subnormal */
    assert_true(gguf_f16_to_f32(0x03ff) == 1023 * 0x1p-24f);
    assert_true(gguf_f16_to_f32(0x7bff) == 65504.0f);
    assert_true(gguf_f16_to_f32(0x7c00) > 1e38f);
    /* every f16 value converts to the float whose f16 rounding gives it back */
    for (uint32_t h = 0; h < 0x7c00; h++) {
        float v = gguf_f16_to_f32((uint16_t)h);
        assert_true(v >= 0.0f);
        if (h) assert_true(v > gguf_f16_to_f32((uint16_t)(h - 1)));
    }
    uint8_t blk[34];
    blk[0] = 0x00;
    blk[1] = 0x38; /* 0.5 */
    for (int i = 0; i < 32; i++) blk[2 + i] = (uint8_t)(int8_t)(i - 16);
    gguf_tensor t = {0};
    t.type = GGUF_TENSOR_Q8_0;
    t.n_elements = 32;
    t.data = blk;
    float out[32];
    gguf_tensor_to_f32(&t, out);
    for (int i = 0; i < 32; i++) assert_true(out[i] == 0.5f * (float)(i - 16));
    /* Q4_0: low nibbles are values 0..15, high nibbles 16..31, value d (q - 8) */
    uint8_t b4[18];
    b4[0] = 0x00;
    b4[1] = 0xc0; /* -2 */
    for (int i = 0; i < 16; i++) b4[2 + i] = (uint8_t)(i | (15 - i) << 4);
    t.type = GGUF_TENSOR_Q4_0;
    t.data = b4;
    gguf_tensor_to_f32(&t, out);
    for (int i = 0; i < 16; i++) {
        assert_true(out[i] == -2.0f * (float)(i - 8));
        assert_true(out[16 + i] == -2.0f * (float)(7 - i));
    }
    /* BF16: the value is the float32 whose top 16 bits are the bf16 and whose low 16 bits are 0 */
    static const uint16_t bf[8] = {0x3f80, 0xc000, 0x0001, 0x807f, 0x7f7f, 0x3eab, 0x0000, 0x8000};
    static const float want[8] = {1.0f, -2.0f, 0x1p-133f, -0x7fp-133f, 0x1.fep127f, 0x1.56p-2f, 0.0f, -0.0f};
    uint8_t b16[16];
    for (int i = 0; i < 8; i++) {
        b16[2 * i] = (uint8_t)(bf[i] & 0xff);
        b16[2 * i + 1] = (uint8_t)(bf[i] >> 8);
    }
    t.type = GGUF_TENSOR_BF16;
    t.n_elements = 8;
    t.data = b16;
    gguf_tensor_to_f32(&t, out);
    for (int i = 0; i < 8; i++) {
        assert_true(out[i] == want[i]);
        assert_true(signbit(out[i]) == signbit(want[i]));
    }
}

/* ---- the bd3lm loader on complete files ---- */

static char tmp_path[256]; /* model file written by load_model */

static bd3_status load_model(const gb_model_opts *o, char *err, size_t err_size)
{
    uint8_t *buf;
    size_t size;
    gb_model(o, &buf, &size);
    snprintf(tmp_path, sizeof tmp_path, "/tmp/bd3_test_gguf_%d.gguf", (int)getpid());
    FILE *fp = fopen(tmp_path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(buf, 1, size, fp), size);
    fclose(fp);
    free(buf);
    bd3_model *m = NULL;
    bd3_status st = bd3_model_load(tmp_path, &m, err, err_size);
    if (st == BD3_OK) {
        assert_non_null(m);
        assert_int_equal(bd3_model_hparams(m)->n_vocab, 6);
    } else {
        assert_null(m);
    }
    bd3_model_free(m);
    unlink(tmp_path);
    return st;
}

static void expect_model_error(const gb_model_opts *o, bd3_status want_st, const char *want)
{
    char err[512] = "";
    bd3_status st = load_model(o, err, sizeof err);
    if (st != want_st || strncmp(err, tmp_path, strlen(tmp_path)) != 0 || !strstr(err, want))
        fail_msg("status %d, message '%s'; expected status %d with '%s'", st, err, want_st, want);
}

static void test_model_loads_tiny_valid_file(void **state)
{
    (void)state;
    gb_model_opts o;
    gb_model_opts_init(&o);
    char err[512] = "";
    if (load_model(&o, err, sizeof err) != BD3_OK) fail_msg("%s", err);
    o.as_f16 = "blk.0.attn_qkv.weight"; /* F16 is allowed for matrices */
    if (load_model(&o, err, sizeof err) != BD3_OK) fail_msg("%s", err);
    o.as_bf16 = "blk.0.ffn_up.weight"; /* and BF16 */
    if (load_model(&o, err, sizeof err) != BD3_OK) fail_msg("%s", err);
}

static void test_model_rejects_wrong_shape(void **state)
{
    (void)state;
    gb_model_opts o;
    gb_model_opts_init(&o);
    o.bad_shape = "blk.0.ffn_up.weight";
    expect_model_error(&o, BD3_E_FORMAT, "blk.0.ffn_up.weight has shape [5, 8");
    o.bad_shape = "output.bias";
    expect_model_error(&o, BD3_E_FORMAT, "output.bias has shape");
}

static void test_model_rejects_wrong_type(void **state)
{
    (void)state;
    gb_model_opts o;
    gb_model_opts_init(&o);
    o.as_f16 = "blk.0.attn_norm.weight";
    expect_model_error(&o, BD3_E_FORMAT, "blk.0.attn_norm.weight has type F16");
    o.as_f16 = NULL;
    o.as_bf16 = "blk.0.attn_norm.weight";
    expect_model_error(&o, BD3_E_FORMAT, "blk.0.attn_norm.weight has type BF16");
}

static void test_model_rejects_missing_parts(void **state)
{
    (void)state;
    gb_model_opts o;
    gb_model_opts_init(&o);
    o.skip = "blk.0.modulation";
    expect_model_error(&o, BD3_E_FORMAT, "missing tensor blk.0.modulation");
    gb_model_opts_init(&o);
    o.arch = "llama";
    expect_model_error(&o, BD3_E_UNSUPPORTED, "'llama' is not bd3lm");
    gb_model_opts_init(&o);
    o.mask_id = 6;
    expect_model_error(&o, BD3_E_FORMAT, "mask_token_id = 6");
    gb_model_opts_init(&o);
    o.n_head = 3;
    expect_model_error(&o, BD3_E_FORMAT, "not a multiple of head_count 3");
}

static void test_model_rejects_nan_and_infinite_weights(void **state)
{
    (void)state;
    gb_model_opts o;
    gb_model_opts_init(&o);
    o.bad_value = "blk.0.ffn_up.weight";
    o.bad_float = NAN;
    expect_model_error(&o, BD3_E_FORMAT, "blk.0.ffn_up.weight holds NaN at element 3");
    o.bad_value = "output.bias";
    o.bad_float = -INFINITY;
    expect_model_error(&o, BD3_E_FORMAT, "output.bias holds an infinite value at element 3");
    o.as_bf16 = o.bad_value = "blk.0.ffn_down.weight"; /* BF16 keeps NaN and infinities: refused */
    expect_model_error(&o, BD3_E_FORMAT, "blk.0.ffn_down.weight holds an infinite value at element 3");
    o.bad_float = NAN;
    expect_model_error(&o, BD3_E_FORMAT, "blk.0.ffn_down.weight holds NaN at element 3");
}

/* Two tensor infos naming the same data bytes: a 64-byte data section cannot stand for two
 * 64-byte tensors (each would be expanded on its own). */
static void test_gguf_rejects_tensors_sharing_data(void **state)
{
    (void)state;
    for (int shift = 0; shift < 2; shift++) {
        gb_file f;
        gb_init(&f);
        const char *names[2] = {"a", "b"};
        uint64_t offsets[2] = {0, shift ? 32 : 0};
        for (int i = 0; i < 2; i++) {
            gb_str(&f.ti, names[i]);
            gb_u32(&f.ti, 1);
            gb_u64(&f.ti, 16); /* 16 F32 = 64 bytes */
            gb_u32(&f.ti, 0);
            gb_u64(&f.ti, offsets[i]);
        }
        f.n_t = 2;
        uint8_t zero[128] = {0};
        gb_bytes(&f.data, zero, sizeof zero);
        uint8_t *buf;
        size_t size;
        gb_finish(&f, &buf, &size);
        gb_release(&f);
        expect_error(buf, size, BD3_E_FORMAT, "share data bytes");
        free(buf);
    }
}

static void test_model_fifo_is_refused_without_blocking(void **state)
{
    (void)state;
    char dir[] = "/tmp/bd3ed-gguf-fifo-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof path, "%s/model.gguf", dir);
    assert_int_equal(mkfifo(path, 0600), 0);
    alarm(20); /* turns a blocking open into a failure rather than a hang */
    bd3_model *m = NULL;
    char err[256] = "";
    assert_int_equal(bd3_model_load(path, &m, err, sizeof err), BD3_E_IO);
    alarm(0);
    assert_null(m);
    assert_non_null(strstr(err, "not a regular file"));
    unlink(path);
    rmdir(dir);
}

static void test_model_load_reports_missing_file(void **state)
{
    (void)state;
    bd3_model *m = (bd3_model *)1;
    char err[256] = "";
    assert_int_equal(bd3_model_load("/nonexistent/x.gguf", &m, err, sizeof err), BD3_E_IO);
    assert_null(m);
    assert_non_null(strstr(err, "/nonexistent/x.gguf: "));
    bd3_model_free(NULL);
    gguf_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gguf_valid_file_reads_back),
        cmocka_unit_test(test_gguf_rejects_tensors_sharing_data),
        cmocka_unit_test(test_model_rejects_nan_and_infinite_weights),
        cmocka_unit_test(test_model_fifo_is_refused_without_blocking),
        cmocka_unit_test(test_gguf_every_truncation_fails_cleanly),
        cmocka_unit_test(test_gguf_rejects_bad_magic),
        cmocka_unit_test(test_gguf_rejects_other_versions),
        cmocka_unit_test(test_gguf_rejects_huge_counts),
        cmocka_unit_test(test_gguf_rejects_string_past_end),
        cmocka_unit_test(test_gguf_rejects_huge_array),
        cmocka_unit_test(test_gguf_rejects_tensor_outside_data),
        cmocka_unit_test(test_gguf_rejects_misaligned_tensor),
        cmocka_unit_test(test_gguf_rejects_overflowing_dimensions),
        cmocka_unit_test(test_gguf_rejects_unknown_tensor_type),
        cmocka_unit_test(test_gguf_rejects_duplicates),
        cmocka_unit_test(test_gguf_f16_bf16_q8_0_and_q4_0_convert_exactly),
        cmocka_unit_test(test_model_loads_tiny_valid_file),
        cmocka_unit_test(test_model_rejects_wrong_shape),
        cmocka_unit_test(test_model_rejects_wrong_type),
        cmocka_unit_test(test_model_rejects_missing_parts),
        cmocka_unit_test(test_model_load_reports_missing_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
