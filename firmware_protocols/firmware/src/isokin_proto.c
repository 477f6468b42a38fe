/*
 * isokin_proto.c - binary protocol version 1: CRC, byte order, frames, payloads, parser.
 * See isokin_proto.h and firmware_protocols/PROTOCOL.md.
 */
#include "isokin_proto.h"

#include <string.h>

/* CRC-16/CCITT-FALSE, four bits at a time: a 32-byte table suits boards whose
 * constants live in RAM (AVR) and is still fast enough for 1 kHz streams. */
static const uint16_t crc_nibble[16] = {
    0x0000u, 0x1021u, 0x2042u, 0x3063u, 0x4084u, 0x50A5u, 0x60C6u, 0x70E7u,
    0x8108u, 0x9129u, 0xA14Au, 0xB16Bu, 0xC18Cu, 0xD1ADu, 0xE1CEu, 0xF1EFu,
};

uint16_t isokin_crc16(uint16_t crc, const uint8_t *data, size_t len)
{
    size_t i;
    for (i = 0; i < len; i++) {
        uint8_t byte = data[i];
        crc = (uint16_t)((uint16_t)(crc << 4) ^ crc_nibble[((crc >> 12) ^ (byte >> 4)) & 0x0Fu]);
        crc = (uint16_t)((uint16_t)(crc << 4) ^ crc_nibble[((crc >> 12) ^ byte) & 0x0Fu]);
    }
    return crc;
}

void isokin_put_u16le(uint8_t *p, uint16_t value)
{
    p[0] = (uint8_t)(value & 0xFFu);
    p[1] = (uint8_t)(value >> 8);
}

void isokin_put_u32le(uint8_t *p, uint32_t value)
{
    isokin_put_u16le(p, (uint16_t)(value & 0xFFFFu));
    isokin_put_u16le(p + 2, (uint16_t)(value >> 16));
}

void isokin_put_u64le(uint8_t *p, uint64_t value)
{
    isokin_put_u32le(p, (uint32_t)(value & 0xFFFFFFFFu));
    isokin_put_u32le(p + 4, (uint32_t)(value >> 32));
}

uint16_t isokin_get_u16le(const uint8_t *p)
{
    return (uint16_t)((uint16_t)p[0] | (uint16_t)((uint16_t)p[1] << 8));
}

uint32_t isokin_get_u32le(const uint8_t *p)
{
    return (uint32_t)isokin_get_u16le(p) | ((uint32_t)isokin_get_u16le(p + 2) << 16);
}

uint64_t isokin_get_u64le(const uint8_t *p)
{
    return (uint64_t)isokin_get_u32le(p) | ((uint64_t)isokin_get_u32le(p + 4) << 32);
}

/* --- frame encoder ----------------------------------------------------------------- */

size_t isokin_frame_finish(uint8_t *frame, uint8_t type, uint32_t sequence, uint16_t payload_len)
{
    size_t crc_at = (size_t)ISOKIN_HEADER_SIZE + payload_len;
    uint16_t crc;
    frame[0] = ISOKIN_SYNC0;
    frame[1] = ISOKIN_SYNC1;
    frame[2] = ISOKIN_PROTOCOL_VERSION;
    frame[3] = type;
    isokin_put_u16le(frame + 4, payload_len);
    isokin_put_u32le(frame + 6, sequence);
    crc = isokin_crc16(ISOKIN_CRC_INIT, frame + 2, crc_at - 2);
    isokin_put_u16le(frame + crc_at, crc);
    return crc_at + 2;
}

/* --- payload packers --------------------------------------------------------------- */

uint16_t isokin_pack_ack(uint8_t *payload, uint8_t acked_type, uint32_t acked_sequence)
{
    payload[0] = acked_type;
    isokin_put_u32le(payload + 1, acked_sequence);
    return ISOKIN_ACK_SIZE;
}

uint16_t isokin_pack_nak(uint8_t *payload, uint8_t refused_type, uint32_t refused_sequence, uint8_t error)
{
    payload[0] = refused_type;
    isokin_put_u32le(payload + 1, refused_sequence);
    payload[5] = error;
    return ISOKIN_NAK_SIZE;
}

uint16_t isokin_pack_pong(uint8_t *payload, uint64_t host_time_us, uint64_t device_time_us)
{
    isokin_put_u64le(payload, host_time_us);
    isokin_put_u64le(payload + 8, device_time_us);
    return ISOKIN_PONG_SIZE;
}

uint16_t isokin_pack_event(uint8_t *payload, uint64_t timestamp_us, uint32_t sample_index, uint8_t code,
                           int32_t value)
{
    isokin_put_u64le(payload, timestamp_us);
    isokin_put_u32le(payload + 8, sample_index);
    payload[12] = code;
    isokin_put_u32le(payload + 13, (uint32_t)value);
    return ISOKIN_EVENT_SIZE;
}

