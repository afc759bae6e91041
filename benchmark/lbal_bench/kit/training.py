"""Training a linear head on frozen features: shared by the linear evaluator and by
samplers that need a classifier (Max-Entropy).

On the CPU the head is trained in numpy, without importing torch: with the paper's
CIFAR batches of 4 a step is a dozen operations on arrays of a few hundred numbers, and
numpy's per-call cost is a fraction of torch's (benchmarks/RESULTS.md, "Default suite").
``TorchRandom`` reproduces torch's CPU generator, so the initialisation and the batch
order are torch's, bit for bit. On a CUDA machine (``/dev/nvidiactl`` present and torch
seeing a device) the same steps run in torch on the GPU. ``fit_linear_batched`` trains
the heads of several cells of one shape as one stacked problem (on the CPU the same heads,
bit for bit; on CUDA to float32 rounding).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from .compute import one_blas_thread

NORMALISATIONS = ("standardise", "l2", "none")
BETA1, BETA2, EPS = 0.9, 0.999, 1e-8  # torch.optim.Adam's defaults


def cuda_available() -> bool:
    """Whether torch would run on a GPU here, without importing torch on a machine with
    no NVIDIA driver."""
    if not os.path.exists("/dev/nvidiactl"):
        return False
    import torch

    return torch.cuda.is_available()


class TorchRandom:
    """torch's CPU generator after ``torch.manual_seed(seed)`` (an MT19937 seeded like
    numpy's ``RandomState(seed)``), for the two things training needs from it:
    ``torch.nn.Linear``'s initialisation and ``torch.randperm``. Both give torch's
    numbers bit for bit (tests/test_evaluator_linear.py compares them with torch)."""

    def __init__(self, seed: int):
        self._state = np.random.RandomState(seed)

    def _raw(self, count: int) -> np.ndarray:
        """The generator's next ``count`` 32-bit outputs."""
        return self._state.randint(0, 2**32, size=count, dtype=np.uint32).astype(np.int64)

    def uniform(self, shape: tuple[int, ...], low: float, high: float) -> np.ndarray:
        """``torch.empty(shape).uniform_(low, high)``: 24 random bits per float, scaled in
        double precision, rounded to float32."""
        low32, high32 = np.float32(low), np.float32(high)
        unit = (self._raw(int(np.prod(shape))) & ((1 << 24) - 1)) * 2.0**-24
        return (unit * np.float64(high32 - low32) + np.float64(low32)).astype(np.float32).reshape(shape)

    def linear(self, fan_in: int, fan_out: int) -> tuple[np.ndarray, np.ndarray]:
        """``torch.nn.Linear(fan_in, fan_out)``'s ``weight [fan_out, fan_in]`` and ``bias``
        (Kaiming-uniform with a = sqrt(5), then a uniform bias, as torch draws them)."""
        gain = math.sqrt(2.0 / (1 + 5))
        bound = math.sqrt(3.0) * (gain / math.sqrt(fan_in))
        weight = self.uniform((fan_out, fan_in), -bound, bound)
        bound = 1 / math.sqrt(fan_in)
        return weight, self.uniform((fan_out,), -bound, bound)

    def randperm(self, n: int) -> np.ndarray:
        """``torch.randperm(n)``: the CPU Fisher-Yates shuffle with ``random() % (n - i)``."""
        order = np.arange(n)
        if n < 2:
            return order
        offsets = (self._raw(n - 1) % np.arange(n, 1, -1)).tolist()
        values = order.tolist()
        for i, offset in enumerate(offsets):
            j = i + offset
            values[i], values[j] = values[j], values[i]
        return np.array(values, dtype=np.int64)


@dataclass
class LinearHead:
    """A trained linear layer (``weight [C, D]``, ``bias [C]``) with the normalisation
    fitted on its training set, and the learning rate each epoch trained with."""

    weight: np.ndarray
    bias: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    epoch_lrs: list[float]
    normalise: str = "standardise"
    device: str = "cpu"
    _model: object = field(default=None, repr=False)

    def transform(self, x: np.ndarray) -> np.ndarray:
        """The inputs the layer sees: ``x`` (float32) normalised as in training."""
        x = np.asarray(x, dtype=np.float32)
        if self.normalise == "l2":
            x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), np.float32(1e-12))
        return (x - self.mean) / self.std

    def logits(self, x: np.ndarray, batch: int = 65536) -> np.ndarray:
        """Class scores ``float32 [N, C]`` for features ``x``."""
        out = [self.transform(x[start:start + batch]) @ self.weight.T + self.bias for start in range(0, len(x), batch)]
        return np.concatenate(out) if out else np.empty((0, len(self.bias)), np.float32)

    @property
    def model(self):
        """The head as a ``torch.nn.Linear`` (imports torch)."""
        if self._model is None:
            import torch

            model = torch.nn.Linear(self.weight.shape[1], self.weight.shape[0])
            with torch.no_grad():
                model.weight.copy_(torch.as_tensor(self.weight))
                model.bias.copy_(torch.as_tensor(self.bias))
            self._model = model.eval()
        return self._model


