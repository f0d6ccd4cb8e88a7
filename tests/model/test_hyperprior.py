import math

import numpy as np
import pytest
import torch

from licfpga.model.entropy import TABLE_PRECISION, EntropyBottleneck, GaussianConditional, SymbolTable
from licfpga.model.hyperprior import ScaleHyperprior, config_from_state_dict, from_compressai_state_dict, macs_per_pixel
from licfpga.model.layers import GDN


def compressai_layout_state_dict(N: int, M: int) -> dict:
    """A state dict shaped as CompressAI's ScaleHyperprior saves it (random values),
    including the CDF buffers its update() fills in, which licfpga does not use."""
    state = {
        k: torch.randn_like(v) if v.is_floating_point() else v for k, v in ScaleHyperprior(N, M).state_dict().items()
    }
    for owner in ("entropy_bottleneck", "gaussian_conditional"):
        state[f"{owner}._offset"] = torch.zeros(N, dtype=torch.int32)
        state[f"{owner}._quantized_cdf"] = torch.zeros(N, 17, dtype=torch.int32)
        state[f"{owner}._cdf_length"] = torch.zeros(N, dtype=torch.int32)
    state["gaussian_conditional.scale_table"] = torch.Tensor()
    return {"module." + k: v for k, v in state.items()}


@pytest.mark.parametrize("N,M", [(8, 16), (128, 192)])
def test_compressai_checkpoint_loads_as_teacher(N, M):
    state = compressai_layout_state_dict(N, M)
    model = from_compressai_state_dict({"state_dict": state})
    assert (model.N, model.M) == (N, M)
    assert torch.equal(model.g_a[0].weight, state["module.g_a.0.weight"])
    assert torch.equal(model.h_s[4].bias, state["module.h_s.4.bias"])
    assert len(model.gaussian_conditional.scale_table) == 64


def test_compressai_layout_names():
    keys = set(ScaleHyperprior(8, 16).state_dict())
    for key in (
        "g_a.1.beta",
        "g_a.1.gamma",
        "g_a.1.beta_reparam.pedestal",
        "g_a.1.gamma_reparam.lower_bound.bound",
        "g_s.1.beta",
        "h_a.0.weight",
        "h_a.2.weight",
        "h_a.4.weight",
        "h_s.0.weight",
        "h_s.4.weight",
        "entropy_bottleneck._matrix0",
        "entropy_bottleneck._bias3",
        "entropy_bottleneck._factor2",
        "entropy_bottleneck.quantiles",
        "gaussian_conditional.scale_table",
    ):
        assert key in keys, key


def test_mismatched_checkpoint_names_the_problem():
    state = compressai_layout_state_dict(8, 16)
    state["module.g_a.2.weight"] = torch.zeros(8, 8, 3, 3)
    del state["module.h_s.4.bias"]
    with pytest.raises(ValueError, match=r"missing h_s\.4\.bias.*g_a\.2\.weight"):
        from_compressai_state_dict(state)
    with pytest.raises(ValueError, match="not a scale-hyperprior"):
        config_from_state_dict({"foo": torch.zeros(1)})


def test_forward_shapes_and_rate():
    torch.manual_seed(0)
    model = ScaleHyperprior(8, 16)
    with torch.no_grad():  # an untrained model rounds every latent to 0: widen them so gradients flow
        model.g_a[6].weight.mul_(100)
        model.h_a[4].weight.mul_(100)
    x = torch.rand(2, 3, 64, 128)
    out = model.train()(x)
    assert out["x_hat"].shape == x.shape
    assert out["y"].shape == (2, 16, 4, 8)
    assert out["likelihoods"]["z"].shape == (2, 8, 1, 2)
    for lik in out["likelihoods"].values():
        assert torch.all(lik > 0) and torch.all(lik <= 1)
    loss = sum(-torch.log2(lik).sum() for lik in out["likelihoods"].values())
    loss.backward()
    assert model.g_a[0].weight.grad.abs().sum() > 0
    assert model.h_a[0].weight.grad.abs().sum() > 0 and model.h_s[0].weight.grad.abs().sum() > 0


