/*
 * harness.c - drives the portable core on a PC so the Python test suite can check it
 * against the Python codec. Three modes:
 *
 *   harness encode
 *       stdin: one message per line, stdout: the frame the core encodes, in hex.
 *         frame <seq> <type> <payload hex|->
 *         ack <seq> <acked_type> <acked_seq>
 *         nak <seq> <refused_type> <refused_seq> <error>
 *         pong <seq> <host_us> <device_us>
 *         event <seq> <timestamp_us> <sample_index> <code> <value>
 *         data <seq> <capacity> <timestamp_us> <first_sample> <n> <n torques> <n positions>
 *              <n velocities> <n status>      (built in a layout for <capacity> samples)
 *         info <seq> <version> <caps> <max_spf> <channels> <kind bits>... <rates> <rate>...
 *              <model hex|-> <serial hex|-> <firmware hex|->
 *
 *   harness parse
 *       stdin: raw bytes, fed to the frame parser in chunks of 1, 2, ... 61 bytes.
 *       stdout, per good frame:
 *         frame <version> <type> <seq> <payload hex|-> <decoded>
 *       where <decoded> is "hello <v>", "configure <rate> <spf> <mode> <acting> <v+> <v-> <rom_min>
 *       <rom_max> <reps>", "start", "stop", "ping <us>", "marker <id>", "bad_length" or "other";
 *       then one line:
 *         stats <received> <discarded> <frames> <crc_errors> <bad_headers> <pending> <rx_max_payload>
 *
 *   harness board [<start_us> [<data_frame_samples>]]
 *       A board on a simulated platform whose clock starts at start_us (default 0) and whose
 *       DATA buffer holds data_frame_samples (default 314). stdin: a script, one step a line:
 *         rx <hex>          bytes from the host
 *         samples <n>       the timer fires n times, each sample handed over at once
 *         fire <n>          the timer fires n times, samples wait in the platform's 64-entry
 *                           queue; when it is full they are lost and counted, as in the sketch
 *         deliver           the main loop hands the queued samples to the board
 *         idle <us>         time passes with no sample, the main loop keeps the clock
 *         button <k>        marker button k pressed
 *         timer_fault <0|1> the sampling timer refuses to start
 *       The timer does nothing while stopped. stdout: the frames the board sends (binary);
 *       stderr: "timer <hz>" when the timer changes. Sample g since the timer started holds the
 *       pattern of sample_pattern() below.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isokin_board.h"
#include "isokin_proto.h"

#define MAX_LINE (1u << 17)
#define MAX_HEX_BYTES 8192u

static char line[MAX_LINE];

static void fail(const char *message)
{
    fprintf(stderr, "harness: %s\n", message);
    exit(2);
}

static char *next_token(void)
{
    char *token = strtok(NULL, " \t\r\n");
    if (token == NULL) {
        fail("missing field");
    }
    return token;
}

static uint64_t next_u64(void)
{
    char *end = NULL;
    const char *token = next_token();
    uint64_t value = (uint64_t)strtoull(token, &end, 10);
    if (*end != '\0' || token[0] == '-') {
        fail("bad unsigned number");
    }
    return value;
}

static int64_t next_i64(void)
{
    char *end = NULL;
    int64_t value = (int64_t)strtoll(next_token(), &end, 10);
    if (*end != '\0') {
        fail("bad number");
    }
    return value;
}

static uint32_t next_u32(void)
{
    uint64_t value = next_u64();
    if (value > 0xFFFFFFFFu) {
        fail("number out of range");
    }
    return (uint32_t)value;
}

static uint8_t next_u8(void)
{
    uint64_t value = next_u64();
    if (value > 0xFFu) {
        fail("number out of range");
    }
    return (uint8_t)value;
}

static uint16_t next_u16(void)
{
    uint64_t value = next_u64();
    if (value > 0xFFFFu) {
        fail("number out of range");
    }
    return (uint16_t)value;
}

static int32_t next_i32(void)
{
    int64_t value = next_i64();
    if (value < INT32_MIN || value > INT32_MAX) {
        fail("number out of range");
    }
    return (int32_t)value;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    fail("bad hex digit");
    return 0;
}

/* Decode a hex token ("-" is empty) into out; returns the byte count. */
static size_t next_hex(uint8_t *out, size_t capacity)
{
    const char *token = next_token();
    size_t n = strlen(token);
    size_t i;
    if (strcmp(token, "-") == 0) {
        return 0;
    }
    if (n % 2u != 0 || n / 2u > capacity) {
        fail("bad hex length");
    }
    for (i = 0; i < n / 2u; i++) {
        out[i] = (uint8_t)(hex_digit(token[2u * i]) * 16 + hex_digit(token[2u * i + 1u]));
    }
    return n / 2u;
}