def step_decay(epoch: int, milestones: Sequence[int]) -> float:
    """The learning-rate factor of ``epoch`` (from 0) under MultiStepLR with gamma 0.1:
    ×0.1 for every milestone reached."""
    return 0.1 ** sum(epoch >= m for m in milestones)


def normalisation(x: np.ndarray, normalise: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(inputs, mean, std)`` for training on ``x``: ``standardise`` scales each dimension
    by the mean/std of ``x`` (a zero std counts as 1; the paper's text), ``l2`` scales each
    row to unit L2 norm and nothing else (the released ``eval_lincls.py``), ``none`` leaves
    ``x`` as it is."""
    if normalise not in NORMALISATIONS:
        raise ValueError(f"normalise must be one of {', '.join(NORMALISATIONS)}, got {normalise!r}")
    x = np.asarray(x, dtype=np.float32)
    if normalise == "l2":
        x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), np.float32(1e-12))
    if normalise == "standardise":
        mean, std = x.mean(axis=0), x.std(axis=0)
        std[std == 0] = 1.0
    else:
        mean, std = np.zeros(x.shape[1], np.float32), np.ones(x.shape[1], np.float32)
    return (x - mean) / std, mean, std


def fit_linear(
    x: np.ndarray,
    y: np.ndarray,
    num_classes: int,
    *,
    seed: int,
    epochs: int = 100,
    lr: float = 0.01,
    milestones: Sequence[int] = (50, 75),
    batch_size: int = 128,
    standardise: bool = True,
    normalise: str | None = None,
    device: str | None = None,
) -> LinearHead:
    """Train ``Linear(D, num_classes)`` with cross-entropy and Adam, lr ×0.1 at ``milestones``.

    ``normalise`` (see ``normalisation``) defaults to ``standardise`` when ``standardise``
    is true and to ``none`` otherwise (the older switch, kept for callers). The
    initialisation and the batch order are those of ``torch.nn.Linear`` and
    ``torch.randperm`` under ``torch.manual_seed(seed)``, without touching torch's global
    generator (the generator of the layer and that of the order are both seeded with
    ``seed``); on the CPU the result is bit-for-bit reproducible.

    The gradient of the mean cross-entropy and torch's Adam update (default betas and
    eps) are written out, without autograd or an optimizer object; numpy runs on one BLAS
    thread (``one_blas_thread``). ``device``: ``"cpu"``
    (numpy), ``"cuda"`` or ``"torch-cpu"`` (the same steps as torch tensors; the CPU
    variant is the reference the tests compare numpy with); default: ``"cuda"`` when
    available, else ``"cpu"``. It is ``fit_linear_batched`` with one head.
    """
    normalise = normalise or ("standardise" if standardise else "none")
    return fit_linear_batched([x], [y], num_classes, seeds=[seed], epochs=epochs, lr=lr, milestones=milestones,
                              batch_size=batch_size, normalise=normalise, device=device)[0]


def fit_linear_batched(
    xs: Sequence[np.ndarray],
    ys: Sequence[np.ndarray],
    num_classes: int,
    *,
    seeds: Sequence[int],
    epochs: int = 100,
    lr: float = 0.01,
    milestones: Sequence[int] = (50, 75),
    batch_size: int = 128,
    normalise: str = "standardise",
    device: str | None = None,
) -> list[LinearHead]:
    """``fit_linear`` for several heads of one shape at once: head ``i`` trains on
    ``xs[i], ys[i]`` with ``seeds[i]`` exactly as ``fit_linear(xs[i], ys[i], num_classes,
    seed=seeds[i], ...)`` would (its own normalisation, initialisation and batch order),
    and every step is one stacked matrix product for all heads, so the per-step cost of
    a few dozen calls is paid once instead of once per head. All ``xs`` need the same
    shape (cells of one dataset, backbone and budget). On the CPU the heads equal
    ``fit_linear``'s bit for bit (numpy's stacked product is one ``sgemm`` per head, see
    tests/test_evaluator_linear.py). On CUDA the stack is one ``bmm`` a step, which is
    what makes a GPU pay for small heads (launch-bound one by one); cuBLAS may round a
    product of a stack of heads differently from that of one head, so there a head
    trained in a stack equals the lone one to float32 rounding, not bit for bit. A CUDA
    stack holds as many heads as fit in half the device's free memory
    (``StackedProblem.bytes_per_head``); the rest train in further stacks."""
    if not len(xs) == len(ys) == len(seeds) or not xs:
        raise ValueError("xs, ys and seeds must be non-empty and of one length")
    if len({np.shape(x) for x in xs}) != 1:
        raise ValueError("every training set must have the same shape")
    device = device or ("cuda" if cuda_available() else "cpu")
    prepared = [normalisation(x, normalise) for x in xs]
    weights, orders = [], []
    for (inputs, _, _), seed in zip(prepared, seeds):
        # torch.manual_seed(seed) for the layer, a torch.Generator seeded with seed for the order
        weight, bias = TorchRandom(seed).linear(inputs.shape[1], num_classes)
        weights.append(np.vstack([weight.T, bias[None]]))  # the layer as one [D + 1, C] matrix
        shuffle = TorchRandom(seed)
        orders.append([shuffle.randperm(len(inputs)) for _ in range(epochs)])
    problem = StackedProblem(
        weights=np.ascontiguousarray(np.stack(weights)),
        # the inputs with a column of ones, for the bias row
        inputs=np.stack([np.hstack([p[0], np.ones((len(p[0]), 1), np.float32)]) for p in prepared]),
        targets=np.stack([np.asarray(y, dtype=np.int64) for y in ys]),
        rates=[lr * step_decay(epoch, milestones) for epoch in range(epochs)],
        orders=[np.stack(epoch_orders) for epoch_orders in zip(*orders)],
        batch_size=batch_size)
    if device == "cpu":
        with one_blas_thread():
            trained = _train_numpy(problem)
    else:
        per_stack = problem.heads_within(_device_free_bytes(device))
        trained = np.concatenate([_train_torch(part, device.removeprefix("torch-")) for part in problem.parts(per_stack)])
    return [LinearHead(np.ascontiguousarray(w[:-1].T), w[-1].copy(), p[1], p[2], problem.rates, normalise,
                       "cpu" if device == "torch-cpu" else device)
            for w, p in zip(trained, prepared)]


@dataclass
class StackedProblem:
    """The training of ``H`` heads of one shape: ``weights [H, D + 1, C]`` (bias as the
    last row), ``inputs [H, N, D + 1]`` (normalised, a column of ones last), ``targets
    [H, N]``, the learning rate of each epoch and each epoch's ``[H, N]`` batch order."""

    weights: np.ndarray
    inputs: np.ndarray
    targets: np.ndarray
    rates: list[float]
    orders: list[np.ndarray]
    batch_size: int

    def bytes_per_head(self) -> int:
        """Device memory one head's training holds: its inputs twice (the epoch's shuffled
        copy), its targets, and weights, gradient and Adam's two moments."""
        _, rows, width = self.inputs.shape
        return 2 * rows * width * 4 + rows * 8 + 4 * width * self.weights.shape[2] * 4

    def heads_within(self, free_bytes: int | None) -> int:
        """How many heads a stack may hold in half of ``free_bytes`` (``None``: all), at least one."""
        if free_bytes is None:
            return len(self.inputs)
        return max(1, min(len(self.inputs), free_bytes // 2 // self.bytes_per_head()))

    def parts(self, heads: int) -> list[StackedProblem]:
        """The problem cut into stacks of at most ``heads`` heads, in order."""
        return [StackedProblem(self.weights[start:start + heads], self.inputs[start:start + heads],
                               self.targets[start:start + heads], self.rates,
                               [order[start:start + heads] for order in self.orders], self.batch_size)
                for start in range(0, len(self.inputs), heads)]

    def batches(self, inputs, targets, as_array=np.asarray):
        """``(rate, batch inputs [H, B, D + 1], batch targets [H, B])`` for every step:
        each epoch's order cut into ``batch_size`` rows (the last batch may be smaller).
        ``inputs`` and ``targets`` are ``self``'s, as numpy arrays or as tensors on a
        device (``as_array`` then makes the orders tensors there)."""
        heads = as_array(np.arange(len(self.inputs))[:, None])
        for rate, order in zip(self.rates, self.orders):
            order = as_array(order)
            shuffled_x, shuffled_y = inputs[heads, order], targets[heads, order]
            for start in range(0, order.shape[1], self.batch_size):
                yield rate, shuffled_x[:, start:start + self.batch_size], shuffled_y[:, start:start + self.batch_size]


ADAM_CHUNK = 65536  # elements: the four arrays of one chunk's update stay in a core's L2 cache


class Adam:
    """torch's single-tensor Adam (default betas and eps, no weight decay) on numpy float32
    arrays (C-contiguous), updated in place: ``step(grads, rate)`` after each gradient.
    Large arrays are updated ``ADAM_CHUNK`` elements at a time: the update is elementwise,
    so the result is the same bit for bit, and a chunk's ten passes stay in cache (for a
    stack of 1,000-class heads, benchmarks/RESULTS.md, "Grid wall time")."""

    def __init__(self, params: Sequence[np.ndarray]):
        if not all(p.flags.c_contiguous for p in params):
            raise ValueError("Adam updates C-contiguous arrays in place")
        self.params = list(params)
        self.first = [np.zeros_like(p) for p in self.params]
        self.second = [np.zeros_like(p) for p in self.params]
        self.scratch = [np.empty(min(p.size, ADAM_CHUNK), p.dtype) for p in self.params]
        self.steps = 0

    def step(self, grads: Sequence[np.ndarray], rate: float) -> None:
        self.steps += 1
        correction1, correction2 = 1 - BETA1**self.steps, math.sqrt(1 - BETA2**self.steps)
        step_size, denominator = np.float32(-rate / correction1), np.float32(correction2)
        for *arrays, scratch in zip(self.params, grads, self.first, self.second, self.scratch):
            param, grad, first, second = (a.reshape(-1) for a in arrays)  # views, but for a strided grad
            for start in range(0, len(param), ADAM_CHUNK):
                part = slice(start, start + ADAM_CHUNK)
                _adam_update(param[part], grad[part], first[part], second[part], scratch[:len(param[part])],
                             step_size, denominator)


def _adam_update(param, grad, first, second, scratch, step_size, denominator) -> None:
    """One Adam update of (a chunk of) a parameter in place, torch's operations in torch's order."""
    np.subtract(grad, first, out=scratch)  # lerp_(grad, 1 - beta1)
    scratch *= np.float32(1 - BETA1)
    first += scratch
    second *= np.float32(BETA2)
    np.multiply(grad, grad, out=scratch)
    scratch *= np.float32(1 - BETA2)
    second += scratch
    np.sqrt(second, out=scratch)
    scratch /= denominator
    scratch += np.float32(EPS)
    np.divide(first, scratch, out=scratch)
    scratch *= step_size
    param += scratch


def _device_free_bytes(device: str) -> int | None:
    """Free memory of a CUDA ``device`` in bytes; ``None`` elsewhere (the CPU's torch
    reference trains every head in one stack)."""
    if not device.startswith("cuda"):
        return None
    import torch

    return int(torch.cuda.mem_get_info(torch.device(device))[0])


def _train_numpy(problem: StackedProblem) -> np.ndarray:
    """Mini-batch Adam on the cross-entropy of ``inputs @ weights`` for every head, in
    numpy; the trained ``weights`` (updated in place)."""
    weights = problem.weights
    adam = Adam([weights])
    heads = np.arange(len(weights))[:, None]
    for rate, batch_x, batch_y in problem.batches(problem.inputs, problem.targets):
        # d(mean cross-entropy)/d(logits) = (softmax - one-hot) / batch
        error = np.matmul(batch_x, weights)
        error -= error.max(axis=2, keepdims=True)
        np.exp(error, out=error)
        error /= error.sum(axis=2, keepdims=True)
        error[heads, np.arange(batch_y.shape[1])[None], batch_y] -= 1
        grad = np.matmul(batch_x.transpose(0, 2, 1), error)
        grad /= np.float32(batch_y.shape[1])
        adam.step((grad,), rate)
    return weights


def _train_torch(problem: StackedProblem, device: str) -> np.ndarray:
    """``_train_numpy`` as torch tensors on ``device`` (a GPU; on the CPU, the reference),
    one ``bmm`` for all heads a step."""
    import torch

    def on_device(array: np.ndarray):
        return torch.as_tensor(array, device=device)

    weights = on_device(problem.weights).contiguous()
    minus_one = torch.full((len(weights), problem.batch_size, 1), -1.0, device=device)
    first_moment, second_moment = torch.zeros_like(weights), torch.zeros_like(weights)
    batches = problem.batches(on_device(problem.inputs), on_device(problem.targets[:, :, None]), on_device)
    for step, (rate, batch_x, batch_y) in enumerate(batches, start=1):
        rows = batch_y.shape[1]
        error = torch.softmax(torch.bmm(batch_x, weights), dim=2).scatter_add_(2, batch_y, minus_one[:, :rows])
        grad = torch.bmm(batch_x.transpose(1, 2), error).div_(rows)
        first_moment.lerp_(grad, 1 - BETA1)
        second_moment.mul_(BETA2).addcmul_(grad, grad, value=1 - BETA2)
        denom = second_moment.sqrt().div_(math.sqrt(1 - BETA2**step)).add_(EPS)
        weights.addcdiv_(first_moment, denom, value=-rate / (1 - BETA1**step))
    return weights.cpu().numpy()
