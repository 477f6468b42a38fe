/*
 * isokin_board.c - device logic of a sampling-only interface board. See isokin_board.h.
 */
#include "isokin_board.h"

#include <string.h>

static const uint8_t channel_kinds[ISOKIN_CHANNELS] = {
    ISOKIN_CHANNEL_TORQUE, ISOKIN_CHANNEL_POSITION, ISOKIN_CHANNEL_VELOCITY};

static void fill_info(const isokin_board_t *board, isokin_info_t *info)
{
    info->protocol_version = ISOKIN_PROTOCOL_VERSION;
    info->capabilities = board->config.capabilities;
    info->max_samples_per_frame = board->max_batch;
    info->channel_count = ISOKIN_CHANNELS;
    info->channel_kinds = channel_kinds;
    info->channel_adc_bits = board->config.adc_bits;
    info->rate_count = board->config.rate_count;
    info->sample_rates_hz = board->config.sample_rates_hz;
    info->model = board->config.model;
    info->serial_number = board->config.serial_number;
    info->firmware_version = board->config.firmware_version;
}

static bool rate_supported(const isokin_board_config_t *config, uint32_t rate_hz)
{
    uint8_t i;
    for (i = 0; i < config->rate_count; i++) {
        if (config->sample_rates_hz[i] == rate_hz) {
            return true;
        }
    }
    return false;
}

/* Extend the platform's 32-bit microsecond clock to 64 bits. Times up to 2^31 us
 * (35 min) behind the latest one (a queued sample read after a PING) stay behind it. */
static uint64_t device_time_us(isokin_board_t *board, uint32_t now_us)
{
    uint32_t latest_low = (uint32_t)(board->clock_us & 0xFFFFFFFFu);
    uint32_t ahead = now_us - latest_low;
    uint32_t behind = latest_low - now_us;
    if (ahead < 0x80000000u) {
        board->clock_us += ahead;
        return board->clock_us;
    }
    return board->clock_us >= behind ? board->clock_us - behind : 0u;
}

static uint8_t *control_payload(isokin_board_t *board)
{
    return board->control + ISOKIN_HEADER_SIZE;
}

static void send_frame(isokin_board_t *board, uint8_t *frame, uint8_t type, uint16_t payload_len)
{
    size_t size = isokin_frame_finish(frame, type, board->tx_sequence, payload_len);
    board->tx_sequence++;
    board->platform.write(board->platform.context, frame, size);
}

static void send_ack(isokin_board_t *board, const isokin_frame_t *command)
{
    uint16_t len = isokin_pack_ack(control_payload(board), command->type, command->sequence);
    send_frame(board, board->control, ISOKIN_MSG_ACK, len);
}

static void send_event(isokin_board_t *board, uint8_t code, int32_t value)
{
    uint64_t now_us = device_time_us(board, board->platform.micros(board->platform.context));
    uint16_t len = isokin_pack_event(control_payload(board), now_us, board->next_sample, code, value);
    send_frame(board, board->control, ISOKIN_MSG_EVENT, len);
}

static void flush_batch(isokin_board_t *board)
{
    uint16_t len;
    if (board->batched == 0) {
        return;
    }
    len = isokin_data_finish(board->data_frame + ISOKIN_HEADER_SIZE, board->batch, board->batched,
                             board->batch_time_us, board->batch_first);
    board->batched = 0;
    send_frame(board, board->data_frame, ISOKIN_MSG_DATA, len);
}

static void stop_streaming(isokin_board_t *board)
{
    if (board->streaming) {
        board->platform.set_sample_rate(board->platform.context, 0);
        flush_batch(board);
        board->streaming = false;
    }
}

/* --- commands: each returns ISOKIN_NAK_NONE after answering, or the NAK reason ----- */

static uint8_t on_hello(isokin_board_t *board, const isokin_frame_t *command)
{
    isokin_info_t info;
    uint8_t max_version = 0;
    uint16_t len;
    uint8_t error = isokin_unpack_hello(command->payload, command->length, &max_version);
    if (error != ISOKIN_NAK_NONE) {
        return error;
    }
    if (max_version < ISOKIN_PROTOCOL_VERSION) {
        return ISOKIN_NAK_UNSUPPORTED_VERSION;
    }
    fill_info(board, &info);
    len = isokin_pack_info(control_payload(board), ISOKIN_CONTROL_PAYLOAD_MAX, &info);
    send_frame(board, board->control, ISOKIN_MSG_INFO, len);
    return ISOKIN_NAK_NONE;
}

