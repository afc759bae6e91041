"""``vaal``: Variational Adversarial Active Learning on frozen features.

Sinha, Ebrahimi and Darrell, "Variational Adversarial Active Learning", ICCV 2019, as
adapted to feature vectors by Pourahmadi, Nooralinejad and Pirsiavash, "A Simple
Baseline for Low-Budget Active Learning" (arXiv, 2021), §4. Iterative: at each step a
VAE learns a latent space of the whole pool while a discriminator on the latent mean
learns to tell labeled (1) from unlabeled (0) points, and the VAE is also trained to make
every latent look labeled. The ``budget`` unlabeled points the discriminator scores as
least "labeled-looking" (lowest score; ties to the lower pool index) are labeled next:
points unlike anything labeled so far.

Protocol, with the VAAL code's values (sinhasam/vaal ``solver.py``, ``arguments.py``)
where they apply: each iteration takes ``vae_steps=2`` VAE steps, each on a fresh batch
of ``batch_size=128`` labeled and 128 unlabeled points (VAAL's ``--batch_size`` default,
the size of each of its two loaders' batches), then one discriminator step on the last
of those batches with the updated VAE's latent means; both networks use Adam at
``lr=5e-4``; ``beta=1`` weighs the KL term and ``adversary_param=1`` the adversarial
term. Other options: ``latent_dim=32`` (as VAAL), ``hidden_dim=256``, ``iterations=300``.
The batch is the main cost (linear in it): 262 GFLOP a selection at 128 + 128, about 3 s
on one core for digits; ``batch_size: 64`` (the default before) halves it.

Differences from the original:

- MLPs replace the convolutional VAE and the image discriminator: the encoder and the
  decoder have two hidden ReLU layers of ``hidden_dim`` units, the discriminator two
  (VAAL's had four of 512); no task model is trained (it played no part in the choice).
- The VAE sees the L2-normalised features multiplied by ``sqrt(D)``, so a coordinate has
  mean square 1 on average, as pixels scaled to [-1, 1] have; at the raw scale of
  ``1/sqrt(D)`` the reconstruction error is negligible next to the KL term, the latent
  means carry little, and on two separated blobs with labels in one the picks came from
  the other no more often than random picks did (every pick did, once scaled).
- The VAE loss is the per-dimension ELBO: squared error averaged over the batch and the
  feature dimensions (VAAL's ``MSELoss``) plus ``beta`` times the KL divergence summed
  over latent dimensions, averaged over the batch and divided by ``D``; VAAL summed the
  KL over the batch too, which weighs it ``batch_size * D`` times more than here.
- ``iterations=300`` by default instead of ``epochs * N / batch_size`` (VAAL: 100
  epochs over the pool): about 3 seconds on one CPU core for the 1347-point digits
  pool, where it is about 57 passes over the unlabeled set; on a large pool the VAE sees
  only 77k unlabeled samples, so raise it there (ImageNet at VAAL's 100 epochs would be
  ~1M iterations).
- Batches are drawn with replacement (VAAL cycled shuffled loaders), so a labeled set
  smaller than a batch works; the discriminator outputs a logit trained with
  ``BCEWithLogits`` (VAAL: a sigmoid and ``BCELoss``), and picks rank by that logit,
  which does not saturate to ties.

The three MLPs are trained in numpy with their gradients written out (no autograd, no
torch import), on one BLAS thread (``one_blas_thread``): at these sizes torch's
per-operation cost was as large as the arithmetic, and threads only wait on each other.
The steps are torch's: ``torch.nn.Linear``'s initialisation (``TorchRandom``, bit for
bit), the same losses and ``torch.optim.Adam``'s update; tests/test_sampler_vaal.py
checks the gradients against torch autograd (equal to float32 rounding).
All randomness comes from ``rng``: the initialisation seed, batches, and the
reparameterisation noise (a numpy generator seeded from ``rng``); on CPU a seed
reproduces the selection bit for bit. (Before the numpy version the noise came from a
torch generator and the batch was 64 + 64, so selections differ from those of earlier
releases.)
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from annotated_types import Ge, Gt

from lbal_bench import Pool, hookimpl
from lbal_bench.kit.compute import one_blas_thread
from lbal_bench.kit.training import Adam, TorchRandom

BLOCK = 65536  # unlabeled points scored at a time


class MLP:
    """``Linear → ReLU → Linear → ReLU → Linear`` in numpy float32, initialised as
    ``torch.nn.Linear`` layers drawn in order from ``random``; weights stored ``[in, out]``."""

    def __init__(self, random: TorchRandom, sizes: tuple[int, int, int, int]):
        self.params: list[np.ndarray] = []
        for fan_in, fan_out in zip(sizes, sizes[1:]):
            weight, bias = random.linear(fan_in, fan_out)
            self.params += [np.ascontiguousarray(weight.T), bias]

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, tuple]:
        """The output and what ``backward`` needs."""
        w1, b1, w2, b2, w3, b3 = self.params
        h1 = x @ w1
        h1 += b1
        np.maximum(h1, 0, out=h1)
        h2 = h1 @ w2
        h2 += b2
        np.maximum(h2, 0, out=h2)
        out = h2 @ w3
        out += b3
        return out, (x, h1, h2)

    def backward(self, d_out: np.ndarray, cache: tuple, params: bool = True, inputs: bool = True):
        """``(parameter gradients or None, input gradient or None)`` for the output gradient ``d_out``."""
        x, h1, h2 = cache
        w1, _, w2, _, w3, _ = self.params
        d_h2 = d_out @ w3.T
        np.multiply(d_h2, h2 > 0, out=d_h2)
        d_h1 = d_h2 @ w2.T
        np.multiply(d_h1, h1 > 0, out=d_h1)
        grads = [x.T @ d_h1, d_h1.sum(axis=0), h1.T @ d_h2, d_h2.sum(axis=0), h2.T @ d_out, d_out.sum(axis=0)] \
            if params else None
        return grads, (d_h1 @ w1.T if inputs else None)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return np.float32(0.5) * (np.tanh(np.float32(0.5) * x) + np.float32(1))


class VAALSampler:
    """Label the unlabeled points a labeled-vs-unlabeled discriminator finds least labeled."""

    uses_labels = False
    iterative = True

    def __init__(
        self,
        iterations: Annotated[int, Ge(1)] = 300,
        latent_dim: Annotated[int, Ge(1)] = 32,
        hidden_dim: Annotated[int, Ge(1)] = 256,
        batch_size: Annotated[int, Ge(1)] = 128,
        lr: Annotated[float, Gt(0)] = 5e-4,
        beta: Annotated[float, Ge(0)] = 1.0,
        adversary_param: Annotated[float, Ge(0)] = 1.0,
        vae_steps: Annotated[int, Ge(1)] = 2,
    ):
        self.iterations = iterations
        self.latent_dim = latent_dim
        self.hidden_dim = hidden_dim
        self.batch_size = batch_size
        self.lr = lr
        self.beta = beta
        self.adversary_param = adversary_param
        self.vae_steps = vae_steps

    def networks(self, dim: int, seed: int) -> tuple[MLP, MLP, MLP]:
        """Encoder (to ``2 * latent_dim``: means, log-variances), decoder and discriminator,
        initialised as ``torch.nn.Sequential`` models built in that order after
        ``torch.manual_seed(seed)``."""
        random, h, z = TorchRandom(seed), self.hidden_dim, self.latent_dim
        return MLP(random, (dim, h, h, 2 * z)), MLP(random, (z, h, h, dim)), MLP(random, (z, h, h, 1))

    def vae_gradients(self, encoder: MLP, decoder: MLP, discriminator: MLP, x: np.ndarray,
                      eps: np.ndarray) -> list[np.ndarray]:
        """Gradients of the VAE loss (encoder's parameters, then decoder's) on the stacked
        batch ``x`` (labeled rows, then as many unlabeled) with reparameterisation noise ``eps``:
        mean squared error + ``beta`` × KL / D + ``adversary_param`` × BCE(discriminator(mu), 1).
        """
        rows, dim, z = len(x), x.shape[1], self.latent_dim
        out, encoded = encoder.forward(x)
        mu, logvar = out[:, :z], out[:, z:]
        std = np.exp(np.float32(0.5) * logvar)
        reconstruction, decoded = decoder.forward(mu + std * eps)
        logit, judged = discriminator.forward(mu)
        mean_scale = np.float32(1 / (rows * dim))  # squared error and KL: means over rows and D
        decoder_grads, d_latent = decoder.backward(np.float32(2) * mean_scale * (reconstruction - x), decoded)
        # BCE(logit, 1) is the mean of softplus(-logit): its derivative is (sigmoid(logit) - 1) / rows
        _, d_fool = discriminator.backward(
            (sigmoid(logit) - 1) * np.float32(self.adversary_param / rows), judged, params=False)
        # KL = -0.5 * sum(1 + logvar - mu^2 - exp(logvar)), a mean over rows, / D
        kl_scale = np.float32(self.beta) * mean_scale
        d_mu = d_latent + d_fool + kl_scale * mu
        d_logvar = np.float32(0.5) * (d_latent * eps * std + kl_scale * (std * std - 1))
        encoder_grads, _ = encoder.backward(np.hstack([d_mu, d_logvar]), encoded, inputs=False)
        return encoder_grads + decoder_grads

    def discriminator_gradients(self, encoder: MLP, discriminator: MLP, x: np.ndarray) -> list[np.ndarray]:
        """Gradients of BCE(discriminator(mu), is-labeled) on the stacked batch ``x``, its
        first half labeled; mu from the (updated) encoder, not differentiated."""
        logit, judged = discriminator.forward(encoder.forward(x)[0][:, :self.latent_dim])
        is_labeled = np.repeat(np.float32([1, 0]), len(x) // 2)[:, None]
        # the halves have the same size, so a mean over the stacked batch is half the sum of
        # VAAL's labeled and unlabeled means, a factor Adam's updates do not depend on
        return discriminator.backward((sigmoid(logit) - is_labeled) / np.float32(len(x)), judged, inputs=False)[0]

    def select(self, pool: Pool, budget: int, rng: np.random.Generator) -> np.ndarray:
        with one_blas_thread():
            unlabeled, scores = self.scores(pool, rng)
        return unlabeled[np.argsort(scores, kind="stable")[:budget]]

    def scores(self, pool: Pool, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """The unlabeled indices and the trained discriminator's logit for each."""
        if not len(pool.labeled):
            raise ValueError("vaal needs an initial labeled pool")
        dim = pool.features.shape[1]
        labeled, unlabeled = pool.labeled, pool.unlabeled
        encoder, decoder, discriminator = self.networks(dim, int(rng.integers(2**31 - 1)))
        noise = np.random.default_rng(int(rng.integers(2**31 - 1)))
        optim_vae, optim_disc = Adam(encoder.params + decoder.params), Adam(discriminator.params)
        scale, z = np.float32(np.sqrt(dim)), self.latent_dim

        def features(indices: np.ndarray) -> np.ndarray:
            return np.asarray(pool.features[indices], dtype=np.float32) * scale

        def batches() -> np.ndarray:
            """A batch of labeled points stacked on a batch of unlabeled points."""
            picks = [part[rng.integers(len(part), size=self.batch_size)] for part in (labeled, unlabeled)]
            return features(np.concatenate(picks))

        for _ in range(self.iterations):
            for _ in range(self.vae_steps):
                x = batches()
                eps = noise.standard_normal((len(x), self.latent_dim), dtype=np.float32)
                optim_vae.step(self.vae_gradients(encoder, decoder, discriminator, x, eps), self.lr)
            optim_disc.step(self.discriminator_gradients(encoder, discriminator, x), self.lr)

        scores = np.concatenate([
            discriminator.forward(encoder.forward(features(unlabeled[start:start + BLOCK]))[0][:, :z])[0][:, 0]
            for start in range(0, len(unlabeled), BLOCK)
        ])
        return unlabeled, scores


@hookimpl
def lbal_register_samplers(register):
    register("vaal", VAALSampler, description="VAE + labeled/unlabeled discriminator; least labeled-looking points")
