/*
 * isokin_proto.h - binary protocol version 1 of the isokinetic dynamometer interface:
 * CRC, little-endian helpers, frame encoder, payload packers and unpackers, and a
 * streaming frame parser.
 *
 * Portable C99: no heap, no platform calls, no global state. The specification is
 * firmware_protocols/PROTOCOL.md; the Python codec (firmware_protocols/framing.py,
 * messages.py) is the reference the host test suite compares this code against.
 *
 * Frame (all integers little-endian):
 *
 *   offset  size  field
 *   0       2     sync      0xA5 0x5A
 *   2       1     version   1
 *   3       1     type      message type
 *   4       2     length    payload bytes N, 0..4096
 *   6       4     sequence  sender's frame counter, +1 per frame, wraps at 2^32
 *   10      N     payload
 *   10+N    2     crc       CRC-16/CCITT-FALSE of bytes 2 .. 10+N-1
 */
#ifndef ISOKIN_PROTO_H
#define ISOKIN_PROTO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ISOKIN_SYNC0 0xA5u
#define ISOKIN_SYNC1 0x5Au
#define ISOKIN_PROTOCOL_VERSION 1u
#define ISOKIN_HEADER_SIZE 10u
#define ISOKIN_FRAME_OVERHEAD 12u
/** Largest payload a version-1 frame may carry, in bytes. */
#define ISOKIN_MAX_PAYLOAD 4096u
#define ISOKIN_CRC_INIT 0xFFFFu

/** DATA payload: 14-byte header, then 13 bytes per sample (3 x i32 planar columns + 1 status byte). */
#define ISOKIN_DATA_HEADER_SIZE 14u
#define ISOKIN_DATA_BYTES_PER_SAMPLE 13u
#define ISOKIN_MAX_SAMPLES_PER_FRAME 314u
/** Bytes of a whole DATA frame carrying n samples. */
#define ISOKIN_DATA_FRAME_SIZE(n) \
    (ISOKIN_FRAME_OVERHEAD + ISOKIN_DATA_HEADER_SIZE + ISOKIN_DATA_BYTES_PER_SAMPLE * (n))

/**
 * Longest payload the device-side parser accepts, in bytes. Host commands of version 1
 * carry at most 18 bytes; a header announcing more is rejected like the Python decoder
 * built with FrameDecoder(max_payload=ISOKIN_RX_MAX_PAYLOAD) rejects it, so a board
 * with little RAM needs only a 76-byte receive buffer.
 */
#define ISOKIN_RX_MAX_PAYLOAD 64u

/* Payload sizes of the fixed-size messages, in bytes. */
#define ISOKIN_HELLO_SIZE 1u
#define ISOKIN_CONFIGURE_SIZE 18u
#define ISOKIN_PING_SIZE 8u
#define ISOKIN_MARKER_SIZE 2u
#define ISOKIN_EVENT_SIZE 17u
#define ISOKIN_ACK_SIZE 5u
#define ISOKIN_NAK_SIZE 6u
#define ISOKIN_PONG_SIZE 16u

/** Message types: host to device 0x01-0x3F, device to host 0x80-0xBF. */
enum isokin_msg_type {
    ISOKIN_MSG_HELLO = 0x01,
    ISOKIN_MSG_CONFIGURE = 0x02,
    ISOKIN_MSG_START = 0x03,
    ISOKIN_MSG_STOP = 0x04,
    ISOKIN_MSG_PING = 0x05,
    ISOKIN_MSG_MARKER = 0x06,
    ISOKIN_MSG_INFO = 0x81,
    ISOKIN_MSG_DATA = 0x82,
    ISOKIN_MSG_EVENT = 0x83,
    ISOKIN_MSG_ACK = 0x84,
    ISOKIN_MSG_NAK = 0x85,
    ISOKIN_MSG_PONG = 0x86
};

/** Reasons in a NAK. */
enum isokin_nak_code {
    ISOKIN_NAK_NONE = 0, /* not on the wire: "no error" from the unpackers */
    ISOKIN_NAK_UNKNOWN_TYPE = 1,
    ISOKIN_NAK_BAD_LENGTH = 2,
    ISOKIN_NAK_BAD_VALUE = 3,
    ISOKIN_NAK_UNSUPPORTED_RATE = 4,
    ISOKIN_NAK_NOT_ALLOWED_NOW = 5,
    ISOKIN_NAK_UNSUPPORTED_VERSION = 6,
    ISOKIN_NAK_NOT_SUPPORTED = 7,
    ISOKIN_NAK_HARDWARE_FAULT = 8
};

