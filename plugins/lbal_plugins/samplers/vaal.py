"""``vaal``: Variational Adversarial Active Learning on frozen features.

Sinha, Ebrahimi and Darrell, "Variational Adversarial Active Learning", ICCV 2019, as
adapted to feature vectors by Pourahmadi, Nooralinejad and Pirsiavash, "A Simple
Baseline for Low-Budget Active Learning" (arXiv, 2021), §4. Iterative: at each step a
VAE learns a latent space of the whole pool while a discriminator on the latent mean
learns to tell labeled (1) from unlabeled (0) points, and the VAE is also trained to make
every latent look labeled. The ``budget`` unlabeled points the discriminator scores as
least "labeled-looking" (lowest score; ties to the lower pool index) are labeled next:
points unlike anything labeled so far.

Protocol, with the VAAL code's values (sinhasam/vaal ``solver.py``) where they apply:
each iteration takes ``vae_steps=2`` VAE steps, each on a fresh batch of
``batch_size=64`` labeled and 64 unlabeled points, then one discriminator step on the
last of those batches with the updated VAE's latent means; both networks use Adam
at ``lr=5e-4``; ``beta=1`` weighs the KL term and ``adversary_param=1`` the adversarial
term. Other options: ``latent_dim=32`` (as VAAL), ``hidden_dim=256``, ``iterations=300``.

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
  epochs over the pool): about 5 seconds on 2 busy CPU cores for the 1347-point digits
  pool, where it is about 29 passes over the unlabeled set; on a large pool the VAE sees
  only 38k unlabeled samples, so raise it there (ImageNet at VAAL's 100 epochs would be
  ~2M iterations).
- Batches are drawn with replacement (VAAL cycled shuffled loaders), so a labeled set
  smaller than a batch works; the discriminator outputs a logit trained with
  ``BCEWithLogits`` (VAAL: a sigmoid and ``BCELoss``), and picks rank by that logit,
  which does not saturate to ties.

All randomness comes from ``rng``: network initialisation under a forked torch generator,
batches from ``rng``, reparameterisation noise from a seeded ``torch.Generator``; on CPU a
seed reproduces the selection bit for bit. Runs on CUDA when available.
"""

from __future__ import annotations

import numpy as np

from lbal_bench import Pool, hookimpl
from lbal_bench.compute import torch_device

BLOCK = 65536  # unlabeled points scored at a time


class VAALSampler:
    """Label the unlabeled points a labeled-vs-unlabeled discriminator finds least labeled."""

    uses_labels = False
    iterative = True

    def __init__(
        self,
        iterations: int = 300,
        latent_dim: int = 32,
        hidden_dim: int = 256,
        batch_size: int = 64,
        lr: float = 5e-4,
        beta: float = 1.0,
        adversary_param: float = 1.0,
        vae_steps: int = 2,
    ):
        for name, value in (("iterations", iterations), ("latent_dim", latent_dim), ("hidden_dim", hidden_dim),
                            ("batch_size", batch_size), ("vae_steps", vae_steps)):
            if value < 1:
                raise ValueError(f"{name} must be at least 1")
        if not lr > 0:
            raise ValueError("lr must be positive")
        if beta < 0 or adversary_param < 0:
            raise ValueError("beta and adversary_param must not be negative")
        self.iterations = iterations
        self.latent_dim = latent_dim
        self.hidden_dim = hidden_dim
        self.batch_size = batch_size
        self.lr = lr
        self.beta = beta
        self.adversary_param = adversary_param
        self.vae_steps = vae_steps

    def _networks(self, dim: int, seed: int, device: str):
        import torch
        from torch import nn

        h, z = self.hidden_dim, self.latent_dim
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            encoder = nn.Sequential(nn.Linear(dim, h), nn.ReLU(), nn.Linear(h, h), nn.ReLU(), nn.Linear(h, 2 * z))
            decoder = nn.Sequential(nn.Linear(z, h), nn.ReLU(), nn.Linear(h, h), nn.ReLU(), nn.Linear(h, dim))
            discriminator = nn.Sequential(nn.Linear(z, h), nn.ReLU(), nn.Linear(h, h), nn.ReLU(), nn.Linear(h, 1))
        return encoder.to(device), decoder.to(device), discriminator.to(device)

    def select(self, pool: Pool, budget: int, rng: np.random.Generator) -> np.ndarray:
        if not len(pool.labeled):
            raise ValueError("vaal needs an initial labeled pool")
        import torch
        import torch.nn.functional as F

        device = torch_device()
        dim = pool.features.shape[1]
        labeled, unlabeled = pool.labeled, pool.unlabeled
        encoder, decoder, discriminator = self._networks(dim, int(rng.integers(2**31 - 1)), device)
        noise = torch.Generator(device=device).manual_seed(int(rng.integers(2**31 - 1)))
        optim_vae = torch.optim.Adam([*encoder.parameters(), *decoder.parameters()], lr=self.lr)
        optim_disc = torch.optim.Adam(discriminator.parameters(), lr=self.lr)
        scale = np.float32(np.sqrt(dim))

        def rows(indices: np.ndarray) -> torch.Tensor:
            return torch.as_tensor(np.asarray(pool.features[indices], dtype=np.float32) * scale, device=device)

        def batches() -> torch.Tensor:
            """A batch of labeled points stacked on a batch of unlabeled points."""
            picks = [part[rng.integers(len(part), size=self.batch_size)] for part in (labeled, unlabeled)]
            return rows(np.concatenate(picks))

        # the halves have the same size, so a mean over the stacked batch is half the sum of
        # VAAL's labeled and unlabeled means, a factor Adam's updates do not depend on
        is_labeled = torch.cat([torch.ones(self.batch_size, 1), torch.zeros(self.batch_size, 1)]).to(device)
        for _ in range(self.iterations):
            for _ in range(self.vae_steps):
                x = batches()
                mu, logvar = encoder(x).chunk(2, dim=1)
                z = mu + (0.5 * logvar).exp() * torch.randn(mu.shape, generator=noise, device=device)
                kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1).mean() / dim
                fool = F.binary_cross_entropy_with_logits(discriminator(mu), torch.ones_like(is_labeled))
                loss = F.mse_loss(decoder(z), x) + self.beta * kl + self.adversary_param * fool
                optim_vae.zero_grad(set_to_none=True)
                loss.backward()
                optim_vae.step()
            with torch.no_grad():
                mu = encoder(x)[:, :self.latent_dim]
            tell = F.binary_cross_entropy_with_logits(discriminator(mu), is_labeled)
            optim_disc.zero_grad(set_to_none=True)
            tell.backward()
            optim_disc.step()

        with torch.no_grad():
            scores = np.concatenate([
                discriminator(encoder(rows(unlabeled[start:start + BLOCK]))[:, :self.latent_dim]).cpu().numpy()[:, 0]
                for start in range(0, len(unlabeled), BLOCK)
            ])
        return unlabeled[np.argsort(scores, kind="stable")[:budget]]


@hookimpl
def lbal_register_samplers(register):
    register("vaal", VAALSampler, description="VAE + labeled/unlabeled discriminator; least labeled-looking points")
