"""traind-rank under a real mpirun (issue #19): 2 and 3 ranks on loopback.

Every run pins Open MPI's allreduce to the basic linear algorithm (1), whose
order of additions, b[0] + (b[1] + b[2]), is the one `traind-rank --local`
sums in when its ranks are threads: the two then give the same bytes. Other
algorithms add in another order (ring, recursive doubling); their runs are
compared within float summation order instead. Each run also makes the
ranks compare a CRC of their parameters and fail when they differ.
"""
import os
import random
import struct
import subprocess

import pytest

RANK = os.environ.get(
    "TRAIND_RANK_BIN",
    os.path.join(os.path.dirname(__file__), "..", "..", "build", "traind-rank"))
MPIRUN = [
    "mpirun", "--allow-run-as-root", "--oversubscribe", "--bind-to", "none",
    "--mca", "btl_tcp_if_include", "lo", "--mca", "oob_tcp_if_include", "lo",
    "--mca", "mpi_yield_when_idle", "1",
]
PINNED = ["--mca", "coll_tuned_use_dynamic_rules", "1",
          "--mca", "coll_tuned_allreduce_algorithm", "1"]
SPEC = ("inputs=4;dense:32:relu;dropout:0.25;dense:16:tanh;dense:3:softmax;"
        "loss=cross_entropy;seed=3")
TIMEOUT = 60

def write_blobs(path, rows=301, features=4, classes=3, seed=1):
    """The binary data set traind-rank reads (server/rank/job.h)."""
    r = random.Random(seed)
    x, labels = [], []
    for i in range(rows):
        c = i % classes
        x += [c + r.gauss(0, 0.7) for _ in range(features)]
        labels.append(c)
    with open(path, "wb") as f:
        f.write(b"TRDS" + struct.pack("<IQIIII", 1, rows, features, classes, classes, 0))
        f.write(struct.pack("<%df" % len(x), *x))
        f.write(struct.pack("<%di" % rows, *labels))


@pytest.fixture
def data(tmp_path):
    path = tmp_path / "blobs.trds"
    write_blobs(path)
    return path


def train_args(data, out, optimizer="adam", epochs=3, extra=()):
    return ["--spec", SPEC, "--data", str(data), "--out", str(out), "--epochs", str(epochs),
            "--batch-size", "10", "--optimizer", optimizer, "--lr", "0.01",
            "--validation-split", "0.2", "--seed", "5", "--clip-norm", "1", *extra]


def run(cmd, expect=0, **env_extra):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", **env_extra)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT, env=env)
    assert expect is None or p.returncode == expect, (cmd, p.returncode, p.stdout, p.stderr)
    return p


def mpi(n, args, mca=PINNED, expect=0):
    # Open MPI keeps allocations past MPI_Finalize that LeakSanitizer would
    # report at a sanitized rank's exit; --local runs keep leak checking.
    return run(MPIRUN + ["-np", str(n)] + list(mca) + [RANK] + args, expect,
               ASAN_OPTIONS="detect_leaks=0")


def local(n, args, expect=0):
    return run([RANK, "--local", str(n)] + args, expect)


def metrics(stdout):
    """{epoch: {name: value}} from the epoch lines."""
    out = {}
    for line in stdout.splitlines():
        f = line.split()
        if f and f[0] == "epoch":
            out[int(f[1])] = {f[i]: float(f[i + 1]) for i in range(2, len(f), 2)}
    return out


@pytest.mark.parametrize("n", [2, 3])
def test_two_identical_runs_give_identical_bytes(tmp_path, data, n):
    a = mpi(n, train_args(data, tmp_path / "a.ckpt"))
    b = mpi(n, train_args(data, tmp_path / "b.ckpt"))
    assert a.stdout == b.stdout
    assert len(metrics(a.stdout)) == 3 and "params_crc" in a.stdout
    assert (tmp_path / "a.ckpt").read_bytes() == (tmp_path / "b.ckpt").read_bytes()


