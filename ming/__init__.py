"""Function-space molecular generative modelling: MING (TwinINR + EM + DDPM on graph-spectral coordinates), with one evaluation suite.

Modules:

- `ming.train`: One trainer for `ming`'s models: presets, AdamW + ReduceLROnPlateau, model selection on the validation split, atomic resumable checkpoints, logs; and the sampler that writes samples files. `ming train`, `ming sample`."""

__version__ = "0.0.1"
