/*
 * test_proto_mp.c - the msgpack reader and writer (proto/mp.c) and the frame and header codecs
 * (proto/frame.c). msgpack-c serves as an independent oracle both ways.
 */
#include <msgpack.h>

#include "tests/harness.h"
#include "proto/frame.h"
#include "proto/mp.h"

static const int64_t signed_boundaries[] = {
    0,
    1,
    127,
    128,
    255,
    256,
    65535,
    65536,
    (int64_t)UINT32_MAX,
    (int64_t)UINT32_MAX + 1,
    INT64_MAX,
    -1,
    -32,
    -33,
    -128,
    -129,
    -32768,
    -32769,
    INT32_MIN,
    (int64_t)INT32_MIN - 1,
    INT64_MIN,
};

/* Bytes of the smallest encoding of value. */
static size_t int_encoding_bytes(int64_t value)
{
    if (value >= -32 && value <= 127) {
        return 1;
    }
    if (value >= 0) {
        return value <= 0xff ? 2 : value <= 0xffff ? 3 : value <= (int64_t)UINT32_MAX ? 5 : 9;
    }
    return value >= INT8_MIN ? 2 : value >= INT16_MIN ? 3 : value >= INT32_MIN ? 5 : 9;
}

static void t_int_boundaries_writer_to_oracle(void)
{
    for (size_t i = 0; i < T_COUNT(signed_boundaries); i++) {
        int64_t value = signed_boundaries[i];
        struct mp_writer writer;
        mp_writer_init(&writer, 64);
        T_ASSERT(mp_write_int(&writer, value));
        T_ASSERT_EQ_INT(writer.bytes, int_encoding_bytes(value));
        msgpack_unpacked result;
        msgpack_unpacked_init(&result);
        size_t offset = 0;
        T_ASSERT(msgpack_unpack_next(&result, (const char *)writer.data, writer.bytes, &offset) ==
                 MSGPACK_UNPACK_SUCCESS);
        if (value >= 0) {
            T_ASSERT(result.data.type == MSGPACK_OBJECT_POSITIVE_INTEGER);
            T_ASSERT(result.data.via.u64 == (uint64_t)value);
        } else {
            T_ASSERT(result.data.type == MSGPACK_OBJECT_NEGATIVE_INTEGER);
            T_ASSERT(result.data.via.i64 == value);
        }
        msgpack_unpacked_destroy(&result);
        struct mp_reader reader;
        int64_t back = 0;
        mp_reader_init(&reader, writer.data, writer.bytes);
        T_ASSERT(mp_read_int64(&reader, &back));
        T_ASSERT(back == value);
        T_ASSERT_EQ_INT(mp_reader_remaining(&reader), 0);
        mp_writer_deinit(&writer);
    }
}

/* Packs value with every msgpack-c width that holds it and checks mp_read_int64 decodes each. */
static void check_every_width(int64_t value)
{
    msgpack_sbuffer sbuf;
    msgpack_packer packer;
    msgpack_sbuffer_init(&sbuf);
    msgpack_packer_init(&packer, &sbuf, msgpack_sbuffer_write);
    unsigned packed = 0;
    if (value >= INT8_MIN && value <= INT8_MAX) {
        msgpack_pack_fix_int8(&packer, (int8_t)value);
        packed++;
    }
    if (value >= INT16_MIN && value <= INT16_MAX) {
        msgpack_pack_fix_int16(&packer, (int16_t)value);
        packed++;
    }
    if (value >= INT32_MIN && value <= INT32_MAX) {
        msgpack_pack_fix_int32(&packer, (int32_t)value);
        packed++;
    }
    msgpack_pack_fix_int64(&packer, value);
    packed++;
    if (value >= 0 && value <= UINT8_MAX) {
        msgpack_pack_fix_uint8(&packer, (uint8_t)value);
        packed++;
    }
    if (value >= 0 && value <= UINT16_MAX) {
        msgpack_pack_fix_uint16(&packer, (uint16_t)value);
        packed++;
    }
    if (value >= 0 && value <= (int64_t)UINT32_MAX) {
        msgpack_pack_fix_uint32(&packer, (uint32_t)value);
        packed++;
    }
    if (value >= 0) {
        msgpack_pack_fix_uint64(&packer, (uint64_t)value);
        packed++;
    }
    msgpack_pack_int64(&packer, value);
    packed++;
    struct mp_reader reader;
    mp_reader_init(&reader, sbuf.data, sbuf.size);
    for (unsigned i = 0; i < packed; i++) {
        int64_t back = 0;
        T_ASSERT(mp_read_int64(&reader, &back));
        T_ASSERT(back == value);
    }
    T_ASSERT_EQ_INT(mp_reader_remaining(&reader), 0);
    msgpack_sbuffer_destroy(&sbuf);
}