enum isokin_event_code {
    ISOKIN_EVENT_LIMIT_REACHED = 1,
    ISOKIN_EVENT_SAFETY_STOP = 2,
    ISOKIN_EVENT_MARKER_BUTTON = 3,
    ISOKIN_EVENT_MARKER_HOST = 4,
    ISOKIN_EVENT_SET_COMPLETE = 5
};

enum isokin_mode {
    ISOKIN_MODE_SAMPLING = 0,
    ISOKIN_MODE_CON_CON = 1,
    ISOKIN_MODE_CON_ECC = 2,
    ISOKIN_MODE_ECC_CON = 3,
    ISOKIN_MODE_ECC_ECC = 4,
    ISOKIN_MODE_ISOMETRIC = 5,
    ISOKIN_MODE_PASSIVE = 6
};

/** Bits of INFO's capabilities. */
enum isokin_capability {
    ISOKIN_CAP_DRIVES_MACHINE = 0x01,
    ISOKIN_CAP_MARKER_BUTTON = 0x02,
    ISOKIN_CAP_SAFETY_INPUT = 0x04
};

/** Per-sample status bits in DATA. */
enum isokin_sample_status {
    ISOKIN_STATUS_AT_RANGE_LIMIT = 0x01,
    ISOKIN_STATUS_SAFETY_STOP = 0x02,
    ISOKIN_STATUS_MARKER = 0x04,
    ISOKIN_STATUS_OVERRANGE = 0x08
};

enum isokin_channel_kind {
    ISOKIN_CHANNEL_TORQUE = 1,
    ISOKIN_CHANNEL_POSITION = 2,
    ISOKIN_CHANNEL_VELOCITY = 3
};

/* --- CRC and byte order ------------------------------------------------------------ */

/** CRC-16/CCITT-FALSE (poly 0x1021, no reflection): continue `crc` over `len` bytes.
 *  Start from ISOKIN_CRC_INIT; the CRC of "123456789" is 0x29B1. */
uint16_t isokin_crc16(uint16_t crc, const uint8_t *data, size_t len);

void isokin_put_u16le(uint8_t *p, uint16_t value);
void isokin_put_u32le(uint8_t *p, uint32_t value);
void isokin_put_u64le(uint8_t *p, uint64_t value);
uint16_t isokin_get_u16le(const uint8_t *p);
uint32_t isokin_get_u32le(const uint8_t *p);
uint64_t isokin_get_u64le(const uint8_t *p);

/* --- frame encoder ----------------------------------------------------------------- */

/**
 * Complete a frame in place. The caller has written `payload_len` payload bytes at
 * `frame + ISOKIN_HEADER_SIZE` (the buffer holds at least payload_len + 12 bytes);
 * this writes the sync, version, type, length, sequence and the trailing CRC.
 * Returns the frame's size in bytes (payload_len + 12).
 */
size_t isokin_frame_finish(uint8_t *frame, uint8_t type, uint32_t sequence, uint16_t payload_len);

/* --- device to host payload packers (each returns the payload size in bytes) ------- */

uint16_t isokin_pack_ack(uint8_t *payload, uint8_t acked_type, uint32_t acked_sequence);
uint16_t isokin_pack_nak(uint8_t *payload, uint8_t refused_type, uint32_t refused_sequence, uint8_t error);
uint16_t isokin_pack_pong(uint8_t *payload, uint64_t host_time_us, uint64_t device_time_us);
uint16_t isokin_pack_event(uint8_t *payload, uint64_t timestamp_us, uint32_t sample_index, uint8_t code,
                           int32_t value);

/** The fields of INFO. Strings are UTF-8, NUL-terminated here, at most 255 bytes on the wire. */
typedef struct {
    uint8_t protocol_version;
    uint8_t capabilities;            /* enum isokin_capability bits */
    uint16_t max_samples_per_frame;  /* largest DATA batch, 1..314 */
    uint8_t channel_count;
    const uint8_t *channel_kinds;    /* channel_count x enum isokin_channel_kind */
    const uint8_t *channel_adc_bits; /* channel_count x ADC resolution in bits */
    uint8_t rate_count;
    const uint32_t *sample_rates_hz; /* rate_count supported sample rates, in Hz */
    const char *model;
    const char *serial_number;
    const char *firmware_version;
} isokin_info_t;

