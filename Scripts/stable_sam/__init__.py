"""PyTorch reference of Stable-SAM's plugins (DSP + DRP) on Meta's official segment_anything code,
plus the robust training strategy (RTS). See /STABLE_SAM.md for the method and plugins.py for the
file format the Swift loader reads."""

from .plugins import (FILE_FORMAT, ROUTES, Options, StableSAMPlugin, decoder_fingerprint, load_plugin,
                      save_plugin)

__all__ = ["FILE_FORMAT", "ROUTES", "Options", "StableSAMPlugin", "decoder_fingerprint", "load_plugin", "save_plugin"]
