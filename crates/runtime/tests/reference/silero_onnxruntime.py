"""Silero VAD's probabilities from PyPI's onnxruntime: the reference for tests/silero.rs.

    python silero_onnxruntime.py MODEL.onnx AUDIO.f32 RATE

AUDIO.f32 is mono float32 little-endian at RATE (16000 or 8000 Hz). Prints a JSON list
of one probability per window (512 samples at 16 kHz, 256 at 8 kHz), run as upstream's
OnnxWrapper runs the model: each window after the previous window's last 64 (32)
samples, the state carried.
"""
import json
import sys

import numpy as np
import onnxruntime

model, audio, rate = sys.argv[1], sys.argv[2], int(sys.argv[3])
window, context = (512, 64) if rate == 16000 else (256, 32)
options = onnxruntime.SessionOptions()
options.intra_op_num_threads = 1
session = onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])
samples = np.fromfile(audio, dtype="<f4")
state = np.zeros((2, 1, 128), dtype=np.float32)
previous = np.zeros(context, dtype=np.float32)
probabilities = []
for start in range(0, len(samples) - window + 1, window):
    chunk = samples[start : start + window]
    x = np.concatenate([previous, chunk])[None, :].astype(np.float32)
    out, state = session.run(None, {"input": x, "state": state, "sr": np.array(rate, dtype=np.int64)})
    probabilities.append(float(out[0, 0]))
    previous = chunk[-context:]
print(json.dumps(probabilities))
