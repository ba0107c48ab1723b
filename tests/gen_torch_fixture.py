#!/usr/bin/python3
"""Generate tests/fixtures/torch_ref.txt: reference values from PyTorch.

Run from the repository root with the system interpreter (torch 1.13):
    /usr/bin/python3 tests/gen_torch_fixture.py > tests/fixtures/torch_ref.txt
The output is deterministic (fixed seeds, float32, one thread), so running it
again reproduces the committed file byte for byte.

Fixture format: plain text, one item per line, `#` lines are comments.
    case NAME                      starts a case; everything up to `end` belongs to it
    net INPUTS LOSS                LOSS: mse | cross_entropy | binary_cross_entropy
    dense UNITS ACT SLOPE          one line per layer, in order (ACT as core's names)
    dropout RATE
    train KEY VALUE ...            training cases only: `opt` first (sgd | adam |
                                   adamw | rmsprop), then lr, momentum, nesterov,
                                   weight_decay, alpha, clip_norm, sched (constant |
                                   step), step_size, gamma, epochs
    tensor NAME COUNT              followed by COUNT whitespace-separated numbers
    end
Floats are printed with %.9g, so every float32 round-trips exactly.

Tensors of a case:
    params        initial parameters, core's layout = nn.Linear's: per dense
                  layer W (out, in) row-major, then b (out,)
    x             the batch (rows, inputs)
    y | labels    targets (rows, outputs), or class indices (rows,)
    out           forward-pass outputs after the output activation (rows, outputs)
    loss          mean loss (1,)
    grad          dLoss/dParams, same layout as params
    dx            dLoss/dx (rows, inputs)
training cases add:
    losses        the training loss before each step (epochs,)
    lrs           the learning rate of each epoch (epochs,)
    params_after  parameters after `epochs` full-batch steps
"""
import sys

import torch
import torch.nn as nn

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)
torch.set_default_dtype(torch.float32)

ROWS = 6
EPOCHS = 10
# hidden pre-activations of relu/leaky_relu units must stay this far from the
# kink, so that float32 rounding differences cannot flip a unit on or off
KINK_MARGIN = 1e-3


def fmt(v):
    return "%.9g" % v


class Net(nn.Module):
    """A stack of nn.Linear (+ activation) and nn.Dropout from a layer list."""

    def __init__(self, inputs, layers):
        super().__init__()
        self.layers = layers
        mods, width = [], inputs
        for layer in layers:
            if layer[0] == "dense":
                mods.append(nn.Linear(width, layer[1]))
                width = layer[1]
            else:
                mods.append(nn.Dropout(layer[1]))
        self.mods = nn.ModuleList(mods)

    def forward(self, x, pre=None):
        """Logits of the last layer (no output activation); the hidden
        pre-activations of relu-family layers are appended to pre."""
        last = len(self.layers) - 1
        for i, (layer, mod) in enumerate(zip(self.layers, self.mods)):
            x = mod(x)
            if layer[0] != "dense" or i == last:
                continue
            act, slope = layer[2], layer[3]
            if act in ("relu", "leaky_relu") and pre is not None:
                pre.append(x.detach())
            x = activate(x, act, slope)
        return x


def activate(z, act, slope):
    if act == "linear":
        return z
    if act == "relu":
        return torch.relu(z)
    if act == "leaky_relu":
        return nn.functional.leaky_relu(z, slope)
    if act == "sigmoid":
        return torch.sigmoid(z)
    if act == "tanh":
        return torch.tanh(z)
    if act == "softmax":
        return torch.softmax(z, dim=1)
    raise ValueError(act)


def flat_params(net):
    return torch.cat([p.detach().reshape(-1) for p in net.parameters()])


def flat_grad(net):
    return torch.cat([p.grad.detach().reshape(-1) for p in net.parameters()])


