"""Load and faults of `remotemedia serve` on this machine, loopback only (docs/remote.md).

A gRPC client generated from the original's proto/ (as crates/server/tests/python_client.py
does) drives the native CLI's server:

1. N concurrent live streams of 16 kHz speech (target/speech/beckett.wav, looped), 100 ms
   chunks sent in real time, through examples/pipelines/live-voice-silero.json
   (resample -> Silero VAD -> speech events): each chunk's round trip p50/p95/max, whether
   every stream kept up (each chunk answered before the next was due), chunks lost.
2. 1,000 short unary ExecutePipeline calls (the calculator), sequential and 4 at a time:
   throughput and p50/p95.
3. 10,000 sessions opened and closed: the server's resident memory along the way.
4. The server killed (SIGKILL) mid-stream: how long each open stream takes to get a typed
   error (UNAVAILABLE), and to run again once a server is back on the port.
5. A slow client (sends as fast as it can, reads nothing): how many chunks the server takes
   before backpressure stops it, and its memory.

Writes bench/results/remote.{json,md}; `--quick` (smaller counts, into results/remote-quick.*)
runs in npm test to prove the harness works. Run: npm run bench:remote.
"""

import json
import os
import pathlib
import signal
import subprocess
import sys
import tempfile
import threading
import time
import wave

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "crates/server/tests"))
from python_client import CLI, Server, generate  # noqa: E402

import grpc  # noqa: E402

QUICK = "--quick" in sys.argv
TMP = tempfile.TemporaryDirectory()
generate(pathlib.Path(TMP.name))
import common_pb2 as common  # noqa: E402
import execution_pb2 as pb  # noqa: E402
import execution_pb2_grpc as execution_grpc  # noqa: E402
import streaming_pb2 as streaming  # noqa: E402
import streaming_pb2_grpc as streaming_grpc  # noqa: E402

CHUNK = 1600  # 100 ms at 16 kHz


def pct(values, p):
    if not values:
        return None
    s = sorted(values)
    return round(s[min(len(s) - 1, int(p / 100 * len(s)))], 2)


def rss_mb(pid):
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return None


def proto_manifest(m):
    return pb.PipelineManifest(
        version=m["version"],
        metadata=pb.ManifestMetadata(name=m["metadata"]["name"]),
        nodes=[
            pb.NodeManifest(
                id=n["id"],
                node_type=n["node_type"],
                params=json.dumps(n.get("params", {})),
            )
            for n in m["nodes"]
        ],
        connections=[
            pb.Connection(**{"from": c["from"], "to": c["to"]})
            for c in m.get("connections", [])
        ],
    )


with wave.open(str(ROOT / "target/speech/beckett.wav")) as w:
    SPEECH = w.readframes(w.getnframes())
LIVE = proto_manifest(
    json.loads((ROOT / "examples/pipelines/live-voice-silero.json").read_text())
)
ECHO = proto_manifest(
    {
        "version": "v1",
        "metadata": {"name": "echo"},
        "nodes": [{"id": "e", "node_type": "Echo"}],
    }
)


def audio_chunk(seq):
    at = (seq * CHUNK * 2) % (len(SPEECH) - CHUNK * 2)
    audio = common.AudioBuffer(
        samples=SPEECH[at : at + CHUNK * 2],
        sample_rate=16000,
        channels=1,
        format=common.AUDIO_FORMAT_I16,
    )
    return streaming.DataChunk(buffer=common.DataBuffer(audio=audio), sequence=seq)


def live_stream(stub, seconds, out):
    """One real-time stream: a chunk every 100 ms; records each chunk's round trip."""
    sent = {}
    rtts = []
    late = 0
    n = int(seconds * 10)
    start = time.monotonic()

    def requests():
        yield streaming.StreamRequest(
            init=streaming.StreamInit(manifest=LIVE, expected_chunk_size=CHUNK)
        )
        for seq in range(n):
            due = start + seq * 0.1
            time.sleep(max(0.0, due - time.monotonic()))
            sent[seq] = time.monotonic()
            yield streaming.StreamRequest(data_chunk=audio_chunk(seq))
        yield streaming.StreamRequest(
            control=streaming.StreamControl(
                command=streaming.StreamControl.COMMAND_CLOSE
            )
        )

    answered = set()
    errors = 0
    for r in stub.StreamPipeline(requests()):
        kind = r.WhichOneof("response")
        if (
            kind == "result"
            and r.result.sequence in sent
            and r.result.sequence not in answered
        ):
            rtt = (time.monotonic() - sent[r.result.sequence]) * 1000
            rtts.append(rtt)
            answered.add(r.result.sequence)
            late += rtt > 100
        elif kind == "error":
            errors += 1
    out.append(
        {"rtts": rtts, "lost": n - len(answered), "late": late, "errors": errors}
    )