static void t_int_boundaries_oracle_to_reader(void)
{
    for (size_t i = 0; i < T_COUNT(signed_boundaries); i++) {
        check_every_width(signed_boundaries[i]);
        if (signed_boundaries[i] != INT64_MAX) {
            check_every_width(signed_boundaries[i] + 1);
        }
        if (signed_boundaries[i] != INT64_MIN) {
            check_every_width(signed_boundaries[i] - 1);
        }
    }
}

static void t_int_ranges(void)
{
    static const uint8_t uint64_max[] = { 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    static const uint8_t int64_max_plus_one[] = { 0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0 };
    struct mp_reader reader;
    int64_t signed_value = 0;
    uint64_t unsigned_value = 0;
    mp_reader_init(&reader, uint64_max, sizeof(uint64_max));
    T_ASSERT(!mp_read_int64(&reader, &signed_value));
    T_ASSERT_EQ_INT(reader.err, RILL_ERR_INVALID_REQUEST);
    mp_reader_init(&reader, uint64_max, sizeof(uint64_max));
    T_ASSERT(mp_read_uint64(&reader, &unsigned_value));
    T_ASSERT(unsigned_value == UINT64_MAX);
    mp_reader_init(&reader, int64_max_plus_one, sizeof(int64_max_plus_one));
    T_ASSERT(!mp_read_int64(&reader, &signed_value));

    struct mp_writer writer;
    mp_writer_init(&writer, 1024);
    T_ASSERT(mp_write_int(&writer, -1) && mp_write_int(&writer, INT32_MAX + 1LL) &&
             mp_write_int(&writer, INT32_MIN - 1LL) && mp_write_uint(&writer, UINT32_MAX + 1ULL) &&
             mp_write_int(&writer, INT32_MIN) && mp_write_uint(&writer, UINT32_MAX));
    /* An int8 encoding of a positive value is an unsigned value too. */
    T_ASSERT(mp_write_raw(&writer, "\xd0\x05", 2));
    int32_t int32_value = 0;
    uint32_t uint32_value = 0;
    mp_reader_init(&reader, writer.data, writer.bytes);
    T_ASSERT(!mp_read_uint64(&reader, &unsigned_value));
    mp_reader_init(&reader, writer.data + 1, writer.bytes - 1);
    T_ASSERT(!mp_read_int32(&reader, &int32_value));
    T_ASSERT(!mp_read_int32(&reader, &int32_value)); /* sticky */
    reader.err = RILL_OK;
    T_ASSERT(mp_read_int64(&reader, &signed_value) && signed_value == INT32_MAX + 1LL);
    T_ASSERT(!mp_read_int32(&reader, &int32_value));
    reader.err = RILL_OK;
    T_ASSERT(mp_read_int64(&reader, &signed_value) && signed_value == INT32_MIN - 1LL);
    T_ASSERT(!mp_read_uint32(&reader, &uint32_value));
    reader.err = RILL_OK;
    T_ASSERT(mp_read_uint64(&reader, &unsigned_value) && unsigned_value == UINT32_MAX + 1ULL);
    T_ASSERT(mp_read_int32(&reader, &int32_value) && int32_value == INT32_MIN);
    T_ASSERT(mp_read_uint32(&reader, &uint32_value) && uint32_value == UINT32_MAX);
    T_ASSERT(mp_read_uint32(&reader, &uint32_value) && uint32_value == 5);
    T_ASSERT_EQ_INT(mp_reader_remaining(&reader), 0);
    mp_writer_deinit(&writer);
}

/* One random value for the oracle tests: kind 0 int, 1 str, 2 bin, 3 bool, 4 nil. */
struct random_value {
    unsigned kind;
    int64_t integer;
    char text[300];
    uint32_t text_bytes;
};

static void random_value_make(uint64_t *state, struct random_value *value)
{
    value->kind = (unsigned)(t_rand(state) % 5);
    unsigned shift = (unsigned)(t_rand(state) % 64);
    value->integer = (int64_t)(t_rand(state) >> shift);
    if (t_rand(state) % 2 == 0) {
        value->integer = -value->integer - 1;
    }
    static const uint32_t sizes[] = { 0, 1, 31, 32, 255, 256, 299 };
    value->text_bytes = sizes[t_rand(state) % T_COUNT(sizes)];
    for (uint32_t i = 0; i < value->text_bytes; i++) {
        value->text[i] = (char)('a' + t_rand(state) % 26);
    }
}

static void oracle_pack(msgpack_packer *packer, const struct random_value *value)
{
    switch (value->kind) {
    case 0:
        msgpack_pack_int64(packer, value->integer);
        break;
    case 1:
        msgpack_pack_str(packer, value->text_bytes);
        msgpack_pack_str_body(packer, value->text, value->text_bytes);
        break;
    case 2:
        msgpack_pack_bin(packer, value->text_bytes);
        msgpack_pack_bin_body(packer, value->text, value->text_bytes);
        break;
    case 3:
        (value->integer & 1) != 0 ? msgpack_pack_true(packer) : msgpack_pack_false(packer);
        break;
    default:
        msgpack_pack_nil(packer);
        break;
    }
}

static void reader_check(struct mp_reader *reader, const struct random_value *value)
{
    int64_t integer = 0;
    const char *text = NULL;
    const uint8_t *bin = NULL;
    uint32_t bytes = 0;
    bool flag = false;
    switch (value->kind) {
    case 0:
        T_ASSERT(mp_read_int64(reader, &integer) && integer == value->integer);
        break;
    case 1:
        T_ASSERT(mp_read_str(reader, &text, &bytes) && bytes == value->text_bytes);
        T_ASSERT_MEM_EQ(text, value->text, bytes);
        break;
    case 2:
        T_ASSERT(mp_read_bin(reader, &bin, &bytes) && bytes == value->text_bytes);
        T_ASSERT_MEM_EQ(bin, value->text, bytes);
        break;
    case 3:
        T_ASSERT(mp_read_bool(reader, &flag) && flag == ((value->integer & 1) != 0));
        break;
    default:
        T_ASSERT(mp_peek_nil(reader) && mp_read_nil(reader));
        break;
    }
}

static void t_oracle_pack_then_read(void)
{
    uint64_t state = T_SEED;
    for (unsigned round = 0; round < 200; round++) {
        struct random_value values[40];
        msgpack_sbuffer sbuf;
        msgpack_packer packer;
        msgpack_sbuffer_init(&sbuf);
        msgpack_packer_init(&packer, &sbuf, msgpack_sbuffer_write);
        msgpack_pack_array(&packer, T_COUNT(values));
        for (size_t i = 0; i < T_COUNT(values); i++) {
            random_value_make(&state, &values[i]);
            oracle_pack(&packer, &values[i]);
        }
        struct mp_reader reader;
        uint32_t count = 0;
        mp_reader_init(&reader, sbuf.data, sbuf.size);
        T_ASSERT(mp_read_array(&reader, &count) && count == T_COUNT(values));
        for (size_t i = 0; i < T_COUNT(values); i++) {
            reader_check(&reader, &values[i]);
        }
        T_ASSERT_EQ_INT(mp_reader_remaining(&reader), 0);
        mp_reader_init(&reader, sbuf.data, sbuf.size);
        T_ASSERT(mp_skip(&reader) && mp_reader_remaining(&reader) == 0);
        msgpack_sbuffer_destroy(&sbuf);
    }
}

static void writer_write(struct mp_writer *writer, const struct random_value *value)
{
    switch (value->kind) {
    case 0:
        T_ASSERT(mp_write_int(writer, value->integer));
        break;
    case 1:
        T_ASSERT(mp_write_str(writer, value->text, value->text_bytes));
        break;
    case 2:
        T_ASSERT(mp_write_bin(writer, value->text, value->text_bytes));
        break;
    case 3:
        T_ASSERT(mp_write_bool(writer, (value->integer & 1) != 0));
        break;
    default:
        T_ASSERT(mp_write_nil(writer));
        break;
    }
}

static void oracle_check(const msgpack_object *object, const struct random_value *value)
{
    switch (value->kind) {
    case 0:
        if (value->integer >= 0) {
            T_ASSERT(object->type == MSGPACK_OBJECT_POSITIVE_INTEGER);
            T_ASSERT(object->via.u64 == (uint64_t)value->integer);
        } else {
            T_ASSERT(object->type == MSGPACK_OBJECT_NEGATIVE_INTEGER);
            T_ASSERT(object->via.i64 == value->integer);
        }
        break;
    case 1:
        T_ASSERT(object->type == MSGPACK_OBJECT_STR && object->via.str.size == value->text_bytes);
        T_ASSERT_MEM_EQ(object->via.str.ptr, value->text, value->text_bytes);
        break;
    case 2:
        T_ASSERT(object->type == MSGPACK_OBJECT_BIN && object->via.bin.size == value->text_bytes);
        T_ASSERT_MEM_EQ(object->via.bin.ptr, value->text, value->text_bytes);
        break;
    case 3:
        T_ASSERT(object->type == MSGPACK_OBJECT_BOOLEAN);
        T_ASSERT(object->via.boolean == ((value->integer & 1) != 0));
        break;
    default:
        T_ASSERT(object->type == MSGPACK_OBJECT_NIL);
        break;
    }
}

static void t_write_then_oracle_unpack(void)
{
    uint64_t state = T_SEED ^ 0x5555;
    struct mp_writer writer;
    mp_writer_init(&writer, 1u << 20);
    for (unsigned round = 0; round < 200; round++) {
        struct random_value values[40];
        mp_writer_reset(&writer);
        T_ASSERT(mp_write_map(&writer, 1) && mp_write_str_cstr(&writer, "k"));
        T_ASSERT(mp_write_array(&writer, T_COUNT(values)));
        for (size_t i = 0; i < T_COUNT(values); i++) {
            random_value_make(&state, &values[i]);
            writer_write(&writer, &values[i]);
        }
        msgpack_unpacked result;
        msgpack_unpacked_init(&result);
        size_t offset = 0;
        T_ASSERT(msgpack_unpack_next(&result, (const char *)writer.data, writer.bytes, &offset) ==
                 MSGPACK_UNPACK_SUCCESS);
        T_ASSERT(offset == writer.bytes);
        T_ASSERT(result.data.type == MSGPACK_OBJECT_MAP && result.data.via.map.size == 1);
        const msgpack_object *array = &result.data.via.map.ptr[0].val;
        T_ASSERT(array->type == MSGPACK_OBJECT_ARRAY && array->via.array.size == T_COUNT(values));
        for (size_t i = 0; i < T_COUNT(values); i++) {
            oracle_check(&array->via.array.ptr[i], &values[i]);
        }
        msgpack_unpacked_destroy(&result);
    }
    mp_writer_deinit(&writer);
}

static void t_container_sizes_all_widths(void)
{
    static const uint32_t counts[] = { 0, 15, 16, 65535, 65536 };
    struct mp_writer writer;
    mp_writer_init(&writer, 1u << 20);
    for (size_t i = 0; i < T_COUNT(counts); i++) {
        mp_writer_reset(&writer);
        T_ASSERT(mp_write_array(&writer, counts[i]));
        for (uint32_t j = 0; j < counts[i]; j++) {
            T_ASSERT(mp_write_nil(&writer));
        }
        T_ASSERT(mp_write_map(&writer, counts[i]));
        for (uint32_t j = 0; j < counts[i]; j++) {
            T_ASSERT(mp_write_uint(&writer, j) && mp_write_bool(&writer, true));
        }
        struct mp_reader reader;
        uint32_t count = 0;
        mp_reader_init(&reader, writer.data, writer.bytes);
        T_ASSERT(mp_read_array(&reader, &count) && count == counts[i]);
        for (uint32_t j = 0; j < count; j++) {
            T_ASSERT(mp_read_nil(&reader));
        }
        T_ASSERT(mp_read_map(&reader, &count) && count == counts[i]);
        for (uint32_t j = 0; j < count; j++) {
            uint32_t key = 0;
            bool flag = false;
            T_ASSERT(mp_read_uint32(&reader, &key) && key == j && mp_read_bool(&reader, &flag));
        }
        T_ASSERT_EQ_INT(mp_reader_remaining(&reader), 0);
        mp_reader_init(&reader, writer.data, writer.bytes);
        T_ASSERT(mp_skip(&reader) && mp_skip(&reader) && mp_reader_remaining(&reader) == 0);
    }
    mp_writer_deinit(&writer);
}

static void t_str_and_bin_widths(void)
{
    static const uint32_t sizes[] = {
        0, 31, 32, 255, 256, 65535, 65536, RILL_PROTO_STRING_BYTES_MAX
    };
    static char text[70000];
    memset(text, 'x', sizeof(text));
    struct mp_writer writer;
    mp_writer_init(&writer, 1u << 20);
    for (size_t i = 0; i < T_COUNT(sizes); i++) {
        mp_writer_reset(&writer);
        T_ASSERT(mp_write_bin(&writer, text, sizes[i]));
        bool str_allowed = sizes[i] <= RILL_PROTO_STRING_BYTES_MAX;
        T_ASSERT(mp_write_str(&writer, text, sizes[i]));
        struct mp_reader reader;
        const uint8_t *bin = NULL;
        const char *str = NULL;
        uint32_t bytes = 0;
        mp_reader_init(&reader, writer.data, writer.bytes);
        T_ASSERT(!mp_read_str(&reader, &str, &bytes)); /* bin is not str */
        reader.err = RILL_OK;
        T_ASSERT(mp_read_bin(&reader, &bin, &bytes) && bytes == sizes[i]);
        T_ASSERT(!mp_read_bin(&reader, &bin, &bytes)); /* str is not bin */
        reader.err = RILL_OK;
        T_ASSERT(mp_read_str(&reader, &str, &bytes) == str_allowed);
        T_ASSERT(!str_allowed || bytes == sizes[i]);
    }
    /* One byte above the str limit. */
    mp_writer_reset(&writer);
    T_ASSERT(mp_write_str(&writer, text, RILL_PROTO_STRING_BYTES_MAX + 1));
    struct mp_reader reader;
    const char *str = NULL;
    uint32_t bytes = 0;
    mp_reader_init(&reader, writer.data, writer.bytes);
    T_ASSERT(!mp_read_str(&reader, &str, &bytes));
    mp_reader_init(&reader, writer.data, writer.bytes);
    T_ASSERT(mp_skip(&reader));
    mp_writer_deinit(&writer);
}

static void t_str_or_nil(void)
{
    struct mp_writer writer;
    mp_writer_init(&writer, 64);
    T_ASSERT(mp_write_str_or_nil(&writer, NULL, 0) && mp_write_str_or_nil(&writer, "ab", 2));
    T_ASSERT(mp_write_int(&writer, 3));
    struct mp_reader reader;
    const char *str = "unset";
    uint32_t bytes = 9;
    mp_reader_init(&reader, writer.data, writer.bytes);
    T_ASSERT(mp_read_str_or_nil(&reader, &str, &bytes) && str == NULL && bytes == 0);
    T_ASSERT(mp_read_str_or_nil(&reader, &str, &bytes) && bytes == 2 && memcmp(str, "ab", 2) == 0);
    T_ASSERT(!mp_peek_nil(&reader));
    T_ASSERT(!mp_read_str_or_nil(&reader, &str, &bytes));
    T_ASSERT(bytes == 2); /* out-params untouched on failure */
    mp_writer_deinit(&writer);
}

/* Every value type msgpack has, so that mp_skip sees all of them. */
static void pack_every_type(msgpack_sbuffer *sbuf)
{
    msgpack_packer packer;
    msgpack_packer_init(&packer, sbuf, msgpack_sbuffer_write);
    msgpack_pack_array(&packer, 15);
    msgpack_pack_nil(&packer);
    msgpack_pack_true(&packer);
    msgpack_pack_int64(&packer, -5000000000LL);
    msgpack_pack_uint64(&packer, UINT64_MAX);
    msgpack_pack_float(&packer, 1.5f);
    msgpack_pack_double(&packer, 2.5);
    msgpack_pack_str(&packer, 40);
    msgpack_pack_str_body(&packer, "0123456789012345678901234567890123456789", 40);
    msgpack_pack_bin(&packer, 3);
    msgpack_pack_bin_body(&packer, "abc", 3);
    static const size_t ext_sizes[] = { 1, 2, 4, 8, 16, 3 };
    for (size_t i = 0; i < T_COUNT(ext_sizes); i++) {
        msgpack_pack_ext(&packer, ext_sizes[i], 7);
        msgpack_pack_ext_body(&packer, "0123456789abcdef", ext_sizes[i]);
    }
    msgpack_pack_map(&packer, 1);
    msgpack_pack_str(&packer, 1);
    msgpack_pack_str_body(&packer, "k", 1);
    msgpack_pack_array(&packer, 0);
}

static void t_skip_every_type_and_truncation(void)
{
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    pack_every_type(&sbuf);
    struct mp_reader reader;
    mp_reader_init(&reader, sbuf.data, sbuf.size);
    T_ASSERT(mp_skip(&reader) && mp_reader_remaining(&reader) == 0);
    for (size_t cut = 0; cut < sbuf.size; cut++) {
        mp_reader_init(&reader, sbuf.data, cut);
        T_ASSERT(!mp_skip(&reader));
        T_ASSERT_EQ_INT(reader.err, RILL_ERR_INVALID_REQUEST);
        T_ASSERT(!mp_read_nil(&reader)); /* sticky */
    }
    msgpack_sbuffer_destroy(&sbuf);
}

/* A typed decode of a fixed shape, for truncation: [int, str, bin, [bool, nil], {uint: int}]. */
static bool decode_shape(struct mp_reader *reader)
{
    uint32_t count = 0;
    int64_t integer = 0;
    uint64_t unsigned_value = 0;
    const char *str = NULL;
    const uint8_t *bin = NULL;
    uint32_t bytes = 0;
    bool flag = false;
    return mp_read_array(reader, &count) && count == 5 && mp_read_int64(reader, &integer) &&
           mp_read_str(reader, &str, &bytes) && mp_read_bin(reader, &bin, &bytes) &&
           mp_read_array(reader, &count) && mp_read_bool(reader, &flag) && mp_read_nil(reader) &&
           mp_read_map(reader, &count) && mp_read_uint64(reader, &unsigned_value) &&
           mp_read_int64(reader, &integer);
}

static void t_truncation_every_byte(void)
{
    static char big[70000];
    struct mp_writer writer;
    mp_writer_init(&writer, 1u << 20);
    T_ASSERT(mp_write_array(&writer, 5) && mp_write_int(&writer, INT64_MIN) &&
             mp_write_str(&writer, big, 300) && mp_write_bin(&writer, big, 70000) &&
             mp_write_array(&writer, 2) && mp_write_bool(&writer, false) && mp_write_nil(&writer) &&
             mp_write_map(&writer, 1) && mp_write_uint(&writer, UINT64_MAX) &&
             mp_write_int(&writer, -7));
    struct mp_reader reader;
    mp_reader_init(&reader, writer.data, writer.bytes);
    T_ASSERT(decode_shape(&reader) && mp_reader_remaining(&reader) == 0);
    for (size_t cut = 0; cut < writer.bytes; cut++) {
        mp_reader_init(&reader, writer.data, cut);
        T_ASSERT(!decode_shape(&reader));
        T_ASSERT_EQ_INT(reader.err, RILL_ERR_INVALID_REQUEST);
        mp_reader_init(&reader, writer.data, cut);
        T_ASSERT(!mp_skip(&reader));
    }
    mp_writer_deinit(&writer);
}

static void t_huge_declared_counts(void)
{
    static const uint8_t inputs[][9] = {
        { 0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0, 0xc0 }, /* array32 of 4 billion */
        { 0xdc, 0x00, 0x10, 0xc0, 0xc0 },             /* array16 of 16 with 2 bytes */
        { 0xdf, 0x7f, 0xff, 0xff, 0xff, 0xc0, 0xc0 }, /* map32 */
        { 0x81, 0xc0 },                               /* fixmap of 1 needs 2 bytes */
        { 0xdb, 0xff, 0xff, 0xff, 0xff, 'a' },        /* str32 */
        { 0xc6, 0xff, 0xff, 0xff, 0xff, 'a' },        /* bin32 */
        { 0xc5, 0x00, 0x09, 'a' },                    /* bin16 short */
        { 0xc9, 0xff, 0xff, 0xff, 0xff, 1, 'a' },     /* ext32 */
    };
    static const size_t input_bytes[] = { 7, 5, 7, 2, 6, 6, 4, 7 };
    for (size_t i = 0; i < T_COUNT(inputs); i++) {
        struct mp_reader reader;
        uint32_t count = 0;
        const char *str = NULL;
        const uint8_t *bin = NULL;
        mp_reader_init(&reader, inputs[i], input_bytes[i]);
        T_ASSERT(!mp_skip(&reader));
        mp_reader_init(&reader, inputs[i], input_bytes[i]);
        T_ASSERT(!mp_read_array(&reader, &count) && count == 0);
        mp_reader_init(&reader, inputs[i], input_bytes[i]);
        T_ASSERT(!mp_read_map(&reader, &count) && count == 0);
        mp_reader_init(&reader, inputs[i], input_bytes[i]);
        T_ASSERT(!mp_read_str(&reader, &str, &count) && count == 0);
        mp_reader_init(&reader, inputs[i], input_bytes[i]);
        T_ASSERT(!mp_read_bin(&reader, &bin, &count) && count == 0);
    }
}

static void t_depth_limit(void)
{
    uint8_t nested[MP_DEPTH_MAX + 2];
    for (unsigned depth = 1; depth <= MP_DEPTH_MAX + 1; depth++) {
        memset(nested, 0x91, depth - 1); /* arrays of one element */
        nested[depth - 1] = 0x90;        /* the innermost array is empty */
        struct mp_reader reader;
        mp_reader_init(&reader, nested, depth);
        T_ASSERT(mp_skip(&reader) == (depth <= MP_DEPTH_MAX));
    }
    /* A long flat array costs work linear in its bytes, not in its declared count. */
    static uint8_t flat[1u << 20];
    flat[0] = 0xdd;
    flat[1] = 0x00;
    flat[2] = 0x0f;
    flat[3] = 0xff;
    flat[4] = 0xf0;
    memset(flat + 5, 0xc0, sizeof(flat) - 5);
    struct mp_reader reader;
    mp_reader_init(&reader, flat, sizeof(flat));
    T_ASSERT(mp_skip(&reader) && mp_reader_remaining(&reader) == sizeof(flat) - 5 - 0x0ffff0);
}

static void t_invalid_type_bytes(void)
{
    static const uint8_t never_used[] = { 0xc1 };
    struct mp_reader reader;
    mp_reader_init(&reader, never_used, 1);
    T_ASSERT(!mp_skip(&reader));
    mp_reader_init(&reader, NULL, 0);
    T_ASSERT(!mp_read_nil(&reader) && !mp_peek_nil(&reader));
    static const uint8_t float_value[] = { 0xca, 0, 0, 0, 0 };
    int64_t integer = 0;
    bool flag = false;
    mp_reader_init(&reader, float_value, sizeof(float_value));
    T_ASSERT(!mp_read_int64(&reader, &integer) && !mp_read_bool(&reader, &flag));
}

static void t_writer_capacity(void)
{
    struct mp_writer writer;
    mp_writer_init(&writer, 10);
    T_ASSERT(mp_write_str(&writer, "12345678", 8)); /* 9 bytes */
    T_ASSERT(!mp_write_int(&writer, 1000));
    T_ASSERT_EQ_INT(writer.err, RILL_ERR_TOO_LARGE);
    T_ASSERT(!mp_write_nil(&writer)); /* sticky though one byte would fit */
    T_ASSERT_EQ_INT(writer.bytes, 9);
    mp_writer_reset(&writer);
    T_ASSERT(mp_write_bin(&writer, "123456789", 7) && mp_write_nil(&writer));
    T_ASSERT_EQ_INT(writer.bytes, 10);
    T_ASSERT(!mp_write_nil(&writer));
    mp_writer_deinit(&writer);
    /* Growth by doubling stays at or below the cap. */
    static uint8_t block[4096];
    mp_writer_init(&writer, 100000);
    while (mp_write_raw(&writer, block, sizeof(block))) {
    }
    T_ASSERT_EQ_INT(writer.err, RILL_ERR_TOO_LARGE);
    T_ASSERT(writer.capacity_bytes <= 100000 && writer.bytes == 24 * 4096);
    mp_writer_deinit(&writer);
}

static void t_bin_header_and_patch(void)
{
    struct mp_writer writer;
    size_t position = 0;
    mp_writer_init(&writer, 64);
    T_ASSERT(mp_writer_reserve(&writer, 4, &position) && position == 0);
    T_ASSERT(mp_write_bin_header(&writer, 3) && mp_write_raw(&writer, "xyz", 3));
    mp_writer_patch_u32(&writer, position, 0x01020304);
    static const uint8_t expected[] = { 1, 2, 3, 4, 0xc6, 0, 0, 0, 3, 'x', 'y', 'z' };
    T_ASSERT_EQ_INT(writer.bytes, sizeof(expected));
    T_ASSERT_MEM_EQ(writer.data, expected, sizeof(expected));
    struct mp_reader reader;
    const uint8_t *bin = NULL;
    uint32_t bytes = 0;
    mp_reader_init(&reader, writer.data + 4, writer.bytes - 4);
    T_ASSERT(mp_read_bin(&reader, &bin, &bytes) && bytes == 3 && memcmp(bin, "xyz", 3) == 0);
    mp_writer_deinit(&writer);
}

static void t_frame_length(void)
{
    static const uint8_t zero[4] = { 0, 0, 0, 0 };
    static const uint8_t one[4] = { 0, 0, 0, 1 };
    static const uint8_t max[4] = { 0x04, 0, 0, 0 };
    static const uint8_t over[4] = { 0x04, 0, 0, 1 };
    static const uint8_t huge[4] = { 0xff, 0xff, 0xff, 0xff };
    uint32_t bytes = 77;
    T_ASSERT_EQ_INT(proto_frame_length_decode(zero, RILL_FRAME_BYTES_MAX, &bytes),
                    RILL_ERR_INVALID_REQUEST);
    T_ASSERT_EQ_INT(bytes, 77);
    T_ASSERT_OK(proto_frame_length_decode(one, RILL_FRAME_BYTES_MAX, &bytes));
    T_ASSERT_EQ_INT(bytes, 1);
    T_ASSERT_OK(proto_frame_length_decode(max, RILL_FRAME_BYTES_MAX, &bytes));
    T_ASSERT_EQ_INT(bytes, RILL_FRAME_BYTES_MAX);
    T_ASSERT_EQ_INT(proto_frame_length_decode(over, RILL_FRAME_BYTES_MAX, &bytes),
                    RILL_ERR_FRAME_TOO_LARGE);
    T_ASSERT_EQ_INT(proto_frame_length_decode(huge, RILL_FRAME_BYTES_MAX, &bytes),
                    RILL_ERR_FRAME_TOO_LARGE);
    T_ASSERT_EQ_INT(proto_frame_length_decode(one, 0, &bytes), RILL_ERR_FRAME_TOO_LARGE);
}

static void t_frames_and_headers(void)
{
    struct mp_writer writer;
    mp_writer_init(&writer, 1024);
    struct proto_request_header request = { .api = PROTO_API_FETCH,
                                            .version = 1,
                                            .correlation_id = UINT32_MAX };
    struct proto_response_header response = {
        .correlation_id = 7, .error = RILL_ERR_UNKNOWN_TOPIC, .message = "no", .message_bytes = 2
    };
    T_ASSERT_OK(proto_frame_begin(&writer));
    T_ASSERT_OK(proto_request_header_encode(&writer, &request));
    T_ASSERT(mp_write_nil(&writer));
    T_ASSERT_OK(proto_frame_end(&writer));
    size_t second = writer.bytes;
    T_ASSERT_OK(proto_frame_begin(&writer));
    T_ASSERT_OK(proto_response_header_encode(&writer, &response));
    T_ASSERT_OK(proto_frame_end_spliced(&writer, 10));

    uint32_t frame_bytes = 0;
    T_ASSERT_OK(proto_frame_length_decode(writer.data, RILL_FRAME_BYTES_MAX, &frame_bytes));
    T_ASSERT_EQ_INT(frame_bytes, second - 4);
    struct mp_reader reader;
    struct proto_request_header request_back;
    mp_reader_init(&reader, writer.data + 4, frame_bytes);
    T_ASSERT_OK(proto_request_header_decode(&reader, &request_back));
    T_ASSERT(memcmp(&request, &request_back, sizeof(request)) == 0);
    T_ASSERT(mp_read_nil(&reader) && mp_reader_remaining(&reader) == 0);

    T_ASSERT_OK(
        proto_frame_length_decode(writer.data + second, RILL_FRAME_BYTES_MAX, &frame_bytes));
    T_ASSERT_EQ_INT(frame_bytes, writer.bytes - second - 4 + 10);
    struct proto_response_header response_back;
    mp_reader_init(&reader, writer.data + second + 4, writer.bytes - second - 4);
    T_ASSERT_OK(proto_response_header_decode(&reader, &response_back));
    T_ASSERT_EQ_INT(response_back.correlation_id, 7);
    T_ASSERT_EQ_INT(response_back.error, RILL_ERR_UNKNOWN_TOPIC);
    T_ASSERT(response_back.message_bytes == 2 && memcmp(response_back.message, "no", 2) == 0);

    /* Frame too large once spliced bytes are counted. */
    T_ASSERT_OK(proto_frame_begin(&writer));
    T_ASSERT(mp_write_nil(&writer));
    T_ASSERT_EQ_INT(proto_frame_end_spliced(&writer, RILL_FRAME_BYTES_MAX),
                    RILL_ERR_FRAME_TOO_LARGE);
    mp_writer_deinit(&writer);
}

static void t_header_malformed_and_extra(void)
{
    struct proto_request_header header;
    struct mp_reader reader;
    /* Extra trailing elements are skipped: [6, 1, 9, "x", [1]]. */
    static const uint8_t extra[] = { 0x95, 6, 1, 9, 0xa1, 'x', 0x91, 1, 0xc0 };
    mp_reader_init(&reader, extra, sizeof(extra));
    T_ASSERT_OK(proto_request_header_decode(&reader, &header));
    T_ASSERT(header.api == 6 && header.version == 1 && header.correlation_id == 9);
    T_ASSERT(mp_read_nil(&reader));
    static const uint8_t missing[] = { 0x92, 6, 1 };
    static const uint8_t negative[] = { 0x93, 6, 0xff, 9 };
    static const uint8_t too_big[] = { 0x93, 6, 1, 0xcf, 0, 0, 0, 1, 0, 0, 0, 0 };
    static const uint8_t not_array[] = { 0x83, 6, 1, 9 };
    const uint8_t *bad[] = { missing, negative, too_big, not_array };
    const size_t bad_bytes[] = { sizeof(missing), sizeof(negative), sizeof(too_big),
                                 sizeof(not_array) };
    for (size_t i = 0; i < T_COUNT(bad); i++) {
        header.api = 99;
        mp_reader_init(&reader, bad[i], bad_bytes[i]);
        T_ASSERT_EQ_INT(proto_request_header_decode(&reader, &header), RILL_ERR_INVALID_REQUEST);
        T_ASSERT_EQ_INT(header.api, 99);
    }
    struct proto_response_header response;
    static const uint8_t nil_message[] = { 0x93, 1, 0xe6, 0xc0 };
    mp_reader_init(&reader, nil_message, sizeof(nil_message));
    T_ASSERT_OK(proto_response_header_decode(&reader, &response));
    T_ASSERT(response.message == NULL && response.message_bytes == 0 && response.error == -26);
    static const uint8_t int_message[] = { 0x93, 1, 0, 5 };
    mp_reader_init(&reader, int_message, sizeof(int_message));
    T_ASSERT_EQ_INT(proto_response_header_decode(&reader, &response), RILL_ERR_INVALID_REQUEST);
}

static void t_api_table(void)
{
    for (uint32_t api = 0; api < PROTO_API_COUNT; api++) {
        T_ASSERT(proto_api_supported(api, 1));
        T_ASSERT(!proto_api_supported(api, 0));
        T_ASSERT(!proto_api_supported(api, 2));
        T_ASSERT(strcmp(proto_api_name(api), "UNKNOWN") != 0);
    }
    T_ASSERT(!proto_api_supported(PROTO_API_COUNT, 1));
    T_ASSERT(!proto_api_supported(UINT32_MAX, 1));
    T_ASSERT(strcmp(proto_api_name(PROTO_API_PRODUCE), "PRODUCE") == 0);
    T_ASSERT(strcmp(proto_api_name(1000), "UNKNOWN") == 0);
}

static const struct t_case cases[] = {
    T_CASE(t_int_boundaries_writer_to_oracle),
    T_CASE(t_int_boundaries_oracle_to_reader),
    T_CASE(t_int_ranges),
    T_CASE(t_oracle_pack_then_read),
    T_CASE(t_write_then_oracle_unpack),
    T_CASE(t_container_sizes_all_widths),
    T_CASE(t_str_and_bin_widths),
    T_CASE(t_str_or_nil),
    T_CASE(t_skip_every_type_and_truncation),
    T_CASE(t_truncation_every_byte),
    T_CASE(t_huge_declared_counts),
    T_CASE(t_depth_limit),
    T_CASE(t_invalid_type_bytes),
    T_CASE(t_writer_capacity),
    T_CASE(t_bin_header_and_patch),
    T_CASE(t_frame_length),
    T_CASE(t_frames_and_headers),
    T_CASE(t_header_malformed_and_extra),
    T_CASE(t_api_table),
};

int main(int argc, char **argv)
{
    return t_run(argc, argv, cases, T_COUNT(cases));
}
