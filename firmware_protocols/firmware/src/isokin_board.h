/*
 * isokin_board.h - device logic of a sampling-only interface board (binary protocol v1).
 *
 * The board answers HELLO, CONFIGURE, START, STOP, PING and MARKER, batches the
 * samples its platform hands it into planar DATA frames, and keeps the frame
 * sequence, the sample index and a 64-bit microsecond device clock. It never
 * drives the dynamometer: INFO says so (capability bit 0 clear), CONFIGURE refuses
 * driving modes and non-zero velocities, range or repetitions with NOT_SUPPORTED,
 * and it never sends SET_COMPLETE.
 *
 * Portable C99, no heap: the caller owns every buffer. The platform (Arduino
 * sketch, host test harness) supplies three hooks and calls:
 *
 *   isokin_board_receive()      with bytes read from the host;
 *   isokin_board_add_sample()   for each sample its timer took, in order;
 *   isokin_board_skip_samples() when its sample queue overflowed and dropped some;
 *   isokin_board_update_clock() regularly (every pass of its main loop);
 *   isokin_board_marker_button() when a marker button is pressed (optional).
 *
 * None of these may be called from an interrupt: sample in the interrupt, queue,
 * and hand the queue over from the main loop.
 */
#ifndef ISOKIN_BOARD_H
#define ISOKIN_BOARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "isokin_proto.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Room for the payload of INFO, ACK, NAK, PONG and EVENT frames, in bytes. */
#define ISOKIN_CONTROL_PAYLOAD_MAX 128u
/** Channels of every DATA sample, in wire order: torque, position, velocity. */
#define ISOKIN_CHANNELS 3u
/** DATA frames per second the board aims at when CONFIGURE leaves the batch size to it. */
#define ISOKIN_AUTO_FRAMES_PER_S 50u

/** What the board needs from the hardware. */
typedef struct {
    /** Send bytes to the host; must send all of them (block or buffer). */
    void (*write)(void *context, const uint8_t *bytes, size_t len);
    /** Free-running microsecond clock, wrapping at 2^32 (Arduino micros()). */
    uint32_t (*micros)(void *context);
    /** Start the sampling timer at rate_hz (discarding samples queued before the
     *  call), or stop it when rate_hz is 0. Returns false, with the timer stopped,
     *  if the hardware cannot sample at that rate. */
    bool (*set_sample_rate)(void *context, uint32_t rate_hz);
    void *context;
} isokin_platform_t;

/** The board's identity and abilities; strings and the rate list must outlive the board. */
typedef struct {
    const char *model;            /* e.g. "isokin-board-teensy4" */
    const char *serial_number;    /* unique per board */
    const char *firmware_version; /* e.g. "1.0.0" */
    uint8_t capabilities;         /* 0 or ISOKIN_CAP_MARKER_BUTTON */
    uint8_t adc_bits[ISOKIN_CHANNELS]; /* ADC resolution of torque, position, velocity, in bits */
    const uint32_t *sample_rates_hz;   /* supported sample rates, in Hz */
    uint8_t rate_count;
    uint32_t default_rate_hz;     /* used by START before any CONFIGURE; one of the rates */
} isokin_board_config_t;

typedef enum {
    ISOKIN_BOARD_OK = 0,
    ISOKIN_BOARD_BAD_PLATFORM,     /* a hook is missing */
    ISOKIN_BOARD_BAD_CONFIG,       /* no rates, a zero rate, default rate not listed, bad ADC bits,
                                      a capability this core cannot provide, or INFO too long */
    ISOKIN_BOARD_BUFFER_TOO_SMALL  /* the DATA frame buffer cannot hold one sample */
} isokin_board_result_t;

typedef struct {
    isokin_board_config_t config;
    isokin_platform_t platform;
    isokin_parser_t parser;
    uint8_t control[ISOKIN_FRAME_OVERHEAD + ISOKIN_CONTROL_PAYLOAD_MAX];
    uint8_t *data_frame;          /* caller's buffer, DATA frames are built in place */
    uint16_t max_batch;           /* samples the DATA buffer holds, at most 314 */
    uint32_t tx_sequence;         /* sequence of the next frame sent */
    uint32_t rate_hz;             /* configured sample rate, in Hz */
    uint16_t samples_per_frame;   /* configured batch size, 0 = board's choice */
    bool streaming;
    uint16_t batch;               /* samples per DATA frame in this acquisition */
    uint16_t batched;             /* samples in the frame being filled */
    uint32_t batch_first;         /* index of that frame's first sample */
    uint64_t batch_time_us;       /* device time of that frame's first sample, in us */
    uint32_t next_sample;         /* index of the next sample since START */
    uint64_t clock_us;            /* device clock extended to 64 bits, in us */
    uint32_t ignored_frames;      /* good frames of a protocol version this board does not speak */
} isokin_board_t;

/**
 * Set up a board. `data_frame` (data_frame_size bytes, e.g.
 * ISOKIN_DATA_FRAME_SIZE(32)) is where DATA frames are built; it decides the largest
 * batch the board announces in INFO. Does not start sampling.
 */
isokin_board_result_t isokin_board_init(isokin_board_t *board, const isokin_board_config_t *config,
                                        const isokin_platform_t *platform, uint8_t *data_frame,
                                        size_t data_frame_size);

/** Handle bytes received from the host: parse frames and answer commands. */
void isokin_board_receive(isokin_board_t *board, const uint8_t *bytes, size_t len);

/**
 * Hand over one sample in raw ADC counts, taken at device time `time_us` (the
 * platform's micros() when it was sampled). Ignored unless streaming. Sends a DATA
 * frame when the batch is full.
 */
void isokin_board_add_sample(isokin_board_t *board, uint32_t time_us, int32_t torque, int32_t position,
                             int32_t velocity, uint8_t status);

/** `count` samples were taken but lost before reaching the board: send what is
 *  batched and advance the sample index, so the host sees the gap exactly. */
void isokin_board_skip_samples(isokin_board_t *board, uint32_t count);

/** Keep the 64-bit device clock: call at least every 30 minutes (e.g. every pass of
 *  the main loop) so that a wrap of the 32-bit micros() is never missed while idle. */
void isokin_board_update_clock(isokin_board_t *board);

/** A marker button was pressed: while streaming, send EVENT MARKER_BUTTON at the
 *  sample being taken. */
void isokin_board_marker_button(isokin_board_t *board, uint8_t button);

bool isokin_board_is_streaming(const isokin_board_t *board);

#ifdef __cplusplus
}
#endif

#endif /* ISOKIN_BOARD_H */
