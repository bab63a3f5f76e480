/*
 * test_broker_producer.c - idempotence windows (broker/producer.h): duplicates within the last
 * five batches, gaps, epochs, sequence wrap-around, and the bounded table's eviction.
 */
#include "tests/harness.h"

#include "broker/producer.h"

static void t_window_duplicates_and_gaps(void)
{
    struct producer_table table;
    producer_table_init(&table);
    int64_t base = -1;
    T_ASSERT_EQ_INT(producer_table_check(&table, 7, 0, 0, 10, &base), RILL_OK);
    for (int i = 0; i < 8; i++) {
        T_ASSERT_EQ_INT(producer_table_check(&table, 7, 0, i * 10, 10, &base), RILL_OK);
        T_ASSERT(producer_table_record(&table, 7, 0, i * 10, 10, 100 + i * 10) == RILL_OK);
    }
    /* The last five batches are recognised with their offsets; older ones are not. */
    for (int i = 3; i < 8; i++) {
        base = -1;
        T_ASSERT_EQ_INT(producer_table_check(&table, 7, 0, i * 10, 10, &base),
                        RILL_ERR_DUPLICATE_SEQUENCE);
        T_ASSERT_EQ_INT(base, 100 + i * 10);
    }
    T_ASSERT_EQ_INT(producer_table_check(&table, 7, 0, 20, 10, &base),
                    RILL_ERR_OUT_OF_ORDER_SEQUENCE);
    /* Same first sequence, other length: not the same batch. */
    T_ASSERT_EQ_INT(producer_table_check(&table, 7, 0, 70, 5, &base),
                    RILL_ERR_OUT_OF_ORDER_SEQUENCE);
    T_ASSERT_EQ_INT(producer_table_check(&table, 7, 0, 90, 1, &base),
                    RILL_ERR_OUT_OF_ORDER_SEQUENCE);
    T_ASSERT_EQ_INT(producer_table_check(&table, 7, 0, 80, 1, &base), RILL_OK);
    /* Another producer is independent. */
    T_ASSERT_EQ_INT(producer_table_check(&table, 8, 0, 500, 1, &base), RILL_OK);
    producer_table_deinit(&table);
}

static void t_epochs(void)
{
    struct producer_table table;
    producer_table_init(&table);
    int64_t base = -1;
    T_ASSERT(producer_table_record(&table, 1, 3, 0, 5, 0) == RILL_OK);
    T_ASSERT_EQ_INT(producer_table_check(&table, 1, 2, 5, 5, &base),
                    RILL_ERR_INVALID_PRODUCER_EPOCH);
    /* A newer epoch starts over at any sequence and fences the old one. */
    T_ASSERT_EQ_INT(producer_table_check(&table, 1, 4, 0, 5, &base), RILL_OK);
    T_ASSERT(producer_table_record(&table, 1, 4, 0, 5, 5) == RILL_OK);
    T_ASSERT_EQ_INT(producer_table_check(&table, 1, 3, 5, 5, &base),
                    RILL_ERR_INVALID_PRODUCER_EPOCH);
    T_ASSERT_EQ_INT(producer_table_check(&table, 1, 4, 0, 5, &base), RILL_ERR_DUPLICATE_SEQUENCE);
    T_ASSERT_EQ_INT(base, 5);
    producer_table_deinit(&table);
}

static void t_sequence_wraps(void)
{
    T_ASSERT_EQ_INT(producer_sequence_add(INT32_MAX, 1), 0);
    T_ASSERT_EQ_INT(producer_sequence_add(INT32_MAX - 2, 5), 2);
    struct producer_table table;
    producer_table_init(&table);
    int64_t base = -1;
    T_ASSERT(producer_table_record(&table, 2, 0, INT32_MAX - 4, 10, 0) == RILL_OK);
    T_ASSERT_EQ_INT(producer_table_check(&table, 2, 0, 5, 3, &base), RILL_OK);
    T_ASSERT_EQ_INT(producer_table_check(&table, 2, 0, INT32_MAX - 4, 10, &base),
                    RILL_ERR_DUPLICATE_SEQUENCE);
    producer_table_deinit(&table);
}

static void t_bounded_eviction(void)
{
    struct producer_table table;
    producer_table_init(&table);
    int64_t base = -1;
    uint32_t total = PRODUCER_TABLE_MAX + 300;
    for (uint32_t id = 0; id < total; id++) {
        T_ASSERT(producer_table_record(&table, id * 7919, 0, 0, 1, id) == RILL_OK);
        T_ASSERT(table.count <= PRODUCER_TABLE_MAX);
    }
    T_ASSERT_EQ_INT(table.count, PRODUCER_TABLE_MAX);
    /* The least recently used ones were forgotten, every other one is still found (probe
     * chains survived the deletions). */
    for (uint32_t id = 0; id < total; id++) {
        rill_err err = producer_table_check(&table, id * 7919, 0, 0, 1, &base);
        if (id < total - PRODUCER_TABLE_MAX) {
            T_ASSERT_EQ_INT(err, RILL_OK);
        } else {
            T_ASSERT_EQ_INT(err, RILL_ERR_DUPLICATE_SEQUENCE);
            T_ASSERT_EQ_INT(base, id);
        }
    }
    producer_table_deinit(&table);
}

static const struct t_case cases[] = {
    T_CASE(t_window_duplicates_and_gaps),
    T_CASE(t_epochs),
    T_CASE(t_sequence_wraps),
    T_CASE(t_bounded_eviction),
};

int main(int argc, char **argv)
{
    return t_run(argc, argv, cases, T_COUNT(cases));
}
