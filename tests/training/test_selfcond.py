"""The self-conditioned GAN's two pieces: unsupervised cluster labels, and the noise-driven cluster sampler."""

import torch
from torch import nn

from training.data.clusters import kmeans
from training.families.selfcond import MixtureGenerator


def test_kmeans_separates_two_blobs() -> None:
    gen = torch.Generator().manual_seed(0)
    x = torch.cat([torch.randn(50, 4, generator=gen), torch.randn(30, 4, generator=gen) + 20])
    labels, centers = kmeans(x, 2, seed=1)
    assert centers.shape == (2, 4)
    assert len(set(labels[:50].tolist())) == 1 and len(set(labels[50:].tolist())) == 1
    assert labels[0] != labels[-1]


class LabelEcho(nn.Module):
    """Stands in for G: returns the cluster it was asked for as the image's value."""

    def forward(self, z: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        return label.float().view(-1, 1, 1, 1).expand(-1, 1, 2, 2)


def test_mixture_draws_clusters_in_proportion_to_their_shares() -> None:
    shares = torch.tensor([0.5, 0.2, 0.3])
    mixture = MixtureGenerator(LabelEcho(), shares)
    z = torch.randn(30000, 5, generator=torch.Generator().manual_seed(0))
    clusters = mixture(z)[:, 0, 0, 0].long()
    observed = torch.bincount(clusters, minlength=3).float() / len(clusters)
    torch.testing.assert_close(observed, shares, atol=0.01, rtol=0)
    # the cluster depends on z[:, 0] only, so one image is reproducible from its own noise
    assert torch.equal(mixture(z[:7]), mixture(z)[:7])
