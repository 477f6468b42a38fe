/*
 * isokin_board.ino - interface board for an isokinetic dynamometer's analog outputs.
 *
 * Samples torque, position and velocity from three analog inputs at the rate the host
 * configures, from a hardware timer, and streams them as binary protocol v1 DATA frames
 * (firmware_protocols/PROTOCOL.md) with the portable core in ../../src. Boards:
 *   - Teensy 3.x / 4.x (IntervalTimer, 12-bit ADC, native USB: the baud rate is ignored);
 *   - AVR: Uno, Nano, Mega (Timer1, 10-bit ADC, UART at HOST_BAUD through the USB bridge),
 *     Leonardo, Micro (Timer1, native USB).
 * Other boards: write start_timer() with a timer of theirs (README.md, "Porting").
 *
 * WIRING (details, resistor values and the reasoning in README.md, "Wiring"):
 *   Dynamometer analog out -> level-shifting divider -> (optional rail-to-rail op-amp
 *   follower) -> RC anti-alias -> ADC pin. Each divider maps the dynamometer's bipolar
 *   output into the ADC's 0..Vref range, centred on Vref/2, with a margin at both ends:
 *
 *      Vin ---[R1]---+---[R2]--- Vref (the ADC's reference: 5 V on AVR, 3.3 V on Teensy)
 *                    |
 *                    +---[R3]--- GND
 *                    |
 *                    +---[C]---- GND,  node -> ADC pin (or op-amp follower -> ADC pin)
 *
 *      dynamometer output        ADC range   R1      R2      R3      Vadc at -FS / 0 / +FS
 *      Biodex +-5 V              0..5 V      10k     9.1k    91k     0.22 / 2.49 / 4.75 V
 *      HUMAC NORM +-10 V         0..5 V      22k     10k     18k     0.23 / 2.49 / 4.75 V
 *      Biodex +-5 V              0..3.3 V    20k     12k     30k     0.15 / 1.65 / 3.15 V
 *      HUMAC NORM +-10 V         0..3.3 V    100k    30k     43k     0.15 / 1.65 / 3.15 V
 *
 *   Pins: torque A0, position A1, velocity A2 (below). Join the dynamometer's analog
 *   ground to the board's GND. Never feed +-5/10 V straight into a pin.
 *
 * CALIBRATION: the board sends raw, unipolar ADC counts (0..1023 on AVR, 0..4095 on
 * Teensy); the host turns them into N.m, deg and deg/s with a calibration profile
 * (gain and offset per channel, daq/calibration.py) fitted from known loads and angles.
 * The offset removes the mid-scale. See README.md, "Calibration".
 */
#include <isokin_board.h>

/* --- settings a lab edits ------------------------------------------------------------------- */
#define BOARD_SERIAL "LAB-0001"  /* unique per board: calibration profiles follow the board */
#define PIN_TORQUE A0
#define PIN_POSITION A1
#define PIN_VELOCITY A2
#define PIN_MARKER_BUTTON (-1)   /* a push button to GND (internal pull-up), or -1 for none */
#define HOST_BAUD 500000UL       /* UART boards (Uno, Nano, Mega): open the port at this rate */
#define FIRMWARE_VERSION "1.0.0"

#if defined(TEENSYDUINO)
#define MODEL "isokin-board-teensy"
#define ADC_BITS 12
#define QUEUE_SIZE 256           /* samples between the timer interrupt and loop(); at most 256 */
#define BATCH_MAX 100            /* samples per DATA frame the board can hold */
static const uint32_t RATES_HZ[] = {100, 200, 500, 1000, 2000};
#elif defined(__AVR__)
#define MODEL "isokin-board-avr"
#define ADC_BITS 10
#define QUEUE_SIZE 32
#define BATCH_MAX 20
/* Three analogRead() take about 0.34 ms on a 16 MHz AVR, so 1 kHz is the ceiling. */
static const uint32_t RATES_HZ[] = {100, 200, 500, 1000};
#else
#error "isokin_board.ino has sampling timers for Teensy and AVR boards only: see README.md, Porting"
#endif

