#!/usr/bin/python3
"""Generate tests/fixtures/torch_graph.txt: every op of core's graph engine
(core/graph.h), and graphs built of them, run forward and backward by
PyTorch.

Run from the repository root with the system interpreter (torch 1.13):
    /usr/bin/python3 tests/gen_torch_graph_fixture.py > tests/fixtures/torch_graph.txt
The output is deterministic (fixed seeds, float32, one thread), so running it
again reproduces the committed file byte for byte.

Fixture format: plain text, one item per line, `#` lines are comments.
    case NAME                  starts a case; everything up to `end` belongs to it
    rows N                     the batch
    train 0|1                  the passes' mode (batchnorm's statistics)
    input NAME D...            a graph input and its row shape
    node NAME OP IN[,IN] K=V.. a node, its inputs and attributes, in spec order:
                               units activation slope filters kernel stride
                               padding dilation size categories dim axis start
                               end shape eps momentum (pairs and shapes as a,b)
    output NAME
    tensor NAME COUNT          followed by COUNT whitespace-separated numbers
    end
Floats are printed with %.9g, so every float32 round-trips exactly.

Tensors of a case:
    params       initial parameters in core's flat layout (PyTorch's, node
                 by node in spec order: dense W (out, in) then b; conv W
                 (F, C, kh, kw) then b; embedding (categories, dim); norms
                 gain then bias)
    state        batchnorm running mean then variance, node by node (if any)
    in.NAME      input NAME (rows, size); embedding codes as floats
    coef         the loss is L = sum(coef * y), coef (rows, output size)
    y            the output (rows, output size)
    grad         dL/dparams, params' layout
    dx.NAME      dL/d(input NAME) (differentiable inputs only)
    state_after  the running statistics after the forward pass
"""
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(1)
torch.manual_seed(20261207)

out = sys.stdout
ACTS = {"linear": lambda t: t, "relu": F.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh,
        "softmax": lambda t: F.softmax(t, dim=-1)}


def fmt(v):
    return "%.9g" % v


def tensor(name, t):
    flat = t.detach().reshape(-1).tolist()
    out.write("tensor %s %d\n" % (name, len(flat)))
    for i in range(0, len(flat), 8):
        out.write(" ".join(fmt(v) for v in flat[i:i + 8]) + "\n")


def act(name, t, slope):
    if name == "leaky_relu":
        return F.leaky_relu(t, slope)
    return ACTS[name](t)


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def text(v):
    if isinstance(v, (list, tuple)):
        return ",".join(str(x) for x in v)
    return fmt(v) if isinstance(v, float) else str(v)


