"""The wire format (docs/wire-format.md) on the Python side: envelopes <-> Python values.

Text arrives as ``str``; JSON as Python JSON values; binary as ``bytes``; audio as
:class:`Audio` whose ``samples`` is a float32 ``memoryview`` (a numpy array when numpy
is loaded); tensors as numpy arrays when numpy is loaded, else :class:`Tensor`.
"""

import base64
import math
import re
import sys
from array import array

MARKERS = ("__numpy__", "__audio__", "__binary__", "__json__")
# The original SDK's numpy dtypes: numpy name -> (bytes per element, memoryview format).
_DTYPES = {
    "float32": (4, "f"),
    "float64": (8, "d"),
    "int8": (1, "b"),
    "int16": (2, "h"),
    "int32": (4, "i"),
    "int64": (8, "q"),
    "uint8": (1, "B"),
    "uint16": (2, "H"),
    "uint32": (4, "I"),
    "uint64": (8, "Q"),
    "bool": (1, "?"),
}
# The other spellings of each dtype: numpy's type strings, with and without the byte
# order (the Rust codec's table, test-vectors/wire.json "dtypes"; the tests check it).
_ALIASES = {
    "<f4": "float32",
    "f4": "float32",
    "<f8": "float64",
    "f8": "float64",
    "|i1": "int8",
    "i1": "int8",
    "<i2": "int16",
    "i2": "int16",
    "<i4": "int32",
    "i4": "int32",
    "<i8": "int64",
    "i8": "int64",
    "|u1": "uint8",
    "u1": "uint8",
    "<u2": "uint16",
    "u2": "uint16",
    "<u4": "uint32",
    "u4": "uint32",
    "<u8": "uint64",
    "u8": "uint64",
    "|b1": "bool",
    "b1": "bool",
}


def _array_meta(shape, dtype):
    """The numpy envelope's meta as the original SDK writes it: data is row-major, so
    C-contiguous, and Fortran-contiguous too when at most one dimension exceeds 1."""
    shape = list(shape)
    fortran = 0 in shape or sum(1 for d in shape if d > 1) <= 1
    return {"shape": shape, "dtype": dtype, "size": math.prod(shape), "c_contiguous": True, "f_contiguous": fortran}


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
    """A malformed envelope; ``path`` is the JSON path inside the item (``$.audio.data``)."""

    def __init__(self, path, message):
        super().__init__(f"{path}: {message}")
        self.path = path


_BASE64 = re.compile(r"^[A-Za-z0-9+/]*={0,2}$")