static void print_hex(const uint8_t *bytes, size_t n)
{
    size_t i;
    if (n == 0) {
        fputs("-", stdout);
    }
    for (i = 0; i < n; i++) {
        printf("%02x", bytes[i]);
    }
}

/* --- encode ------------------------------------------------------------------------ */

static uint8_t frame_buf[ISOKIN_FRAME_OVERHEAD + ISOKIN_MAX_PAYLOAD];
static int32_t columns[3][ISOKIN_MAX_SAMPLES_PER_FRAME];

static uint16_t encode_data(uint8_t *payload)
{
    uint16_t capacity = next_u16();
    uint64_t timestamp_us = next_u64();
    uint32_t first_sample = next_u32();
    uint16_t n = next_u16();
    uint16_t c, k;
    if (n == 0 || n > capacity || capacity > ISOKIN_MAX_SAMPLES_PER_FRAME) {
        fail("bad DATA sample count");
    }
    for (c = 0; c < 3u; c++) {
        for (k = 0; k < n; k++) {
            columns[c][k] = next_i32();
        }
    }
    for (k = 0; k < n; k++) {
        isokin_data_put_sample(payload, capacity, k, columns[0][k], columns[1][k], columns[2][k], next_u8());
    }
    return isokin_data_finish(payload, capacity, n, timestamp_us, first_sample);
}

static void next_string(char *out, size_t capacity)
{
    size_t n = next_hex((uint8_t *)out, capacity - 1u);
    out[n] = '\0';
}

static uint16_t encode_info(uint8_t *payload)
{
    static uint8_t kinds[255], bits[255];
    static uint32_t rates[255];
    static char model[256], serial[256], firmware[256];
    isokin_info_t info;
    uint8_t i;
    uint16_t len;
    info.protocol_version = next_u8();
    info.capabilities = next_u8();
    info.max_samples_per_frame = next_u16();
    info.channel_count = next_u8();
    for (i = 0; i < info.channel_count; i++) {
        kinds[i] = next_u8();
        bits[i] = next_u8();
    }
    info.rate_count = next_u8();
    for (i = 0; i < info.rate_count; i++) {
        rates[i] = next_u32();
    }
    next_string(model, sizeof model);
    next_string(serial, sizeof serial);
    next_string(firmware, sizeof firmware);
    info.channel_kinds = kinds;
    info.channel_adc_bits = bits;
    info.sample_rates_hz = rates;
    info.model = model;
    info.serial_number = serial;
    info.firmware_version = firmware;
    len = isokin_pack_info(payload, ISOKIN_MAX_PAYLOAD, &info);
    if (len == 0) {
        fail("INFO does not fit");
    }
    return len;
}