class Case:
    """A graph spec, its tensors, and PyTorch's run of it."""

    def __init__(self, name, rows, train=0):
        self.name, self.rows, self.train = name, rows, train
        self.inputs, self.nodes, self.params, self.state = [], [], [], []
        self.values = {}

    def input(self, name, shape, codes=0):
        if codes:
            x = torch.randint(0, codes, (self.rows, *shape)).float()
        else:
            x = (torch.rand(self.rows, *shape) * 2 - 1)
            x = x.requires_grad_()
        self.inputs.append((name, shape, x, codes == 0))
        self.values[name] = x

    def param(self, *shape, scale=0.5):
        p = ((torch.rand(*shape) * 2 - 1) * scale).requires_grad_()
        self.params.append(p)
        return p

    def node(self, name, op, args, fn, **attrs):
        self.nodes.append((name, op, args, attrs))
        self.values[name] = fn(*[self.values[a] for a in args])
        self.output = name

    def write(self):
        y = self.values[self.output]
        coef = torch.rand(y.shape) * 2 - 1
        (coef * y).sum().backward()
        out.write("case %s\nrows %d\ntrain %d\n" % (self.name, self.rows, self.train))
        for name, shape, _, _ in self.inputs:
            out.write("input %s %s\n" % (name, " ".join(str(d) for d in shape)))
        for name, op, args, attrs in self.nodes:
            kv = "".join(" %s=%s" % (k, text(v)) for k, v in attrs.items())
            out.write("node %s %s %s%s\n" % (name, op, ",".join(args), kv))
        out.write("output %s\n" % self.output)
        if self.params:
            tensor("params", torch.cat([p.reshape(-1) for p in self.params]))
        if self.state:
            tensor("state", torch.cat([s for s, _ in self.state]))
        for name, _, x, _ in self.inputs:
            tensor("in." + name, x)
        tensor("coef", coef)
        tensor("y", y)
        if self.params:
            tensor("grad", torch.cat([p.grad.reshape(-1) for p in self.params]))
        for name, _, x, diff in self.inputs:
            if diff:
                tensor("dx." + name, x.grad)
        if self.state:
            tensor("state_after", torch.cat([s for _, s in self.state]))
        out.write("end\n")

    # ---- the ops, as core names them -------------------------------------------

    def dense(self, name, arg, units, activation="linear", slope=0.01):
        fan_in = self.values[arg].shape[-1]
        w, b = self.param(units, fan_in), self.param(units)
        self.node(name, "dense", [arg], lambda x: act(activation, F.linear(x, w, b), slope),
                  units=units, activation=activation, slope=slope)

    def conv(self, name, arg, filters, kernel, stride=1, padding=0, dilation=1,
             activation="linear"):
        x = self.values[arg]
        two = x.dim() == 4
        k = pair(kernel) if two else (kernel,)
        w = self.param(filters, x.shape[1], *k)
        b = self.param(filters)
        conv = F.conv2d if two else F.conv1d
        s, p, d = (pair(stride), pair(padding), pair(dilation)) if two else (stride, padding, dilation)
        self.node(name, "conv2d" if two else "conv1d", [arg],
                  lambda x: act(activation, conv(x, w, b, stride=s, padding=p, dilation=d), 0.01),
                  filters=filters, kernel=k if two else kernel, stride=s if two else stride,
                  padding=p if two else padding, dilation=d if two else dilation,
                  activation=activation)

    def pool(self, name, op, arg, size, stride=None):
        x = self.values[arg]
        two = x.dim() == 4
        st = stride or size
        fn = {("maxpool", True): F.max_pool2d, ("maxpool", False): F.max_pool1d,
              ("avgpool", True): F.avg_pool2d, ("avgpool", False): F.avg_pool1d}[(op, two)]
        attrs = {"size": pair(size) if two else size}
        if stride:
            attrs["stride"] = pair(stride) if two else stride
        self.node(name, op, [arg], lambda x: fn(x, pair(size) if two else size,
                                                pair(st) if two else st), **attrs)

    def batchnorm(self, name, arg, eps=1e-5, momentum=0.1):
        x = self.values[arg]
        C = x.shape[1]
        g, b = self.param(C, scale=1.0), self.param(C)
        with torch.no_grad():
            g.add_(1.5)  # gains around 1.5, away from 0
        mean, var = torch.rand(C) * 0.2 - 0.1, torch.rand(C) + 0.5
        rm, rv = mean.clone(), var.clone()
        self.state.append((torch.cat([mean, var]), None))
        idx = len(self.state) - 1

        def fn(x):
            y = F.batch_norm(x, rm, rv, g, b, training=bool(self.train), momentum=momentum,
                             eps=eps)
            self.state[idx] = (self.state[idx][0], torch.cat([rm, rv]))
            return y
        self.node(name, "batchnorm", [arg], fn, eps=eps, momentum=momentum)


def rowwise(f):
    """f over rows: the operand of lower rank gets unit axes after the batch
    axis, so row shapes broadcast as numpy's do (core's convention)."""
    def g(a, b):
        while a.dim() < b.dim():
            a = a.unsqueeze(1)
        while b.dim() < a.dim():
            b = b.unsqueeze(1)
        return f(a, b)
    return g


def simple(name, op, shapes, fn, rows=3, **attrs):
    c = Case(name, rows)
    for i, s in enumerate(shapes):
        c.input("ab"[i] if len(shapes) > 1 else "x", s)
    c.node("y", op, [n for n, _, _, _ in c.inputs], fn, **attrs)
    c.write()