def _kind(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return {str: "string", list: "array", dict: "object"}.get(type(value), type(value).__name__)


def _whole(value):
    """A JSON whole number (not a bool; 3.0 counts, as it does in JavaScript)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not value.is_integer():
        return None
    return int(value)


def _object(mapping, key, at):
    value = mapping.get(key)
    if key not in mapping:
        raise WireError(f"{at}.{key}", "missing")
    if not isinstance(value, dict):
        raise WireError(f"{at}.{key}", f"expected an object, got {_kind(value)}")
    return value


def _data(body, at):
    path = f"{at}.data"
    if "data" not in body:
        raise WireError(path, "missing")
    text = body["data"]
    if not isinstance(text, str):
        raise WireError(path, f"expected a base64 string, got {_kind(text)}")
    # Padded standard base64, as the Rust codec requires.
    if len(text) % 4 or not _BASE64.match(text):
        raise WireError(path, "malformed base64")
    try:
        return base64.b64decode(text, validate=True)
    except Exception as exc:  # binascii.Error
        raise WireError(path, f"malformed base64: {exc}") from None


def _positive(meta, key):
    value = _whole(meta.get(key))
    if value is None or not 0 < value <= 0xFFFFFFFF:
        raise WireError(f"$.audio.meta.{key}", "expected a whole number > 0")
    return value


def _tensor(value):
    body = _object(value, "array", "$")
    meta = _object(body, "meta", "$.array")
    name = meta.get("dtype")
    if not isinstance(name, str):
        raise WireError("$.array.meta.dtype", "expected a dtype string")
    dtype = _ALIASES.get(name, name)
    if dtype not in _DTYPES:
        raise WireError("$.array.meta.dtype", f"unsupported dtype {name!r} (known: {', '.join(_DTYPES)})")
    shape = meta.get("shape")
    if not isinstance(shape, list):
        raise WireError("$.array.meta.shape", "expected an array of sizes")
    sizes = [_whole(d) for d in shape]
    if any(d is None or d < 0 for d in sizes):
        raise WireError("$.array.meta.shape", "sizes must be whole numbers >= 0")
    if "size" in meta and _whole(meta["size"]) != math.prod(sizes):
        raise WireError("$.array.meta.size", f"{meta['size']!r} is not the element count of shape {sizes}")
    raw = _data(body, "$.array")
    expected = math.prod(sizes) * _DTYPES[dtype][0]
    if len(raw) != expected:
        raise WireError("$.array.data", f"shape {sizes} of {dtype} needs {expected} bytes, got {len(raw)}")
    np = _numpy()
    if np is not None:
        return np.frombuffer(raw, dtype=dtype).reshape(sizes).copy()
    return Tensor(memoryview(raw).cast(_DTYPES[dtype][1]), sizes, dtype)


def _audio(value):
    body = _object(value, "audio", "$")
    meta = _object(body, "meta", "$.audio")
    sample_rate = _positive(meta, "sample_rate")
    channels = _positive(meta, "channels")
    if channels > 65535:
        raise WireError("$.audio.meta.channels", "more than 65535 channels")
    if "dtype" in meta and meta["dtype"] != "float32":
        raise WireError("$.audio.meta.dtype", "audio data must be float32")
    raw = _data(body, "$.audio")
    if len(raw) % (4 * channels):
        raise WireError("$.audio.data", f"{len(raw)} bytes is not a whole number of {channels}-channel float32 frames")
    frames = len(raw) // (4 * channels)
    if "frames" in meta and _whole(meta["frames"]) != frames:
        raise WireError("$.audio.meta.frames", f"says {meta['frames']!r}, but the data holds {frames} frames")
    np = _numpy()
    samples = np.frombuffer(raw, dtype="float32").copy() if np is not None else memoryview(raw).cast("f")
    timestamp = _whole(meta.get("timestamp_us"))
    stream_id = meta.get("stream_id")
    metadata = meta.get("metadata")
    return Audio(
        samples,
        sample_rate,
        channels,
        timestamp if timestamp is not None and timestamp >= 0 else None,
        stream_id if isinstance(stream_id, str) else None,
        metadata if isinstance(metadata, dict) else None,
    )


def decode(value):
    """One wire item -> Python value, by the rules of the Rust codec (the conformance
    vectors in ``test-vectors/wire.json``). Raises :class:`WireError` naming the JSON path
    of a malformed envelope."""
    if not isinstance(value, dict):
        return value
    marker = next((m for m in MARKERS if m in value), None)
    if marker is None:
        return value
    if value[marker] is not True:
        raise WireError(f"$.{marker}", "envelope marker must be true")
    if marker == "__json__":
        if "value" not in value:
            raise WireError("$.value", "missing")
        return value["value"]
    if marker == "__binary__":
        return _data(_object(value, "binary", "$"), "$.binary")
    if marker == "__numpy__":
        return _tensor(value)
    return _audio(value)


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
        meta = {
            "sample_rate": value.sample_rate,
            "channels": value.channels,
            "frames": value.frames,
            "dtype": "float32",
        }
        if value.timestamp_us is not None:
            meta["timestamp_us"] = int(value.timestamp_us)
        if value.stream_id is not None:
            meta["stream_id"] = value.stream_id
        if value.metadata:
            meta["metadata"] = _finite(value.metadata)
        return {
            "__audio__": True,
            "audio": {"meta": meta, "data": base64.b64encode(_float32_bytes(value.samples)).decode()},
        }
    np = _numpy()
    if np is not None and isinstance(value, np.ndarray):
        arr = np.ascontiguousarray(value)
        if arr.dtype.byteorder == ">":
            arr = arr.astype(arr.dtype.newbyteorder("<"))
        return {
            "__numpy__": True,
            "array": {"meta": _array_meta(arr.shape, arr.dtype.name), "data": base64.b64encode(arr.tobytes()).decode()},
        }
    if np is not None and isinstance(value, np.generic):
        return _finite(value.item())
    if isinstance(value, Tensor):
        raw = value.data.cast("B").tobytes() if isinstance(value.data, memoryview) else bytes(value.data)
        return {
            "__numpy__": True,
            "array": {"meta": _array_meta(value.shape, value.dtype), "data": base64.b64encode(raw).decode()},
        }
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"__binary__": True, "binary": {"meta": {}, "data": base64.b64encode(bytes(value)).decode()}}
    if isinstance(value, tuple):
        value = list(value)
    if isinstance(value, dict) and any(m in value for m in MARKERS):
        return {"__json__": True, "value": _finite(value)}
    return _finite(value)