static int run_encode(void)
{
    uint8_t *payload = frame_buf + ISOKIN_HEADER_SIZE;
    while (fgets(line, sizeof line, stdin) != NULL) {
        const char *kind = strtok(line, " \t\r\n");
        uint32_t seq;
        uint8_t type;
        uint16_t len;
        if (kind == NULL) {
            continue;
        }
        seq = next_u32();
        if (strcmp(kind, "frame") == 0) {
            type = next_u8();
            len = (uint16_t)next_hex(payload, ISOKIN_MAX_PAYLOAD);
        } else if (strcmp(kind, "ack") == 0) {
            uint8_t acked = next_u8();
            type = ISOKIN_MSG_ACK;
            len = isokin_pack_ack(payload, acked, next_u32());
        } else if (strcmp(kind, "nak") == 0) {
            uint8_t refused = next_u8();
            uint32_t refused_seq = next_u32();
            type = ISOKIN_MSG_NAK;
            len = isokin_pack_nak(payload, refused, refused_seq, next_u8());
        } else if (strcmp(kind, "pong") == 0) {
            uint64_t host_us = next_u64();
            type = ISOKIN_MSG_PONG;
            len = isokin_pack_pong(payload, host_us, next_u64());
        } else if (strcmp(kind, "event") == 0) {
            uint64_t timestamp_us = next_u64();
            uint32_t index = next_u32();
            uint8_t code = next_u8();
            type = ISOKIN_MSG_EVENT;
            len = isokin_pack_event(payload, timestamp_us, index, code, next_i32());
        } else if (strcmp(kind, "data") == 0) {
            type = ISOKIN_MSG_DATA;
            len = encode_data(payload);
        } else if (strcmp(kind, "info") == 0) {
            type = ISOKIN_MSG_INFO;
            len = encode_info(payload);
        } else {
            fail("unknown message kind");
            return 2;
        }
        print_hex(frame_buf, isokin_frame_finish(frame_buf, type, seq, len));
        putchar('\n');
    }
    return 0;
}

/* --- parse ------------------------------------------------------------------------- */

static void print_decoded(const isokin_frame_t *frame)
{
    uint8_t error = ISOKIN_NAK_NONE;
    switch (frame->type) {
    case ISOKIN_MSG_HELLO: {
        uint8_t version = 0;
        error = isokin_unpack_hello(frame->payload, frame->length, &version);
        if (error == ISOKIN_NAK_NONE) {
            printf("hello %u", (unsigned)version);
        }
        break;
    }
    case ISOKIN_MSG_CONFIGURE: {
        isokin_configure_t c;
        error = isokin_unpack_configure(frame->payload, frame->length, &c);
        if (error == ISOKIN_NAK_NONE) {
            printf("configure %" PRIu32 " %u %u %d %u %u %d %d %u", c.sample_rate_hz, (unsigned)c.samples_per_frame,
                   (unsigned)c.mode, (int)c.acting_direction, (unsigned)c.velocity_plus_decidps,
                   (unsigned)c.velocity_minus_decidps, (int)c.rom_min_decideg, (int)c.rom_max_decideg,
                   (unsigned)c.repetitions);
        }
        break;
    }
    case ISOKIN_MSG_START:
    case ISOKIN_MSG_STOP:
        if (frame->length != 0) {
            error = ISOKIN_NAK_BAD_LENGTH;
        } else {
            fputs(frame->type == ISOKIN_MSG_START ? "start" : "stop", stdout);
        }
        break;
    case ISOKIN_MSG_PING: {
        uint64_t host_us = 0;
        error = isokin_unpack_ping(frame->payload, frame->length, &host_us);
        if (error == ISOKIN_NAK_NONE) {
            printf("ping %" PRIu64, host_us);
        }
        break;
    }
    case ISOKIN_MSG_MARKER: {
        uint16_t marker_id = 0;
        error = isokin_unpack_marker(frame->payload, frame->length, &marker_id);
        if (error == ISOKIN_NAK_NONE) {
            printf("marker %u", (unsigned)marker_id);
        }
        break;
    }
    default:
        fputs("other", stdout);
        break;
    }
    if (error == ISOKIN_NAK_BAD_LENGTH) {
        fputs("bad_length", stdout);
    }
}

static void print_frame(void *context, const isokin_frame_t *frame)
{
    (void)context;
    printf("frame %u %u %" PRIu32 " ", (unsigned)frame->version, (unsigned)frame->type, frame->sequence);
    print_hex(frame->payload, frame->length);
    putchar(' ');
    print_decoded(frame);
    putchar('\n');
}