def streams(address, counts, seconds):
    rows = []
    for count in counts:
        channel = grpc.insecure_channel(address)
        stub = streaming_grpc.StreamingPipelineServiceStub(channel)
        out = []
        threads = [
            threading.Thread(target=live_stream, args=(stub, seconds, out))
            for _ in range(count)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        channel.close()
        rtts = [x for o in out for x in o["rtts"]]
        rows.append(
            {
                "streams": count,
                "seconds": seconds,
                "chunks": len(rtts),
                "rtt_p50_ms": pct(rtts, 50),
                "rtt_p95_ms": pct(rtts, 95),
                "rtt_max_ms": round(max(rtts), 2) if rtts else None,
                "late_chunks": sum(o["late"] for o in out),
                "lost_chunks": sum(o["lost"] for o in out),
                "errors": sum(o["errors"] for o in out),
                "real_time": all(o["lost"] == 0 for o in out)
                and pct(rtts, 95) is not None
                and pct(rtts, 95) < 100,
            }
        )
        print(f"[remote] {count} live streams: {rows[-1]}", file=sys.stderr)
    return rows


def unary(address, calls, parallel):
    channel = grpc.insecure_channel(address)
    stub = execution_grpc.PipelineExecutionServiceStub(channel)
    manifest = pb.PipelineManifest(
        version="v1",
        metadata=pb.ManifestMetadata(name="calc"),
        nodes=[
            pb.NodeManifest(
                id="calc", node_type="CalculatorNode", params='{"operation": "add"}'
            )
        ],
    )
    request = pb.ExecuteRequest(
        manifest=manifest,
        data_inputs={
            "calc": common.DataBuffer(
                json=common.JsonData(
                    json_payload='{"operation": "add", "operands": [1, 2]}'
                )
            )
        },
    )
    stub.ExecutePipeline(request)  # warm-up
    times = []
    failures = 0
    lock = threading.Lock()

    def worker(k):
        nonlocal failures
        for _ in range(k):
            t0 = time.monotonic()
            answer = stub.ExecutePipeline(request)
            ms = (time.monotonic() - t0) * 1000
            with lock:
                times.append(ms)
                failures += answer.WhichOneof("outcome") != "result"

    t0 = time.monotonic()
    threads = [
        threading.Thread(target=worker, args=(calls // parallel,))
        for _ in range(parallel)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - t0
    channel.close()
    row = {
        "calls": len(times),
        "parallel": parallel,
        "per_s": round(len(times) / wall, 1),
        "p50_ms": pct(times, 50),
        "p95_ms": pct(times, 95),
        "failures": failures,
    }
    print(f"[remote] unary: {row}", file=sys.stderr)
    return row


def sessions(server, total):
    channel = grpc.insecure_channel(server.address)
    stub = streaming_grpc.StreamingPipelineServiceStub(channel)
    marks = []
    one = common.DataBuffer(json=common.JsonData(json_payload="1"))
    t0 = time.monotonic()
    for i in range(1, total + 1):
        requests = [
            streaming.StreamRequest(init=streaming.StreamInit(manifest=ECHO)),
            streaming.StreamRequest(
                data_chunk=streaming.DataChunk(buffer=one, sequence=0)
            ),
            streaming.StreamRequest(
                control=streaming.StreamControl(
                    command=streaming.StreamControl.COMMAND_CLOSE
                )
            ),
        ]
        kinds = [r.WhichOneof("response") for r in stub.StreamPipeline(iter(requests))]
        assert kinds[0] == "ready" and kinds[-1] == "closed", kinds
        if i in (1, total // 10, total // 2, total):
            marks.append({"sessions": i, "rss_mb": rss_mb(server.process.pid)})
    channel.close()
    row = {
        "sessions": total,
        "per_s": round(total / (time.monotonic() - t0), 1),
        "rss": marks,
    }
    print(f"[remote] sessions: {row}", file=sys.stderr)
    return row


def kill_mid_stream(server, count):
    """`count` streams open, the server killed: time to each typed error, then to a new run."""
    port = server.address.rsplit(":", 1)[1]
    channel = grpc.insecure_channel(server.address)
    stub = streaming_grpc.StreamingPipelineServiceStub(channel)
    results = []
    killed_at = []
    ready = threading.Barrier(count + 1)

    def stream():
        def requests():
            yield streaming.StreamRequest(init=streaming.StreamInit(manifest=LIVE))
            seq = 0
            while True:
                yield streaming.StreamRequest(data_chunk=audio_chunk(seq))
                seq += 1
                time.sleep(0.1)

        try:
            first = True
            for _ in stub.StreamPipeline(requests()):
                if first:
                    ready.wait()
                    first = False
        except grpc.RpcError as e:
            results.append(
                {
                    "code": e.code().name,
                    "after_ms": round((time.monotonic() - killed_at[0]) * 1000, 1),
                }
            )

    threads = [threading.Thread(target=stream, daemon=True) for _ in range(count)]
    for t in threads:
        t.start()
    ready.wait()
    time.sleep(0.5)
    killed_at.append(time.monotonic())
    server.process.send_signal(signal.SIGKILL)
    server.process.wait()
    for t in threads:
        t.join(timeout=10)
    # A server back on the same port; the client runs again as soon as it answers.
    back = subprocess.Popen(
        [CLI, "serve", "--listen", f"127.0.0.1:{port}"],
        stdout=subprocess.PIPE,
        text=True,
    )
    back.stdout.readline()
    t0 = time.monotonic()
    stub2 = execution_grpc.PipelineExecutionServiceStub(channel)
    while True:
        try:
            stub2.GetVersion(pb.VersionRequest(), timeout=1)
            break
        except grpc.RpcError:
            time.sleep(0.05)
    reconnect_ms = round((time.monotonic() - t0) * 1000, 1)
    channel.close()
    back.send_signal(signal.SIGTERM)
    back.wait(timeout=20)
    row = {
        "streams": count,
        "errors": results,
        "all_typed_within_1s": len(results) == count
        and all(r["code"] == "UNAVAILABLE" and r["after_ms"] < 1000 for r in results),
        "reconnect_ms": reconnect_ms,
    }
    print(f"[remote] killed mid-stream: {row}", file=sys.stderr)
    return row


def slow_client(server, offered):
    """Sends `offered` chunks as fast as it can and never reads: the server's intake stops."""
    channel = grpc.insecure_channel(server.address)
    stub = streaming_grpc.StreamingPipelineServiceStub(channel)
    pulled = [0]
    before = rss_mb(server.process.pid)

    def requests():
        yield streaming.StreamRequest(init=streaming.StreamInit(manifest=ECHO))
        for seq in range(offered):
            pulled[0] = seq + 1
            yield streaming.StreamRequest(data_chunk=audio_chunk(seq))

    call = stub.StreamPipeline(requests())  # responses never read
    time.sleep(5)
    taken = pulled[0]
    during = rss_mb(server.process.pid)
    call.cancel()
    channel.close()
    time.sleep(0.5)
    row = {
        "offered": offered,
        "taken_before_backpressure": taken,
        "rss_before_mb": before,
        "rss_during_mb": during,
        "bounded": taken < offered,
    }
    print(f"[remote] slow client: {row}", file=sys.stderr)
    return row


def main():
    results = {
        "quick": QUICK,
        "machine": f"{os.cpu_count()} cores",
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    server = Server("--max-sessions", "64")
    try:
        results["streams"] = streams(
            server.address, [1, 4] if QUICK else [1, 4, 8, 16, 32], 3 if QUICK else 10
        )
        results["unary"] = [
            unary(server.address, 100 if QUICK else 1000, p) for p in (1, 4)
        ]
        results["sessions"] = sessions(server, 200 if QUICK else 10000)
        results["slow_client"] = slow_client(server, 5000 if QUICK else 20000)
        results["killed"] = kill_mid_stream(server, 2 if QUICK else 4)
    finally:
        if server.process.poll() is None:
            server.stop()
    name = "remote-quick" if QUICK else "remote"
    out = ROOT / "bench/results"
    (out / f"{name}.json").write_text(json.dumps(results, indent=1) + "\n")
    (out / f"{name}.md").write_text(markdown(results))
    print(markdown(results))


def markdown(r):
    lines = [
        f"# remotemedia serve: load and faults ({r['when']}, {r['machine']}, loopback)",
        "",
        "## Live streams (16 kHz speech, 100 ms chunks in real time, resample -> Silero VAD -> speech events)",
        "",
    ]
    lines += [
        "| streams | chunks | round trip p50 / p95 / max (ms) | late (> 100 ms) | lost | real time |",
        "|---|---|---|---|---|---|",
    ]
    for s in r["streams"]:
        lines.append(
            f"| {s['streams']} | {s['chunks']} | {s['rtt_p50_ms']} / {s['rtt_p95_ms']} / {s['rtt_max_ms']} | {s['late_chunks']} | {s['lost_chunks']} | {'yes' if s['real_time'] else 'no'} |"
        )
    lines += [
        "",
        "## Unary ExecutePipeline (calculator)",
        "",
        "| calls | at once | per second | p50 / p95 (ms) | failures |",
        "|---|---|---|---|---|",
    ]
    for u in r["unary"]:
        lines.append(
            f"| {u['calls']} | {u['parallel']} | {u['per_s']} | {u['p50_ms']} / {u['p95_ms']} | {u['failures']} |"
        )
    s = r["sessions"]
    lines += [
        "",
        f"## {s['sessions']} sessions opened and closed ({s['per_s']} per second)",
        "",
        "| after | server resident memory (MB) |",
        "|---|---|",
    ]
    lines += [f"| {m['sessions']} | {m['rss_mb']} |" for m in s["rss"]]
    c = r["slow_client"]
    lines += [
        "",
        "## A client that sends and never reads",
        "",
        f"Offered {c['offered']} chunks of 100 ms; the server took {c['taken_before_backpressure']} before backpressure stopped it; resident memory {c['rss_before_mb']} MB before, {c['rss_during_mb']} MB while it waited.",
    ]
    k = r["killed"]
    lines += [
        "",
        "## The server killed mid-stream",
        "",
        f"{k['streams']} open streams; errors: "
        + ", ".join(f"{e['code']} after {e['after_ms']} ms" for e in k["errors"])
        + f"; all typed within 1 s: {'yes' if k['all_typed_within_1s'] else 'no'}; a new server on the port answered the same client after {k['reconnect_ms']} ms.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