static uint8_t on_configure(isokin_board_t *board, const isokin_frame_t *command)
{
    isokin_configure_t cfg;
    uint8_t error = isokin_unpack_configure(command->payload, command->length, &cfg);
    if (error != ISOKIN_NAK_NONE) {
        return error;
    }
    if (board->streaming) {
        return ISOKIN_NAK_NOT_ALLOWED_NOW;
    }
    if (cfg.mode > ISOKIN_MODE_PASSIVE || cfg.acting_direction < -1 || cfg.acting_direction > 1 ||
        cfg.samples_per_frame > board->max_batch) {
        return ISOKIN_NAK_BAD_VALUE;
    }
    if (cfg.mode != ISOKIN_MODE_SAMPLING || cfg.acting_direction != 0 || cfg.velocity_plus_decidps != 0 ||
        cfg.velocity_minus_decidps != 0 || cfg.rom_min_decideg != 0 || cfg.rom_max_decideg != 0 ||
        cfg.repetitions != 0) {
        return ISOKIN_NAK_NOT_SUPPORTED;
    }
    if (!rate_supported(&board->config, cfg.sample_rate_hz)) {
        return ISOKIN_NAK_UNSUPPORTED_RATE;
    }
    board->rate_hz = cfg.sample_rate_hz;
    board->samples_per_frame = cfg.samples_per_frame;
    send_ack(board, command);
    return ISOKIN_NAK_NONE;
}

static uint16_t auto_batch(const isokin_board_t *board)
{
    uint32_t n = board->rate_hz / ISOKIN_AUTO_FRAMES_PER_S;
    if (n < 1u) {
        n = 1u;
    }
    return n > board->max_batch ? board->max_batch : (uint16_t)n;
}

static uint8_t on_start(isokin_board_t *board, const isokin_frame_t *command)
{
    if (command->length != 0) {
        return ISOKIN_NAK_BAD_LENGTH;
    }
    flush_batch(board); /* START while streaming: what was sampled so far keeps its indices */
    board->batch = board->samples_per_frame != 0 ? board->samples_per_frame : auto_batch(board);
    board->next_sample = 0;
    if (!board->platform.set_sample_rate(board->platform.context, board->rate_hz)) {
        board->streaming = false;
        return ISOKIN_NAK_HARDWARE_FAULT;
    }
    board->streaming = true;
    send_ack(board, command);
    return ISOKIN_NAK_NONE;
}

static uint8_t on_stop(isokin_board_t *board, const isokin_frame_t *command)
{
    if (command->length != 0) {
        return ISOKIN_NAK_BAD_LENGTH;
    }
    stop_streaming(board);
    send_ack(board, command);
    return ISOKIN_NAK_NONE;
}

static uint8_t on_ping(isokin_board_t *board, const isokin_frame_t *command)
{
    uint64_t host_time_us = 0;
    uint64_t now_us;
    uint16_t len;
    uint8_t error = isokin_unpack_ping(command->payload, command->length, &host_time_us);
    if (error != ISOKIN_NAK_NONE) {
        return error;
    }
    now_us = device_time_us(board, board->platform.micros(board->platform.context));
    len = isokin_pack_pong(control_payload(board), host_time_us, now_us);
    send_frame(board, board->control, ISOKIN_MSG_PONG, len);
    return ISOKIN_NAK_NONE;
}

static uint8_t on_marker(isokin_board_t *board, const isokin_frame_t *command)
{
    uint16_t marker_id = 0;
    uint8_t error = isokin_unpack_marker(command->payload, command->length, &marker_id);
    if (error != ISOKIN_NAK_NONE) {
        return error;
    }
    send_ack(board, command);
    send_event(board, ISOKIN_EVENT_MARKER_HOST, (int32_t)marker_id);
    return ISOKIN_NAK_NONE;
}

static void on_frame(void *context, const isokin_frame_t *frame)
{
    isokin_board_t *board = (isokin_board_t *)context;
    uint8_t error;
    if (frame->version != ISOKIN_PROTOCOL_VERSION) {
        board->ignored_frames++;
        return;
    }
    switch (frame->type) {
    case ISOKIN_MSG_HELLO:
        error = on_hello(board, frame);
        break;
    case ISOKIN_MSG_CONFIGURE:
        error = on_configure(board, frame);
        break;
    case ISOKIN_MSG_START:
        error = on_start(board, frame);
        break;
    case ISOKIN_MSG_STOP:
        error = on_stop(board, frame);
        break;
    case ISOKIN_MSG_PING:
        error = on_ping(board, frame);
        break;
    case ISOKIN_MSG_MARKER:
        error = on_marker(board, frame);
        break;
    default:
        error = ISOKIN_NAK_UNKNOWN_TYPE;
        break;
    }
    if (error != ISOKIN_NAK_NONE) {
        uint16_t len = isokin_pack_nak(control_payload(board), frame->type, frame->sequence, error);
        send_frame(board, board->control, ISOKIN_MSG_NAK, len);
    }
}

