"""The live pipeline: sources, threads joined by latest-frame slots, the output stage and sinks."""
