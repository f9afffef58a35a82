"""The one typed configuration tree for training, fine-tuning and sampling.

``configs/*.yaml`` files fill these dataclasses (see :mod:`molgen.config.load`);
every key is type-checked. A new dataset (GEOM-Drugs, PubChem3D, CrossDocked
pockets) is a new YAML file naming its processed dataset, not a new code path.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class DatasetConfig:
    """Which processed dataset to train on (``molgen data ...`` output under ``root/name``)."""

    root: str = "data"
    name: str = "qm9"
    train_split: str = "train"
    val_split: str = "val"
    num_workers: int = 0
    limit_train: int | None = None  # use only the first N training molecules (debugging / demos)


@dataclass
class BatchingConfig:
    """``fixed``: ``batch_size`` molecules per batch; ``bucketed``: SizeBucketSampler under an atom budget."""

    mode: str = "fixed"
    batch_size: int = 64
    max_atoms_per_batch: int = 2048
    boundaries: list[int] = field(default_factory=list)
    max_graphs_per_batch: int | None = None


@dataclass
class ModelConfig:
    """The network: :class:`molgen.nn.denoiser.EQGATDenoiser` reads every key (``EQGATDenoiser(config.model)``)."""

    num_layers: int = 12
    scalar_dim: int = 256
    vector_dim: int = 256
    edge_dim: int = 128
    lmax: int = 1
    tensor_product: str | None = None  # lmax >= 2 only: "gaunt" (default) or "e3nn" (benchmarks)
    extra_atom_features: int = 0
    time_embedding_dim: int = 16
    cutoff: float | None = None
    use_cross_product: bool = False
    pocket_cutoff: float | None = None  # pocket-conditioned: protein-ligand edges within this distance (A)


@dataclass
class DiffusionConfig:
    """Noise schedules, loss weighting and loss weights (EQGAT-diff); ``MolecularDiffusion(config.diffusion, ...)``
    reads every key."""

    num_steps: int = 500
    nu_coords: float = 2.5
    nu_atoms: float = 1.0
    nu_charges: float = 1.0
    nu_bonds: float = 1.5
    nu_extra: float = 1.0
    coords_power: float = 1.0  # 2.0: EQGAT-diff's coordinate noise level (signal abar, noise sqrt(1 - abar^2))
    snr_clamp_min: float = 0.05
    snr_clamp_max: float = 1.5
    weight_coords: float = 3.0
    weight_atom_types: float = 0.4
    weight_charges: float = 1.0
    weight_bonds: float = 2.0
    weight_extra: float = 1.0


@dataclass
class OptimConfig:
    lr: float = 2e-4
    weight_decay: float = 0.0
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    grad_clip: float = 10.0
    ema_decay: float = 0.999
    max_steps: int = 100_000
    max_minutes: float | None = None  # stop after this wall time (checkpoint written)


#: implementations of the same denoiser (``EQGATDenoiser.set_path``): the dense padded path, the dense path
#: with its edge stages compiled (``torch.compile``; pays in runs longer than its ~1-3 min compilation), and
#: the edge-list reference
DENOISER_PATHS = ("dense", "compiled", "reference")


@dataclass
class TrainerConfig:
    accelerator: str = "auto"
    devices: int = 1
    num_nodes: int = 1
    strategy: str = "auto"
    precision: str = "32-true"
    checkpoint_every: int = 1000
    log_every: int = 50
    output_dir: str = "checkpoints/run"
    seed: int = 42
    snapshot_minutes: list[float] = field(default_factory=list)  # keep checkpoints/minutes=<m>.ckpt
    path: str | None = None  # denoiser implementation (DENOISER_PATHS); None = dense where supported


@dataclass
class LoggingConfig:
    csv: bool = True
    wandb: bool = False
    wandb_project: str = "molgen"
    wandb_mode: str = "offline"


@dataclass
class SampleEvalConfig:
    """Periodic sample-and-evaluate callback (0 = disabled)."""

    every_n_steps: int = 0
    num_molecules: int = 32
    steps: int | None = 100


@dataclass
class ExperimentConfig:
    name: str = "experiment"
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    batching: BatchingConfig = field(default_factory=BatchingConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    diffusion: DiffusionConfig = field(default_factory=DiffusionConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    sample_eval: SampleEvalConfig = field(default_factory=SampleEvalConfig)