static int run_parse(void)
{
    static uint8_t chunk[61];
    isokin_parser_t parser;
    size_t want = 1;
    size_t n;
    isokin_parser_init(&parser);
    while ((n = fread(chunk, 1, want, stdin)) > 0) {
        isokin_parser_feed(&parser, chunk, n, print_frame, NULL);
        want = want % sizeof chunk + 1u;
    }
    printf("stats %" PRIu32 " %" PRIu32 " %" PRIu32 " %" PRIu32 " %" PRIu32 " %u %u\n", parser.stats.bytes_received,
           parser.stats.bytes_discarded, parser.stats.frames, parser.stats.crc_errors, parser.stats.bad_headers,
           (unsigned)isokin_parser_pending(&parser), (unsigned)ISOKIN_RX_MAX_PAYLOAD);
    return 0;
}

/* --- board on a simulated platform ------------------------------------------------- */

#define SIM_QUEUE 64u

/* A sample waiting between the timer interrupt and the main loop: when it was taken,
 * which one it is, and how many samples were lost just before it. */
typedef struct {
    uint32_t time_us;
    uint32_t index;
    uint32_t lost_before;
} sim_entry_t;

typedef struct {
    uint64_t clock_us;   /* true time since the simulated power-up, in us */
    uint32_t rate_hz;    /* 0 while the timer is stopped */
    uint32_t generated;  /* timer ticks since it was started */
    sim_entry_t queue[SIM_QUEUE];
    uint32_t queued;
    uint32_t lost;       /* samples lost since the last queued one */
    int timer_fault;
} sim_platform_t;

static void sim_write(void *context, const uint8_t *bytes, size_t len)
{
    (void)context;
    if (fwrite(bytes, 1, len, stdout) != len) {
        fail("cannot write stdout");
    }
}

static uint32_t sim_micros(void *context)
{
    return (uint32_t)(((sim_platform_t *)context)->clock_us & 0xFFFFFFFFu);
}

static bool sim_set_sample_rate(void *context, uint32_t rate_hz)
{
    sim_platform_t *sim = (sim_platform_t *)context;
    if (rate_hz != 0 && (sim->timer_fault || 1000000u % rate_hz != 0)) {
        return false;
    }
    sim->rate_hz = rate_hz;
    sim->generated = 0;
    sim->queued = 0;
    sim->lost = 0;
    fprintf(stderr, "timer %" PRIu32 "\n", rate_hz);
    return true;
}

/* The counts of sample g (g counted from the timer's start): full-range torques, and
 * positions and velocities of both signs. test_firmware.py computes the same. */
static void sample_pattern(uint32_t g, int32_t *torque, int32_t *position, int32_t *velocity, uint8_t *status)
{
    uint32_t mixed = g * 2654435761u;
    *torque = mixed < 0x80000000u ? (int32_t)mixed : (int32_t)(mixed - 0x80000000u) - INT32_MAX - 1;
    *position = (int32_t)(g % 100000u) - 50000;
    *velocity = -271 * (int32_t)(g % 7919u);
    *status = (uint8_t)(g & 0x0Fu);
}

static void fire(sim_platform_t *sim, uint64_t n)
{
    uint64_t i;
    for (i = 0; i < n && sim->rate_hz != 0; i++) {
        if (sim->queued < SIM_QUEUE) {
            sim_entry_t *entry = &sim->queue[sim->queued++];
            entry->time_us = sim_micros(sim);
            entry->index = sim->generated;
            entry->lost_before = sim->lost;
            sim->lost = 0;
        } else {
            sim->lost++;
        }
        sim->generated++;
        sim->clock_us += 1000000u / sim->rate_hz;
    }
}