def output_and_loss(net, loss, x, target):
    """(outputs after the output activation, mean loss) as PyTorch defines them."""
    pre = []
    z = net(x, pre)
    for p in pre:
        assert p.abs().min().item() > KINK_MARGIN, "a relu unit sits on its kink; change the seed"
    last = net.layers[-1]
    if loss == "mse":
        y = activate(z, last[2], last[3])
        return y, nn.functional.mse_loss(y, target)
    if loss == "cross_entropy":
        # indices (labels) or class probabilities (one-hot), on the logits
        return torch.softmax(z, dim=1), nn.functional.cross_entropy(z, target)
    return torch.sigmoid(z), nn.functional.binary_cross_entropy_with_logits(z, target)


def make_net(seed, inputs, layers):
    torch.manual_seed(seed)
    net = Net(inputs, layers)
    # nn.Linear's own init, but with nonzero biases so their gradients show
    with torch.no_grad():
        for m in net.mods:
            if isinstance(m, nn.Linear):
                m.bias.uniform_(-0.5, 0.5)
    net.eval()  # dropout is the identity, as in nn_model_loss_grad
    return net


def make_batch(seed, inputs, outputs, target):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(ROWS, inputs, generator=g)
    if target == "y":
        return x, torch.rand(ROWS, outputs, generator=g) * 2 - 1
    if target == "binary":
        return x, torch.randint(0, 2, (ROWS, outputs), generator=g).float()
    labels = torch.randint(0, outputs, (ROWS,), generator=g)
    if target == "labels":
        return x, labels
    return x, nn.functional.one_hot(labels, outputs).float()  # "onehot"


def write_tensor(out, name, t):
    vals = t.detach().reshape(-1).tolist()
    out.write("tensor %s %d\n" % (name, len(vals)))
    if t.dtype == torch.int64:
        out.write(" ".join(str(v) for v in vals) + "\n")
    else:
        for i in range(0, len(vals), 8):
            out.write(" ".join(fmt(v) for v in vals[i:i + 8]) + "\n")


def write_header(out, name, inputs, loss, layers):
    out.write("case %s\n" % name)
    out.write("net %d %s\n" % (inputs, {"bce": "binary_cross_entropy"}.get(loss, loss)))
    for layer in layers:
        if layer[0] == "dense":
            out.write("dense %d %s %s\n" % (layer[1], layer[2], fmt(layer[3])))
        else:
            out.write("dropout %s\n" % fmt(layer[1]))


def write_batch(out, x, target):
    write_tensor(out, "x", x)
    write_tensor(out, "labels" if target.dtype == torch.int64 else "y", target)


def forward_case(out, name, seed, inputs, loss, layers, target_kind):
    net = make_net(seed, inputs, layers)
    outputs = [l for l in layers if l[0] == "dense"][-1][1]
    x, target = make_batch(seed + 1000, inputs, outputs, target_kind)
    write_header(out, name, inputs, loss, layers)
    write_tensor(out, "params", flat_params(net))
    write_batch(out, x, target)
    x.requires_grad_(True)
    y, value = output_and_loss(net, "binary_cross_entropy" if loss == "bce" else loss, x, target)
    value.backward()
    write_tensor(out, "out", y.detach())
    write_tensor(out, "loss", value.detach().reshape(1))
    write_tensor(out, "grad", flat_grad(net))
    write_tensor(out, "dx", x.grad)
    out.write("end\n")


# one net and batch for every optimizer: smooth hidden units, so that ten
# steps cannot amplify a rounding difference across a relu kink
TRAIN_INPUTS = 5
TRAIN_LAYERS = [("dense", 7, "tanh", 0.0), ("dense", 4, "sigmoid", 0.0),
                ("dense", 3, "softmax", 0.0)]


