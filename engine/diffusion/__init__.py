"""The stream-diffusion stage: model loading, conditioning, Stream Batch, RCFG, similarity filter."""