static void deliver(isokin_board_t *board, sim_platform_t *sim)
{
    uint32_t i;
    for (i = 0; i < sim->queued; i++) {
        const sim_entry_t *entry = &sim->queue[i];
        int32_t torque, position, velocity;
        uint8_t status;
        isokin_board_skip_samples(board, entry->lost_before);
        sample_pattern(entry->index, &torque, &position, &velocity, &status);
        isokin_board_add_sample(board, entry->time_us, torque, position, velocity, status);
    }
    sim->queued = 0;
}

static int run_board(int argc, char **argv)
{
    static const uint32_t rates_hz[] = {100, 200, 500, 1000, 2000, 5000};
    static uint8_t data_frame[ISOKIN_DATA_FRAME_SIZE(ISOKIN_MAX_SAMPLES_PER_FRAME)];
    static uint8_t rx[MAX_HEX_BYTES];
    static isokin_board_t board;
    static sim_platform_t sim;
    isokin_board_config_t config;
    isokin_platform_t platform;
    size_t samples = ISOKIN_MAX_SAMPLES_PER_FRAME;
    isokin_board_result_t result;
    if (argc > 2) {
        sim.clock_us = strtoull(argv[2], NULL, 10);
    }
    if (argc > 3) {
        samples = strtoul(argv[3], NULL, 10);
        if (samples > ISOKIN_MAX_SAMPLES_PER_FRAME) {
            fail("data_frame_samples above 314");
        }
    }
    config.model = "isokin-host-harness";
    config.serial_number = "HOST-0001";
    config.firmware_version = "1.0.0";
    config.capabilities = ISOKIN_CAP_MARKER_BUTTON;
    config.adc_bits[0] = 16;
    config.adc_bits[1] = 12;
    config.adc_bits[2] = 10;
    config.sample_rates_hz = rates_hz;
    config.rate_count = (uint8_t)(sizeof rates_hz / sizeof rates_hz[0]);
    config.default_rate_hz = 1000;
    platform.write = sim_write;
    platform.micros = sim_micros;
    platform.set_sample_rate = sim_set_sample_rate;
    platform.context = &sim;
    result = isokin_board_init(&board, &config, &platform, data_frame, ISOKIN_DATA_FRAME_SIZE(samples));
    if (result != ISOKIN_BOARD_OK) {
        fprintf(stderr, "harness: board init failed: %d\n", (int)result);
        return 2;
    }
    while (fgets(line, sizeof line, stdin) != NULL) {
        const char *step = strtok(line, " \t\r\n");
        if (step == NULL) {
            continue;
        }
        if (strcmp(step, "rx") == 0) {
            size_t n = next_hex(rx, sizeof rx);
            isokin_board_receive(&board, rx, n);
        } else if (strcmp(step, "samples") == 0) {
            uint64_t n = next_u64();
            uint64_t i;
            for (i = 0; i < n; i++) {
                fire(&sim, 1);
                deliver(&board, &sim);
            }
        } else if (strcmp(step, "fire") == 0) {
            fire(&sim, next_u64());
        } else if (strcmp(step, "deliver") == 0) {
            deliver(&board, &sim);
        } else if (strcmp(step, "idle") == 0) {
            uint64_t left = next_u64();
            while (left > 0) {
                uint64_t step_us = left < 1000000000u ? left : 1000000000u;
                sim.clock_us += step_us;
                left -= step_us;
                isokin_board_update_clock(&board);
            }
        } else if (strcmp(step, "button") == 0) {
            isokin_board_marker_button(&board, next_u8());
        } else if (strcmp(step, "timer_fault") == 0) {
            sim.timer_fault = next_u8() != 0;
        } else {
            fail("unknown script step");
        }
    }
    return fflush(stdout) == 0 ? 0 : 2;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "encode") == 0) {
        return run_encode();
    }
    if (argc >= 2 && strcmp(argv[1], "parse") == 0) {
        return run_parse();
    }
    if (argc >= 2 && strcmp(argv[1], "board") == 0) {
        return run_board(argc, argv);
    }
    fprintf(stderr, "usage: harness encode | parse | board [<start_us> [<data_frame_samples>]]\n");
    return 2;
}