/* --- public interface -------------------------------------------------------------- */

static bool config_valid(const isokin_board_config_t *config)
{
    uint8_t i;
    if (config->model == NULL || config->serial_number == NULL || config->firmware_version == NULL ||
        config->sample_rates_hz == NULL || config->rate_count == 0 ||
        (config->capabilities & ~(unsigned)ISOKIN_CAP_MARKER_BUTTON) != 0) {
        return false;
    }
    for (i = 0; i < config->rate_count; i++) {
        if (config->sample_rates_hz[i] == 0) {
            return false;
        }
    }
    for (i = 0; i < ISOKIN_CHANNELS; i++) {
        if (config->adc_bits[i] == 0 || config->adc_bits[i] > 32) {
            return false;
        }
    }
    return rate_supported(config, config->default_rate_hz);
}

isokin_board_result_t isokin_board_init(isokin_board_t *board, const isokin_board_config_t *config,
                                        const isokin_platform_t *platform, uint8_t *data_frame,
                                        size_t data_frame_size)
{
    isokin_info_t info;
    size_t samples;
    memset(board, 0, sizeof *board);
    if (platform->write == NULL || platform->micros == NULL || platform->set_sample_rate == NULL) {
        return ISOKIN_BOARD_BAD_PLATFORM;
    }
    if (data_frame == NULL || data_frame_size < ISOKIN_DATA_FRAME_SIZE(1u)) {
        return ISOKIN_BOARD_BUFFER_TOO_SMALL;
    }
    if (!config_valid(config)) {
        return ISOKIN_BOARD_BAD_CONFIG;
    }
    samples = (data_frame_size - ISOKIN_DATA_FRAME_SIZE(0u)) / ISOKIN_DATA_BYTES_PER_SAMPLE;
    board->config = *config;
    board->platform = *platform;
    board->data_frame = data_frame;
    board->max_batch = (uint16_t)(samples < ISOKIN_MAX_SAMPLES_PER_FRAME ? samples : ISOKIN_MAX_SAMPLES_PER_FRAME);
    board->rate_hz = config->default_rate_hz;
    fill_info(board, &info);
    if (isokin_pack_info(control_payload(board), ISOKIN_CONTROL_PAYLOAD_MAX, &info) == 0) {
        return ISOKIN_BOARD_BAD_CONFIG;
    }
    isokin_parser_init(&board->parser);
    board->clock_us = platform->micros(platform->context);
    return ISOKIN_BOARD_OK;
}

void isokin_board_receive(isokin_board_t *board, const uint8_t *bytes, size_t len)
{
    isokin_parser_feed(&board->parser, bytes, len, on_frame, board);
}

void isokin_board_add_sample(isokin_board_t *board, uint32_t time_us, int32_t torque, int32_t position,
                             int32_t velocity, uint8_t status)
{
    uint64_t when_us = device_time_us(board, time_us);
    if (!board->streaming) {
        return;
    }
    if (board->batched == 0) {
        board->batch_time_us = when_us;
        board->batch_first = board->next_sample;
    }
    isokin_data_put_sample(board->data_frame + ISOKIN_HEADER_SIZE, board->batch, board->batched, torque, position,
                           velocity, status);
    board->batched++;
    board->next_sample++;
    if (board->batched == board->batch) {
        flush_batch(board);
    }
}

void isokin_board_skip_samples(isokin_board_t *board, uint32_t count)
{
    if (!board->streaming || count == 0) {
        return;
    }
    flush_batch(board);
    board->next_sample += count;
}

void isokin_board_update_clock(isokin_board_t *board)
{
    (void)device_time_us(board, board->platform.micros(board->platform.context));
}

void isokin_board_marker_button(isokin_board_t *board, uint8_t button)
{
    if (board->streaming && (board->config.capabilities & ISOKIN_CAP_MARKER_BUTTON) != 0) {
        send_event(board, ISOKIN_EVENT_MARKER_BUTTON, (int32_t)button);
    }
}

bool isokin_board_is_streaming(const isokin_board_t *board)
{
    return board->streaming;
}
