"""The wire format (docs/wire-format.md) on the Python side: envelopes <-> Python values.

Text arrives as ``str``; JSON as Python JSON values; binary as ``bytes``; audio as
:class:`Audio` whose ``samples`` is a float32 ``memoryview`` (a numpy array when numpy
is loaded); tensors as numpy arrays when numpy is loaded, else :class:`Tensor`.
"""
import base64
import math
import sys
from array import array

MARKERS = ("__numpy__", "__audio__", "__binary__", "__json__")
_ITEMSIZE = {"float32": 4, "float64": 8, "int16": 2, "int32": 4, "int64": 8, "uint8": 1}
_FORMAT = {"float32": "f", "float64": "d", "int16": "h", "int32": "i", "int64": "q", "uint8": "B"}
_ALIASES = {"<f4": "float32", "<f8": "float64", "<i2": "int16", "<i4": "int32", "<i8": "int64", "|u1": "uint8"}


def _numpy():
    return sys.modules.get("numpy")


class Audio:
    """Interleaved float32 audio. ``samples`` has ``frames * channels`` values."""

    def __init__(self, samples, sample_rate, channels=1, timestamp_us=None, stream_id=None, metadata=None):
        self.samples = samples
        self.sample_rate = int(sample_rate)
        self.channels = int(channels)
        self.timestamp_us = timestamp_us
        self.stream_id = stream_id
        self.metadata = dict(metadata or {})

    @property
    def frames(self):
        return len(self.samples) // max(self.channels, 1)

    @property
    def duration_s(self):
        return self.frames / self.sample_rate

    def __repr__(self):
        return f"Audio(frames={self.frames}, sample_rate={self.sample_rate}, channels={self.channels})"


class Tensor:
    """An n-dimensional array when numpy is not loaded: raw memoryview plus shape and dtype."""

    def __init__(self, data, shape, dtype="float32"):
        self.data = data
        self.shape = list(shape)
        self.dtype = dtype

    def __repr__(self):
        return f"Tensor(shape={self.shape}, dtype={self.dtype})"


class WireError(ValueError):
    """A malformed envelope."""


def _b64(text, where):
    try:
        return base64.b64decode(text, validate=True)
    except Exception as exc:  # binascii.Error, TypeError
        raise WireError(f"{where}: malformed base64: {exc}") from None


def decode(value):
    """One wire item -> Python value."""
    if not isinstance(value, dict):
        return value
    marker = next((m for m in MARKERS if m in value), None)
    if marker is None:
        return value
    if marker == "__json__":
        return value["value"]
    if marker == "__binary__":
        return _b64(value["binary"]["data"], "$.binary.data")
    if marker == "__numpy__":
        meta = value["array"]["meta"]
        dtype = _ALIASES.get(meta["dtype"], meta["dtype"])
        if dtype not in _ITEMSIZE:
            raise WireError(f"$.array.meta.dtype: unsupported dtype {dtype!r}")
        raw = _b64(value["array"]["data"], "$.array.data")
        np = _numpy()
        if np is not None:
            return np.frombuffer(raw, dtype=dtype).reshape(meta["shape"]).copy()
        return Tensor(memoryview(raw).cast(_FORMAT[dtype]), meta["shape"], dtype)
    meta = value["audio"]["meta"]
    raw = _b64(value["audio"]["data"], "$.audio.data")
    if len(raw) % (4 * int(meta["channels"])):
        raise WireError("$.audio.data: not a whole number of float32 frames")
    np = _numpy()
    samples = np.frombuffer(raw, dtype="float32").copy() if np is not None else memoryview(raw).cast("f")
    return Audio(samples, meta["sample_rate"], meta["channels"], meta.get("timestamp_us"), meta.get("stream_id"), meta.get("metadata"))


def _float32_bytes(samples):
    np = _numpy()
    if np is not None and isinstance(samples, np.ndarray):
        return np.ascontiguousarray(samples, dtype="float32").tobytes()
    if isinstance(samples, memoryview):
        return samples.cast("B").tobytes() if samples.format == "f" else array("f", samples).tobytes()
    return array("f", samples).tobytes()


def _finite(value):
    """JSON has no NaN or infinities: they become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    return value


def encode(value):
    """Python value -> one wire item."""
    if isinstance(value, Audio):
        meta = {"sample_rate": value.sample_rate, "channels": value.channels, "frames": value.frames, "dtype": "float32"}
        if value.timestamp_us is not None:
            meta["timestamp_us"] = int(value.timestamp_us)
        if value.stream_id is not None:
            meta["stream_id"] = value.stream_id
        if value.metadata:
            meta["metadata"] = _finite(value.metadata)
        return {"__audio__": True, "audio": {"meta": meta, "data": base64.b64encode(_float32_bytes(value.samples)).decode()}}
    np = _numpy()
    if np is not None and isinstance(value, np.ndarray):
        arr = np.ascontiguousarray(value)
        return {"__numpy__": True, "array": {"meta": {"shape": list(arr.shape), "dtype": str(arr.dtype)}, "data": base64.b64encode(arr.tobytes()).decode()}}
    if np is not None and isinstance(value, np.generic):
        return _finite(value.item())
    if isinstance(value, Tensor):
        raw = value.data.cast("B").tobytes() if isinstance(value.data, memoryview) else bytes(value.data)
        return {"__numpy__": True, "array": {"meta": {"shape": value.shape, "dtype": value.dtype}, "data": base64.b64encode(raw).decode()}}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"__binary__": True, "binary": {"meta": {}, "data": base64.b64encode(bytes(value)).decode()}}
    if isinstance(value, tuple):
        value = list(value)
    if isinstance(value, dict) and any(m in value for m in MARKERS):
        return {"__json__": True, "value": _finite(value)}
    return _finite(value)