def main():
    out.write("# Generated by tests/gen_torch_graph_fixture.py (torch %s); do not edit.\n"
              % torch.__version__)
    for a in ["linear", "relu", "leaky_relu", "sigmoid", "tanh", "softmax"]:
        c = Case("dense_" + a, 4)
        c.input("x", [5])
        c.dense("y", "x", 3, a, 0.1)
        c.write()
    c = Case("dense_leading_axes", 3)
    c.input("x", [2, 5])
    c.dense("y", "x", 4, "tanh")
    c.write()
    simple("relu", "relu", [[3, 7]], F.relu)
    simple("leaky_relu", "leaky_relu", [[3, 7]], lambda x: F.leaky_relu(x, 0.2), slope=0.2)
    simple("sigmoid", "sigmoid", [[3, 7]], torch.sigmoid)
    simple("tanh", "tanh", [[3, 7]], torch.tanh)
    simple("softmax", "softmax", [[3, 7]], lambda x: F.softmax(x, dim=-1))
    for op, f in [("add", torch.add), ("sub", torch.sub), ("mul", torch.mul)]:
        fn = rowwise(f)
        simple(op + "_same", op, [[3, 5], [3, 5]], fn)
        simple(op + "_bias", op, [[3, 5], [5]], fn)
        simple(op + "_channel", op, [[3, 2, 5], [3, 1, 1]], fn)
        simple(op + "_both", op, [[2, 3, 1], [3, 4]], fn)
    simple("concat_axis0", "concat", [[2, 3], [4, 3]], lambda a, b: torch.cat([a, b], 1), axis=0)
    simple("concat_last", "concat", [[2, 3], [2, 5]], lambda a, b: torch.cat([a, b], 2), axis=-1)
    simple("slice", "slice", [[4, 6]], lambda x: x[:, :, 1:4], axis=1, start=1, end=4)
    simple("reshape", "reshape", [[2, 6]], lambda x: x.reshape(-1, 3, 4), shape=[3, 4])
    simple("flatten", "flatten", [[2, 3, 2]], lambda x: x.reshape(x.shape[0], -1))

    c = Case("embedding", 4)
    c.input("codes", [3], codes=5)
    table = c.param(5, 2)
    c.node("y", "embedding", ["codes"], lambda k: F.embedding(k.long(), table),
           categories=5, dim=2)
    c.write()

    simple_ln = Case("layernorm", 3)
    simple_ln.input("x", [2, 6])
    g, b = simple_ln.param(6, scale=1.0), simple_ln.param(6)
    with torch.no_grad():
        g.add_(1.5)
    simple_ln.node("y", "layernorm", ["x"], lambda x: F.layer_norm(x, (6,), g, b, 1e-5),
                   eps=1e-5)
    simple_ln.write()

    for train in (1, 0):
        for shape in ([4], [3, 5], [2, 3, 3]):
            c = Case("batchnorm_%s_%s" % ("train" if train else "eval",
                                          "x".join(str(d) for d in shape)), 5, train)
            c.input("x", shape)
            c.batchnorm("y", "x", eps=1e-3, momentum=0.2)
            c.write()

    c = Case("conv1d", 2)
    c.input("x", [3, 11])
    c.conv("y", "x", 4, 3, stride=2, padding=1, dilation=2, activation="relu")
    c.write()
    c = Case("conv2d", 2)
    c.input("x", [2, 7, 6])
    c.conv("y", "x", 3, [3, 2], stride=[2, 1], padding=[1, 0], dilation=[1, 2], activation="tanh")
    c.write()
    for op in ("maxpool", "avgpool"):
        c = Case(op + "_1d", 2)
        c.input("x", [3, 9])
        c.pool("y", op, "x", 3, 2)
        c.write()
        c = Case(op + "_2d", 2)
        c.input("x", [2, 6, 7])
        c.pool("y", op, "x", 2)
        c.write()
    c = Case("global_avgpool", 2)
    c.input("x", [3, 4, 5])
    c.node("y", "global_avgpool", ["x"], lambda x: x.mean(dim=(2, 3)))
    c.write()

    # graphs: a value shared by two branches, a residual block, embeddings
    # beside numbers, a small conv net with batchnorm
    c = Case("shared_value", 3)
    c.input("x", [4])
    c.dense("h", "x", 5, "tanh")
    c.dense("a", "h", 3, "relu")
    c.dense("b", "h", 3, "sigmoid")
    c.node("m", "mul", ["a", "b"], torch.mul)
    c.node("s", "slice", ["h"], lambda h: h[:, 0:3], axis=0, start=0, end=3)
    c.node("y", "add", ["m", "s"], torch.add)
    c.write()

    c = Case("residual", 4)
    c.input("x", [6])
    c.dense("h1", "x", 6, "relu")
    c.dense("h2", "h1", 6)
    c.node("r", "add", ["h2", "x"], torch.add)
    c.node("a", "relu", ["r"], F.relu)
    c.dense("y", "a", 2, "softmax")
    c.write()

    c = Case("embedding_and_numbers", 4)
    c.input("num", [3])
    c.input("cat", [1], codes=4)
    emb = c.param(4, 3)
    c.node("e", "embedding", ["cat"], lambda k: F.embedding(k.long(), emb), categories=4, dim=3)
    c.node("f", "flatten", ["e"], lambda e: e.reshape(e.shape[0], -1))
    c.node("j", "concat", ["num", "f"], lambda a, b: torch.cat([a, b], 1), axis=0)
    c.dense("y", "j", 2, "tanh")
    c.write()

    c = Case("small_convnet", 3, train=1)
    c.input("x", [1, 8, 8])
    c.conv("c1", "x", 4, 3, padding=1)
    c.batchnorm("b1", "c1")
    c.node("r1", "relu", ["b1"], F.relu)
    c.pool("p1", "maxpool", "r1", 2)
    c.conv("c2", "p1", 6, 3, activation="relu")
    c.node("g", "global_avgpool", ["c2"], lambda x: x.mean(dim=(2, 3)))
    c.dense("y", "g", 3, "softmax")
    c.write()


if __name__ == "__main__":
    main()