/** Pack INFO into at most `capacity` bytes. Returns its size, or 0 if it does not fit
 *  (or a string is longer than 255 bytes). */
uint16_t isokin_pack_info(uint8_t *payload, size_t capacity, const isokin_info_t *info);

/*
 * DATA is built in place, column by column, so a board needs no second copy of its
 * samples. A payload laid out for `capacity` samples keeps sample k's torque at
 * 14 + 4k, position at 14 + 4*capacity + 4k, velocity at 14 + 8*capacity + 4k and
 * status at 14 + 12*capacity + k. isokin_data_finish() writes the header and, when
 * fewer samples arrived, closes the gaps between the columns.
 */
void isokin_data_put_sample(uint8_t *payload, uint16_t capacity, uint16_t k, int32_t torque, int32_t position,
                            int32_t velocity, uint8_t status);
/** Write DATA's header for `count` (1..capacity) samples put so far; returns the payload size. */
uint16_t isokin_data_finish(uint8_t *payload, uint16_t capacity, uint16_t count, uint64_t timestamp_us,
                            uint32_t first_sample);

/* --- host to device payload unpackers ---------------------------------------------- */
/* Each returns ISOKIN_NAK_NONE, or ISOKIN_NAK_BAD_LENGTH when `len` does not fit the type. */

/** CONFIGURE's fields as on the wire: velocities in 0.1 deg/s, range limits in 0.1 deg. */
typedef struct {
    uint32_t sample_rate_hz;
    uint16_t samples_per_frame;
    uint8_t mode;           /* enum isokin_mode, unchecked */
    int8_t acting_direction;
    uint16_t velocity_plus_decidps;
    uint16_t velocity_minus_decidps;
    int16_t rom_min_decideg;
    int16_t rom_max_decideg;
    uint16_t repetitions;
} isokin_configure_t;

uint8_t isokin_unpack_hello(const uint8_t *payload, uint16_t len, uint8_t *max_protocol_version);
uint8_t isokin_unpack_configure(const uint8_t *payload, uint16_t len, isokin_configure_t *out);
uint8_t isokin_unpack_ping(const uint8_t *payload, uint16_t len, uint64_t *host_time_us);
uint8_t isokin_unpack_marker(const uint8_t *payload, uint16_t len, uint16_t *marker_id);

/* --- streaming frame parser -------------------------------------------------------- */

/** A frame whose CRC is correct. `payload` points into the parser and is valid only
 *  during the handler call. Frames of any version and type are reported. */
typedef struct {
    uint8_t version;
    uint8_t type;
    uint16_t length;
    uint32_t sequence;
    const uint8_t *payload;
} isokin_frame_t;

/** Counters with the meaning of the Python DecoderStats fields of the same names. */
typedef struct {
    uint32_t bytes_received;
    uint32_t bytes_discarded;
    uint32_t frames;
    uint32_t crc_errors;
    uint32_t bad_headers;
} isokin_parser_stats_t;

typedef void (*isokin_frame_handler_t)(void *context, const isokin_frame_t *frame);

typedef struct {
    uint8_t buffer[ISOKIN_FRAME_OVERHEAD + ISOKIN_RX_MAX_PAYLOAD];
    uint16_t used;
    isokin_parser_stats_t stats;
} isokin_parser_t;

void isokin_parser_init(isokin_parser_t *parser);

/**
 * Feed received bytes; `on_frame` is called for every good frame they complete, in
 * order. Resynchronises like the Python FrameDecoder: bytes before a sync are
 * discarded; after a too-long length or a CRC failure scanning resumes at the byte
 * after the rejected sync. The handler must not feed the same parser.
 */
void isokin_parser_feed(isokin_parser_t *parser, const uint8_t *data, size_t len, isokin_frame_handler_t on_frame,
                        void *context);

/** Bytes held back waiting for the rest of a frame. */
uint16_t isokin_parser_pending(const isokin_parser_t *parser);

#ifdef __cplusplus
}
#endif

#endif /* ISOKIN_PROTO_H */