static size_t pack_string(uint8_t *out, size_t at, size_t capacity, const char *text)
{
    size_t n = strlen(text);
    if (n > 255u || at + 1u + n > capacity) {
        return 0;
    }
    out[at] = (uint8_t)n;
    memcpy(out + at + 1, text, n);
    return at + 1u + n;
}

uint16_t isokin_pack_info(uint8_t *payload, size_t capacity, const isokin_info_t *info)
{
    size_t at;
    uint8_t i;
    size_t fixed = 6u + 2u * info->channel_count + 4u * info->rate_count;
    if (capacity > ISOKIN_MAX_PAYLOAD) {
        capacity = ISOKIN_MAX_PAYLOAD;
    }
    if (fixed > capacity) {
        return 0;
    }
    payload[0] = info->protocol_version;
    payload[1] = info->capabilities;
    isokin_put_u16le(payload + 2, info->max_samples_per_frame);
    payload[4] = info->channel_count;
    at = 5;
    for (i = 0; i < info->channel_count; i++) {
        payload[at++] = info->channel_kinds[i];
        payload[at++] = info->channel_adc_bits[i];
    }
    payload[at++] = info->rate_count;
    for (i = 0; i < info->rate_count; i++) {
        isokin_put_u32le(payload + at, info->sample_rates_hz[i]);
        at += 4;
    }
    at = pack_string(payload, at, capacity, info->model);
    if (at != 0) {
        at = pack_string(payload, at, capacity, info->serial_number);
    }
    if (at != 0) {
        at = pack_string(payload, at, capacity, info->firmware_version);
    }
    return (uint16_t)at;
}

void isokin_data_put_sample(uint8_t *payload, uint16_t capacity, uint16_t k, int32_t torque, int32_t position,
                            int32_t velocity, uint8_t status)
{
    size_t column = 4u * (size_t)capacity;
    uint8_t *at = payload + ISOKIN_DATA_HEADER_SIZE + 4u * (size_t)k;
    isokin_put_u32le(at, (uint32_t)torque);
    isokin_put_u32le(at + column, (uint32_t)position);
    isokin_put_u32le(at + 2u * column, (uint32_t)velocity);
    payload[ISOKIN_DATA_HEADER_SIZE + 3u * column + k] = status;
}

uint16_t isokin_data_finish(uint8_t *payload, uint16_t capacity, uint16_t count, uint64_t timestamp_us,
                            uint32_t first_sample)
{
    uint8_t *columns = payload + ISOKIN_DATA_HEADER_SIZE;
    size_t cap = capacity;
    size_t n = count;
    if (count < capacity) {
        /* Each column moves down to where a count-sample layout puts it; the
         * destinations lie below their sources and after the columns already moved. */
        memmove(columns + 4u * n, columns + 4u * cap, 4u * n);
        memmove(columns + 8u * n, columns + 8u * cap, 4u * n);
        memmove(columns + 12u * n, columns + 12u * cap, n);
    }
    isokin_put_u64le(payload, timestamp_us);
    isokin_put_u32le(payload + 8, first_sample);
    isokin_put_u16le(payload + 12, count);
    return (uint16_t)(ISOKIN_DATA_HEADER_SIZE + ISOKIN_DATA_BYTES_PER_SAMPLE * n);
}

/* --- payload unpackers ------------------------------------------------------------- */

uint8_t isokin_unpack_hello(const uint8_t *payload, uint16_t len, uint8_t *max_protocol_version)
{
    if (len != ISOKIN_HELLO_SIZE) {
        return ISOKIN_NAK_BAD_LENGTH;
    }
    *max_protocol_version = payload[0];
    return ISOKIN_NAK_NONE;
}

uint8_t isokin_unpack_configure(const uint8_t *payload, uint16_t len, isokin_configure_t *out)
{
    if (len != ISOKIN_CONFIGURE_SIZE) {
        return ISOKIN_NAK_BAD_LENGTH;
    }
    out->sample_rate_hz = isokin_get_u32le(payload);
    out->samples_per_frame = isokin_get_u16le(payload + 4);
    out->mode = payload[6];
    out->acting_direction = (int8_t)(payload[7] < 0x80u ? (int)payload[7] : (int)payload[7] - 256);
    out->velocity_plus_decidps = isokin_get_u16le(payload + 8);
    out->velocity_minus_decidps = isokin_get_u16le(payload + 10);
    {
        uint16_t lo = isokin_get_u16le(payload + 12);
        uint16_t hi = isokin_get_u16le(payload + 14);
        out->rom_min_decideg = (int16_t)(lo < 0x8000u ? (int32_t)lo : (int32_t)lo - 65536);
        out->rom_max_decideg = (int16_t)(hi < 0x8000u ? (int32_t)hi : (int32_t)hi - 65536);
    }
    out->repetitions = isokin_get_u16le(payload + 16);
    return ISOKIN_NAK_NONE;
}

