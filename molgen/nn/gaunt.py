"""Gaunt tensor products of irreps features (Luo et al., ICLR 2024), exact, on a sphere grid.

Maths. Read a channel of an irreps feature ``x [.., (L+1)^2]`` (layout of :mod:`molgen.nn.so3`) as
the spherical function ``f_x(u) = sum_k x_k Y_k(u)``, with e3nn's real harmonics in component
normalisation (``(1/4pi) integral Y_k Y_k' = delta``). The Gaunt product of x (degrees <= L1) and
y (degrees <= L2), truncated to degrees <= Lout, is the expansion of the pointwise product:

    z_k3 = (1/4pi) integral f_x(u) f_y(u) Y_k3(u) dOmega = sum_{k1,k2} G[k1, k2, k3] x_k1 y_k2,
    G[k1, k2, k3] = (1/4pi) integral Y_k1 Y_k2 Y_k3 dOmega

(so 0e x 0e -> 0e is the plain product). G is the real Gaunt coefficient: it is proportional,
per path (l1, l2, l3), to the Wigner-3j symbol, and vanishes unless l1 + l2 + l3 is even and
|l1 - l2| <= l3 <= l1 + l2. A Gaunt product is thus an e3nn "uuu" tensor product restricted to
the even paths with one fixed weight per path; learnable weights enter per degree and channel:
``x_lc <- a_lc x_lc``, ``y_lc <- b_lc y_lc``, ``z_lc <- c_lc z_lc``.

Formulation (chosen by measurement; numbers in molgen/nn/gaunt_grid.py and bench/RESULTS.md):
f_x and f_y are evaluated on the product quadrature of :func:`molgen.nn.so3.sphere_grid` of degree
L1 + L2 + Lout (Gauss-Legendre x uniform phi, exact), multiplied pointwise and projected back with
the quadrature weights: three dense matmuls ``[R*C, K] @ [K, P]`` per product, done in row chunks
that stay in cache, with a custom backward that is again a Gaunt product on the same grid. Against
e3nn's "uuu" product over the same paths (bench/tp.py, 4096 rows x 32 channels, fp32, one CPU
thread) forward+backward is 11x faster at L = 4 and ~20x at L = 6; the sparse-coefficient and
symmetry-folded variants were measured slower on CPU. The matrices are computed at construction in
float64 (never stored as files) and registered as non-persistent buffers.

Antisymmetric couplings. G is symmetric in its inputs and has no odd paths, so the cross product
1o x 1o -> 1e does not exist in a Gaunt product. :func:`cross_product_path` provides it
explicitly for l = 1 (cost 6 multiplies per channel); the output is a pseudo-vector (1e), so a
model that adds it to 1o channels is SE(3)- but not reflection-equivariant (it becomes
chirality-aware).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from molgen.nn.gaunt_grid import grid_pair, grid_product
from molgen.nn.gaunt_weighted import weighted_grid_product
from molgen.nn.so3 import degree_of_component, irreps_dim, irreps_string


def gaunt_coefficients(lmax1: int, lmax2: int, lmax_out: int) -> Tensor:
    """[K1, K2, K_out] float64 real Gaunt coefficients ``(1/4pi) integral Y_k1 Y_k2 Y_k3``."""
    degree = lmax1 + lmax2 + lmax_out
    y1, y2 = grid_pair(degree, lmax1)[0], grid_pair(degree, lmax2)[0]
    return torch.from_numpy(np.einsum("ap,bp,pc->abc", y1, y2, grid_pair(degree, lmax_out)[1]))


def check_irreps(name: str, t: Tensor, channels: int | None, lmax: int) -> None:
    if t.shape[-1] != irreps_dim(lmax) or (channels is not None and t.shape[-2] not in (1, channels)):
        want = f"[..., {channels if channels is not None else 'C'}, {irreps_dim(lmax)}]"
        raise ValueError(f"{name} must have shape {want} (degrees <= {lmax}), got {tuple(t.shape)}")


class ExactBuffers(nn.Module):
    """Base for modules holding constant float64-derived matrices as non-persistent buffers.

    Each buffer keeps its float64 source, so ``.double()`` after construction in float32 restores
    full precision (a plain cast would keep float32 rounding), and ``.to(device)`` works as usual.
    """

    def __init__(self):
        super().__init__()
        self._exact_sources: dict[str, np.ndarray] = {}

    def register_exact(self, name: str, array: np.ndarray) -> None:
        """Register ``array`` (float64 -> default float dtype; integer -> long) as a buffer."""
        dtype = torch.get_default_dtype() if array.dtype.kind == "f" else torch.long
        self._exact_sources[name] = array
        self.register_buffer(name, torch.tensor(array, dtype=dtype), persistent=False)

    def _apply(self, fn, recurse=True):
        super()._apply(fn, recurse)
        for name, array in self._exact_sources.items():
            old = getattr(self, name)
            setattr(self, name, torch.tensor(array, dtype=old.dtype, device=old.device))
        return self


class DegreeWeights(nn.Module):
    """Learnable per-degree, per-channel scale ``[C, L+1]`` applied to ``[..., C, (L+1)^2]``."""

    def __init__(self, channels: int, lmax: int, learnable: bool = True):
        super().__init__()
        self.lmax = lmax
        self.weight = nn.Parameter(torch.ones(channels, lmax + 1)) if learnable else None
        self.register_buffer("degree", degree_of_component(lmax), persistent=False)

    def expanded(self) -> Tensor:
        """[C, (L+1)^2]: the weight of each component (requires ``learnable``)."""
        return self.weight[:, self.degree]

    def forward(self, x: Tensor) -> Tensor:
        return x if self.weight is None else x * self.expanded()  # [..., C, K]


class GauntTensorProduct(ExactBuffers):
    """Channel-wise Gaunt tensor product ``[R, C, (L1+1)^2] x [R, C|1, (L2+1)^2] -> [R, C, (Lout+1)^2]``.

    ``z = c * Gaunt(a * x, b * y)`` with per-degree per-channel weights a, b, c (``weighted=True``;
    initialised to 1) and the Gaunt product of the module docstring. R is any batch of rows
    (nodes or edges; extra leading dims are allowed); y may have a single channel, broadcast over C.
    Equivalent to e3nn ``TensorProduct(irreps_in1, irreps_in2, irreps_out)`` with "uuu"
    instructions on all even paths (tested in tests/nn/test_gaunt.py).
    """

    def __init__(self, lmax1: int, lmax2: int, lmax_out: int, channels: int, weighted: bool = True):
        super().__init__()
        self.lmax1, self.lmax2, self.lmax_out, self.channels = lmax1, lmax2, lmax_out, channels
        self.irreps_in1 = irreps_string(channels, lmax1)
        self.irreps_in2 = irreps_string(channels, lmax2)
        self.irreps_out = irreps_string(channels, lmax_out)
        self.weight1 = DegreeWeights(channels, lmax1, weighted)
        self.weight2 = DegreeWeights(channels, lmax2, weighted)
        self.weight_out = DegreeWeights(channels, lmax_out, weighted)
        degree = lmax1 + lmax2 + lmax_out
        for name, lmax in (("1", lmax1), ("2", lmax2), ("_out", lmax_out)):
            to_grid, from_grid = grid_pair(degree, lmax)
            self.register_exact(f"to_grid{name}", to_grid)  # [K, P]
            self.register_exact(f"from_grid{name}", from_grid)  # [P, K]
        self.num_grid_points = (degree // 2 + 1) * (degree + 1)

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        """x: [R, C, (L1+1)^2], y: [R, C or 1, (L2+1)^2] -> [R, C, (Lout+1)^2]."""
        check_irreps("x", x, self.channels, self.lmax1)
        check_irreps("y", y, self.channels, self.lmax2)
        exact = self.to_grid1.dtype
        if torch.is_autocast_enabled(x.device.type) and (x.dtype != exact or y.dtype != exact):
            # mixed precision (e.g. bf16 autocast): the sphere-grid product runs in the module's exact dtype
            with torch.autocast(x.device.type, enabled=False):
                return self.forward(x.to(exact), y.to(exact))
        if x.dtype != exact or y.dtype != exact:
            raise ValueError(f"x ({x.dtype}) and y ({y.dtype}) must have the module's dtype {self.to_grid1.dtype}")
        mats = (self.to_grid1, self.to_grid2, self.to_grid_out, self.from_grid1, self.from_grid2, self.from_grid_out)
        if self.weight1.weight is None:
            return grid_product(x, y, *mats)  # [R, C, Kout]
        weights = (self.weight1.expanded(), self.weight2.expanded(), self.weight_out.expanded())  # [C, K] each
        return weighted_grid_product(x, y, *weights, mats)  # [R, C, Kout]


def cross_product_path(x: Tensor, y: Tensor) -> Tensor:
    """Antisymmetric 1o x 1o -> 1e path: ``[..., C, 3] x [..., C|1, 3] -> [..., C, 3]``.

    Inputs are l = 1 blocks in the irreps layout (``feat[..., 1:4]``, e3nn order ~ (x, y, z)).
    Returns ``x cross y / sqrt(3)``: for component-normalised inputs ``sqrt(3) * a`` and ``sqrt(3) * b``
    this is ``sqrt(3) * (a cross b)``, again component-normalised. The result is a pseudo-vector:
    it rotates like a vector (so it can be added to l = 1 channels for SE(3) equivariance) but does
    not flip under inversion.
    """
    if x.shape[-1] != 3 or y.shape[-1] != 3:
        raise ValueError(f"cross_product_path needs l = 1 blocks [..., 3], got {tuple(x.shape)} and {tuple(y.shape)}")
    x, y = torch.broadcast_tensors(x, y)
    return torch.linalg.cross(x, y, dim=-1) / 3.0**0.5