#define ADC_MAX ((1u << ADC_BITS) - 1u)
#define DEBOUNCE_MS 20u

/* --- samples queued by the timer interrupt, handed to the board by loop() ------------------- */
struct QueuedSample {
    uint32_t time_us;
    uint16_t counts[3];   /* torque, position, velocity */
    uint8_t status;
    uint32_t lost_before; /* samples dropped just before this one because the queue was full */
};

static volatile QueuedSample queue[QUEUE_SIZE];
static volatile uint8_t queue_head; /* written by the interrupt only */
static volatile uint8_t queue_tail; /* written by loop() only */
static uint32_t queue_lost;         /* interrupt only */

static isokin_board_t board;
static uint8_t data_frame[ISOKIN_DATA_FRAME_SIZE(BATCH_MAX)];

static uint8_t next_slot(uint8_t index)
{
    return (uint8_t)((index + 1u) % QUEUE_SIZE);
}

static void take_sample(void)
{
    uint32_t now_us = micros();
    uint16_t torque = (uint16_t)analogRead(PIN_TORQUE);
    uint16_t position = (uint16_t)analogRead(PIN_POSITION);
    uint16_t velocity = (uint16_t)analogRead(PIN_VELOCITY);
    uint8_t status = 0;
    uint8_t head = queue_head;
    if (torque == 0 || torque == ADC_MAX || position == 0 || position == ADC_MAX || velocity == 0 ||
        velocity == ADC_MAX) {
        status |= ISOKIN_STATUS_OVERRANGE; /* clipped: the input left the divider's range */
    }
#if PIN_MARKER_BUTTON >= 0
    if (digitalRead(PIN_MARKER_BUTTON) == LOW) {
        status |= ISOKIN_STATUS_MARKER;
    }
#endif
    if (next_slot(head) == queue_tail) {
        queue_lost++; /* loop() is behind: count the loss, the host will see the gap */
        return;
    }
    queue[head].time_us = now_us;
    queue[head].counts[0] = torque;
    queue[head].counts[1] = position;
    queue[head].counts[2] = velocity;
    queue[head].status = status;
    queue[head].lost_before = queue_lost;
    queue_lost = 0;
    queue_head = next_slot(head);
}

static void clear_queue(void)
{
    noInterrupts();
    queue_head = 0;
    queue_tail = 0;
    queue_lost = 0;
    interrupts();
}

#if defined(TEENSYDUINO)
static IntervalTimer sample_timer;

static bool start_timer(uint32_t rate_hz)
{
    sample_timer.end();
    clear_queue();
    return rate_hz == 0 || sample_timer.begin(take_sample, 1000000.0f / (float)rate_hz);
}
#else
/* Timer1 in CTC mode, clock / 8. The interrupt lets other interrupts in (ISR_NOBLOCK):
 * the UART must not overrun while three conversions run. Timer1 is then unavailable to
 * the Servo library and to PWM on pins 9 and 10 (Uno). */
ISR(TIMER1_COMPA_vect, ISR_NOBLOCK)
{
    take_sample();
}

static bool start_timer(uint32_t rate_hz)
{
    const uint32_t tick_hz = F_CPU / 8UL;
    TIMSK1 = 0;
    TCCR1B = 0;
    clear_queue();
    if (rate_hz == 0) {
        return true;
    }
    if (tick_hz % rate_hz != 0 || tick_hz / rate_hz > 65536UL) {
        return false; /* not an exact period on this clock */
    }
    noInterrupts();
    TCCR1A = 0;
    TCNT1 = 0;
    OCR1A = (uint16_t)(tick_hz / rate_hz - 1UL);
    TIFR1 = _BV(OCF1A);
    TCCR1B = _BV(WGM12) | _BV(CS11);
    TIMSK1 = _BV(OCIE1A);
    interrupts();
    return true;
}
#endif

