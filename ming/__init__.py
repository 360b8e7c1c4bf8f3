"""Function-space molecular generative modelling: MING (TwinINR + EM + DDPM on graph-spectral coordinates), with one evaluation suite.

Modules:

- `ming.train`: One trainer for every `ming` model: presets, AdamW (or Adam) + ReduceLROnPlateau, model selection on the validation split, atomic resumable checkpoints, logs, many processes. `ming train`."""

__version__ = "0.0.1"
