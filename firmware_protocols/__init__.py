"""Wire formats of the isokinetic dynamometer interface: pure codecs, no I/O, stdlib only.

- :mod:`firmware_protocols.messages`: the messages of binary protocol version 1.
- :mod:`firmware_protocols.framing`: frame encoder and streaming decoder for it.
- :mod:`firmware_protocols.ascii`: the plain ASCII line protocol of existing lab boards.

The specification a firmware author implements from is ``PROTOCOL.md`` in this folder.
"""

from firmware_protocols.ascii import AsciiComment, AsciiDecoder, AsciiSample, encode_command, encode_sample, parse_command
from firmware_protocols.errors import PayloadLengthError, ProtocolError
from firmware_protocols.framing import (
    DataRun,
    DecoderStats,
    Frame,
    FrameDecoder,
    FrameEncoder,
    MalformedMessage,
    UnknownMessage,
    crc16,
    encode_frame,
)
from firmware_protocols.messages import (
    MAX_PAYLOAD,
    MAX_SAMPLES_PER_FRAME,
    MESSAGE_TYPES,
    PROTOCOL_VERSION,
    Ack,
    Capability,
    ChannelInfo,
    ChannelKind,
    Configure,
    Data,
    ErrorCode,
    Event,
    EventCode,
    Hello,
    Info,
    Marker,
    Mode,
    Nak,
    Ping,
    Pong,
    SampleStatus,
    Start,
    Stop,
)

__all__ = [
    "Ack",
    "AsciiComment",
    "AsciiDecoder",
    "AsciiSample",
    "Capability",
    "ChannelInfo",
    "ChannelKind",
    "Configure",
    "Data",
    "DataRun",
    "DecoderStats",
    "ErrorCode",
    "Event",
    "EventCode",
    "Frame",
    "FrameDecoder",
    "FrameEncoder",
    "Hello",
    "Info",
    "MAX_PAYLOAD",
    "MAX_SAMPLES_PER_FRAME",
    "MESSAGE_TYPES",
    "MalformedMessage",
    "Marker",
    "Mode",
    "Nak",
    "PROTOCOL_VERSION",
    "PayloadLengthError",
    "Ping",
    "Pong",
    "ProtocolError",
    "SampleStatus",
    "Start",
    "Stop",
    "UnknownMessage",
    "crc16",
    "encode_command",
    "encode_frame",
    "encode_sample",
    "parse_command",
]