uint8_t isokin_unpack_ping(const uint8_t *payload, uint16_t len, uint64_t *host_time_us)
{
    if (len != ISOKIN_PING_SIZE) {
        return ISOKIN_NAK_BAD_LENGTH;
    }
    *host_time_us = isokin_get_u64le(payload);
    return ISOKIN_NAK_NONE;
}

uint8_t isokin_unpack_marker(const uint8_t *payload, uint16_t len, uint16_t *marker_id)
{
    if (len != ISOKIN_MARKER_SIZE) {
        return ISOKIN_NAK_BAD_LENGTH;
    }
    *marker_id = isokin_get_u16le(payload);
    return ISOKIN_NAK_NONE;
}

/* --- streaming frame parser -------------------------------------------------------- */

void isokin_parser_init(isokin_parser_t *parser)
{
    memset(parser, 0, sizeof *parser);
}

uint16_t isokin_parser_pending(const isokin_parser_t *parser)
{
    return parser->used;
}

/* Index of the first sync at or after `from`, or `end` if there is none. */
static uint16_t find_sync(const uint8_t *buf, uint16_t from, uint16_t end)
{
    uint16_t i;
    for (i = from; i + 1u < end; i++) {
        if (buf[i] == ISOKIN_SYNC0 && buf[i + 1u] == ISOKIN_SYNC1) {
            return i;
        }
    }
    return end;
}

/* Consume every frame and every discardable byte in the buffer; keep only the start
 * of an incomplete frame (or a trailing first sync byte). Mirrors FrameDecoder.feed. */
static void parse_buffer(isokin_parser_t *parser, isokin_frame_handler_t on_frame, void *context)
{
    uint8_t *buf = parser->buffer;
    isokin_parser_stats_t *stats = &parser->stats;
    uint16_t end = parser->used;
    uint16_t pos = 0;
    for (;;) {
        uint16_t start = find_sync(buf, pos, end);
        uint16_t length;
        uint16_t frame_end;
        isokin_frame_t frame;
        if (start == end) {
            uint16_t keep_from = (end > pos && buf[end - 1u] == ISOKIN_SYNC0) ? (uint16_t)(end - 1u) : end;
            stats->bytes_discarded += (uint32_t)(keep_from - pos);
            pos = keep_from;
            break;
        }
        stats->bytes_discarded += (uint32_t)(start - pos);
        pos = start;
        if (end - start < (int)ISOKIN_HEADER_SIZE) {
            break;
        }
        length = isokin_get_u16le(buf + start + 4);
        if (length > ISOKIN_RX_MAX_PAYLOAD) {
            stats->bad_headers++;
            stats->bytes_discarded++;
            pos = (uint16_t)(start + 1u);
            continue;
        }
        frame_end = (uint16_t)(start + ISOKIN_FRAME_OVERHEAD + length);
        if (frame_end > end) {
            break;
        }
        if (isokin_crc16(ISOKIN_CRC_INIT, buf + start + 2, (size_t)ISOKIN_HEADER_SIZE - 2u + length) !=
            isokin_get_u16le(buf + frame_end - 2)) {
            stats->crc_errors++;
            stats->bytes_discarded++;
            pos = (uint16_t)(start + 1u);
            continue;
        }
        pos = frame_end;
        stats->frames++;
        frame.version = buf[start + 2u];
        frame.type = buf[start + 3u];
        frame.length = length;
        frame.sequence = isokin_get_u32le(buf + start + 6);
        frame.payload = buf + start + ISOKIN_HEADER_SIZE;
        on_frame(context, &frame);
    }
    memmove(buf, buf + pos, (size_t)(end - pos));
    parser->used = (uint16_t)(end - pos);
}

void isokin_parser_feed(isokin_parser_t *parser, const uint8_t *data, size_t len, isokin_frame_handler_t on_frame,
                        void *context)
{
    /* After parse_buffer() the buffer holds less than one whole frame, so there is
     * always room for at least one more byte. */
    while (len > 0) {
        size_t room = sizeof parser->buffer - parser->used;
        size_t n = len < room ? len : room;
        memcpy(parser->buffer + parser->used, data, n);
        parser->used = (uint16_t)(parser->used + n);
        parser->stats.bytes_received += (uint32_t)n;
        data += n;
        len -= n;
        parse_buffer(parser, on_frame, context);
    }
}