def test_gdn_matches_definition():
    torch.manual_seed(0)
    gdn = GDN(4)
    with torch.no_grad():
        gdn.gamma.copy_(gdn.gamma_reparam.init(torch.rand(4, 4) * 0.2))
    x = torch.randn(1, 4, 3, 3)
    beta, gamma = gdn.effective_parameters()
    norm = beta.view(1, 4, 1, 1) + torch.einsum("ij,njhw->nihw", gamma, x * x)
    torch.testing.assert_close(gdn(x), x / torch.sqrt(norm))
    gdn.inverse = True
    torch.testing.assert_close(gdn(x), x * torch.sqrt(norm))


def test_gdn_parameters_stay_non_negative():
    gdn = GDN(3)
    with torch.no_grad():
        gdn.beta.fill_(-5.0)
        gdn.gamma.fill_(-5.0)
    beta, gamma = gdn.effective_parameters()
    assert torch.all(beta >= 1e-6 - 1e-12) and torch.all(gamma >= 0)


@pytest.mark.parametrize("offset,pmf", [(-3, [0.1, 0.2, 0.4, 0.2, 0.1]), (0, [1.0]), (-1, [1e-12, 0.5, 0.49])])
def test_symbol_table_is_a_valid_distribution(offset, pmf):
    table = SymbolTable.from_pmf(offset, np.array(pmf))
    assert int(table.freqs.sum()) == 2**TABLE_PRECISION
    assert table.freqs.min() >= 1 and table.support == len(pmf)
    assert np.argmax(table.freqs[:-1]) == np.argmax(pmf)


def test_gaussian_tables_follow_the_scale():
    gc = GaussianConditional()
    tables = gc.tables()
    assert len(tables) == len(gc.scale_table)
    # Wider scales need wider tables, and the centre loses probability as the scale grows.
    assert all(a.support <= b.support for a, b in zip(tables, tables[1:]))
    centre = [t.freqs[-t.offset] for t in tables]
    assert all(a >= b for a, b in zip(centre, centre[1:]))
    # Cross-entropy of the table at scale s is close to the differential entropy of N(0, s²) quantized.
    table = tables[40]
    s = float(gc.scale_table[40])
    p = table.freqs[:-1] / 2**TABLE_PRECISION
    bits = -(p * np.log2(p)).sum()
    assert abs(bits - math.log2(s * math.sqrt(2 * math.pi * math.e))) < 0.05


def test_scale_indexes_pick_the_smallest_table_scale_not_below():
    gc = GaussianConditional()
    table = gc.scale_table
    scales = torch.cat([table[:5], table[:5] * 1.001, torch.tensor([0.0, 1e4])])
    idx = gc.scale_indexes(scales)
    assert idx[:5].tolist() == [0, 1, 2, 3, 4]
    assert idx[5:10].tolist() == [1, 2, 3, 4, 5]
    assert idx[10:].tolist() == [0, len(table) - 1]


def test_factorized_tables_cover_the_learnt_tails():
    eb = EntropyBottleneck(4)
    with torch.no_grad():
        eb.quantiles.copy_(torch.tensor([-3.4, 0.1, 2.2]).repeat(4, 1, 1))
    for table in eb.tables():
        assert table.offset == -4 and table.support == 4 + 3 + 1
        assert int(table.freqs.sum()) == 2**TABLE_PRECISION


def test_aux_loss_moves_quantiles_towards_the_tails():
    torch.manual_seed(0)
    eb = EntropyBottleneck(2)
    optimizer = torch.optim.Adam([eb.quantiles], lr=0.1)
    first = eb.loss().item()
    for _ in range(50):
        optimizer.zero_grad()
        eb.loss().backward()
        optimizer.step()
    assert eb.loss().item() < first


def test_macs_per_pixel_match_the_design_brief():
    # The brief rounds: 43.5k, 12.3k, "≈ 4k".
    for N, expected, tolerance in ((128, 43.5e3, 0.01), (64, 12.3e3, 0.01), (32, 4.0e3, 0.06)):
        m = macs_per_pixel(N, 192)
        assert abs(m["g_a"] + m["h_a"] - expected) / expected < tolerance