/* --- platform hooks of the core --------------------------------------------------------------- */
static void host_write(void *context, const uint8_t *bytes, size_t len)
{
    (void)context;
    Serial.write(bytes, len);
}

static uint32_t device_micros(void *context)
{
    (void)context;
    return micros();
}

static bool set_sample_rate(void *context, uint32_t rate_hz)
{
    (void)context;
    return start_timer(rate_hz);
}

/* --- main loop -------------------------------------------------------------------------------- */
static void hand_over_samples(void)
{
    while (queue_tail != queue_head) {
        uint8_t tail = queue_tail;
        uint32_t time_us = queue[tail].time_us;
        int32_t torque = queue[tail].counts[0];
        int32_t position = queue[tail].counts[1];
        int32_t velocity = queue[tail].counts[2];
        uint8_t status = queue[tail].status;
        uint32_t lost_before = queue[tail].lost_before;
        queue_tail = next_slot(tail);
        isokin_board_skip_samples(&board, lost_before);
        isokin_board_add_sample(&board, time_us, torque, position, velocity, status);
    }
}

static void read_host(void)
{
    uint8_t chunk[32];
    size_t n = 0;
    while (n < sizeof chunk && Serial.available() > 0) {
        chunk[n++] = (uint8_t)Serial.read();
    }
    if (n > 0) {
        isokin_board_receive(&board, chunk, n);
    }
}

#if PIN_MARKER_BUTTON >= 0
static void watch_marker_button(void)
{
    static bool pressed = false;
    static uint32_t changed_ms = 0;
    bool down = digitalRead(PIN_MARKER_BUTTON) == LOW;
    if (down != pressed && millis() - changed_ms >= DEBOUNCE_MS) {
        pressed = down;
        changed_ms = millis();
        if (pressed) {
            isokin_board_marker_button(&board, 1);
        }
    }
}
#endif

void setup()
{
    isokin_board_config_t config;
    isokin_platform_t platform;
    Serial.begin(HOST_BAUD);
#if defined(TEENSYDUINO)
    analogReadResolution(ADC_BITS);
    analogReadAveraging(4);
#endif
    pinMode(LED_BUILTIN, OUTPUT);
#if PIN_MARKER_BUTTON >= 0
    pinMode(PIN_MARKER_BUTTON, INPUT_PULLUP);
#endif
    config.model = MODEL;
    config.serial_number = BOARD_SERIAL;
    config.firmware_version = FIRMWARE_VERSION;
#if PIN_MARKER_BUTTON >= 0
    config.capabilities = ISOKIN_CAP_MARKER_BUTTON;
#else
    config.capabilities = 0;
#endif
    config.adc_bits[0] = ADC_BITS;
    config.adc_bits[1] = ADC_BITS;
    config.adc_bits[2] = ADC_BITS;
    config.sample_rates_hz = RATES_HZ;
    config.rate_count = (uint8_t)(sizeof RATES_HZ / sizeof RATES_HZ[0]);
    config.default_rate_hz = 1000;
    platform.write = host_write;
    platform.micros = device_micros;
    platform.set_sample_rate = set_sample_rate;
    platform.context = NULL;
    if (isokin_board_init(&board, &config, &platform, data_frame, sizeof data_frame) != ISOKIN_BOARD_OK) {
        for (;;) { /* the settings above are inconsistent: blink fast forever */
            digitalWrite(LED_BUILTIN, (millis() / 100u) % 2u);
        }
    }
}

void loop()
{
    hand_over_samples();
    read_host();
#if PIN_MARKER_BUTTON >= 0
    watch_marker_button();
#endif
    isokin_board_update_clock(&board);
    digitalWrite(LED_BUILTIN, isokin_board_is_streaming(&board) ? HIGH : LOW);
}