@pytest.mark.parametrize("n,optimizer", [(2, "adam"), (3, "adam"), (3, "sgd"), (2, "rmsprop")])
def test_mpi_equals_the_in_process_shards_bit_for_bit(tmp_path, data, n, optimizer):
    m = mpi(n, train_args(data, tmp_path / "mpi.ckpt", optimizer))
    t = local(n, train_args(data, tmp_path / "local.ckpt", optimizer))
    assert m.stdout == t.stdout
    assert (tmp_path / "mpi.ckpt").read_bytes() == (tmp_path / "local.ckpt").read_bytes()


def test_other_allreduce_orders_agree_within_float_summation(tmp_path, data):
    """Ring (4) adds in another order: replicas still agree with each other
    (the run would fail otherwise), and with one process within 1e-4."""
    ring = ["--mca", "coll_tuned_use_dynamic_rules", "1",
            "--mca", "coll_tuned_allreduce_algorithm", "4"]
    m = metrics(mpi(3, train_args(data, tmp_path / "ring.ckpt"), mca=ring).stdout)
    one = metrics(local(1, train_args(data, tmp_path / "one.ckpt")).stdout)
    assert m.keys() == one.keys()
    for e in one:
        for k in ("loss", "val_loss", "accuracy"):
            assert abs(m[e][k] - one[e][k]) < 1e-4, (e, k, m[e][k], one[e][k])


def test_a_checkpoint_resumes_bit_for_bit(tmp_path, data):
    """Rank 0's checkpoint after 2 epochs carries the trainer state: 3 ranks
    resuming from it end where an uninterrupted run does."""
    whole = mpi(3, train_args(data, tmp_path / "whole.ckpt", epochs=3))
    mpi(3, train_args(data, tmp_path / "two.ckpt", epochs=2))
    args = train_args(data, tmp_path / "resumed.ckpt", epochs=3)
    args[0:2] = ["--model", str(tmp_path / "two.ckpt")]
    resumed = mpi(3, args)
    assert (tmp_path / "resumed.ckpt").read_bytes() == (tmp_path / "whole.ckpt").read_bytes()
    assert resumed.stdout.splitlines()[-2:] == whole.stdout.splitlines()[-2:]


def test_bad_input_fails_every_rank_without_a_hang(tmp_path, data):
    broken = tmp_path / "broken.trds"
    broken.write_bytes(data.read_bytes()[:-5])
    p = mpi(2, train_args(broken, tmp_path / "x.ckpt"), expect=None)
    assert p.returncode != 0 and "wrong length" in p.stderr
    p = mpi(2, train_args(tmp_path / "missing.trds", tmp_path / "x.ckpt"), expect=None)
    assert p.returncode != 0 and "missing.trds" in p.stderr
    bad_spec = train_args(data, tmp_path / "x.ckpt")
    bad_spec[1] = "inputs=4;dense:three:softmax"
    p = mpi(2, bad_spec, expect=None)
    assert p.returncode != 0 and "cannot read" in p.stderr
    # a spec that does not fit the data: every rank's trainer refuses it
    bad_spec[1] = "inputs=5;dense:3:softmax;loss=cross_entropy"
    p = mpi(3, bad_spec, expect=None)
    assert p.returncode != 0 and "rank 0" in p.stderr, p.stderr
    assert not (tmp_path / "x.ckpt").exists()
    p = local(2, ["--data", str(data)], expect=2)
    assert "--model" in p.stderr


def test_replicas_that_drift_apart_fail_the_run(tmp_path, data):
    """MPMD: rank 1 gets another learning rate, so its parameters leave rank
    0's; the final comparison of their CRCs catches it and no checkpoint is
    written."""
    out = tmp_path / "drift.ckpt"
    other = train_args(data, out)
    other[other.index("--lr") + 1] = "0.02"
    cmd = MPIRUN + PINNED + ["-np", "1", RANK] + train_args(data, out) + [":", "-np", "1", RANK] + other
    p = run(cmd, expect=None)
    assert p.returncode != 0 and "parameters differ" in p.stderr, p.stderr
    assert "params_crc" not in p.stdout and not out.exists()