def train_case(out, name, opt, clip_norm=0.0, step_lr=None):
    """opt: (core name, torch optimizer class, keyword arguments)."""
    core_name, cls, kw = opt
    net = make_net(7, TRAIN_INPUTS, TRAIN_LAYERS)
    x, labels = make_batch(8, TRAIN_INPUTS, 3, "labels")
    write_header(out, name, TRAIN_INPUTS, "cross_entropy", TRAIN_LAYERS)
    keys = ["opt", core_name] + [w for k, v in kw.items() for w in (k, fmt(float(v)))]
    if clip_norm:
        keys += ["clip_norm", fmt(clip_norm)]
    if step_lr:
        keys += ["sched", "step", "step_size", str(step_lr[0]), "gamma", fmt(step_lr[1])]
    keys += ["epochs", str(EPOCHS)]
    out.write("train %s\n" % " ".join(keys))
    write_tensor(out, "params", flat_params(net))
    write_batch(out, x, labels)
    net.train()  # no dropout in this net: train mode changes nothing else
    optimizer = cls(net.parameters(), **kw)
    sched = torch.optim.lr_scheduler.StepLR(optimizer, step_lr[0], step_lr[1]) if step_lr else None
    losses, lrs, clipped = [], [], 0
    for _ in range(EPOCHS):
        optimizer.zero_grad()
        lrs.append(optimizer.param_groups[0]["lr"])
        _, value = output_and_loss(net, "cross_entropy", x, labels)
        value.backward()
        if clip_norm:
            norm = nn.utils.clip_grad_norm_(net.parameters(), clip_norm)
            clipped += norm.item() > clip_norm
        losses.append(value.item())
        optimizer.step()
        if sched:
            sched.step()
    assert not clip_norm or clipped > 0, "clipping never engaged; lower max_norm"
    write_tensor(out, "losses", torch.tensor(losses))
    write_tensor(out, "lrs", torch.tensor(lrs))
    write_tensor(out, "params_after", flat_params(net))
    out.write("end\n")


def main(out):
    out.write("# Generated by tests/gen_torch_fixture.py (torch %s); do not edit.\n"
              % torch.__version__)
    mix = [("dense", 7, "tanh", 0.0), ("dense", 6, "sigmoid", 0.0), ("dense", 6, "relu", 0.0),
           ("dense", 5, "leaky_relu", 0.1), ("dense", 4, "linear", 0.0),
           ("dense", 3, "linear", 0.0)]
    forward_case(out, "mse_mix", 1, 5, "mse", mix, "y")
    forward_case(out, "mse_tanh_out", 2, 5, "mse",
                 [("dense", 7, "leaky_relu", 0.1), ("dense", 4, "sigmoid", 0.0),
                  ("dense", 3, "tanh", 0.0)], "y")
    ce = [("dense", 7, "tanh", 0.0), ("dense", 4, "leaky_relu", 0.1), ("dense", 3, "softmax", 0.0)]
    forward_case(out, "ce_labels", 3, 5, "cross_entropy", ce, "labels")
    forward_case(out, "ce_onehot", 4, 5, "cross_entropy", ce, "onehot")
    forward_case(out, "bce", 5, 5, "bce",
                 [("dense", 7, "tanh", 0.0), ("dropout", 0.5), ("dense", 4, "relu", 0.0),
                  ("dense", 3, "sigmoid", 0.0)], "binary")

    sgd, adam = torch.optim.SGD, torch.optim.Adam
    train_case(out, "train_sgd", ("sgd", sgd, {"lr": 0.1}))
    train_case(out, "train_sgd_momentum", ("sgd", sgd, {"lr": 0.1, "momentum": 0.9}))
    train_case(out, "train_sgd_nesterov",
               ("sgd", sgd, {"lr": 0.1, "momentum": 0.9, "nesterov": 1}))
    train_case(out, "train_adam", ("adam", adam, {"lr": 0.01}))
    train_case(out, "train_adamw",
               ("adamw", torch.optim.AdamW, {"lr": 0.01, "weight_decay": 0.1}))
    train_case(out, "train_rmsprop", ("rmsprop", torch.optim.RMSprop, {"lr": 0.01, "alpha": 0.99}))
    train_case(out, "train_sgd_l2", ("sgd", sgd, {"lr": 0.1, "weight_decay": 0.1}))
    train_case(out, "train_adam_l2", ("adam", adam, {"lr": 0.01, "weight_decay": 0.1}))
    train_case(out, "train_sgd_clip", ("sgd", sgd, {"lr": 0.1, "momentum": 0.9}), clip_norm=0.5)
    train_case(out, "train_sgd_step_lr", ("sgd", sgd, {"lr": 0.1}), step_lr=(3, 0.5))


if __name__ == "__main__":
    main(sys.stdout)
